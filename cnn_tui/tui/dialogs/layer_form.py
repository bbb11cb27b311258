"""Edit one layer's parameters, seeing the effect on the whole model before committing.

One field per Param: a Select where the allowed values are a small set (choices, true/false),
and for numbers a Select of the usual values (filters 8..512, kernel 3/5/7, ...) beside an
Input that takes anything in range. Every change re-parses the fields; a value that is refused
shows `Param.parse_text`'s reason under its field and blocks the commit. Valid values are
applied to a copy of the model and analysed at once: the form shows the layer's new output
shape and parameters, the totals and any new rule messages, and `on_preview` hands the
analysis to the screen behind so its table updates too. enter / ctrl+s commits, escape cancels.
Dismisses with the edited Layer or None.
"""

from __future__ import annotations

from typing import Any, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from cnn_tui.errors import SpecError
from cnn_tui.spec import edit
from cnn_tui.spec.analysis import Analysis, analyze
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.params import BOOL, CHOICE, Param
from cnn_tui.tui.widgets.layer_list import MARKERS, count_str, shape_str


def value_text(value: Any) -> str:
    """How a parameter value is written in an Input ('' for unset)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parse_value(p: Param, raw: Any) -> Any:
    """A field's value as the layer will hold it: `raw` is an Input's text or a Select's
    value (Select.NULL when blank). Raises SpecError with the one-line reason to show."""
    if isinstance(raw, str) and p.kind not in (CHOICE,):
        return p.parse_text(raw, "")
    return p.check(None if raw is Select.NULL else raw, "")


def _issue_key(issue) -> tuple:
    return (issue.rule, issue.row, issue.message)


def effect_text(before: Analysis, after: Analysis, row: int) -> Text:
    """What the edit would change: this row's shape and parameters, the totals, new messages."""
    old, new = before.rows[row], after.rows[row]
    out = Text()
    out.append("Effect: ", style="bold")
    out.append(f"output {shape_str(new.out_shape)}")
    if new.out_shape != old.out_shape:
        out.append(f" (was {shape_str(old.out_shape)})")
    out.append(f" | params {count_str(new.params)}")
    if new.params != old.params:
        out.append(f" (was {count_str(old.params)})")
    out.append(f" | model {count_str(before.total_params)}")
    if after.total_params != before.total_params:
        out.append(f" -> {count_str(after.total_params)}")
    out.append(f", output {shape_str(after.output_shape)}")
    old_keys = {_issue_key(i) for i in before.issues}
    new_keys = {_issue_key(i) for i in after.issues}
    for issue in after.issues:
        if _issue_key(issue) not in old_keys:
            out.append(f"\nnew {MARKERS.get(issue.severity, '?')} {issue.message}")
    for issue in before.issues:
        if _issue_key(issue) not in new_keys:
            out.append(f"\nfixed: {issue.message}")
    return out


class LayerForm(ModalScreen[Layer | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "apply", "Apply", id="form.apply", priority=True),
    ]

    DEFAULT_CSS = """
    LayerForm { align: center middle; }
    LayerForm > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    LayerForm #fields { height: auto; max-height: 16; }
    LayerForm .field { height: 1; }
    LayerForm .field Label { width: 15; }
    LayerForm .field Select { width: 16; margin-right: 1; }
    LayerForm .field Input { width: 1fr; }
    LayerForm .msg {
        padding-left: 15; color: $text-muted; height: 1;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    LayerForm .msg.refused { color: $error; text-style: bold; }
    LayerForm #effect { height: auto; margin-top: 1; }
    LayerForm #form-keys { color: $text-muted; }
    """

    def __init__(self, arch: Architecture, row: int,
                 on_preview: Callable[[Analysis | None], None] | None = None) -> None:
        super().__init__()
        self._arch = arch
        self._row = row
        self._layer = edit.layer_at(arch, row)
        self._kind = LAYER_TYPES[self._layer.type]
        self._before = analyze(arch)
        self._on_preview = on_preview
        self.errors: dict[str, str] = {}  # field name -> why its value is refused
        self.candidate: Layer | None = None  # the layer the fields describe, when all are valid

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        info = self._before.rows[self._row]
        with Vertical():
            yield Label(Text(f"Edit layer {info.number}: {self._kind.title}", style="bold"))
            with VerticalScroll(id="fields"):
                params = list(self._kind.params)
                if not params:
                    yield Static(f"{self._kind.title} has no settings.")
                for p in params:
                    yield from self._field(p, self._layer.params.get(p.name))
            yield Static(id="effect")
            yield Static("ctrl+s (or enter in a text field): apply   escape: cancel   "
                         "tab: next field",
                         id="form-keys")

    def _field(self, p: Param, value: Any) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label(p.name)
            if p.kind in (CHOICE, BOOL):
                choices = p.choices if p.kind == CHOICE else (True, False)
                yield Select([(value_text(c), c) for c in choices], allow_blank=p.optional,
                             value=value if value is not None else Select.NULL,
                             prompt="(none)", compact=True, id=f"field-{p.name}")
            else:
                if p.suggested:
                    yield Select([(value_text(s), s) for s in p.suggested], allow_blank=True,
                                 value=value if value in p.suggested else Select.NULL,
                                 prompt="pick", compact=True, id=f"pick-{p.name}")
                yield Input(value_text(value), placeholder=p.range_text(), compact=True,
                            id=f"field-{p.name}")
        yield Static(self._help(p), classes="msg", id=f"msg-{p.name}", markup=False)

    @staticmethod
    def _help(p: Param) -> str:
        extra = " (empty: default)" if p.optional and p.kind not in (CHOICE, BOOL) else ""
        return f"{p.help} [{p.range_text()}]{extra}"

    def on_mount(self) -> None:
        params = list(self._kind.params)
        if params:
            self.query_one(f"#field-{params[0].name}").focus()
        self._revalidate()

    # -- reading the fields --------------------------------------------------------------
    def read_params(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(the parsed values, the refusal reason per field name)."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for p in self._kind.params:
            widget = self.query_one(f"#field-{p.name}")
            try:
                values[p.name] = parse_value(p, widget.value)
            except SpecError as err:
                errors[p.name] = str(err)
        return values, errors

    def _revalidate(self) -> None:
        values, self.errors = self.read_params()
        for p in self._kind.params:
            msg = self.query_one(f"#msg-{p.name}", Static)
            if p.name in self.errors:
                msg.update(f"✗ refused: {self.errors[p.name]}")
                msg.add_class("refused")
            else:
                msg.update(self._help(p))
                msg.remove_class("refused")
        effect = self.query_one("#effect", Static)
        if self.errors:
            self.candidate = None
            effect.update(Text(f"Fix the field marked ✗ to see the effect "
                               f"({len(self.errors)} refused).", style="bold"))
            return
        inner = [l.copy() for l in self._layer.layers] if self._layer.layers is not None else None
        self.candidate = Layer(self._layer.type, values, inner)
        after = analyze(edit.replace(self._arch, self._row, self.candidate).arch)
        effect.update(effect_text(self._before, after, self._row))
        if self._on_preview is not None:
            self._on_preview(after)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._revalidate()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        select_id = event.select.id or ""
        if select_id.startswith("pick-"):
            if event.value is not Select.NULL:
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
                self.query_one(f"#field-{name}").focus()
            self.app.bell()
            return
        if self._on_preview is not None:
            self._on_preview(None)
        self.dismiss(self.candidate)

    def action_cancel(self) -> None:
        if self._on_preview is not None:
            self._on_preview(None)
        self.dismiss(None)
