"""The architecture diagram: a column of boxes, each as wide as (the log of) its output's size.

A 1x28x28 image and a 16x28x28 map differ 16-fold in numbers but only by a few characters
here: the log keeps every layer visible while the funnel shape (wide early maps, a thin
vector at the end) still shows. Each box's output shape is set into its bottom border, so it
stands between that box and the next; a rule marker sits beside a box, and the row under the
table's cursor is drawn with double lines (not colour), scrolled into view.

A residual block's inner boxes are indented under the block's own box, and its shortcut is
drawn in that indent: a line leaves the block's box (where the block's input splits), runs
down beside the inner boxes and joins the flow again at a merge marker (⊕, `(+)` in ASCII) on
a line of its own after the last inner box. A 1x1 projection shortcut says so on that line
("1x1 conv s2 -> 32x7x7"). Each nesting level has its own column, so nested shortcuts run side
by side. When the width is short, the projection label goes first, then the indent per level
shrinks (4 -> 1 columns), then boxes get narrower than their usual minimum.

`render_diagram` is a pure function of an Analysis; `ascii=True` draws with + - | only (and
`( )` around the merge's +), for terminals without box-drawing glyphs and the monochrome theme.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Static

from cnn_tui.spec.analysis import Analysis, LayerInfo
from cnn_tui.spec.fmt import shape_cell
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.tui.build.layer_list import settings_text, worst_severity

UNICODE = {"tl": "┌", "tr": "┐", "bl": "└", "br": "┘", "h": "─", "v": "│",
           "error": "✗", "warning": "!", "hint": "?", "ell": "…"}
SELECTED = {**UNICODE, "tl": "╔", "tr": "╗", "bl": "╚", "br": "╝", "h": "═", "v": "║"}
ASCII = {"tl": "+", "tr": "+", "bl": "+", "br": "+", "h": "-", "v": "|",
         "error": "x", "warning": "!", "hint": "?", "ell": "~"}
ASCII_SELECTED = {**ASCII, "tl": "#", "tr": "#", "bl": "#", "br": "#", "h": "=", "v": "#"}
MIN_BOX = 14  # room for "12 Conv2D" and the borders
SMALLEST_BOX = 5  # what a box may shrink to when deep nesting meets a narrow width
LINES_PER_LAYER = 3  # top border, label, bottom border carrying the output shape
HEAD_LINES = 1  # the input line
GUTTERS = (4, 3, 2, 1)  # columns of indent per nesting level, widest first

# The shortcut line. "tee": where it leaves a block box's bottom border (single, double);
# "side": the same where that border's corner sits on the line; "join": the corner when the
# line comes in from the left of a narrow box; "top": the line's own corner left of the box.
LANE = {"v": "│", "h": "─", "top": "┌", "end": "└", "merge": "⊕", "arrow": "→",
        "tee": ("┬", "╤"), "side": ("├", "╠"), "join": ("┴", "╩")}
ASCII_LANE = {"v": "|", "h": "-", "top": "+", "end": "+", "merge": "(+)", "arrow": "->",
              "tee": ("+", "+"), "side": ("+", "#"), "join": ("+", "#")}


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


def _put(line: str, col: int, text: str) -> str:
    """`line` with `text` written over it from column `col` (padded with spaces if short)."""
    line = line.ljust(col + len(text))
    return line[:col] + text + line[col + len(text):]


def projection_label(info: LayerInfo, ascii: bool = False) -> str:
    """'1x1 conv s2 -> 32x7x7' for a block with a projection shortcut, '' for identity."""
    if not info.projection:
        return ""
    stride = f" s{info.projection_stride}" if info.projection_stride not in (None, 1) else ""
    arrow = ASCII_LANE["arrow"] if ascii else LANE["arrow"]
    return f"1x1 conv{stride} {arrow} {shape_cell(info.out_shape)}"


@dataclass
class _Block:
    """One residual block's shortcut: its column, its first line and its merge line."""

    info: LayerInfo
    lane: int
    start: int = 0  # the block box's bottom border
    end: int = 0  # the merge line
    last_child: int | None = None  # row of its last direct inner layer


