"""The architecture diagram: a column of boxes, each as wide as (the log of) its output's size.

A 1x28x28 image and a 16x28x28 map differ 16-fold in numbers but only by a few characters
here: the log keeps every layer visible while the funnel shape (wide early maps, a thin
vector at the end) still shows. The shape is written between boxes, a rule marker beside a box.
`render_diagram` is a pure function of an Analysis; `ascii=True` draws with + - | only, for
terminals without box-drawing glyphs and the monochrome theme.
"""

from __future__ import annotations

import math

from textual.containers import VerticalScroll
from textual.widgets import Static

from cnn_tui.spec.analysis import Analysis
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.tui.widgets.layer_list import settings_text, shape_str, worst_severity

UNICODE = {"tl": "┌", "tr": "┐", "bl": "└", "br": "┘", "h": "─", "v": "│",
           "error": "✗", "warning": "!", "hint": "?", "ell": "…"}
ASCII = {"tl": "+", "tr": "+", "bl": "+", "br": "+", "h": "-", "v": "|",
         "error": "x", "warning": "!", "hint": "?", "ell": "~"}
MIN_BOX = 14  # room for "12 Conv2D" and the borders


def _numel(shape: tuple[int, ...] | None) -> int | None:
    if shape is None:
        return None
    n = 1
    for d in shape:
        n *= d
    return n


def render_diagram(analysis: Analysis, width: int = 60, ascii: bool = False) -> str:
    """The diagram as text lines, `width` columns wide at most."""
    g = ASCII if ascii else UNICODE
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
        w = box_width(_numel(info.out_shape), info.depth)
        inner = w - 2
        label = f"{info.number} {LAYER_TYPES[info.layer.type].title} {settings_text(info.layer)}"
        label = label.strip()
        if len(label) > inner - 2:
            label = label[: inner - 3] + g["ell"]
        severity = worst_severity(analysis, info.row)
        mark = f" {g[severity]}" if severity else "  "
        lines.append(centred(g["tl"] + g["h"] * inner + g["tr"] + "  ", info.depth))
        lines.append(centred(g["v"] + (" " + label).ljust(inner) + g["v"] + mark, info.depth))
        lines.append(centred(g["bl"] + g["h"] * inner + g["br"] + "  ", info.depth))
        shape = shape_str(info.out_shape)
        numel = _numel(info.out_shape)
        if info.layer.type == "residual":
            shape = f"inner layers below, then + shortcut = {shape}"
        elif numel and info.out_shape and len(info.out_shape) > 1:
            shape += f"  ({numel:,})"
        lines.append(centred(shape, info.depth))
    if not analysis.rows:
        lines.append(centred("(no layers: press a to add one)", 0))
    return "\n".join(lines)


class Diagram(VerticalScroll):
    """Scrollable diagram; redraws when shown a new analysis or resized."""

    DEFAULT_CSS = """
    Diagram { padding: 0 1; }
    Diagram > Static { width: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._analysis: Analysis | None = None

    def compose(self):
        yield Static(id="diagram-body", markup=False)

    def show(self, analysis: Analysis) -> None:
        self._analysis = analysis
        self._redraw()

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
            render_diagram(self._analysis, width, ascii=ascii))
