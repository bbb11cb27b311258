"""The Runs screen: every stored run in one table, to sort, filter, open, rename, tag, delete,
mark and compare, share and export.

The table is read from the run store (`RunStore.list_runs`) when the screen opens, on `r`,
after every change made here, and every few seconds while the screen is shown (a run trained
in Train, in tmux or by a CLI shows up and its status follows without a key press; an
unchanged store costs one query and a comparison). Runs the architecture history does not know
yet (trained from the command line) are added to it as they are listed, so every run links to
its exact version.

Nothing here imports torch: exports that need it run in a thread worker.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.text import printable
from cnn_tui.tui.runs.runs_table import COLUMNS, PIN, RunsTable
from cnn_tui.tui.common.footer import KeyBar
from cnn_tui.tui.common.field_input import FieldInput
from cnn_tui.tui.common.topbar import TopBar

REFRESH_SECONDS = 3.0
MAX_NAME = 200


def parse_tags(text: str) -> list[str]:
    """"a, b,,a" -> ["a", "b"]; "-" clears."""
    if text.strip() == "-":
        return []
    out: list[str] = []
    for part in text.split(","):
        tag = " ".join(part.split())[:60]
        if tag and tag not in out:
            out.append(tag)
    return out


class RunsScreen(Screen):
    """Every run from the store (`root`: the run store folder, default the user's)."""

    CSS_PATH = Path(__file__).with_name("runs.tcss")
    HELP = ("Runs: every stored run. j/k, g/G move; enter opens it in Analyze; s sorts by the "
            "next column, S reverses; / filters (escape clears); m marks, M marks every run shown "
            "(again: unmarks them), c compares the marked runs (no marks: the baseline with "
            "the run under the cursor; runs of one experiment or sweep trial as a seed group); "
            "b pins a baseline "
            "(kept on top, ⚑, in every comparison); n renames, t tags (- clears), d deletes "
            "(asks); x share code, e exports; r re-reads the store (also every few seconds). "
            "Columns that do not fit are listed under the table, with the run id.")
    BINDINGS = [
        Binding("m", "mark", "Mark", id="runs.mark"),
        Binding("M", "mark_shown", "Mark all", show=False, id="runs.mark_shown"),
        Binding("c", "compare", "Compare", id="runs.compare"),
        Binding("slash", "filter", "Filter", key_display="/", id="runs.filter"),
        Binding("s", "sort", "Sort", id="runs.sort"),
        Binding("b", "pin", "Baseline", id="runs.pin"),
        Binding("S", "reverse", "Reverse", show=False, id="runs.reverse"),
        Binding("n", "rename", "Rename", show=False, id="runs.rename"),
        Binding("t", "tag", "Tag", show=False, id="runs.tag"),
        Binding("d", "delete", "Delete", show=False, id="runs.delete"),
        Binding("x", "share", "Share code", show=False, id="runs.share"),
        Binding("e", "export", "Export", show=False, id="runs.export"),
        Binding("r", "refresh", "Refresh", show=False, id="runs.refresh"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="runs.clear_filter"),
    ]

    def __init__(self, root: Path | str | None = None) -> None:
        super().__init__()
        self._root = root
        self._store = None
        self.error: str | None = None

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Static("", id="runs-status")
        yield FieldInput(placeholder="filter: words matching name, architecture, status, tags, "
                                "optimizer", id="runs-filter")
        yield RunsTable(id="runs-table")
        yield Static("", id="runs-detail")
        yield Static("No runs yet. Train one on the Train screen (2) or with "
                     "`cnn-tui train FILE`; it shows up here.", id="runs-empty")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#runs-filter", Input).display = False
        self.refresh_runs()
        self.query_one(RunsTable).focus()
        self.set_interval(REFRESH_SECONDS, self._tick)

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    def _tick(self) -> None:
        if self.is_current:
            self.refresh_runs()

    # ------------------------------------------------------------------ store
    @property
    def store(self):
        if self._store is None:
            from cnn_tui.runs.store import RunStore

            self._store = RunStore(self._root or self.app.settings.runs_dir)
            self._store.upgrade()  # a store of an older cnn-tui: its runs' versions linked once
        return self._store

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def refresh_runs(self) -> None:
        """Re-read the store; a broken store is a status line, not a crash."""
        try:
            records = self.store.list_runs()
        except CnnTuiError as err:
            self.error = str(err)
            self._show_status()
            return
        self.error = None
        self.table.show(records)
        self._show_status()

    def _show_status(self) -> None:
        table = self.table
        empty = not table.records and self.error is None
        self.query_one("#runs-empty").display = empty
        table.display = not empty
        if self.error:
            text = Text.assemble(("cannot read the run store: ", "bold"), printable(self.error))
        else:
            label = next(c.label for c in COLUMNS if c.key == table.sort_column)
            parts = [f"{len(table.records)} runs"]
            if table.filter_text:
                parts.append(f"{len(table.shown)} match {table.filter_text!r}")
            parts.append(f"sorted by {label} ({'descending' if table.reverse else 'ascending'})")
            pinned = len(table.pinned)
            if pinned:
                parts.append(f"{PIN} {pinned} baseline{'s' if pinned != 1 else ''}")
            if table.marked:
                parts.append(f"{len(table.marked)} marked")
            parts.append(str(self.store.root))
            text = Text(printable(" · ".join(parts)))
        self.query_one("#runs-status", Static).update(text)
        self._show_detail()

    def _show_detail(self) -> None:
        """Under the table: the run under the cursor's id (what `--resume` takes) and the
        columns the width left out."""
        table = self.table
        detail = self.query_one("#runs-detail", Static)
        record = table.record(table.current_id) if table.current_id else None
        detail.display = record is not None and self.error is None
        if record is None:
            return
        text = Text()
        if record.pinned:
            text.append(f"{PIN} baseline  ", style="bold")
        text.append("run id ", style="bold")
        text.append(record.id)
        name_width = table.columns["name"].width if "name" in table.columns else 0
        if record.name and len(printable(record.name)) > name_width:
            text.append(" · name ", style="bold")
            text.append(printable(record.name))
        for c in COLUMNS:
            value = c.cell(record)
            if c.key in table.hidden and c.key != "id" and value not in ("", "—"):
                text.append(f" · {c.label} ", style="bold")
                text.append(printable(value))
        detail.update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def _current(self, what: str):
        run_id = self.table.current_id
        if run_id is None:
            self.notify(f"no run to {what}", severity="warning")
            return None
        return self.table.record(run_id)

    # ------------------------------------------------------------------ sort, filter, marks
    def action_sort(self) -> None:
        self.table.cycle_sort()
        self._show_status()

    def action_reverse(self) -> None:
        self.table.flip_sort()
        self._show_status()

    def action_filter(self) -> None:
        entry = self.query_one("#runs-filter", Input)
        entry.display = True
        # focused now, not after the keys already queued: `/seed` typed (or pasted) in one go
        # went to the table's keys (s sorted, e opened Export)
        self.set_focus(entry)

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)
        self._show_status()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            event.input.display = False
        self.table.focus()

    def action_clear_filter(self) -> None:
        entry = self.query_one("#runs-filter", Input)
        if not entry.display and not self.table.filter_text:
            return
        entry.value = ""
        entry.display = False
        self.table.set_filter("")
        self.table.focus()
        self._show_status()

    def action_mark(self) -> None:
        record = self._current("mark")
        if record is None:
            return
        self.table.toggle_mark(record.id)
        self.table.step(1)
        self._show_status()

    def action_mark_shown(self) -> None:
        """Mark every run the filter shows (all of them marked already: unmark them)."""
        shown = len(self.table.shown)
        if not shown:
            self.notify("no run shown to mark", severity="warning")
            return
        marked = self.table.mark_shown()
        self.notify(f"{'marked' if marked else 'unmarked'} the {shown} run"
                    f"{'s' if shown != 1 else ''} shown", timeout=3)
        self._show_status()

    def action_pin(self) -> None:
        """Pin the run under the cursor as a baseline, or unpin it (kept in the store)."""
        record = self._current("pin")
        if record is None:
            return
        pin = not record.pinned
        label = record.name or record.id
        self._change(lambda: self.store.set_pinned(record.id, pin),
                     f"{PIN} {label} is a baseline: kept on top, in every comparison" if pin
                     else f"{label} is no longer a baseline")

    # ------------------------------------------------------------------ open, compare
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value:
            self.run_worker(self.open_in_analyze(str(event.row_key.value)), group="runs-open")

    async def open_in_analyze(self, run_id: str) -> None:
        """Switch to Analyze with this run selected (the app's action)."""
        await self.app.run_action(f"analyze_run({run_id!r})")

    def compare_records(self) -> list:
        """What `c` compares: the pinned baselines first (the first is the one the others are
        measured against), then the marked runs, or the run under the cursor when none is
        marked."""
        table = self.table
        chosen = [r.id for r in table.pinned]
        others = list(table.marked) or ([table.current_id] if table.current_id else [])
        chosen += [m for m in others if m not in chosen]
        return [r for r in (table.record(m) for m in chosen) if r is not None]

    def action_compare(self) -> None:
        records = self.compare_records()
        if len(records) < 2:
            self.notify("mark two or more runs with m first (or pin a baseline with b)",
                        severity="warning")
            return
        from cnn_tui.tui.runs.compare import CompareScreen

        self.app.push_screen(CompareScreen(records))

    # ------------------------------------------------------------------ rename, tag, delete
    def action_rename(self) -> None:
        record = self._current("rename")
        if record is None:
            return
        from cnn_tui.tui.common.path_prompt import PathPrompt

        def chosen(text: str | None) -> None:
            if text is None:
                return
            name = " ".join(text.split())[:MAX_NAME]
            if not name:
                return
            self._change(lambda: self.store.rename(record.id, name), f"renamed to {name!r}")

        self.app.push_screen(PathPrompt(f"Rename run {record.id}", record.name or "",
                                        "enter: rename · escape: cancel"), chosen)

    def action_tag(self) -> None:
        record = self._current("tag")
        if record is None:
            return
        from cnn_tui.tui.common.path_prompt import PathPrompt

        def chosen(text: str | None) -> None:
            if text is None:
                return
            tags = parse_tags(text)
            self._change(lambda: self.store.set_tags(record.id, tags),
                         f"tags: {', '.join(tags) if tags else 'none'}")

        self.app.push_screen(PathPrompt(f"Tags of run {record.name or record.id}",
                                        ", ".join(record.tags or []),
                                        "comma-separated · '-' clears · enter: set · "
                                        "escape: cancel"), chosen)

    def action_delete(self) -> None:
        record = self._current("delete")
        if record is None:
            return
        if record.status == "running":
            self.notify(f"run {record.id} is still training: stop it first", severity="warning")
            return
        from cnn_tui.tui.common.confirm import ChoiceDialog

        def answer(choice: str | None) -> None:
            if choice == "delete":
                self._change(lambda: self.store.delete(record.id), f"deleted run {record.id}")

        shown = f"{record.name!r} ({record.id})" if record.name else record.id
        self.app.push_screen(ChoiceDialog(
            "Delete run", f"Delete run {shown}: {record.arch_name}, {record.status}? Its metrics "
            "and checkpoints are removed for good.",
            [("y", "Delete", "delete"), ("n", "Keep", "cancel")]), answer)

    def _change(self, do, done: str) -> None:
        try:
            do()
        except CnnTuiError as err:
            self.notify(str(err), severity="error", timeout=10)
            return
        self.notify(done, timeout=3)
        self.refresh_runs()

    def action_refresh(self) -> None:
        self.refresh_runs()
        self.notify(f"{len(self.table.records)} runs", timeout=2)

    # ------------------------------------------------------------------ share, export
    def action_share(self) -> None:
        record = self._current("share")
        if record is None:
            return
        from cnn_tui.export.source import run_architecture
        from cnn_tui.spec import sharecode
        from cnn_tui.tui.common.export import ShareCodeDialog

        try:
            code = sharecode.encode(run_architecture(record))
        except CnnTuiError as err:
            self.notify(str(err), severity="error", timeout=10)
            return
        self.app.copy_to_clipboard(code)
        self.app.push_screen(ShareCodeDialog(code))

    def action_export(self) -> None:
        record = self._current("export")
        if record is None:
            return
        from cnn_tui.tui.runs.run_export import RunExportDialog, default_path, export_formats

        def chosen(fmt) -> None:
            if fmt is None:
                return
            from cnn_tui.tui.common.path_prompt import PathPrompt

            self.app.push_screen(
                PathPrompt(f"Export: {fmt.label}", str(default_path(fmt, record, Path(os.getcwd())))),
                lambda text: text and self._export(fmt, record.id, Path(os.path.expanduser(text))))

        self.app.push_screen(RunExportDialog(export_formats(), record), chosen)

    def _export(self, fmt, run_id: str, path: Path) -> None:
        from cnn_tui.tui.runs.run_export import write_run_export

        root = self.store.root

        def job() -> None:
            try:
                written = write_run_export(fmt, run_id, path, root)
            except CnnTuiError as err:
                self.app.call_from_thread(self.notify, str(err), severity="error", timeout=10)
                return
            except Exception as exc:  # noqa: BLE001 - a writer bug must not take the app down
                self.app.call_from_thread(self.notify, f"export failed: {type(exc).__name__}: "
                                          f"{exc}", severity="error", timeout=10)
                return
            self.app.call_from_thread(self.notify, f"exported {fmt.label} to {written}",
                                      timeout=4)

        self.run_worker(job, thread=True, group="runs-export", exit_on_error=False,
                        description=f"export {fmt.key}")