def render_diagram_lines(analysis: Analysis, width: int = 60, ascii: bool = False,
                         selected: int | None = None) -> tuple[list[str], list[int]]:
    """The diagram's lines and, per row, the index of the line holding its top border."""
    width = max(width, MIN_BOX + 6)
    sizes = [_numel(analysis.arch.input)] + [_numel(r.out_shape) for r in analysis.rows]
    logs = [math.log(n) for n in sizes if n]
    lo, hi = (min(logs), max(logs)) if logs else (0.0, 1.0)
    max_box = width - 4  # the marker and a margin
    deepest = max((r.depth for r in analysis.rows), default=0)
    gutter = GUTTERS[-1]
    for gutter in GUTTERS:  # nested boxes keep their minimum width if any indent allows it
        if max_box - gutter * deepest >= MIN_BOX:
            break
    min_box = min(MIN_BOX, max(max_box - gutter * deepest, SMALLEST_BOX))
    lane = ASCII_LANE if ascii else LANE

    def box_width(numel: int | None, depth: int) -> int:
        room = max_box - gutter * depth
        if not numel:
            return min_box
        frac = 1.0 if hi == lo else (math.log(numel) - lo) / (hi - lo)
        return max(min_box, round(min_box + frac * (room - min_box)))

    def centred(text: str, depth: int) -> str:
        offset = gutter * depth
        return (" " * offset + text.center(width - offset)).rstrip()

    lines = [centred(f"input {shape_cell(analysis.arch.input)}", 0)]
    tops: list[int] = []
    centres: list[int] = []  # each row's box centre column, where a merge marker lines up
    blocks: list[_Block] = []
    open_blocks: list[tuple[_Block, int]] = []  # (block, its last descendant row)
    last_row = {}  # block row -> its last descendant row
    for info in reversed(analysis.rows):
        last_row.setdefault(info.row, info.row)
        if info.parent is not None:
            last_row[info.parent] = max(last_row.get(info.parent, info.parent),
                                        last_row[info.row])
    for info in analysis.rows:
        is_selected = info.row == selected
        if is_selected:
            g = ASCII_SELECTED if ascii else SELECTED
        else:
            g = ASCII if ascii else UNICODE
        w = box_width(_numel(info.out_shape), info.depth)
        inner = w - 2
        label = f"{info.number} {LAYER_TYPES[info.layer.type].title} {settings_text(info.layer)}"
        label = label.strip()
        if len(label) > inner - 2:
            label = label[: max(inner - 3, 0)] + g["ell"]
        severity = worst_severity(analysis, info.row)
        mark = f" {g[severity]}" if severity else "  "
        shape = shape_cell(info.out_shape)
        top = centred(_border(g["tl"], g["h"], g["tr"], inner) + "  ", info.depth)
        left = len(top) - len(top.lstrip())
        tops.append(len(lines))
        centres.append(left + w // 2)
        if open_blocks and info.parent == open_blocks[-1][0].info.row:
            open_blocks[-1][0].last_child = info.row
        if info.layer.type == "residual":
            block = _Block(info, gutter * info.depth + gutter - 1, start=len(lines) + 2)
            bottom = _leave(info, g, lane, block.lane, left, w, inner, shape, is_selected,
                            centred)
            blocks.append(block)
            open_blocks.append((block, last_row[info.row]))
        else:
            bottom = centred(_border(g["bl"], g["h"], g["br"], inner, shape) + "  ",
                             info.depth)
        lines.append(top)
        lines.append(centred(g["v"] + (" " + label).ljust(inner) + g["v"] + mark, info.depth))
        lines.append(bottom)
        while open_blocks and open_blocks[-1][1] == info.row:
            block = open_blocks.pop()[0]
            block.end = len(lines)
            lines.append(_merge_line(block, centres, lane, ascii))
    if not analysis.rows:
        lines.append(centred("(no layers: press a to add one)", 0))
    for block in blocks:  # the vertical runs, drawn over the blanks the indent left
        for i in range(block.start + 1, block.end):
            line = lines[i]
            if block.lane >= len(line) or line[block.lane] == " ":
                lines[i] = _put(line, block.lane, lane["v"])
    if blocks:  # deep nesting at a tiny width is the only way past the edge; cut it there
        lines = [line[:width].rstrip() for line in lines]
    return lines, tops


def _leave(info: LayerInfo, g: dict, lane: dict, col: int, left: int, w: int, inner: int,
           shape: str, is_selected: bool, centred) -> str:
    """A block box's bottom border with the shortcut leaving it at column `col`.

    The border keeps "inner layers + shortcut = shape" when the line's junction does not land
    in that text, else just the shape, else no text.
    """
    double = 1 if is_selected else 0
    at = col - left
    for text in (f"inner layers + shortcut = {shape}", shape, ""):
        if len(text) + 2 > inner:
            continue  # _border would drop it anyway; try the shorter one
        border = _border(g["bl"], g["h"], g["br"], inner, text)
        if at <= 0 or at >= w - 1 or border[at] == g["h"]:
            break
    line = centred(border + "  ", info.depth)
    if col == left:
        return _put(line, col, lane["side"][double])
    if col < left:
        return _put(line, col, lane["top"] + lane["h"] * (left - col - 1)
                    + lane["join"][double])
    if col < left + w - 1:
        return _put(line, col, lane["tee"][double])
    return line  # cannot happen: boxes stay right of their block's column


def _merge_line(block: _Block, centres: list[int], lane: dict, ascii: bool) -> str:
    """The line where the shortcut is added back: └──── label ────⊕ under the inner output."""
    col = block.lane
    row = block.last_child if block.last_child is not None else block.info.row
    marker = lane["merge"]
    at = max(centres[row] - len(marker) // 2, col + 2)  # the marker's first column
    run = at - col - 1
    text = projection_label(block.info, ascii)
    if text and len(text) + 4 <= run:
        body = _border("", lane["h"], "", run, text)
    else:
        body = lane["h"] * run
    return _put("", col, lane["end"] + body + marker)


def render_diagram(analysis: Analysis, width: int = 60, ascii: bool = False,
                   selected: int | None = None) -> str:
    """The diagram as text, `width` columns wide at most; row `selected` drawn double."""
    return "\n".join(render_diagram_lines(analysis, width, ascii, selected)[0])


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
        self._tops: list[int] = []

    def compose(self):
        yield Static(id="diagram-body", markup=False)

    def show(self, analysis: Analysis, selected: int | None = None) -> None:
        """Draw `analysis` with row `selected` doubled and scrolled into view."""
        self._analysis = analysis
        self._selected = selected
        self._redraw()
        if selected is not None:
            if 0 <= selected < len(self._tops):
                top = self._tops[selected]
            else:
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
        lines, self._tops = render_diagram_lines(self._analysis, width, ascii=ascii,
                                                 selected=self._selected)
        self.query_one("#diagram-body", Static).update("\n".join(lines))
