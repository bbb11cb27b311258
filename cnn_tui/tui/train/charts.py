"""Live loss and accuracy charts (textual-plotext), fed from a `TrainingHistory`.

Each chart shows the training curve per batch (smoothed with an exponential moving average,
thinned to at most `MAX_POINTS`), the training value per epoch and the validation value per
epoch, each with its own marker so the lines stay apart without colour. The legend is in the
title line (`loss  ⠶ batch  + epoch  o val`), never over the curves: a plot five rows high
has no room for one inside. Redrawing is throttled
by the screen (paced by `render_seconds`, what the last draw cost); `set_history` only stores
a reference and asks for a refresh.
"""

from __future__ import annotations

import time

from textual_plotext import PlotextPlot

MAX_POINTS = 300
EMA = 0.9


def smooth(values: list[float], beta: float = EMA) -> list[float]:
    """Bias-corrected exponential moving average (as TensorBoard's smoothing)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** i))
    return out


def thin(xs: list[float], ys: list[float], limit: int = MAX_POINTS):
    """Every k-th point (always keeping the last), so long runs draw as fast as short ones."""
    n = len(xs)
    if n <= limit:
        return xs, ys
    step = -(-n // limit)
    idx = list(range(0, n, step))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    return [xs[i] for i in idx], [ys[i] for i in idx]


class _MetricChart(PlotextPlot):
    """A chart of one metric: column 1 (loss) or 2 (accuracy) of the batch points."""

    title = ""
    column = 1
    epoch_train = "train_loss"
    epoch_val = "val_loss"
    percent = False

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._history = None
        self.render_seconds = 0.0  # what the last draw cost (the screen paces redraws by it)
        self._cache_key = None
        self._cache = None

    def set_history(self, history) -> None:
        self._history = history
        self.refresh()

    def _series(self):
        """(batch_x, batch_y_smoothed, epoch_x, epoch_train, val_x, val_y) from the history."""
        h = self._history
        if h is None:
            return [], [], [], [], [], []
        scale = 100.0 if self.percent else 1.0
        batches = list(h.batches)  # a snapshot: the worker may append meanwhile
        bx = [b[0] for b in batches]
        by = smooth([b[self.column] * scale for b in batches])
        bx, by = thin(bx, by)
        epochs = list(h.epochs)
        ex = [float(e.epoch) for e in epochs]
        ey = [getattr(e, self.epoch_train) * scale for e in epochs]
        vals = [(float(e.epoch), getattr(e, self.epoch_val)) for e in epochs
                if getattr(e, self.epoch_val) is not None]
        return bx, by, ex, ey, [v[0] for v in vals], [v[1] * scale for v in vals]

    def render(self):
        """The plot; rebuilt only when the data, the size or the theme changed (a repaint for
        any other reason, a layout pass or a dialog closing, reuses the last picture)."""
        h = self._history
        key = (self.size, self.app.theme, id(h), len(h.batches) if h else 0,
               len(h.epochs) if h else 0)
        if key == self._cache_key and self._cache is not None:
            return self._cache
        t0 = time.perf_counter()
        try:
            self._cache = self._render_plot()
            self._cache_key = key
            return self._cache
        finally:
            self.render_seconds = time.perf_counter() - t0

    def _render_plot(self):
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        bx, by, ex, ey, vx, vy = self._series()
        legend = [name for name, shown in (("⠶ batch", bx), ("+ epoch", ex), ("o val", vx))
                  if shown]
        plt.title("  ".join([self.title, *legend]))
        plt.xlabel("epoch")
        if bx:
            plt.plot(bx, by, marker="braille")
        if ex:
            plt.scatter(ex, ey, marker="+")
        if vx:
            plt.plot(vx, vy, marker="o")
        return super().render()


class LossChart(_MetricChart):
    title = "loss"
    column = 1
    epoch_train = "train_loss"
    epoch_val = "val_loss"


class AccuracyChart(_MetricChart):
    title = "acc %"
    column = 2
    epoch_train = "train_acc"
    epoch_val = "val_acc"
    percent = True
