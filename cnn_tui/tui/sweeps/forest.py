"""Forest plot of an ablation or a comparison: each variant's effect on the objective against
the reference, its 95% interval as a line on one shared axis (`├──●──┤`, `│` at no effect),
with the effect, the interval and the Holm-adjusted p as numbers."""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import Static

from cnn_tui.session.sweeps import forest
from cnn_tui.spec.text import printable


def axis_line(row, lo: float, hi: float, width: int) -> str:
    """One row's interval drawn on `width` cells spanning lo..hi, `│` at zero."""
    cells = [" "] * width

    def at(value: float) -> int:
        return min(width - 1, max(0, round((value - lo) / (hi - lo) * (width - 1))))

    zero = at(0.0)
    cells[zero] = "│"
    if row.effect is None:
        return "".join(cells)
    if row.low is not None and row.high is not None and math.isfinite(row.low) \
            and math.isfinite(row.high):
        a, b = at(row.low), at(row.high)
        for i in range(a, b + 1):
            cells[i] = "─"
        cells[a], cells[b] = "├", "┤"
    cells[at(row.effect)] = "●"
    return "".join(cells)


def bounds(rows) -> tuple[float, float]:
    values = [0.0]
    for r in rows:
        for v in (r.effect, r.low, r.high):
            if v is not None and math.isfinite(v):
                values.append(v)
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.01, hi + 0.01
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def p_text(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


class ForestPlot(Static):
    DEFAULT_CSS = "ForestPlot { height: 1fr; padding: 0 1; }"

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.snapshot = None

    def show(self, snapshot) -> None:
        self.snapshot = snapshot
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        snap = self.snapshot
        text = Text()
        if snap is None or snap.kind == "search":
            text.append("forest plot", style="bold")
            text.append(": for ablations and comparisons (effect of each variant against the "
                        "base, with its interval); this sweep is a search", style="dim")
            self.update(text)
            return
        report = snap.report or {}
        rows = forest(report)
        text.append(f"effect on {snap.metric} against {report.get('reference')!r}", style="bold")
        text.append(f" ({int(report.get('confidence', 0.95) * 100)}% CI, "
                    f"{report.get('test', '')} t-test, p Holm-adjusted)\n", style="dim")
        label = min(30, max([len(r.variant) for r in rows] + [7]))
        numbers = 36  # " +0.0870 [-0.1000, +0.2000] p 0.5265"
        width = max(10, self.size.width - label - numbers - 4)
        lo, hi = bounds(rows)
        text.append(f"{'':<{label}} {lo:<+{width // 2}.3f}{hi:>+{width - width // 2}.3f}\n",
                    style="dim")
        for row in rows:
            name = printable(row.variant)
            text.append(f"{name[:label]:<{label}} ", style="bold" if row.reference else "")
            if row.reference:
                mean = "-" if row.mean is None else f"{row.mean:.4f}"
                text.append(axis_line(row, lo, hi, width))
                text.append(f"  reference: {snap.metric} {mean} ({row.runs}/{row.expected} runs)\n")
                continue
            text.append(axis_line(row, lo, hi, width))
            if row.effect is None:
                text.append(f"  - ({row.runs}/{row.expected} runs: not enough yet)\n")
                continue
            interval = "" if row.low is None else f" [{row.low:+.4f}, {row.high:+.4f}]"
            text.append(f"  {row.effect:+.4f}{interval} p {p_text(row.p_holm)}\n")
        self.update(text)
