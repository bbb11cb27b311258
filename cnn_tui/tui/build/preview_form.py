"""What the layer form and the model settings form share: fields that preview their effect.

A `PreviewForm` is a modal of fields, one row per Param: a Select where the allowed values
are a small set (choices, true/false), and for numbers an Input that takes anything in range,
up/down stepping through the usual values, beside a dropdown of them for the mouse (it shows
what is typed, a usual value or not, and is not a tab stop: one tab stop per field). Keys
typed in a burst apply in order (`field_input.FieldInput`).
Every change re-reads the fields (`_revalidate`, the subclass's); a refused value shows its
reason under its field and blocks applying; a valid candidate is analysed and its effect
shown, `on_preview` handing the analysis to the screen behind. enter / ctrl+s applies (or
focuses the first refused field and rings), escape cancels; both clear the preview.
"""

from __future__ import annotations

from typing import Any, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from cnn_tui.errors import SpecError
from cnn_tui.spec.analysis import Analysis
from cnn_tui.spec.params import BOOL, CHOICE, Param
from cnn_tui.tui.common.field_input import FieldInput, PickSelect
from cnn_tui.tui.build.layer_list import MARKERS
from cnn_tui.tui.common.footer import KeyBar


# the keys line under a form's fields (fits one line of the form at 80 columns; enter applies
# from a text field, opens the list in a dropdown)
FORM_KEYS = "ctrl+s/enter: apply · esc: cancel · tab: next · ↑/↓: usual values"


def value_text(value: Any) -> str:
    """How a parameter value is written in an Input ('' for unset)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def pick_options(p: Param, value: Any) -> list[tuple[str, Any]]:
    """A number field's dropdown: its usual values, and the one typed when it is not one."""
    values = list(p.suggested)
    if value is not None and value not in values:
        values = sorted(values + [value])
    return [(value_text(v), v) for v in values]


def parse_value(p: Param, raw: Any) -> Any:
    """A field's value as the model will hold it: `raw` is an Input's text or a Select's
    value (Select.NULL when blank). Raises SpecError with the one-line reason to show."""
    if isinstance(raw, str) and p.kind not in (CHOICE,):
        return p.parse_text(raw, "")
    return p.check(None if raw is Select.NULL else raw, "")


def help_text(p: Param) -> str:
    """The line under a field: what it means and what it takes (a choice's values are in its
    list already: left out, so the meaning fits one line of an 80-column form)."""
    if p.kind == CHOICE:
        return p.help
    extra = " (empty: default)" if p.optional and p.kind != BOOL else ""
    return f"{p.help} [{p.range_text()}]{extra}"


def append_issue_changes(out: Text, before: Analysis, after: Analysis,
                         error_style: str = "") -> None:
    """The rule messages an edit causes ("new ✗ ...") and those it fixes ("fixed: ...")."""
    def key(issue) -> tuple:
        return (issue.rule, issue.row, issue.message)

    old_keys = {key(i) for i in before.issues}
    new_keys = {key(i) for i in after.issues}
    for issue in after.issues:
        if key(issue) not in old_keys:
            style = error_style if issue.severity == "error" else ""
            out.append(f"\nnew {MARKERS.get(issue.severity, '?')} {issue.message}", style=style)
    for issue in before.issues:
        if key(issue) not in new_keys:
            out.append(f"\nfixed: {issue.message}")


