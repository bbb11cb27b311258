"""Slice plot: the objective of every complete trial against one parameter (`[` / `]` choose
which); a log-scaled parameter on a log10 axis, a categorical one at its choices."""

from __future__ import annotations

import math

from cnn_tui.session.sweeps import axes, short_param, slices, value_text
from cnn_tui.tui.sweeps.charts import BEST, POINT, SweepChart, best_number


class SliceChart(SweepChart):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.index = 0  # which parameter

    def data_key(self) -> tuple:
        return (*super().data_key(), self.index)

    def step(self, delta: int) -> str | None:
        """The next (previous) parameter; returns its name."""
        if self.snapshot is None:
            return None
        count = len(axes(self.snapshot.sweep))
        if not count:
            return None
        self.index = (self.index + delta) % count
        self.refresh()
        return axes(self.snapshot.sweep)[self.index].key

    def draw(self, plt) -> None:
        snap = self.snapshot
        if snap is None:
            plt.title("slices: no sweep")
            return
        ax = axes(snap.sweep)
        if not ax:
            plt.title("slices: the sweep has no parameters")
            return
        self.index %= len(ax)
        axis = ax[self.index]
        xs, ys, numbers = slices(snap, axis)
        scale = " (log scale)" if axis.log else ""
        plt.title(f"{snap.metric} by {short_param(axis.key)}{scale}  [{self.index + 1}/{len(ax)}: "
                  f"[ ] other]  {BEST[1]} best  {POINT[1]} trial")
        plt.xlabel(short_param(axis.key) + scale)
        if not xs:
            return
        best = best_number(snap)
        rest = [(x, y) for x, y, n in zip(xs, ys, numbers, strict=True) if n != best]
        if rest:
            plt.scatter([x for x, _ in rest], [y for _, y in rest], marker=POINT[0],
                        color=POINT[2])
        top = [(x, y) for x, y, n in zip(xs, ys, numbers, strict=True) if n == best]
        if top:
            plt.scatter([top[0][0]], [top[0][1]], marker=BEST[0], color=BEST[2])
        if axis.kind == "categorical":
            plt.xticks(list(range(len(axis.choices))), [value_text(c)[:12] for c in axis.choices])
            plt.xlim(-0.5, len(axis.choices) - 0.5)
        elif axis.log and axis.low > 0:  # ticks at log10 positions, labelled with the values
            lo, hi = math.log10(axis.low), math.log10(axis.high)
            ticks = [lo + (hi - lo) * i / 4 for i in range(5)]
            plt.xticks(ticks, [value_text(10 ** t, 2) for t in ticks])
            plt.xlim(lo, hi)
