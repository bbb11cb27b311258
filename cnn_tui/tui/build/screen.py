"""The Build screen: the keyboard editor for the architecture in `app.document`.

Every edit is one call into `cnn_tui.spec.edit` (which returns a new architecture and the row
the cursor should land on) followed by `document.apply`, so undo/redo, the dirty flag and the
app's autosave all see the same history. The screen re-renders from the document whenever it
changes (its subscription), whoever changed it: this screen, the command palette or a file
opened elsewhere. A render is one `analyze()` plus a rebuild of the table: well inside a frame
(see benchmarks/editor_infer.py).
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec import edit
from cnn_tui.spec.analysis import Analysis, analyze
from cnn_tui.spec.fmt import layer_label
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.text import printable
from cnn_tui.tui.build.layer_form import LayerForm
from cnn_tui.tui.build.layer_picker import LayerPicker
from cnn_tui.tui.build.template_picker import TemplatePicker
from cnn_tui.tui.build.diagram import Diagram
from cnn_tui.tui.common.footer import KeyBar
from cnn_tui.tui.build.layer_list import LayerList
from cnn_tui.tui.build.layer_panel import LayerPanel
from cnn_tui.tui.build.totals import Totals, input_text
from cnn_tui.tui.common.topbar import TopBar

NARROW = 110  # below this many columns the side panel goes under the table


def _title(type_name: str) -> str:
    kind = LAYER_TYPES.get(type_name)
    return kind.title if kind else type_name


class BuildScreen(Screen):
    CSS_PATH = "build.tcss"

    BINDINGS = [
        Binding("a", "add", "Add", id="build.add"),
        Binding("i", "insert", "Insert", show=False, id="build.insert"),
        Binding("d", "delete", "Delete", id="build.delete"),
        Binding("enter", "edit", "Edit", id="build.edit"),
        Binding("c", "change_type", "Change type", show=False, id="build.change_type"),
        Binding("J,shift+j", "move(1)", "Move down", show=False, id="build.move_down",
                key_display="J"),
        Binding("K,shift+k", "move(-1)", "Move up", show=False, id="build.move_up",
                key_display="K"),
        Binding("y", "copy", "Copy", show=False, id="build.copy"),
        Binding("p", "paste", "Paste", show=False, id="build.paste"),
        Binding("u", "undo", "Undo", id="build.undo"),
        Binding("ctrl+r", "redo", "Redo", show=False, id="build.redo"),
        Binding("t", "templates", "Templates", id="build.templates"),
        Binding("m", "model", "Model settings", show=False, id="build.model"),
        Binding("H,shift+h", "history", "Versions", show=False, id="build.history",
                key_display="H"),
        Binding("v", "toggle_diagram", "Diagram", show=False, id="build.diagram"),
        # the table has its own j/k; these move its cursor while the diagram replaces it
        Binding("j,down", "cursor(1)", "Next layer", show=False, id="build.diagram_down"),
        Binding("k,up", "cursor(-1)", "Previous layer", show=False, id="build.diagram_up"),
        Binding("g,home", "cursor_edge(0)", "First layer", show=False, id="build.diagram_first"),
        Binding("G,shift+g,end", "cursor_edge(1)", "Last layer", show=False,
                id="build.diagram_last"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.clipboard: Layer | None = None
        self.analysis: Analysis | None = None
        self._pending_row: int | None = None
        self._unsubscribe = None
        self._suggest_cache: tuple | None = None
        self._panel_pending = False
        self._panel_suggestions = True

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        self._fit(self.app.size.width, update=False)  # styled once, not restyled on mount
        yield TopBar()
        with Horizontal(id="build-main"):
            with Vertical(id="build-left"):
                yield Static(id="input-line", markup=False)
                yield LayerList(id="layer-list")
                yield Diagram(id="diagram")
                yield Totals(id="totals", markup=False)
            yield LayerPanel(id="panel")
        yield KeyBar()

    @property
    def document(self):
        return self.app.document

    @property
    def layer_list(self) -> LayerList:
        return self.query_one(LayerList)

    def on_mount(self) -> None:
        self._unsubscribe = self.document.subscribe(self._document_changed)
        self._fit(self.app.size.width)
        # After the first refresh: Textual paints that one while it still batches the start-up
        # and drops it, then sends only what changed since; filled in now, the table and totals
        # would reach the terminal only with a later full update (measured in a pty: ~30 ms).
        self.call_after_refresh(self.render_document)
        self.layer_list.focus()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def on_resize(self, event) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int, update: bool = True) -> None:
        self.set_class(width < NARROW, "narrow", update=update)

    # -- rendering -----------------------------------------------------------------------
    def _document_changed(self) -> None:
        row = self._pending_row if self._pending_row is not None else self.cursor_row
        self._pending_row = None
        self.render_document(row)

    @property
    def cursor_row(self) -> int | None:
        return self.layer_list.current_row

    def render_document(self, row: int | None = None) -> None:
        """Analyse the document and show it, the cursor on `row` (default: where it is)."""
        self.show_analysis(analyze(self.document.arch), row)

    def show_analysis(self, analysis: Analysis, row: int | None = None,
                      suggestions: bool = True) -> None:
        """Show any analysis (the document's, or a form's preview of an edit, which skips
        the suggestions: they try each candidate for real, too slow to redo per keystroke)."""
        from cnn_tui.spec.suggest import score

        self.analysis = analysis
        if row is None:
            row = self.cursor_row
        table = self.layer_list
        table.show(analysis, row)
        doc = self.document
        name = doc.path.name if isinstance(doc.path, Path) else "not saved yet"
        dirty = " [modified]" if doc.dirty else ""
        self.query_one("#input-line", Static).update(
            printable(f"{input_text(analysis)} | {name}{dirty}"))
        self.query_one(Totals).show(analysis, score(analysis).value)
        if self.has_class("diagram"):
            self.query_one(Diagram).show(analysis, table.current_row)
        self._show_panel(suggestions)

    def _show_panel(self, with_suggestions: bool = True) -> None:
        """Refresh the panel right after the next paint, bursts of calls coalesced into one.

        The suggestions try each candidate layer for real (~20-30 ms on a 60-layer model), so
        they must not hold back the table: it paints first, the panel follows.
        """
        self._panel_suggestions = with_suggestions
        if not self._panel_pending:
            self._panel_pending = True
            self.call_after_refresh(self._update_panel)

    def _update_panel(self) -> None:
        self._panel_pending = False
        analysis = self.analysis
        if analysis is None or not self.is_mounted:
            return
        row = self.cursor_row
        found = self._suggestions_for(analysis.arch, row) if self._panel_suggestions else []
        self.query_one(LayerPanel).show(analysis, row, found)

    def _suggestions_for(self, arch, row: int | None) -> list:
        """suggest(), remembered for the last (architecture, row): cursor moves re-ask it."""
        from cnn_tui.spec.suggest import suggest

        cached = self._suggest_cache
        if cached is not None and cached[0] is arch and cached[1] == row:
            return cached[2]
        try:
            found = suggest(arch, row)
        except CnnTuiError:
            found = []
        self._suggest_cache = (arch, row, found)
        return found

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_panel()
        if self.has_class("diagram") and self.analysis is not None:
            self.query_one(Diagram).show(self.analysis, self.cursor_row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    # -- applying edits ------------------------------------------------------------------
    def _apply(self, result: edit.Edit, label: str) -> None:
        if result.arch == self.document.arch:
            # Nothing to record, but the edit may still have moved the layer under the cursor:
            # a layer swapped with its identical twin leaves an equal architecture, and the
            # cursor must follow it (else K next to a copy could never get past the copy).
            row = self.cursor_row
            if result.row is None or result.row == row:
                self.app.bell()
                return
            self.layer_list.move_cursor(row=result.row, animate=False, scroll=True)
            return
        self._pending_row = result.row
        self.document.apply(result.arch, label)

    def _try(self, make, label: str) -> None:
        """Run an edit; a refused one (limits, bad row) becomes a notification."""
        try:
            result = make()
        except CnnTuiError as err:
            self.notify(str(err), severity="error")
            return
        self._apply(result, label)

    def _at_cursor(self) -> tuple[Architecture, int, Layer] | None:
        """(architecture, row, layer) under the cursor; None, with a bell, on an empty list."""
        row = self.cursor_row
        if row is None:
            self.app.bell()
            return None
        arch = self.document.arch
        return arch, row, edit.layer_at(arch, row)

    def _suggestions_at(self, after_row: int | None) -> list:
        return self._suggestions_for(self.document.arch, after_row)

    def _pick_and_insert(self, before: bool) -> None:
        row = self.cursor_row
        arch = self.document.arch
        if before:
            after = None if row is None or row == 0 else row - 1
            title = "Insert before " + (layer_label(row) if row is not None else "the start")
        else:
            after = row
            title = "Add after " + (layer_label(row) if row is not None else "the start")

        def chosen(choice) -> None:
            if choice is None:
                return
            type_name, params = choice
            try:
                layer = Layer.make(type_name, **params)
            except CnnTuiError as err:
                self.notify(str(err), severity="error")
                return
            if before:
                self._try(lambda: edit.insert_before(arch, row, layer), f"insert {_title(type_name)}")
            else:
                self._try(lambda: edit.insert_after(arch, row, layer), f"add {_title(type_name)}")

        self.app.push_screen(LayerPicker(title, self._suggestions_at(after)), chosen)

    # -- actions -------------------------------------------------------------------------
    def action_add(self) -> None:
        self._pick_and_insert(before=False)

    def action_insert(self) -> None:
        self._pick_and_insert(before=True)

    def action_add_layer_type(self, type_name: str) -> None:
        """Add a layer of `type_name` after the cursor (the command palette's entry point)."""
        if type_name not in LAYER_TYPES:
            self.notify(f"unknown layer type {type_name!r}", severity="error")
            return
        row = self.cursor_row
        params: dict = {}
        for s in self._suggestions_at(row):
            if s.type == type_name:
                params = dict(s.params or {})
                break
        arch = self.document.arch
        self._try(lambda: edit.insert_after(arch, row, Layer.make(type_name, **params)),
                  f"add {_title(type_name)}")

    def action_change_type(self) -> None:
        """Pick another type for the layer under the cursor; the settings both types have stay
        (edit.change_type), the suggestions for this position come first."""
        if (at := self._at_cursor()) is None:
            return
        arch, row, layer = at
        if layer.type == "residual":
            self.notify(edit.BLOCK_KEEPS_TYPE, severity="warning")  # before a picker opens
            return
        before = _title(layer.type)
        previous = None if row == 0 else row - 1

        def chosen(choice) -> None:
            if choice is None:
                return
            type_name, params = choice
            self._try(lambda: edit.change_type(arch, row, type_name, params),
                      f"change {before} to {_title(type_name)}")

        self.app.push_screen(LayerPicker(f"Change {layer_label(row, before)} to",
                                         self._suggestions_at(previous), exclude=layer.type),
                             chosen)

    def action_delete(self) -> None:
        if (at := self._at_cursor()) is None:
            return
        arch, row, layer = at
        title = _title(layer.type)
        self._try(lambda: edit.delete(arch, row), f"delete {title}")

    def action_move(self, step: int) -> None:
        if (at := self._at_cursor()) is None:
            return
        arch, row, layer = at
        title = _title(layer.type)
        self._try(lambda: edit.move(arch, row, step), f"move {title} {'down' if step > 0 else 'up'}")

    def action_copy(self) -> None:
        if (at := self._at_cursor()) is None:
            return
        self.clipboard = edit.copy_layer(at[0], at[1])
        self.notify(f"copied {_title(self.clipboard.type)} (p pastes it after the cursor)")

    def action_paste(self) -> None:
        if self.clipboard is None:
            self.notify("nothing copied yet: y copies the layer under the cursor",
                        severity="warning")
            return
        arch, row, clip = self.document.arch, self.cursor_row, self.clipboard
        self._try(lambda: edit.paste_after(arch, row, clip), f"paste {_title(clip.type)}")

    def action_edit(self) -> None:
        if (at := self._at_cursor()) is None:
            return
        arch, row, layer = at
        kind = LAYER_TYPES[layer.type]
        if not list(kind.params):
            self.notify(f"{kind.title} has no settings to edit")
            return

        def done(new_layer: Layer | None) -> None:
            if new_layer is None or new_layer == layer:
                self.render_document(row)
                return
            self._try(lambda: edit.replace(arch, row, new_layer), f"edit {kind.title}")

        self._clear_toasts()
        self.app.push_screen(LayerForm(arch, row, on_preview=self._preview), done)

    def action_model(self) -> None:
        """The model's own fields (name, input, classes) in a form; applying is one undoable
        change (the command palette's "Model settings…" calls this too)."""
        from cnn_tui.tui.build.model_form import ModelForm, change_label

        arch, row = self.document.arch, self.cursor_row

        def done(new_arch) -> None:
            if new_arch is None or new_arch == self.document.arch:
                self.render_document(row)
                return
            self._pending_row = row
            self.document.apply(new_arch, change_label(arch, new_arch))

        self._clear_toasts()
        self.app.push_screen(ModelForm(arch, on_preview=self._preview), done)

    def _clear_toasts(self) -> None:
        """A toast from the action before ("copied Conv2D", "undid: ...") would show through
        over a form's fields: cleared while this screen is current, so its own toasts go."""
        self.app.clear_notifications()

    def _preview(self, analysis: Analysis | None) -> None:
        if analysis is None:
            self.render_document()
        else:
            self.show_analysis(analysis, suggestions=False)

    def action_undo(self) -> None:
        label = self.document.undo()
        self.notify(f"undid: {label}" if label else "nothing to undo",
                    severity="information" if label else "warning")

    def action_redo(self) -> None:
        label = self.document.redo()
        self.notify(f"redid: {label}" if label else "nothing to redo",
                    severity="information" if label else "warning")

    def action_templates(self) -> None:
        def chosen(name: str | None) -> None:
            if name:
                self.action_load_template(name)

        self.app.push_screen(TemplatePicker(), chosen)

    def action_history(self) -> None:
        """Step back through the kept versions of this architecture (loading is undoable)."""
        from cnn_tui.tui.build.version_picker import pick_version

        pick_version(self)

    def action_load_template(self, name: str) -> None:
        """Replace the model with template `name` (undoable; the command palette calls this)."""
        from cnn_tui.spec.templates import get_template

        try:
            arch = get_template(name)
        except CnnTuiError as err:
            self.notify(str(err), severity="error")
            return
        self._pending_row = 0
        self.document.load(arch)
        self.notify(f"loaded template {arch.name} (u undoes)")

    def action_toggle_diagram(self) -> None:
        showing = not self.has_class("diagram")
        self.set_class(showing, "diagram")
        if showing:
            if self.analysis is not None:
                self.query_one(Diagram).show(self.analysis, self.cursor_row)
            self.set_focus(None)  # the screen's j/k/arrows now walk the diagram
        else:
            self.layer_list.focus()

    def action_cursor(self, step: int) -> None:
        """Move the table's cursor while it is hidden behind the diagram."""
        row = self.cursor_row
        if row is None:
            return
        table = self.layer_list
        table.move_cursor(row=max(0, min(row + step, table.row_count - 1)), animate=False)

    def action_cursor_edge(self, last: int) -> None:
        """The first (0) or last (1) layer, while the diagram replaces the table."""
        table = self.layer_list
        if table.row_count:
            table.move_cursor(row=table.row_count - 1 if last else 0, animate=False)


# Every class whose BINDINGS carry ids for the editor (for a keymap that checks the ids it is
# given): the screen itself, the table (j/k), the form and the two pickers.
KEY_CLASSES: tuple[type, ...] = (BuildScreen, LayerList, LayerForm, LayerPicker, TemplatePicker)
