"""Importance bars: how much each parameter mattered to the objective (Optuna's PED-ANOVA over
the complete trials), one bar each, longest first, with its share as a number."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from cnn_tui.session.sweeps import short_param
from cnn_tui.spec.text import printable

FULL, EMPTY = "█", "░"


def bars(importance: dict[str, float], width: int) -> list[tuple[str, str, float]]:
    """(name, bar, share) per parameter, largest first; the bars `width` cells at most."""
    rows = sorted(importance.items(), key=lambda kv: -kv[1])
    out = []
    for key, share in rows:
        filled = max(0, min(width, round(share * width)))
        out.append((short_param(key), FULL * filled + EMPTY * (width - filled), share))
    return out


class ImportanceBars(Static):
    DEFAULT_CSS = "ImportanceBars { height: 1fr; padding: 0 1; }"

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.importance: dict[str, float] | None = None
        self.note = "reading…"
        self.complete = 0

    def show(self, importance: dict[str, float] | None, note: str, complete: int) -> None:
        self.importance, self.note, self.complete = importance, note, complete
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        text = Text()
        text.append("parameter importance", style="bold")
        text.append(f" (Optuna PED-ANOVA, {self.complete} complete trials)\n", style="dim")
        if not self.importance:
            text.append(printable(f"none yet: {self.note}" if self.note else "none yet"))
            self.update(text)
            return
        names = bars(self.importance, 1)
        label = min(28, max(len(n) for n, _, _ in names))
        width = max(5, self.size.width - label - 10)
        for name, bar, share in bars(self.importance, width):
            text.append(f"{printable(name)[:label]:<{label}} ", style="bold")
            text.append(bar)
            text.append(f" {share:5.2f}\n")
        self.update(text)
