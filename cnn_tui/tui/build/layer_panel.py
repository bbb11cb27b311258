"""The side panel: why the selected layer has its shape, what is wrong, what could come next.

Sections: the layer and its shape change, the formula that made the shape (and the parameter
count), its rule messages (marked x ! ? as in the list), the suggestions for the next layer
and the lesson from `tui.teaching`. Built as Rich Text (never markup: messages contain [C, H, W]).
"""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from cnn_tui.spec.analysis import Analysis
from cnn_tui.spec.fmt import shape_cell
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.tui.build.teaching import lesson
from cnn_tui.tui.build.layer_list import MARKERS, settings_text


def panel_text(analysis: Analysis, row: int | None, suggestions: Sequence = ()) -> Text:
    """Everything the panel says about `row` (None: the empty model)."""
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
    out.append(f"\n{shape_cell(info.in_shape)} -> {shape_cell(info.out_shape)}\n")
    if info.formula:
        out.append(info.formula + "\n", style="italic")
    if info.param_formula:
        out.append(f"params: {info.param_formula}\n")
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

    def show(self, analysis: Analysis, row: int | None, suggestions: Sequence = ()) -> None:
        self.query_one("#panel-body", Static).update(panel_text(analysis, row, suggestions))
