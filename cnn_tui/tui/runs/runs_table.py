"""The table of stored runs: one row per run, sortable by any column, filtered by words.

`RunsTable.show(records)` keeps the records and redraws only when what is shown changed (the
Runs screen calls it on a timer, so an unchanged store costs a comparison, not a redraw).
Sorting (`sort_column`, `reverse`), filtering (`filter_text`) and marks are plain state; the
pure helpers `sort_records` and `filter_records` do the work and are tested on their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from rich.text import Text
from textual.widgets import DataTable

from cnn_tui.spec.fmt import fmt_duration, percent
from cnn_tui.spec.text import printable


def _lr(r) -> float | None:
    value = (r.config or {}).get("learning_rate")
    return value if isinstance(value, (int, float)) else None


def _duration(r) -> float | None:
    if not r.started:
        return None
    end = r.ended or (time.time() if r.status == "running" else None)
    return max(0.0, end - r.started) if end else None


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    value: Callable[[Any], Any]  # what it sorts by
    cell: Callable[[Any], str]  # what it shows


COLUMNS: tuple[Column, ...] = (
    # what tells runs apart first: at 80 columns the later ones scroll (left/right)
    Column("name", "name", lambda r: (r.name or r.id).lower(), lambda r: r.name or r.id),
    Column("status", "status", lambda r: r.status, lambda r: r.status),
    Column("test", "test acc", lambda r: r.test_acc, lambda r: percent(r.test_acc)),
    Column("best_val", "best val", lambda r: r.best_val_acc, lambda r: percent(r.best_val_acc)),
    Column("epochs", "epochs", lambda r: len(r.epochs or []),
           lambda r: f"{len(r.epochs or [])}/{(r.config or {}).get('epochs', '?')}"),
    Column("arch", "architecture", lambda r: r.arch_name.lower(), lambda r: r.arch_name),
    Column("params", "params", lambda r: r.params,
           lambda r: "—" if r.params is None else f"{r.params:,}"),
    Column("optimizer", "optim", lambda r: str((r.config or {}).get("optimizer") or ""),
           lambda r: str((r.config or {}).get("optimizer") or "—")),
    Column("lr", "lr", _lr, lambda r: "—" if _lr(r) is None else f"{_lr(r):g}"),
    Column("device", "device", lambda r: r.device or "", lambda r: r.device or "—"),
    Column("time", "time", _duration, lambda r: fmt_duration(_duration(r))),
    Column("started", "started", lambda r: r.started or 0.0,
           lambda r: time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))
           if r.started else "—"),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
DEFAULT_SORT = "started"


def sort_records(records: list, column: str, reverse: bool) -> list:
    """Sorted by `column`; unknown values (None) always last, ties newest first."""
    col = next(c for c in COLUMNS if c.key == column)
    by_start = sorted(records, key=lambda r: (r.started or 0.0, r.id), reverse=True)
    known = [r for r in by_start if col.value(r) is not None]
    unknown = [r for r in by_start if col.value(r) is None]
    return sorted(known, key=col.value, reverse=reverse) + unknown


def search_text(r) -> str:
    config = r.config or {}
    return " ".join(str(x) for x in (r.id, r.name or "", r.arch_name, r.status,
                                     config.get("optimizer") or "", *(r.tags or []))).lower()


def filter_records(records: list, text: str) -> list:
    """The records matching every word of `text` (in name, id, architecture, status, optimizer
    or a tag; case-insensitive)."""
    words = text.lower().split()
    return [r for r in records if all(w in search_text(r) for w in words)]


class RunsTable(DataTable):
    """The runs, one per row (row key = run id); a mark column shows the order of marking."""

    DEFAULT_CSS = "RunsTable { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.records: list = []
        self.shown: list = []
        self.sort_column = DEFAULT_SORT
        self.reverse = True  # newest first
        self.filter_text = ""
        self.marked: list[str] = []  # run ids in the order they were marked
        self._drawn: tuple | None = None

    # -- state --------------------------------------------------------------------------
    def show(self, records: list) -> None:
        """New records from the store (redraws only if something visible changed)."""
        self.records = list(records)
        known = {r.id for r in self.records}
        self.marked = [m for m in self.marked if m in known]
        self.redraw()

    def cycle_sort(self) -> str:
        pos = COLUMN_KEYS.index(self.sort_column)
        self.sort_column = COLUMN_KEYS[(pos + 1) % len(COLUMN_KEYS)]
        self.redraw()
        return self.sort_column

    def flip_sort(self) -> None:
        self.reverse = not self.reverse
        self.redraw()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.redraw()

    def toggle_mark(self, run_id: str) -> bool:
        """Mark or unmark `run_id`; returns whether it is marked now."""
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked.append(run_id)
        self.redraw()
        return run_id in self.marked

    @property
    def current_id(self) -> str | None:
        if not self.shown or self.cursor_row < 0 or self.cursor_row >= len(self.shown):
            return None
        return self.shown[self.cursor_row].id

    def record(self, run_id: str):
        return next((r for r in self.records if r.id == run_id), None)

    # -- drawing ------------------------------------------------------------------------
    def _mark(self, run_id: str) -> str:
        return str(self.marked.index(run_id) + 1) if run_id in self.marked else ""

    def _rows(self) -> list[tuple]:
        return [(r.id, self._mark(r.id), *(c.cell(r) for c in COLUMNS)) for r in self.shown]

    def redraw(self) -> None:
        self.shown = sort_records(filter_records(self.records, self.filter_text),
                                  self.sort_column, self.reverse)
        rows = self._rows()
        state = (self.sort_column, self.reverse, tuple(rows))
        if state == self._drawn:
            return
        keep = self.current_id
        self._drawn = state
        self.clear(columns=True)
        self.add_column("✓", key="mark")
        arrow = " ▼" if self.reverse else " ▲"
        for c in COLUMNS:
            self.add_column(c.label + (arrow if c.key == self.sort_column else ""), key=c.key)
        for run_id, mark, *cells in rows:
            status = cells[-1]
            style = {"failed": "red", "running": "bold", "interrupted": "yellow",
                     "stopped": "dim"}.get(status, "")
            # cells as Text, never markup: names come from users and old stores
            self.add_row(Text(mark, style="bold reverse" if mark else ""),
                         *(Text(printable(cell)) for cell in cells[:-1]),
                         Text(status, style=style), key=run_id)
        if keep is not None:
            ids = [r.id for r in self.shown]
            if keep in ids:
                self.move_cursor(row=ids.index(keep), animate=False)
