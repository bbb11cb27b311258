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
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from cnn_tui.tui.analyze.view import AnalyzeView

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


HIST_TITLE = "distribution of weights and biases"


def histogram_text(hists: dict[str, dict], width: int | None = None) -> Text:
    """One line per layer: its histogram as a sparkline, then min, max, mean, std and count;
    the sparkline narrows (30 down to 8 columns) to keep the lines within `width`."""
    out = Text()
    label_w = max((len(k) for k in hists), default=5)
    spark = 30 if width is None else max(8, min(30, width - label_w - 52))
    title = next(t for t in (HIST_TITLE, "weights and biases", "weights", "")
                 if len(t) <= spark)
    out.append(f"{'layer':<{label_w}}  {title:<{spark}}  "
               f"{'min':>9} {'max':>9} {'mean':>9} {'std':>9} {'count':>8}\n", style="bold")
    for label, h in hists.items():
        edges = h["edges"]
        out.append(f"{label:<{label_w}}  {sparkline([float(c) for c in h['counts']], spark):<{spark}}  "
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


def gradflow_text(events: list, width: int | None = None) -> Text:
    """One line per layer: its gradient norm over training (log scale) as a sparkline, then
    first, last, min and max; within `width` the sparkline narrows and, where even that is too
    wide (80 columns), min and max give way (the CSV export has every value)."""
    series = grad_series(events)
    if not series:
        return Text("no gradient norms recorded for this run (runs recorded before cnn-tui kept "
                    "them, or stopped before their first step)")
    first, last = events[0], events[-1]
    out = Text(f"gradient norm per layer, log scale, {len(events)} samples from epoch "
               f"{first.epoch} step {first.step} to epoch {last.epoch} step {last.step}\n",
               style="bold")
    label_w = max(len(k) for k in series)
    flag_w = len(" exploding")
    full = width is None or label_w + 105 + flag_w <= width
    spark = 40 if full else max(8, min(40, width - label_w - 35 - flag_w))
    for label, values in series.items():
        logs = [math.log10(max(v, 1e-30)) for v in values]
        now = values[-1]
        flag = " vanishing" if now < VANISHING else " exploding" if now > EXPLODING else ""
        out.append(f"{label:<{label_w}}  {sparkline(logs, spark):<{spark}}  first {values[0]:9.3g}  "
                   f"last {now:9.3g}")
        if full:
            out.append(f"  min {min(values):9.3g}  max {max(values):9.3g}")
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


class WeightsView(AnalyzeView):
    """The run's weight histograms and the gradient flow it recorded (every run records it)."""

    NAME, TITLE, FOCUS = "weights", "Weights", "#weights-scroll"
    HELP = ("Weights: the distribution of each layer's weights and biases, then the gradient "
            "norm of each layer over training on a log scale (vanishing and exploding "
            "gradients flagged). Arrows scroll; `e` exports both as CSV.")
    DEFAULT_CSS = "WeightsView #weights-grads { margin-top: 1; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="weights-scroll"):
            yield Static("no run loaded", id="weights-hist")
            yield Static("", id="weights-grads")

    def loaded(self) -> None:
        self.redraw()  # at once, hidden or not (fitted to the width when shown)

    def redraw(self) -> None:
        d = self.analysis
        if d is None:
            return
        room = self.query_one("#weights-scroll").scrollable_content_region.width or None
        self.query_one("#weights-hist", Static).update(histogram_text(d.histograms, room))
        self.query_one("#weights-grads", Static).update(gradflow_text(list(d.grad_norms), room))

    def export(self) -> tuple[str, str]:
        d = self.require_run()
        return f"{d.record.id}-weights.csv", weights_csv(d.histograms, list(d.grad_norms))
