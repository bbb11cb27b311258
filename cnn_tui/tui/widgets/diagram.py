"""The architecture diagram: a column of boxes, each as wide as (the log of) its output's size.

A 1x28x28 image and a 16x28x28 map differ 16-fold in numbers but only by a few characters
here: the log keeps every layer visible while the funnel shape (wide early maps, a thin
vector at the end) still shows. Each box's output shape is set into its bottom border, so it
stands between that box and the next; a rule marker sits beside a box, and the row under the
table's cursor is drawn with double lines (not colour), scrolled into view.
`render_diagram` is a pure function of an Analysis; `ascii=True` draws with + - | only, for
terminals without box-drawing glyphs and the monochrome theme.
"""

from __future__ import annotations

import math

from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Static

from cnn_tui.spec.analysis import Analysis
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.tui.widgets.layer_list import settings_text, shape_str, worst_severity

UNICODE = {"tl": "┌", "tr": "┐", "bl": "└", "br": "┘", "h": "─", "v": "│",
           "error": "✗", "warning": "!", "hint": "?", "ell": "…"}
SELECTED = {**UNICODE, "tl": "╔", "tr": "╗", "bl": "╚", "br": "╝", "h": "═", "v": "║"}
ASCII = {"tl": "+", "tr": "+", "bl": "+", "br": "+", "h": "-", "v": "|",
         "error": "x", "warning": "!", "hint": "?", "ell": "~"}
ASCII_SELECTED = {**ASCII, "tl": "#", "tr": "#", "bl": "#", "br": "#", "h": "=", "v": "#"}
MIN_BOX = 14  # room for "12 Conv2D" and the borders
LINES_PER_LAYER = 3  # top border, label, bottom border carrying the output shape
HEAD_LINES = 1  # the input line


def _numel(shape: tuple[int, ...] | None) -> int | None:
    if shape is None:
        return None
    n = 1
    for d in shape:
        n *= d
    return n


def _border(left: str, fill: str, right: str, inner: int, text: str = "") -> str:
    """A horizontal border `inner` wide with `text` set into its middle."""
    if not text or len(text) + 2 > inner:
        return left + fill * inner + right
    text = f" {text} "
    before = (inner - len(text)) // 2
    return left + fill * before + text + fill * (inner - before - len(text)) + right


def render_diagram(analysis: Analysis, width: int = 60, ascii: bool = False,
                   selected: int | None = None) -> str:
    """The diagram as text, `width` columns wide at most; row `selected` drawn double."""
    width = max(width, MIN_BOX + 6)
    sizes = [_numel(analysis.arch.input)] + [_numel(r.out_shape) for r in analysis.rows]
    logs = [math.log(n) for n in sizes if n]
    lo, hi = (min(logs), max(logs)) if logs else (0.0, 1.0)
    max_box = width - 4  # the marker and a margin

    def box_width(numel: int | None, depth: int) -> int:
        room = max_box - 4 * depth
        if not numel:
            return MIN_BOX
        frac = 1.0 if hi == lo else (math.log(numel) - lo) / (hi - lo)
        return max(MIN_BOX, round(MIN_BOX + frac * (room - MIN_BOX)))

    def centred(text: str, depth: int) -> str:
        offset = 4 * depth
        return (" " * offset + text.center(width - offset)).rstrip()

    lines = [centred(f"input {shape_str(analysis.arch.input)}", 0)]
    for info in analysis.rows:
        if info.row == selected:
            g = ASCII_SELECTED if ascii else SELECTED
        else:
            g = ASCII if ascii else UNICODE
        w = box_width(_numel(info.out_shape), info.depth)
        inner = w - 2
        label = f"{info.number} {LAYER_TYPES[info.layer.type].title} {settings_text(info.layer)}"
        label = label.strip()
        if len(label) > inner - 2:
            label = label[: inner - 3] + g["ell"]
        severity = worst_severity(analysis, info.row)
        mark = f" {g[severity]}" if severity else "  "
        shape = shape_str(info.out_shape)
        if info.layer.type == "residual":
            shape = f"inner layers + shortcut = {shape}"
        lines.append(centred(_border(g["tl"], g["h"], g["tr"], inner) + "  ", info.depth))
        lines.append(centred(g["v"] + (" " + label).ljust(inner) + g["v"] + mark, info.depth))
        lines.append(centred(_border(g["bl"], g["h"], g["br"], inner, shape) + "  ", info.depth))
    if not analysis.rows:
        lines.append(centred("(no layers: press a to add one)", 0))
    return "\n".join(lines)


class Diagram(VerticalScroll):
    """Scrollable diagram; redraws when shown a new analysis or resized."""

    DEFAULT_CSS = """
    Diagram { padding: 0 1; }
    Diagram > Static { width: 1fr; }
    """

    can_focus = False  # the screen's keys walk it, following the table's cursor

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._analysis: Analysis | None = None
        self._selected: int | None = None

    def compose(self):
        yield Static(id="diagram-body", markup=False)

    def show(self, analysis: Analysis, selected: int | None = None) -> None:
        """Draw `analysis` with row `selected` doubled and scrolled into view."""
        self._analysis = analysis
        self._selected = selected
        self._redraw()
        if selected is not None:
            top = HEAD_LINES + LINES_PER_LAYER * selected
            self.call_after_refresh(self.scroll_to_region,
                                    Region(0, top, 1, LINES_PER_LAYER), animate=False)

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._redraw, init=False)  # mono -> ASCII glyphs

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        if self._analysis is None:
            return
        width = max(self.scrollable_content_region.width, 20)
        ascii = "mono" in str(self.app.theme or "")
        self.query_one("#diagram-body", Static).update(
            render_diagram(self._analysis, width, ascii=ascii, selected=self._selected))
