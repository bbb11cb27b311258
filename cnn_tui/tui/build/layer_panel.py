"""The side panel: why the selected layer has its shape, what is wrong, what could come next.

Sections: the layer and its shape change, the formula that made the shape (and the parameter
count), its rule messages (marked x ! ? as in the list), the suggestions for the next layer
and the lesson from `tui.teaching`. Built as Rich Text (never markup: messages contain [C, H, W]).

Formulas are never broken inside an expression: given the panel's width, `formula_lines`
breaks them after a `:` (between what, how and the arithmetic) or before a parenthesis, and
a formula that only repeats the shape line (a Dense layer's `400 -> 64`) is left out.
"""

from __future__ import annotations

import re
from typing import Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from cnn_tui.spec.analysis import Analysis
from cnn_tui.spec.fmt import shape_cell
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.tui.build.teaching import lesson
from cnn_tui.tui.build.layer_list import MARKERS, settings_text


OPERATORS = ("x", "+", "-", "*", "/", "=")


def _cut_before(text: str, token: str, after_operand: bool = False) -> list[str]:
    """`text` cut before each `token` that is outside parentheses and brackets (and, with
    `after_operand`, not right after an operator: "16 x (8 x 3)" stays whole)."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if depth == 0 and i > start and text.startswith(token, i):
            before = text[start:i].rstrip()
            if not (after_operand and before.endswith(OPERATORS)):
                pieces.append(text[start:i])
                start = i + 1  # the token's leading space goes with the cut
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
    pieces.append(text[start:])
    return [p for p in pieces if p]


def formula_lines(formula: str, width: int | None) -> list[str]:
    """`formula` in lines of at most `width` cells, broken after a ": " (between what it is,
    how, and the arithmetic) and, for a piece still too wide, before a parenthesis that ends
    an expression (an aside such as "(pads 1 before, 1 after)"), then before a "+" between
    shapes or, for arithmetic, before its "= result"; never inside brackets or parentheses.
    A piece that cannot fit stays whole on a line of its own (None: one line)."""
    if not width or len(formula) <= width:
        return [formula]
    pieces: list[str] = []
    for part in re.split(r"(?<=:) ", formula):
        if len(part) <= width:
            pieces.append(part)
            continue
        for aside in _cut_before(part, " (", after_operand=True):
            if len(aside) <= width:
                pieces.append(aside)
            elif "[" in aside:  # shapes added: "inner [..] + input [..]"
                pieces += _cut_before(aside, " + ")
            else:  # arithmetic wider than the panel: the result goes on its own line
                pieces += _cut_before(aside, " = ")
    lines: list[str] = []
    for piece in pieces:
        if lines and len(lines[-1]) + 1 + len(piece) <= width:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    return lines


def panel_text(analysis: Analysis, row: int | None, suggestions: Sequence = (),
               width: int | None = None) -> Text:
    """Everything the panel says about `row` (None: the empty model), formulas broken to
    `width` cells (None: left to the widget)."""
    out = Text()
    if row is None or not analysis.rows:
        out.append("No layers yet.\n", style="bold")
        out.append("Press a to add one (the picker lists what fits first) or t for a template.\n")
        for issue in analysis.issues:
            out.append(f"{MARKERS.get(issue.severity, '?')} {issue.message}\n")
        return out
    info = analysis.rows[min(row, len(analysis.rows) - 1)]
    kind = LAYER_TYPES[info.layer.type]
    out.append(f"{info.number}. {kind.title}", style="bold")
    settings = settings_text(info.layer)
    if settings:
        out.append(f"  {settings}")
    shapes = f"{shape_cell(info.in_shape)} -> {shape_cell(info.out_shape)}"
    out.append(f"\n{shapes}\n")
    if info.formula and info.formula.strip() != shapes:  # Dense: "400 -> 64" says it already
        for line in formula_lines(info.formula, width):
            out.append(line + "\n", style="italic")
    if info.param_formula:
        for line in formula_lines(f"params: {info.param_formula}", width):
            out.append(line + "\n")
    elif info.params:
        out.append(f"params: {info.params:,}\n")
    issues = analysis.issues_for(info.row)
    if issues:
        out.append("\n")
        for issue in issues:
            out.append(f"{MARKERS.get(issue.severity, '?')} {issue.severity}: ", style="bold")
            out.append(issue.message + "\n")
    whole = [i for i in analysis.issues if i.row is None]
    if whole:
        out.append("\nWhole model:\n", style="bold")
        for issue in whole:
            out.append(f"{MARKERS.get(issue.severity, '?')} {issue.message}\n")
    if suggestions:
        out.append("\nNext, try:\n", style="bold")
        for s in list(suggestions)[:4]:
            title = LAYER_TYPES[s.type].title if s.type in LAYER_TYPES else s.type
            out.append(f"  {title}", style="bold")
            out.append(f" - {s.reason}\n")
    text = lesson(info.layer.type)
    out.append(f"\nWhat {kind.title} does\n", style="bold")
    out.append(text.what + "\n")
    if text.when:
        out.append("When to use it\n", style="bold")
        out.append(text.when + "\n")
    if text.typical:
        out.append("Typical values\n", style="bold")
        out.append(text.typical + "\n")
    return out


class LayerPanel(VerticalScroll):
    """A scrollable panel holding `panel_text` for the selected row."""

    DEFAULT_CSS = """
    LayerPanel { padding: 0 1; }
    LayerPanel > Static { width: 1fr; }
    """

    def compose(self):
        yield Static(id="panel-body")

    def on_mount(self) -> None:
        self._shown: tuple | None = None

    def show(self, analysis: Analysis, row: int | None, suggestions: Sequence = ()) -> None:
        self._shown = (analysis, row, suggestions)
        width = self.scrollable_content_region.width or None
        self.query_one("#panel-body", Static).update(
            panel_text(analysis, row, suggestions, width))

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)
