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
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from cnn_tui.errors import SpecError
from cnn_tui.spec import edit
from cnn_tui.spec.analysis import Analysis, analyze
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.tui.build.preview_form import (FORM_KEYS, PreviewForm, append_issue_changes,
                                              help_text, parse_value, value_text)
from cnn_tui.spec.fmt import fmt_count, shape_cell
from cnn_tui.tui.common.footer import KeyBar

__all__ = ["LayerForm", "effect_text", "parse_value", "value_text"]


def effect_text(before: Analysis, after: Analysis, row: int) -> Text:
    """What the edit would change: this row's shape and parameters, the totals, new messages."""
    old, new = before.rows[row], after.rows[row]
    out = Text()
    out.append("Effect: ", style="bold")
    out.append(f"output {shape_cell(new.out_shape)}")
    if new.out_shape != old.out_shape:
        out.append(f" (was {shape_cell(old.out_shape)})")
    out.append(f" | params {fmt_count(new.params)}")
    if new.params != old.params:
        out.append(f" (was {fmt_count(old.params)})")
    out.append(f" | model {fmt_count(before.total_params)}")
    if after.total_params != before.total_params:
        out.append(f" -> {fmt_count(after.total_params)}")
    out.append(f", output {shape_cell(after.output_shape)}")
    append_issue_changes(out, before, after)
    return out


class LayerForm(PreviewForm):
    DEFAULT_CSS = """
    LayerForm #fields { max-height: 16; }
    LayerForm #effect { margin-top: 1; }
    """

    def __init__(self, arch: Architecture, row: int,
                 on_preview: Callable[[Analysis | None], None] | None = None) -> None:
        super().__init__(on_preview)
        self._arch = arch
        self._row = row
        self._layer = edit.layer_at(arch, row)
        self._kind = LAYER_TYPES[self._layer.type]
        self._before = analyze(arch)
        self.candidate: Layer | None = None  # the layer the fields describe, when all are valid

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        info = self._before.rows[self._row]
        with Vertical():
            yield Label(Text(f"Edit layer {info.number}: {self._kind.title}", style="bold"))
            with VerticalScroll(id="fields", can_focus=False):  # the fields are the tab stops
                params = list(self._kind.params)
                if not params:
                    yield Static(f"{self._kind.title} has no settings.")
                for p in params:
                    yield from self.field_row(p, self._layer.params.get(p.name))
            yield Static(id="effect")
            yield Static(FORM_KEYS, id="form-keys")
        yield KeyBar()  # a dialog shows its own keys, not the screen's behind it

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
            self.show_message(p.name, help_text(p))
        if self.errors:
            self.candidate = None
            self.show_effect(None)
            return
        inner = [l.copy() for l in self._layer.layers] if self._layer.layers is not None else None
        self.candidate = Layer(self._layer.type, values, inner)
        after = analyze(edit.replace(self._arch, self._row, self.candidate).arch)
        self.show_effect(after, effect_text(self._before, after, self._row))
