"""The table of stored runs: one row per run, sortable by any column, filtered by words.

`RunsTable.show(records)` keeps the records and redraws only when what is shown changed (the
Runs screen calls it on a timer, so an unchanged store costs a comparison, not a redraw).
Sorting (`sort_column`, `reverse`), filtering (`filter_text`) and marks are plain state; the
pure helpers `sort_records`, `filter_records` and `fit_columns` do the work and are tested on
their own.

Pinned runs (baselines, `RunStore.set_pinned`) stay on top whatever the sort, marked `⚑`.
The columns are fitted to the width: in `COLUMNS` order (the most telling first), each one
that fits whole is shown, the name takes what is left; the columns left out are listed for
the run under the cursor by the screen (`hidden`). The cursor stays on the same run (by id)
across sorts, filters and refreshes: a run the filter hides is remembered and found again
when it shows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from cnn_tui.spec.fmt import fmt_duration, percent
from cnn_tui.spec.text import printable

PIN = "⚑"  # a pinned baseline run (single width, reads without colour)
PAD = 2  # a DataTable column's padding (one cell each side)


def _lr(r) -> float | None:
    value = (r.config or {}).get("learning_rate")
    return value if isinstance(value, (int, float)) else None


def _duration(r) -> float | None:
    if not r.started:
        return None
    end = r.ended or (time.time() if r.status == "running" else None)
    return max(0.0, end - r.started) if end else None


def _started(r) -> str:
    """'11-30 14:05' this year, '2025-11-30' before: a start is told apart in 11 cells."""
    if not r.started:
        return "—"
    when = time.localtime(r.started)
    if when.tm_year == time.localtime().tm_year:
        return time.strftime("%m-%d %H:%M", when)
    return time.strftime("%Y-%m-%d", when)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    value: Callable[[Any], Any]  # what it sorts by
    cell: Callable[[Any], str]  # what it shows
    cap: int = 0  # widest it is drawn (longer cells end in …); 0: as wide as its cells


COLUMNS: tuple[Column, ...] = (
    # the most telling first: at 80 columns the first ones fit, the rest go to the detail line
    Column("name", "name", lambda r: (r.name or r.id).lower(), lambda r: r.name or r.id, cap=40),
    Column("status", "status", lambda r: r.status, lambda r: r.status),
    Column("test", "test acc", lambda r: r.test_acc, lambda r: percent(r.test_acc)),
    Column("best_val", "best val", lambda r: r.best_val_acc, lambda r: percent(r.best_val_acc)),
    Column("epochs", "epochs", lambda r: len(r.epochs or []),
           lambda r: f"{len(r.epochs or [])}/{(r.config or {}).get('epochs', '?')}"),
    Column("arch", "architecture", lambda r: r.arch_name.lower(), lambda r: r.arch_name, cap=18),
    Column("tags", "tags", lambda r: ", ".join(r.tags or []).lower() or None,
           lambda r: ", ".join(r.tags or []), cap=20),
    Column("started", "started", lambda r: r.started or 0.0, _started),
    Column("time", "time", _duration, lambda r: fmt_duration(_duration(r))),
    Column("params", "params", lambda r: r.params,
           lambda r: "—" if r.params is None else f"{r.params:,}"),
    Column("optimizer", "optim", lambda r: str((r.config or {}).get("optimizer") or ""),
           lambda r: str((r.config or {}).get("optimizer") or "—")),
    Column("lr", "lr", _lr, lambda r: "—" if _lr(r) is None else f"{_lr(r):g}"),
    Column("device", "device", lambda r: r.device or "", lambda r: r.device or "—"),
    Column("id", "run id", lambda r: r.id, lambda r: r.id),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
DEFAULT_SORT = "started"
NAME_MIN = 16  # the name column is never narrower (it shrinks before a column is left out)
MARK_WIDTH = 3  # "⚑ 1": pinned, and the order it was marked in


def sort_records(records: list, column: str, reverse: bool) -> list:
    """Sorted by `column`; unknown values (None) always last, ties newest first; pinned runs
    (baselines) before all others, sorted the same way among themselves."""
    col = next(c for c in COLUMNS if c.key == column)
    by_start = sorted(records, key=lambda r: (r.started or 0.0, r.id), reverse=True)

    def ordered(group: list) -> list:
        known = [r for r in group if col.value(r) is not None]
        unknown = [r for r in group if col.value(r) is None]
        return sorted(known, key=col.value, reverse=reverse) + unknown

    pinned = [r for r in by_start if getattr(r, "pinned", False)]
    return ordered(pinned) + ordered([r for r in by_start if not getattr(r, "pinned", False)])


def search_text(r) -> str:
    config = r.config or {}
    return " ".join(str(x) for x in (r.id, r.name or "", r.arch_name, r.status,
                                     config.get("optimizer") or "", *(r.tags or []))).lower()


def filter_records(records: list, text: str) -> list:
    """The records matching every word of `text` (in name, id, architecture, status, optimizer
    or a tag; case-insensitive)."""
    words = text.lower().split()
    return [r for r in records if all(w in search_text(r) for w in words)]


def fit_columns(widths: dict[str, int], room: int) -> dict[str, int]:
    """Which columns to draw, and how wide, in `room` cells (the mark column excluded).

    `widths` is each column's natural width (its label and its widest cell, capped). In
    `COLUMNS` order every column that fits whole is kept (the name at `NAME_MIN` at least);
    what is left widens the name up to its natural width. The result keeps `COLUMNS` order."""
    name_natural = widths["name"]
    name = min(name_natural, NAME_MIN)
    used = name + PAD
    kept: dict[str, int] = {"name": name}
    for c in COLUMNS[1:]:
        need = widths[c.key] + PAD
        if used + need <= room:
            kept[c.key] = widths[c.key]
            used += need
    kept["name"] = name + max(0, min(name_natural - name, room - used))
    return {c.key: kept[c.key] for c in COLUMNS if c.key in kept}


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class RunsTable(DataTable):
    """The runs, one per row (row key = run id); the first column shows a pinned run's `⚑`
    and the order of marking."""

    DEFAULT_CSS = "RunsTable { height: 1fr; scrollbar-gutter: stable; }"
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="runs.down"),
        Binding("k", "cursor_up", "Up", show=False, id="runs.up"),
        Binding("g,home", "scroll_top", "First run", show=False, id="runs.first"),
        Binding("G,shift+g,end", "scroll_bottom", "Last run", show=False, id="runs.last"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.records: list = []
        self.shown: list = []
        self.sort_column = DEFAULT_SORT
        self.reverse = True  # newest first
        self.filter_text = ""
        self.marked: list[str] = []  # run ids in the order they were marked
        self.hidden: tuple[str, ...] = ()  # keys of the columns that did not fit
        self._drawn: tuple | None = None
        self._anchor: str | None = None  # the run the user put the cursor on
        self._fallback: str | None = None  # where a redraw put it while the anchor was hidden

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

    def mark_shown(self) -> bool:
        """Mark every run shown (in the order shown); when all of them are marked already,
        unmark them. Returns whether they are marked now."""
        ids = [r.id for r in self.shown]
        if all(i in self.marked for i in ids):
            self.marked = [m for m in self.marked if m not in ids]
            marked = False
        else:
            self.marked += [i for i in ids if i not in self.marked]
            marked = True
        self.redraw()
        return marked

    @property
    def current_id(self) -> str | None:
        if not self.shown or self.cursor_row < 0 or self.cursor_row >= len(self.shown):
            return None
        return self.shown[self.cursor_row].id

    def record(self, run_id: str):
        return next((r for r in self.records if r.id == run_id), None)

    @property
    def pinned(self) -> list:
        """The pinned (baseline) runs, in the order shown."""
        return [r for r in sort_records(self.records, self.sort_column, self.reverse)
                if getattr(r, "pinned", False)]

    # -- moving (a move by the user makes the run under the cursor the one to keep) --------
    def step(self, rows: int) -> None:
        """Move the cursor by `rows` (clamped), as a key press would."""
        self._fallback = None
        if self.row_count:
            self.move_cursor(row=max(0, min(self.cursor_row + rows, self.row_count - 1)),
                             animate=False)

    def _user_moved(self) -> None:
        self._fallback = None

    def action_cursor_down(self) -> None:
        self._user_moved()
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._user_moved()
        super().action_cursor_up()

    def action_page_down(self) -> None:
        self._user_moved()
        super().action_page_down()

    def action_page_up(self) -> None:
        self._user_moved()
        super().action_page_up()

    def action_scroll_top(self) -> None:
        self._user_moved()
        super().action_scroll_top()

    def action_scroll_bottom(self) -> None:
        self._user_moved()
        super().action_scroll_bottom()

    def on_click(self) -> None:
        self._user_moved()

    def on_resize(self) -> None:
        self.redraw()

    # -- drawing ------------------------------------------------------------------------
    def _mark(self, r) -> str:
        pin = PIN if getattr(r, "pinned", False) else " "
        order = str(self.marked.index(r.id) + 1) if r.id in self.marked else ""
        return f"{pin}{order}".rstrip()

    def _widths(self, cells: list[tuple[str, ...]]) -> dict[str, int]:
        out = {}
        for i, c in enumerate(COLUMNS):
            label = len(c.label) + (2 if c.key == self.sort_column else 0)  # + " ▼"
            natural = max([label] + [len(row[i]) for row in cells])
            out[c.key] = min(natural, c.cap) if c.cap else natural
        return out

    def _room(self) -> int:
        """Cells for the columns: the width less the scrollbar gutter and the mark column."""
        width = self.scrollable_content_region.width or self.size.width
        return max(0, width - (MARK_WIDTH + PAD))

    def redraw(self) -> None:
        current = self.current_id
        if current is not None and current != self._fallback:
            self._anchor = current  # the user's choice, not where a redraw left the cursor
        row_before = self.cursor_row
        self.shown = sort_records(filter_records(self.records, self.filter_text),
                                  self.sort_column, self.reverse)
        cells = [tuple(printable(c.cell(r)) for c in COLUMNS) for r in self.shown]
        fitted = fit_columns(self._widths(cells), self._room())
        self.hidden = tuple(k for k in COLUMN_KEYS if k not in fitted)
        rows = [(r.id, self._mark(r), row) for r, row in zip(self.shown, cells, strict=True)]
        state = (self.sort_column, self.reverse, tuple(fitted.items()), tuple(rows))
        if state == self._drawn:
            return
        self._drawn = state
        self.clear(columns=True)
        self.add_column("✓", key="mark", width=MARK_WIDTH)
        arrow = " ▼" if self.reverse else " ▲"
        for c in COLUMNS:
            if c.key in fitted:
                label = c.label + (arrow if c.key == self.sort_column else "")
                self.add_column(label, key=c.key, width=fitted[c.key])
        styles = {"failed": "red", "running": "bold", "interrupted": "yellow", "stopped": "dim"}
        for run_id, mark, row in rows:
            # cells as Text, never markup: names come from users and old stores
            out = [Text(mark, style="bold")]
            for c, text in zip(COLUMNS, row, strict=True):
                if c.key in fitted:
                    style = styles.get(text, "") if c.key == "status" else ""
                    out.append(Text(clip(text, fitted[c.key]), style=style))
            self.add_row(*out, key=run_id)
        self._place_cursor(row_before)

    def _place_cursor(self, row_before: int) -> None:
        """On the anchor run when it is shown; else near where the cursor was, remembered as
        a fallback so that the anchor wins again once it shows."""
        ids = [r.id for r in self.shown]
        if not ids:
            return
        if self._anchor in ids:
            self._fallback = None
            row = ids.index(self._anchor)
        else:
            row = max(0, min(row_before, len(ids) - 1))
            self._fallback = ids[row]
        self.move_cursor(row=row, animate=False)
