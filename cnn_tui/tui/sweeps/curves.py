"""Intermediate curves: every trial's objective after each epoch (its first run's, as the
pruner saw it), the best trial, running and pruned trials each with their own marker."""

from __future__ import annotations

from cnn_tui.session.sweeps import curves
from cnn_tui.tui.sweeps.charts import BEST, LINE, PRUNED, RUNNING, SweepChart, best_number

LIMIT = 40  # trials drawn at most (the running ones, then the best; each costs its draw)


class CurvesChart(SweepChart):
    def draw(self, plt) -> None:
        snap = self.snapshot
        if snap is None:
            plt.title("intermediate curves: no sweep")
            return
        series = curves(snap, LIMIT)
        best = best_number(snap)
        shown = len(series)
        total = sum(1 for t in snap.trials if t.intermediate)
        more = f" ({shown} of {total})" if total > shown else ""
        plt.title(f"{snap.metric} per epoch{more}  {BEST[1]} best  {RUNNING[1]} running  "
                  f"{PRUNED[1]} pruned  {LINE[1]} other")
        plt.xlabel("epoch")
        if not series:
            return
        order = sorted(series, key=lambda s: (s[0] == best, s[1] == "running"))  # best on top
        epochs = set()
        for number, state, xs, ys in order:
            if number == best:
                marker, _, color = BEST
            elif state == "running":
                marker, _, color = RUNNING
            elif state == "pruned":
                marker, _, color = PRUNED
            else:
                marker, _, color = LINE
            clean = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None and y == y]
            if not clean:
                continue
            plt.plot([x for x, _ in clean], [y for _, y in clean], marker=marker, color=color)
            epochs.update(x for x, _ in clean)
        if epochs and len(epochs) <= 20:
            plt.xticks(sorted(epochs))
