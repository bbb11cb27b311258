"""Edit the model's own fields (name, input [C, H, W], classes), seeing the effect on every layer.

The Build screen edits layers; this form (the `m` key, or "Model settings…" in the palette)
edits what the layers are fitted to. Same house style as the layer form: one field per value, a
Select of the usual values beside a free Input, every change re-parsed with the refusal reason
under the field, and valid values applied to a copy of the model and re-analysed at once: the
form shows the new output shape, the parameter count, the rule messages the change causes or
fixes (an input too small for the layers, an output that no longer matches the classes), and
says when the model is no longer MNIST-shaped (it can be designed and exported, not trained
here). `on_preview` hands the analysis to the screen behind so its table and totals follow.

When the model ends in a dense layer (activations and dropout after it aside), a checkbox also
sets that layer's units to the classes, so changing the classes is one undoable step instead of
two; it starts ticked when the layer already matched the classes.

The ranges are the file format's (`Architecture.from_dict`); every candidate is also checked by
`from_dict` itself, so the form can never accept a model the file format would refuse.
enter / ctrl+s applies, escape cancels. Dismisses with the new Architecture or None.
"""

from __future__ import annotations

from typing import Any, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Select, Static

from cnn_tui.errors import SpecError
from cnn_tui.spec.analysis import Analysis, analyze
from cnn_tui.spec.layers import ACTIVATIONS, LAYER_TYPES
from cnn_tui.spec.model import (MAX_CHANNELS, MAX_CLASSES, MAX_NAME, MAX_SIDE, MIN_CLASSES,
                                 Architecture)
from cnn_tui.spec.params import INT, Param
from cnn_tui.tui.dialogs.layer_form import value_text
from cnn_tui.tui.widgets.layer_list import MARKERS, count_str, shape_str

MNIST_INPUT = (1, 28, 28)
MNIST_CLASSES = 10

# The ranges Architecture.from_dict accepts (its constants); tests/test_tui_model_form.py checks
# both bounds of each against from_dict.
NUMBER_FIELDS: tuple[Param, ...] = (
    Param("channels", INT, 1, lo=1, hi=MAX_CHANNELS, suggested=(1, 3),
          help="1 grayscale (MNIST), 3 colour"),
    Param("height", INT, 28, lo=1, hi=MAX_SIDE, suggested=(28, 32, 64, 96, 128, 224),
          help="input height in pixels"),
    Param("width", INT, 28, lo=1, hi=MAX_SIDE, suggested=(28, 32, 64, 96, 128, 224),
          help="input width in pixels"),
    Param("classes", INT, 10, lo=MIN_CLASSES, hi=MAX_CLASSES, suggested=(2, 10, 26, 47, 100, 1000),
          help="classes told apart: the model's outputs"),
)
NAME_HELP = f"shown in titles, runs and exports [1..{MAX_NAME} characters]"
HEAD_HELP = "the final dense layer's units follow the classes"
_TRAILING = set(ACTIVATIONS) | {"dropout"}  # what may follow the final dense layer


