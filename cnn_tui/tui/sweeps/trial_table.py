"""The live trial table: one row per trial (state with a marker, objective, epochs, time,
parameters, worker host:pid and GPU), newest first or best first (`S`).

`TrialTable.show(snapshot, rows)` redraws only what changed: a cell that changed is updated in
place, a new trial is added, a gone one removed, and the rows are re-sorted when their order
changed (a 200-trial sweep with 8 workers changes a few cells per second; it must not cost a
rebuild of every row). The cells are computed by `trial_rows`, which the screen calls on its
reading thread, so the app's thread only compares and updates.
"""

from __future__ import annotations

import math
import time

from rich.text import Text
from textual.widgets import DataTable

from cnn_tui.session.sweeps import params_line, trial_epochs, trial_seconds
from cnn_tui.spec.fmt import fmt_duration
from cnn_tui.spec.text import printable

# state -> (marker, style): the marker tells the states apart without colour
STATES = {
    "running": ("●", "bold cyan"),
    "complete": ("✓", "green"),
    "pruned": ("✂", "yellow"),
    "failed": ("✗", "red"),
    "invalid": ("!", "red"),
    "waiting": ("…", "dim"),
}
BEST_MARK = "★"
COLUMNS = (("number", "#"), ("state", "state"), ("value", "value"), ("epochs", "ep"),
           ("time", "time"), ("params", "parameters"), ("worker", "worker"))
ORDERS = ("newest", "best")


def sort_trials(trials: list, order: str, direction: str) -> list:
    """Newest first, or best objective first (trials without a value after, newest first)."""
    newest = sorted(trials, key=lambda t: -t.number)
    if order != "best":
        return newest
    sign = -1.0 if direction == "maximize" else 1.0

    def key(t):
        finite = t.value is not None and math.isfinite(t.value) and t.state == "complete"
        return (not finite, sign * t.value if finite else 0.0)

    return sorted(newest, key=key)


def trial_cells(trial, snapshot, now: float) -> tuple[tuple[str, str], ...]:
    """(text, style) of each column."""
    marker, style = STATES.get(trial.state, ("?", ""))
    best = snapshot.best is not None and snapshot.best.number == trial.number
    state = f"{BEST_MARK if best else marker} {trial.state}"
    if best:
        style = "bold " + style
    if trial.state in ("complete", "pruned"):
        value = trial.value
    else:  # running: its last epoch's objective so far
        value = trial.intermediate[max(trial.intermediate)] if trial.intermediate else None
    if value is None:
        value_cell = "-"
    elif isinstance(value, float) and math.isinf(value):
        value_cell = "inf"
    else:
        value_cell = f"{value:.4f}"
    if trial.diverged:
        value_cell += " div"
    epochs = trial_epochs(trial)
    if trial.state == "running":
        epochs_cell = f"{epochs}/{snapshot.sweep.epochs()}"
    else:
        epochs_cell = str(epochs) if epochs else "-"
    worker = trial.worker + (f" gpu {trial.gpu}" if trial.gpu else "")
    return ((str(trial.number), ""), (state, style), (value_cell, "bold" if best else ""),
            (epochs_cell, ""), (fmt_duration(trial_seconds(trial, now)), ""),
            (printable(params_line(trial.params)), ""), (printable(worker) or "-", "dim"))


def trial_rows(snapshot, order: str, now: float | None = None) -> tuple[str, list[int], dict]:
    """(order, trial numbers in the order shown, number -> cells): what `show` draws."""
    now = time.time() if now is None else now
    trials = sort_trials(snapshot.trials, order, snapshot.sweep.direction)
    return order, [t.number for t in trials], {t.number: trial_cells(t, snapshot, now)
                                               for t in trials}


class TrialTable(DataTable):
    DEFAULT_CSS = "TrialTable { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.snapshot = None
        self.order = "newest"
        self._rows: list[int] = []  # trial numbers in the order shown
        self._cells: dict[int, tuple] = {}
        self.reorders = 0  # how often the rows were sorted again (the benchmark reads it)

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    @property
    def current_number(self) -> int | None:
        if not self._rows or not 0 <= self.cursor_row < len(self._rows):
            return None
        return self._rows[self.cursor_row]

    def current_trial(self):
        number = self.current_number
        return None if number is None or self.snapshot is None else self.snapshot.trial(number)

    def cycle_order(self) -> str:
        self.order = ORDERS[(ORDERS.index(self.order) + 1) % len(ORDERS)]
        if self.snapshot is not None:
            self.show(self.snapshot)
        return self.order

    def reset(self) -> None:
        self.clear()
        self._rows, self._cells = [], {}

    def show(self, snapshot, rows: tuple | None = None) -> None:
        """Show `snapshot`; `rows`: its `trial_rows` when already computed (in this order)."""
        self.snapshot = snapshot
        if rows is None or rows[0] != self.order:
            rows = trial_rows(snapshot, self.order)
        _, numbers, cells = rows
        keep = self.current_number
        for gone in set(self._cells) - set(cells):  # re-queued attempts leave the table
            self.remove_row(str(gone))
            del self._cells[gone]
        for number in numbers:
            new = cells[number]
            old = self._cells.get(number)
            if old is None:
                self.add_row(*(Text(text, style=style) for text, style in new), key=str(number))
            elif old != new:
                for (key, _), before, after in zip(COLUMNS, old, new, strict=True):
                    if before != after:
                        self.update_cell(str(number), key, Text(after[0], style=after[1]),
                                         update_width=True)
            self._cells[number] = new
        if numbers != self._rows:
            position = {n: i for i, n in enumerate(numbers)}
            self.sort("number", key=lambda cell: position[int(str(cell))])
            self.reorders += 1
            self._rows = numbers
            if keep is not None and keep in position:
                self.move_cursor(row=position[keep], animate=False)