class PreviewForm(ModalScreen):
    """Subclasses compose their rows with `field_row` and implement `_revalidate`, which sets
    `errors` (field name -> reason) and `candidate` (None while anything is refused)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "apply", "Apply", id="form.apply", priority=True),
    ]

    DEFAULT_CSS = """
    PreviewForm { align: center middle; }
    PreviewForm > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    PreviewForm #fields { height: auto; }
    PreviewForm .field { height: 1; }
    PreviewForm .field Label { width: 15; }
    PreviewForm .field Select { width: 16; margin-right: 1; }
    PreviewForm .field Input { width: 1fr; }
    PreviewForm .msg {
        padding-left: 15; color: $text-muted; height: 1;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    PreviewForm .msg.refused { color: $error; text-style: bold; }
    PreviewForm #effect { height: auto; }
    PreviewForm #form-keys { color: $text-muted; }
    """

    def __init__(self, on_preview: Callable[[Analysis | None], None] | None = None) -> None:
        super().__init__()
        self._on_preview = on_preview
        self._fields: dict[str, Param] = {}  # the rows made by field_row
        self.errors: dict[str, str] = {}  # field name -> why its value is refused
        self.candidate: Any = None  # what the fields describe, when all are valid

    # -- rows ----------------------------------------------------------------------------
    def field_row(self, p: Param, value: Any) -> ComposeResult:
        self._fields[p.name] = p
        with Horizontal(classes="field"):
            yield Label(p.name)
            if p.kind in (CHOICE, BOOL):
                choices = p.choices if p.kind == CHOICE else (True, False)
                yield Select([(value_text(c), c) for c in choices], allow_blank=p.optional,
                             value=value if value is not None else Select.NULL,
                             prompt="(none)", compact=True, id=f"field-{p.name}")
            else:
                if p.suggested:
                    yield PickSelect(pick_options(p, value), allow_blank=True,
                                     value=value if value is not None else Select.NULL,
                                     prompt="default" if p.optional else "pick", compact=True,
                                     id=f"pick-{p.name}",
                                     field_id=f"field-{p.name}")
                yield FieldInput(value_text(value), placeholder=p.range_text(), compact=True,
                                 id=f"field-{p.name}", presets=p.suggested,
                                 parse=lambda text, p=p: p.parse_text(text, ""))
        yield Static(help_text(p), classes="msg", id=f"msg-{p.name}", markup=False)

    def show_message(self, name: str, help_line: str) -> None:
        """Under field `name`: its refusal when it has one, else `help_line`."""
        msg = self.query_one(f"#msg-{name}", Static)
        if name in self.errors:
            msg.update(f"✗ refused: {self.errors[name]}")
            msg.add_class("refused")
        else:
            msg.update(help_line)
            msg.remove_class("refused")

    def show_effect(self, after: Analysis | None = None, text: Text | None = None) -> None:
        """The effect of the candidate (`text`, its analysis `after`), or what blocks it."""
        effect = self.query_one("#effect", Static)
        if after is None:
            effect.update(Text(f"Fix the field marked ✗ to see the effect "
                               f"({len(self.errors)} refused).", style="bold"))
            return
        effect.update(text)
        if self._on_preview is not None:
            self._on_preview(after)

    def field_selector(self, name: str) -> str:
        """The widget to focus when field `name` is refused."""
        return f"#field-{name}"

    def _revalidate(self) -> None:
        raise NotImplementedError

    # -- events --------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._sync_pick(event.input)
        self._revalidate()

    def _sync_pick(self, field: Input) -> None:
        """The usual-values dropdown beside a number field shows the typed value (one of its
        own or not), or is blank while nothing valid is typed."""
        param = self._fields.get((field.id or "").removeprefix("field-"))
        if param is None or not param.suggested:
            return
        try:
            value = param.parse_text(field.value, "")
        except SpecError:
            value = None
        pick = self.query_one(f"#pick-{param.name}", PickSelect)
        with pick.prevent(Select.Changed):
            pick.offer(pick_options(param, value))
            wanted = value if value is not None else Select.NULL
            if pick.value != wanted:
                pick.value = wanted

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        select_id = event.select.id or ""
        if select_id.startswith("pick-") and event.value is not Select.NULL:
            target = self.query_one(f"#field-{select_id[5:]}", Input)
            text = value_text(event.value)
            if target.value != text:
                target.value = text  # Input.Changed revalidates
                return
        self._revalidate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    # -- actions -------------------------------------------------------------------------
    def action_apply(self) -> None:
        self._revalidate()
        if self.errors or self.candidate is None:
            name = next(iter(self.errors), None)
            if name is not None:
                self.query_one(self.field_selector(name)).focus()
            self.app.bell()
            return
        if self._on_preview is not None:
            self._on_preview(None)
        self.dismiss(self.candidate)

    def action_cancel(self) -> None:
        if self._on_preview is not None:
            self._on_preview(None)
        self.dismiss(None)
