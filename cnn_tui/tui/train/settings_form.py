"""The training settings form, built from `TRAINING_PARAMS` (plus the data subset limits).

One row per parameter: a Select for choices, a Checkbox for booleans, an Input for numbers.
What the user types is parsed with the same `Param.parse_text` the file reader and the CLI
use; a value that is refused keeps its text, the row turns red and the reason is shown under
it, and `errors` lists it so Start can refuse to run with that reason.

The two subset fields (train images, test images) are not architecture settings: they map to
the engine's `RunOptions.limit_train / limit_test` and start from the environment variables
`CNN_TUI_LIMIT_TRAIN` / `CNN_TUI_LIMIT_TEST` (empty: the whole set).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Select, Static

from cnn_tui.errors import SpecError
from cnn_tui.spec.params import BOOL, CHOICE, INT, Param
from cnn_tui.spec.training import TRAINING_PARAMS
from cnn_tui.tui.common.field_input import FieldInput

LIMIT_PARAMS = (
    Param("limit_train", INT, None, lo=1, hi=60000, optional=True,
          help="train on only this many images (empty: all)"),
    Param("limit_test", INT, None, lo=1, hi=10000, optional=True,
          help="evaluate on only the first this many test images (empty: all)"),
)
LIMIT_ENV = {"limit_train": "CNN_TUI_LIMIT_TRAIN", "limit_test": "CNN_TUI_LIMIT_TEST"}


def env_limits() -> dict[str, int | None]:
    """The subset sizes from the environment; an unusable value is ignored (None)."""
    out: dict[str, int | None] = {}
    for p in LIMIT_PARAMS:
        text = os.environ.get(LIMIT_ENV[p.name], "")
        try:
            out[p.name] = p.parse_text(text, p.name)
        except SpecError:
            out[p.name] = None
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class TrainingForm(VerticalScroll):
    """Edits a training config; `values()` is what Start uses, `errors` what blocks it."""

    BINDINGS = [Binding("escape", "leave", "Back to the keys", id="train.leave_form")]
    HELP = ("Training settings: tab / shift+tab move between fields, a refused value says why "
            "under its field and blocks Start; escape gives the keys (s, space, x, r) back.")

    DEFAULT_CSS = """
    TrainingForm { height: 1fr; }
    TrainingForm .form-label { color: $text-muted; margin-top: 1; }
    TrainingForm .form-error { color: $error; display: none; }
    TrainingForm .form-error.-shown { display: block; }
    TrainingForm Input.-invalid { color: $error; }
    TrainingForm .form-heading { text-style: bold; margin-top: 1; }
    """

    @dataclass
    class Changed(Message):
        form: "TrainingForm"
        name: str

        @property
        def control(self) -> "TrainingForm":
            return self.form

    def __init__(self, config: dict, limits: dict | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._values: dict[str, Any] = dict(config)
        self._limits: dict[str, Any] = dict(limits if limits is not None else env_limits())
        self.errors: dict[str, str] = {}
        self._params = {p.name: p for p in (*TRAINING_PARAMS, *LIMIT_PARAMS)}

    def compose(self) -> ComposeResult:
        for p in TRAINING_PARAMS:
            yield from self._row(p, self._values.get(p.name, p.default))
        yield Static("data subset", classes="form-heading")
        for p in LIMIT_PARAMS:
            yield from self._row(p, self._limits.get(p.name))

    def _row(self, p: Param, value: Any) -> ComposeResult:
        label = p.name.replace("_", " ")
        fid = f"field-{p.name}"
        if p.kind == BOOL:
            yield Checkbox(label, bool(value), id=fid, compact=True, tooltip=p.help)
            return
        hint = "" if p.kind == CHOICE else f" ({p.range_text()})"
        yield Label(f"{label}{hint}", classes="form-label")
        if p.kind == CHOICE:
            yield Select([(c, c) for c in p.choices], value=value, allow_blank=False, id=fid,
                         compact=True, tooltip=p.help)
        else:
            yield FieldInput(_text(value), id=fid, compact=True, tooltip=p.help,
                        placeholder="empty: off" if p.optional else "")
        yield Static("", id=f"error-{p.name}", classes="form-error")

    def action_leave(self) -> None:
        """Out of the form: the screen's keys work again (typed letters stop going into it)."""
        tables = self.screen.query("#epoch-table")
        if tables:
            tables.first().focus()
        else:
            self.screen.set_focus(None)

    # -- reading -----------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The training config as accepted so far (refused fields keep their last good value)."""
        return dict(self._values)

    def limits(self) -> dict[str, Any]:
        return dict(self._limits)

    def set_config(self, config: dict) -> None:
        """Refill every field (a new architecture was loaded in Build)."""
        self._values = dict(config)
        self.errors.clear()
        for p in TRAINING_PARAMS:
            widget = self.query_one(f"#field-{p.name}")
            value = self._values.get(p.name, p.default)
            with widget.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
                if isinstance(widget, Checkbox):
                    widget.value = bool(value)
                elif isinstance(widget, Select):
                    widget.value = value
                else:
                    widget.value = _text(value)
                    widget.remove_class("-invalid")
            if p.kind != BOOL:
                self._show_error(p.name, "")

    def set_limits(self, limits: dict) -> None:
        """Refill the subset fields (a followed run's own subset)."""
        self._limits = {p.name: limits.get(p.name) for p in LIMIT_PARAMS}
        for p in LIMIT_PARAMS:
            widget = self.query_one(f"#field-{p.name}", Input)
            with widget.prevent(Input.Changed):
                widget.value = _text(self._limits[p.name])
                widget.remove_class("-invalid")
            self.errors.pop(p.name, None)
            self._show_error(p.name, "")

    def set_field(self, name: str, text: str) -> None:
        """Type `text` into a field as a user would (tests, the command palette)."""
        widget = self.query_one(f"#field-{name}")
        if isinstance(widget, Input):
            widget.value = text
        elif isinstance(widget, Select):
            widget.value = text
        elif isinstance(widget, Checkbox):
            widget.value = text.strip().lower() in ("1", "true", "yes", "on")

    # -- editing -----------------------------------------------------------------------
    def _accept(self, name: str, value: Any) -> None:
        if name in self._limits:
            self._limits[name] = value
        else:
            self._values[name] = value
        self.errors.pop(name, None)
        self._show_error(name, "")
        self.post_message(self.Changed(self, name))

    def _show_error(self, name: str, text: str) -> None:
        for box in self.query(f"#error-{name}"):
            box.update(text)
            box.set_class(bool(text), "-shown")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        name = str(event.input.id).removeprefix("field-")
        p = self._params.get(name)
        if p is None:
            return
        try:
            value = p.parse_text(event.value, name)
        except SpecError as err:
            self.errors[name] = str(err)
            event.input.add_class("-invalid")
            self._show_error(name, str(err).removeprefix(f"{name}: "))
            self.post_message(self.Changed(self, name))
            return
        event.input.remove_class("-invalid")
        self._accept(name, value)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        name = str(event.select.id).removeprefix("field-")
        if name in self._params and event.value is not Select.NULL:
            self._accept(name, event.value)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        name = str(event.checkbox.id).removeprefix("field-")
        if name in self._params:
            self._accept(name, bool(event.value))
