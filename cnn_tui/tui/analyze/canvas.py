"""A 28x28 drawing canvas for digits, painted with the keyboard or the mouse.

Keys: arrows move the brush, space paints at the brush, `+`/`-` change the brush size (1..4),
`c` clears. The mouse paints where it is pressed or dragged. Two pixels per cell (half
blocks), so the canvas takes 28 columns x 14 rows; the brush's pixel is drawn as a half block
in the theme's accent colour (a `+` in reverse in the monochrome theme), so it shows on blank
and painted cells alike.
Every change posts `DrawCanvas.Changed` with the pixels (floats 0..1, row-major), so the
Analyze screen classifies the drawing live.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from cnn_tui.tui.common.heatmap import halfblock_lines, prefers_monochrome, shade_lines

SIZE = 28
MAX_BRUSH = 4


def stamp(pixels: list[list[float]], x: int, y: int, brush: int) -> bool:
    """Paint a soft round dot of radius ~`brush` centred on (x, y); True if anything changed."""
    changed = False
    r = brush - 1
    for dy in range(-r - 1, r + 2):
        for dx in range(-r - 1, r + 2):
            px, py = x + dx, y + dy
            if not (0 <= px < SIZE and 0 <= py < SIZE):
                continue
            d2 = dx * dx + dy * dy
            if d2 <= r * r:
                value = 1.0
            elif d2 <= (r + 1) * (r + 1):
                value = 0.5  # a soft edge, like a pen stroke in MNIST
            else:
                continue
            if value > pixels[py][px]:
                pixels[py][px] = value
                changed = True
    return changed


class DrawCanvas(Widget, can_focus=True):
    DEFAULT_CSS = """
    DrawCanvas {
        width: 30;
        height: 16;
        border: round $secondary;
    }
    DrawCanvas:focus { border: round $accent; }
    DrawCanvas > .drawcanvas--brush { color: $accent; text-style: bold; }
    """
    COMPONENT_CLASSES = {"drawcanvas--brush"}

    # ids under `analyze.`: the Analyze screen is loaded on first visit, and config.toml
    # accepts the ids of such screens by that prefix
    BINDINGS = [
        Binding("up", "move(0, -1)", "Brush up", show=False, id="analyze.draw_up"),
        Binding("down", "move(0, 1)", "Brush down", show=False, id="analyze.draw_down"),
        Binding("left", "move(-1, 0)", "Brush left", show=False, id="analyze.draw_left"),
        Binding("right", "move(1, 0)", "Brush right", show=False, id="analyze.draw_right"),
        Binding("space", "paint", "Paint", id="analyze.draw_paint"),
        Binding("plus,equals_sign", "brush(1)", "Brush+", id="analyze.draw_brush_up"),
        Binding("minus", "brush(-1)", "Brush-", id="analyze.draw_brush_down"),
        Binding("c", "clear", "Clear", id="analyze.draw_clear"),
    ]

    brush: reactive[int] = reactive(2)
    cursor: reactive[tuple[int, int]] = reactive((SIZE // 2, SIZE // 2))

    @dataclass
    class Changed(Message):
        canvas: DrawCanvas
        pixels: list[list[float]]

        @property
        def control(self) -> DrawCanvas:
            return self.canvas

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.pixels: list[list[float]] = [[0.0] * SIZE for _ in range(SIZE)]

    # -- painting ----------------------------------------------------------------------
    def paint_at(self, x: int, y: int) -> None:
        if stamp(self.pixels, x, y, self.brush):
            self._changed()

    def clear(self) -> None:
        self.pixels = [[0.0] * SIZE for _ in range(SIZE)]
        self._changed()

    def _changed(self) -> None:
        self.refresh()
        self.post_message(self.Changed(self, [row[:] for row in self.pixels]))

    @property
    def ink(self) -> float:
        return sum(map(sum, self.pixels))

    # -- keys --------------------------------------------------------------------------
    def action_move(self, dx: int, dy: int) -> None:
        x, y = self.cursor
        self.cursor = (min(SIZE - 1, max(0, x + dx)), min(SIZE - 1, max(0, y + dy)))

    def action_paint(self) -> None:
        self.paint_at(*self.cursor)

    def action_brush(self, delta: int) -> None:
        self.brush = min(MAX_BRUSH, max(1, self.brush + delta))

    def action_clear(self) -> None:
        self.clear()

    def watch_cursor(self) -> None:
        self.refresh()

    # -- mouse -------------------------------------------------------------------------
    def _pixel_at(self, event) -> tuple[int, int] | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        x, row = offset.x, offset.y
        if not (0 <= x < SIZE and 0 <= row < SIZE // 2):
            return None
        return x, row * 2

    def on_mouse_down(self, event) -> None:
        self.focus()
        self.capture_mouse()
        spot = self._pixel_at(event)
        if spot is not None:
            self.cursor = spot
            self.paint_at(*spot)

    def on_mouse_move(self, event) -> None:
        if event.button:
            spot = self._pixel_at(event)
            if spot is not None:
                self.cursor = spot
                self.paint_at(*spot)

    def on_mouse_up(self, event) -> None:
        self.release_mouse()

    # -- drawing -----------------------------------------------------------------------
    def render(self) -> Text:
        cx, cy = self.cursor
        if prefers_monochrome(self.app):
            lines = [Text(line) for line in shade_lines(self.pixels)]
            brush = Text("+", style=Style(reverse=True, bold=True))
        else:
            lines = halfblock_lines(self.pixels, "gray")
            # the brush's pixel in the accent colour, the other pixel of its cell as it is
            other = self.pixels[cy ^ 1][cx]  # the cell's other pixel (SIZE is even)
            grey = round(255 * min(1.0, max(0.0, other)))
            brush = Text("▀" if cy % 2 == 0 else "▄",
                         style=self.get_component_rich_style("drawcanvas--brush")
                         + Style(bgcolor=f"rgb({grey},{grey},{grey})"))
        line = lines[cy // 2]
        lines[cy // 2] = line[:cx] + brush + line[cx + 1:]
        return Text("\n").join(lines)
