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
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, Input, Label, Static

from cnn_tui.errors import SpecError
from cnn_tui.spec.analysis import Analysis, analyze
from cnn_tui.spec.layers import ACTIVATIONS, LAYER_TYPES
from cnn_tui.spec.model import (MAX_CHANNELS, MAX_CLASSES, MAX_NAME, MAX_SIDE, MIN_CLASSES,
                                 Architecture)
from cnn_tui.spec.params import INT, Param
from cnn_tui.spec.text import check_label
from cnn_tui.tui.common.field_input import FieldInput
from cnn_tui.tui.build.preview_form import (FORM_KEYS, PreviewForm, append_issue_changes,
                                              help_text)
from cnn_tui.spec.fmt import fmt_count, shape_cell
from cnn_tui.tui.common.footer import KeyBar

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
    check_label(name, "")
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
        parts.append(f"input {shape_cell(tuple(new.input))}")
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


def effect_text(before: Analysis, after: Analysis) -> Text:
    """The whole model re-analysed: input, output, parameters, new and fixed rule messages."""
    old, new = before.arch, after.arch
    out = Text()
    out.append("Effect: ", style="bold")
    out.append(f"input {shape_cell(tuple(new.input))}")
    if tuple(new.input) != tuple(old.input):
        out.append(f" (was {shape_cell(tuple(old.input))})")
    out.append(f" | output {shape_cell(after.output_shape)}")
    if after.output_shape != before.output_shape:
        out.append(f" (was {shape_cell(before.output_shape)})")
    out.append(f" | params {fmt_count(after.total_params)}")
    if after.total_params != before.total_params:
        out.append(f" (was {fmt_count(before.total_params)})")
    append_issue_changes(out, before, after, error_style="bold")
    note = mnist_note(new.input, new.classes)
    if note:
        out.append("\n" + note, style="italic")
    return out


class ModelForm(PreviewForm):
    DEFAULT_CSS = """
    ModelForm #resize-head { height: 1; border: none; padding: 0; margin-left: 15; }
    ModelForm #msg-head { display: none; }
    ModelForm #msg-head.refused { display: block; }
    ModelForm #effect-box { height: auto; margin-top: 1; }
    """

    def __init__(self, arch: Architecture,
                 on_preview: Callable[[Analysis | None], None] | None = None) -> None:
        super().__init__(on_preview)
        self._arch = arch
        self._before = analyze(arch)
        self._head = final_dense(arch)
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
                    yield FieldInput(arch.name, placeholder="the model's name", compact=True,
                                     id="field-name")
                yield Static(NAME_HELP, classes="msg", id="msg-name", markup=False)
                for p in NUMBER_FIELDS:
                    yield from self.field_row(p, values[p.name])
                if self._head is not None:
                    index, row = self._head
                    units = arch.layers[index].params.get("units")
                    yield Checkbox(f"dense layer {row + 1}'s units ({units}) follow the "
                                   "classes", value=units == arch.classes, compact=True,
                                   id="resize-head", tooltip=HEAD_HELP)
                    yield Static("", classes="msg", id="msg-head", markup=False)
            with VerticalScroll(id="effect-box"):  # the part that gives way on short screens
                yield Static(id="effect")
            yield Static(FORM_KEYS, id="form-keys")
        yield KeyBar()  # a dialog shows its own keys, not the screen's behind it

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
        shown = [("name", NAME_HELP)] + [(p.name, help_text(p)) for p in NUMBER_FIELDS]
        if self._head is not None:
            shown.append(("head", ""))
        for name, help_line in shown:
            self.show_message(name, help_line)

    def _revalidate(self) -> None:
        values, self.errors = self.read_fields()
        self.candidate = None
        if not self.errors:
            self.candidate, self.errors = self._candidate(values)
        self._show_messages()
        self._fit_effect()
        if self.candidate is None:
            self.show_effect(None)
            return
        after = analyze(self.candidate)
        self.show_effect(after, effect_text(self._before, after))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._revalidate()

    def field_selector(self, name: str) -> str:
        return "#resize-head" if name == "head" else super().field_selector(name)