def parse_name(text: str) -> str:
    """The name as the model will hold it (trimmed); SpecError with the reason when refused."""
    name = text.strip()
    if not name:
        raise SpecError("", "must not be empty")
    if len(name) > MAX_NAME:
        raise SpecError("", f"must be at most {MAX_NAME} characters, got {len(name)}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise SpecError("", "holds characters that cannot be saved as UTF-8") from None
    return name


def spec_check(name: str, input_: tuple[int, int, int], classes: int) -> None:
    """Refuse what the file format refuses (SpecError whose path names the field)."""
    Architecture.from_dict({"name": name, "input": list(input_), "classes": classes,
                            "layers": []})


def final_dense(arch: Architecture) -> tuple[int, int] | None:
    """(index in arch.layers, table row) of the dense layer that produces the class scores:
    the last top-level layer once trailing activations and dropout are skipped; None when the
    model does not end that way."""
    rows = [0]
    for layer in arch.layers:
        rows.append(rows[-1] + sum(1 for _ in layer.walk()))
    for index in range(len(arch.layers) - 1, -1, -1):
        layer_type = arch.layers[index].type
        if layer_type == "dense":
            return index, rows[index]
        if layer_type not in _TRAILING:
            return None
    return None


def with_settings(arch: Architecture, name: str, input_: tuple[int, int, int], classes: int,
                  resize_head: bool = False) -> Architecture:
    """A copy of `arch` with the model fields set (and the final dense layer's units set to
    `classes` when `resize_head`); raises SpecError when those units are out of range."""
    new = arch.copy()
    new.name, new.input, new.classes = name, tuple(input_), classes
    head = final_dense(new) if resize_head else None
    if head is not None:
        layer = new.layers[head[0]]
        units = LAYER_TYPES["dense"].params.get("units")
        layer.params["units"] = units.check(classes, f"layer {head[1] + 1} units")
    return new


def change_label(old: Architecture, new: Architecture) -> str:
    """What the change did, for undo's "undid: ..." ("model: rename to 'X', input 3x32x32")."""
    parts = []
    if new.name != old.name:
        parts.append(f"rename to {new.name[:40]!r}")
    if tuple(new.input) != tuple(old.input):
        parts.append(f"input {shape_str(tuple(new.input))}")
    if new.classes != old.classes:
        parts.append(f"{new.classes} classes")
    if new.layers != old.layers:
        parts.append("final dense units")
    return "model: " + (", ".join(parts) or "no change")


def mnist_note(input_: tuple[int, int, int], classes: int) -> str | None:
    """Why a model shaped like this cannot be trained on MNIST here, or None when it can."""
    if tuple(input_) == MNIST_INPUT and classes == MNIST_CLASSES:
        return None
    return (f"Not MNIST-shaped (MNIST is {list(MNIST_INPUT)}, {MNIST_CLASSES} classes): "
            f"can be designed and exported, but not trained on MNIST here.")


def _issue_key(issue) -> tuple:
    return (issue.rule, issue.row, issue.message)


def effect_text(before: Analysis, after: Analysis) -> Text:
    """The whole model re-analysed: input, output, parameters, new and fixed rule messages."""
    old, new = before.arch, after.arch
    out = Text()
    out.append("Effect: ", style="bold")
    out.append(f"input {shape_str(tuple(new.input))}")
    if tuple(new.input) != tuple(old.input):
        out.append(f" (was {shape_str(tuple(old.input))})")
    out.append(f" | output {shape_str(after.output_shape)}")
    if after.output_shape != before.output_shape:
        out.append(f" (was {shape_str(before.output_shape)})")
    out.append(f" | params {count_str(after.total_params)}")
    if after.total_params != before.total_params:
        out.append(f" (was {count_str(before.total_params)})")
    old_keys = {_issue_key(i) for i in before.issues}
    new_keys = {_issue_key(i) for i in after.issues}
    for issue in after.issues:
        if _issue_key(issue) not in old_keys:
            style = "bold" if issue.severity == "error" else ""
            out.append(f"\nnew {MARKERS.get(issue.severity, '?')} {issue.message}", style=style)
    for issue in before.issues:
        if _issue_key(issue) not in new_keys:
            out.append(f"\nfixed: {issue.message}")
    note = mnist_note(new.input, new.classes)
    if note:
        out.append("\n" + note, style="italic")
    return out


class ModelForm(ModalScreen[Architecture | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "apply", "Apply", id="form.apply", priority=True),
    ]

    DEFAULT_CSS = """
    ModelForm { align: center middle; }
    ModelForm > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ModelForm #fields { height: auto; }
    ModelForm .field { height: 1; }
    ModelForm .field Label { width: 15; }
    ModelForm .field Select { width: 16; margin-right: 1; }
    ModelForm .field Input { width: 1fr; }
    ModelForm #resize-head { height: 1; border: none; padding: 0; margin-left: 15; }
    ModelForm .msg {
        padding-left: 15; color: $text-muted; height: 1;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    ModelForm .msg.refused { color: $error; text-style: bold; }
    ModelForm #msg-head { display: none; }
    ModelForm #msg-head.refused { display: block; }
    ModelForm #effect-box { height: auto; margin-top: 1; }
    ModelForm #effect { height: auto; }
    ModelForm #form-keys { color: $text-muted; }
    """

    def __init__(self, arch: Architecture,
                 on_preview: Callable[[Analysis | None], None] | None = None) -> None:
        super().__init__()
        self._arch = arch
        self._before = analyze(arch)
        self._on_preview = on_preview
        self._head = final_dense(arch)
        self.errors: dict[str, str] = {}  # field name -> why its value is refused
        self.candidate: Architecture | None = None  # the model the fields describe, when valid

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        arch = self._arch
        values = dict(zip(("channels", "height", "width"), arch.input), classes=arch.classes)
        with Vertical():
            yield Label(Text("Model settings", style="bold"))
            with Vertical(id="fields"):
                with Horizontal(classes="field"):
                    yield Label("name")
                    yield Input(arch.name, placeholder="the model's name", compact=True,
                                id="field-name")
                yield Static(NAME_HELP, classes="msg", id="msg-name", markup=False)
                for p in NUMBER_FIELDS:
                    yield from self._number_field(p, values[p.name])
                if self._head is not None:
                    index, row = self._head
                    units = arch.layers[index].params.get("units")
                    yield Checkbox(f"dense layer {row + 1}'s units ({units}) follow the "
                                   "classes", value=units == arch.classes, compact=True,
                                   id="resize-head", tooltip=HEAD_HELP)
                    yield Static("", classes="msg", id="msg-head", markup=False)
            with VerticalScroll(id="effect-box"):  # the part that gives way on short screens
                yield Static(id="effect")
            yield Static("ctrl+s (enter in a text box): apply   escape: cancel   tab: next",
                         id="form-keys")

    def _number_field(self, p: Param, value: int) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label(p.name)
            yield Select([(value_text(s), s) for s in p.suggested], allow_blank=True,
                         value=value if value in p.suggested else Select.NULL,
                         prompt="pick", compact=True, id=f"pick-{p.name}")
            yield Input(value_text(value), placeholder=p.range_text(), compact=True,
                        id=f"field-{p.name}")
        yield Static(self._help(p), classes="msg", id=f"msg-{p.name}", markup=False)

    @staticmethod
    def _help(p: Param) -> str:
        return f"{p.help} [{p.range_text()}]"

    def on_mount(self) -> None:
        self.query_one("#field-name", Input).focus()
        self._revalidate()

    def on_resize(self) -> None:
        self._fit_effect()

    def _fit_effect(self) -> None:
        """Give the effect what the fields leave of the screen: the fields, the keys line and
        the effect's first lines stay visible at 80x24; the rest of the effect scrolls."""
        fields = len(self.query_one("#fields").children)  # one line each
        if self._head is not None and "head" not in self.errors:
            fields -= 1  # the final dense layer's message shows only a refusal
        fixed = fields + 5  # border 2, title, the effect's top margin, keys line
        box = self.query_one("#effect-box")
        box.styles.max_height = max(3, self.app.size.height - fixed)

    # -- reading the fields --------------------------------------------------------------
    @property
    def resize_head(self) -> bool:
        return self._head is not None and self.query_one("#resize-head", Checkbox).value

    def read_fields(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(the parsed values by field name, the refusal reason per field name)."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        try:
            values["name"] = parse_name(self.query_one("#field-name", Input).value)
        except SpecError as err:
            errors["name"] = str(err)
        for p in NUMBER_FIELDS:
            try:
                values[p.name] = p.parse_text(self.query_one(f"#field-{p.name}", Input).value, "")
            except SpecError as err:
                errors[p.name] = str(err)
        return values, errors

    def _candidate(self, values: dict[str, Any]) -> tuple[Architecture | None, dict[str, str]]:
        input_ = (values["channels"], values["height"], values["width"])
        try:
            spec_check(values["name"], input_, values["classes"])
        except SpecError as err:
            field = {"input": "channels"}.get(err.path, err.path) or "name"
            return None, {field: str(err)}
        try:
            return with_settings(self._arch, values["name"], input_, values["classes"],
                                 self.resize_head), {}
        except SpecError as err:
            return None, {"head": str(err)}

    def _show_messages(self) -> None:
        shown = [("name", NAME_HELP)] + [(p.name, self._help(p)) for p in NUMBER_FIELDS]
        if self._head is not None:
            shown.append(("head", ""))
        for name, help_text in shown:
            msg = self.query_one(f"#msg-{name}", Static)
            if name in self.errors:
                msg.update(f"✗ refused: {self.errors[name]}")
                msg.add_class("refused")
            else:
                msg.update(help_text)
                msg.remove_class("refused")

    def _revalidate(self) -> None:
        values, self.errors = self.read_fields()
        self.candidate = None
        if not self.errors:
            self.candidate, self.errors = self._candidate(values)
        self._show_messages()
        self._fit_effect()
        effect = self.query_one("#effect", Static)
        if self.candidate is None:
            effect.update(Text(f"Fix the field marked ✗ to see the effect "
                               f"({len(self.errors)} refused).", style="bold"))
            return
        after = analyze(self.candidate)
        effect.update(effect_text(self._before, after))
        if self._on_preview is not None:
            self._on_preview(after)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._sync_pick(event.input)
        self._revalidate()

    def _sync_pick(self, field: Input) -> None:
        """The usual-values Select beside a number field shows the typed value, or is blank."""
        name = (field.id or "").removeprefix("field-")
        param = next((p for p in NUMBER_FIELDS if p.name == name), None)
        if param is None:
            return
        try:
            value = param.parse_text(field.value, "")
        except SpecError:
            value = None
        pick = self.query_one(f"#pick-{name}", Select)
        wanted = value if value in param.suggested else Select.NULL
        if pick.value != wanted:
            with pick.prevent(Select.Changed):
                pick.value = wanted

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._revalidate()

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
            target = {"head": "#resize-head"}.get(name, f"#field-{name}") if name else None
            if target is not None:
                self.query_one(target).focus()
            self.app.bell()
            return
        if self._on_preview is not None:
            self._on_preview(None)
        self.dismiss(self.candidate)

    def action_cancel(self) -> None:
        if self._on_preview is not None:
            self._on_preview(None)
        self.dismiss(None)
