"""Weight histograms and gradient flow as text: one line per layer, sparklines in block characters.

Histograms come from `cnn_tui.train.probes.weight_histograms` (per top-level layer). Gradient
flow is the per-layer gradient norm the engine reports every few steps (`GradNorms` events),
drawn on a log scale so that vanishing (tiny, falling) and exploding (huge, rising) gradients
show as shapes; the last value is flagged when it is below 1e-6 or above 1e3.
"""

from __future__ import annotations

import csv
import io
import math

from rich.text import Text

SPARKS = "▁▂▃▄▅▆▇█"
VANISHING, EXPLODING = 1e-6, 1e3


def sparkline(values: list[float], width: int = 40) -> str:
    """Values as block characters scaled to their own min..max; thinned to `width` columns."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width - 1)] + [values[-1]]
    lo, hi = min(values), max(values)
    if hi <= lo:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(7, int((v - lo) / (hi - lo) * 7 + 0.5))] for v in values)


def histogram_text(hists: dict[str, dict]) -> Text:
    out = Text()
    width = max((len(k) for k in hists), default=5)
    out.append(f"{'layer':<{width}}  {'distribution of weights and biases':<30}  "
               f"{'min':>9} {'max':>9} {'mean':>9} {'std':>9} {'count':>8}\n", style="bold")
    for label, h in hists.items():
        edges = h["edges"]
        out.append(f"{label:<{width}}  {sparkline([float(c) for c in h['counts']], 30):<30}  "
                   f"{edges[0]:>9.3g} {edges[-1]:>9.3g} {h['mean']:>9.3g} {h['std']:>9.3g} "
                   f"{h['count']:>8,}\n")
    out.rstrip()
    return out


def grad_series(events: list) -> dict[str, list[float]]:
    """{layer: [norm at each recorded step]} from GradNorms events, in order."""
    series: dict[str, list[float]] = {}
    for ev in events:
        for label, norm in ev.norms.items():
            series.setdefault(label, []).append(float(norm))
    return series


def gradflow_text(events: list) -> Text:
    series = grad_series(events)
    if not series:
        return Text("no gradient norms recorded for this run (runs recorded before cnn-tui kept "
                    "them, or stopped before their first step)")
    first, last = events[0], events[-1]
    out = Text(f"gradient norm per layer, log scale, {len(events)} samples from epoch "
               f"{first.epoch} step {first.step} to epoch {last.epoch} step {last.step}\n",
               style="bold")
    width = max(len(k) for k in series)
    for label, values in series.items():
        logs = [math.log10(max(v, 1e-30)) for v in values]
        now = values[-1]
        flag = " vanishing" if now < VANISHING else " exploding" if now > EXPLODING else ""
        out.append(f"{label:<{width}}  {sparkline(logs):<40}  first {values[0]:9.3g}  "
                   f"last {now:9.3g}  min {min(values):9.3g}  max {max(values):9.3g}")
        out.append(flag, style="bold reverse" if flag else "")
        out.append("\n")
    out.rstrip()
    return out


def weights_csv(hists: dict[str, dict], events: list) -> str:
    """Two tables in one file: the histogram bins, then the gradient norms."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["layer", "bin_low", "bin_high", "count"])
    for label, h in hists.items():
        for i, count in enumerate(h["counts"]):
            w.writerow([label, f"{h['edges'][i]:.6g}", f"{h['edges'][i + 1]:.6g}", count])
    w.writerow([])
    w.writerow(["epoch", "step", "layer", "grad_norm"])
    for ev in events:
        for label, norm in ev.norms.items():
            w.writerow([ev.epoch, ev.step, label, f"{float(norm):.6g}"])
    return buf.getvalue()
