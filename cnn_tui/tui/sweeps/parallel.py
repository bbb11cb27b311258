"""Parallel coordinates, in text: one vertical axis per parameter and the objective last, each
complete trial a line through its values (each axis scaled 0..1 over its range: bottom is the
low end, or the first choice), the best tenth drawn last with its own marker."""

from __future__ import annotations

from cnn_tui.session.sweeps import parallel, short_param
from cnn_tui.tui.sweeps.charts import BEST, LINE, OTHER, SweepChart

LIMIT = 50  # the best trials drawn at most (each line costs its draw)


class ParallelChart(SweepChart):
    def draw(self, plt) -> None:
        snap = self.snapshot
        if snap is None:
            plt.title("parallel coordinates: no sweep")
            return
        ax, rows = parallel(snap, LIMIT)
        names = [short_param(a.key) for a in ax] + [snap.metric]
        plt.title(f"parallel coordinates ({len(rows)} trials)  {BEST[1]} top 10%  "
                  f"{OTHER[1]} next 40%  {LINE[1]} rest")
        width = max(3, (self.size.width - 8) // max(1, len(names)) - 1)
        plt.xticks(list(range(len(names))), [n[:width] for n in names])
        plt.yticks([0, 0.5, 1], ["low", "mid", "high"])
        plt.ylim(-0.05, 1.05)
        plt.xlim(-0.2, len(names) - 0.8)
        if not rows:
            return
        top = max(1, len(rows) // 10)
        middle = max(top, len(rows) // 2)
        # worst first, so the best lines are drawn over the others
        for rank in range(len(rows) - 1, -1, -1):
            _, _, positions = rows[rank]
            points = [(i, p) for i, p in enumerate(positions) if p is not None]
            if len(points) < 2:
                continue
            marker, _, color = BEST if rank < top else OTHER if rank < middle else LINE
            plt.plot([i for i, _ in points], [p for _, p in points], marker=marker, color=color)

    def ranges(self) -> str:
        """Each axis's range, one line: what the 0..1 of the chart means."""
        if self.snapshot is None:
            return ""
        ax, _ = parallel(self.snapshot, 0)
        return "  ".join(f"{short_param(a.key)}: {a.range_text()}" for a in ax)
