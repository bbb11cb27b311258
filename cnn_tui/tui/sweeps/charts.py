"""The base of the Sweeps screen's charts: a plotext plot drawn from a sweep snapshot, rebuilt
only when the data, the size or the theme changed (a repaint for any other reason reuses the
last picture), with what the last draw cost kept (`render_seconds`, for the benchmark).

Every series has its own marker as well as its colour, so the charts read in the monochrome
theme; the legend is in the title line.
"""

from __future__ import annotations

import time

from textual_plotext import PlotextPlot

# (plotext marker, its glyph for the legend, colour) of each kind of series: the marker carries
# the meaning without colour
BEST = ("*", "*", "orange")
RUNNING = ("o", "o", "cyan")
PRUNED = ("x", "x", "red")
# the other trials' lines: light, under the marked ones (braille would cost 6x more to draw)
LINE = ("·", "·", "gray")
POINT = ("•", "•", "cyan")  # a trial in a scatter
OTHER = ("+", "+", "green")


class SweepChart(PlotextPlot):
    """Subclasses draw in `draw(plt)` from `self.snapshot` (and whatever else they keep)."""

    DEFAULT_CSS = "SweepChart { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot = None
        self.render_seconds = 0.0
        self._cache_key = None
        self._cache = None

    def show(self, snapshot) -> None:
        self.snapshot = snapshot
        self.refresh()

    def data_key(self) -> tuple:
        """What the picture depends on besides the size and theme."""
        return (self.snapshot.signature if self.snapshot is not None else None,)

    def render(self):
        key = (self.size, self.app.theme, self.data_key())
        if key == self._cache_key and self._cache is not None:
            return self._cache
        t0 = time.perf_counter()
        try:
            plt = self.plt
            plt.clear_data()
            plt.clear_figure()
            self.draw(plt)
            self._cache = super().render()
            self._cache_key = key
            return self._cache
        finally:
            self.render_seconds = time.perf_counter() - t0

    def draw(self, plt) -> None:
        raise NotImplementedError

    @property
    def text(self) -> str:
        """The last picture as plain text (for tests and the help)."""
        return self._cache.plain if self._cache is not None else ""


def best_number(snapshot) -> int | None:
    return snapshot.best.number if snapshot is not None and snapshot.best is not None else None
