"""A picker of runs, filtered as you type: the Runs screen's columns (name, status, test acc,
best val, epochs, architecture, ...), newest first.

Typing filters (every word must match the name, id, architecture, status, optimizer or a tag,
as the Runs screen's `/` does); `up`/`down` and the page keys move, `enter` (or a click on the
selected row) picks the run and dismisses with its id; `escape` cancels (None). Used by
Analyze's `o` (every stored run) and Train's `a` (the runs training elsewhere).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from cnn_tui.spec.text import printable
from cnn_tui.tui.common.field_input import FieldInput
from cnn_tui.tui.common.footer import KeyBar
from cnn_tui.tui.runs.runs_table import COLUMNS, filter_records, sort_records

STATUS_STYLE = {"failed": "red", "running": "bold", "interrupted": "yellow", "stopped": "dim"}


class RunPicker(ModalScreen["str | None"]):
    """`RunPicker(title, records, current=None)`: dismisses with the chosen run id or None.

    `current` (a run id) starts the cursor on that run when it is listed.
    """

    DEFAULT_CSS = """
    RunPicker { align: center middle; }
    RunPicker > Vertical {
        width: 96%; max-width: 140; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    RunPicker #picker-filter { margin: 1 0 0 0; }
    RunPicker #picker-table { height: auto; max-height: 24; margin-top: 1; overflow-x: hidden; }
    RunPicker #picker-count { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="run_picker.cancel"),
        Binding("down", "move(1)", "Down", show=False, id="run_picker.down"),
        Binding("up", "move(-1)", "Up", show=False, id="run_picker.up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="run_picker.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="run_picker.page_up"),
        Binding("enter", "pick", "Open", id="run_picker.pick", priority=True),
    ]

    def __init__(self, title: str, records: list, current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.records = list(records)
        self.current = current
        self.shown: list = []  # the records listed now, in their order

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(printable(self.title_text), style="bold"))
            yield FieldInput(placeholder="type to filter: name, id, architecture, status, tag, "
                                         "optimizer", id="picker-filter")
            table = DataTable(id="picker-table", cursor_type="row", zebra_stripes=True)
            table.can_focus = False  # the keys stay in the filter: typing never moves the rows
            yield table
            yield Static("", id="picker-count")
        yield KeyBar()  # a dialog shows its own keys, not the screen's behind it

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for c in COLUMNS:
            table.add_column(c.label, key=c.key)
        self._list("")
        if self.current is not None:
            ids = [r.id for r in self.shown]
            if self.current in ids:
                table.move_cursor(row=ids.index(self.current), animate=False)
        self.query_one(Input).focus()

    def _list(self, text: str) -> None:
        """The records matching `text`, newest first; the cursor stays on its run if listed."""
        table = self.query_one(DataTable)
        keep = self.selected
        self.shown = sort_records(filter_records(self.records, text), "started", True)
        table.clear()
        for r in self.shown:
            cells = [Text(printable(c.cell(r)), style=STATUS_STYLE.get(r.status, "")
                          if c.key == "status" else "") for c in COLUMNS]
            table.add_row(*cells, key=r.id)
        ids = [r.id for r in self.shown]
        if keep in ids:
            table.move_cursor(row=ids.index(keep), animate=False)
        count = self.query_one("#picker-count", Static)
        if not self.shown:
            count.update(Text(f"no run matches {text.strip()!r}: backspace widens the filter"))
        else:
            total = len(self.records)
            what = f"{len(self.shown)} of {total} runs" if text.strip() else f"{total} runs"
            count.update(f"{what} · ↑↓ move · enter opens · escape cancels")

    @property
    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.shown or not 0 <= table.cursor_row < len(self.shown):
            return None
        return self.shown[table.cursor_row].id

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._list(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_pick()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # a click on the selected row
        self.action_pick()

    def action_move(self, delta: int) -> None:
        table = self.query_one(DataTable)
        if delta > 0:
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    def action_page(self, delta: int) -> None:
        table = self.query_one(DataTable)
        step = max(1, table.scrollable_content_region.height - 1)
        row = min(max(0, table.cursor_row + delta * step), max(0, len(self.shown) - 1))
        table.move_cursor(row=row, animate=False)

    def action_pick(self) -> None:
        run_id = self.selected
        if run_id is None:
            self.app.bell()
            return
        self.dismiss(run_id)

    def action_cancel(self) -> None:
        self.dismiss(None)
