"""The Draw view: a 28x28 canvas classified live by the run's model.

The canvas takes the keys as soon as the view shows (arrows move the brush, whose pixel is
marked, `space` paints, `+`/`-` brush size, `c` clears; the mouse paints too); `w` shows the
drawing's feature maps (`ShowDrawing`: the screen makes the drawing the subject of Feature maps
and switches there).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from cnn_tui.tui.analyze.canvas import DrawCanvas
from cnn_tui.tui.analyze.view import (
    AnalyzeView,
    KeyLine,
    NothingToExport,
    ShowDrawing,
    key_line,
)
from cnn_tui.tui.common.heatmap import to_plain_text
from cnn_tui.tui.common.probabilities import probability_bars


class DrawView(AnalyzeView):
    NAME, TITLE, FOCUS = "draw", "Draw", "#draw-canvas"
    HELP = ("Draw: arrows move the brush (its pixel is marked), `space` paints, `+`/`-` brush "
            "size, `c` clears; the mouse paints too. The model classifies the drawing as you "
            "paint; `w` shows its feature maps. `e` exports the drawing and its probabilities.")
    BINDINGS = [Binding("w", "drawing_maps", "Its feature maps", id="analyze.drawing_maps")]
    DEFAULT_CSS = """
    DrawView #draw-body { height: 1fr; }
    DrawView #draw-side { width: 1fr; padding-left: 2; }
    DrawView #draw-bars { height: auto; }
    DrawView #draw-brush { height: auto; margin-top: 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.probs: list[float] | None = None  # the model's class probabilities of the drawing

    def compose(self) -> ComposeResult:
        yield KeyLine(key_line(("arrows", "move"), ("space", "paint"), ("+ -", "brush"),
                               ("c", "clear"), ("w", "its feature maps")), id="draw-keys")
        with Horizontal(id="draw-body"):
            yield DrawCanvas(id="draw-canvas")
            with Vertical(id="draw-side"):
                yield Static("", id="draw-bars")
                yield Static("", id="draw-brush")

    def on_mount(self) -> None:
        canvas = self.query_one(DrawCanvas)
        self.watch(canvas, "brush", lambda _: self._say_brush())
        self.watch(canvas, "cursor", lambda _: self._say_brush())

    @property
    def canvas(self) -> DrawCanvas:
        return self.query_one(DrawCanvas)

    def _say_brush(self) -> None:
        canvas = self.canvas
        x, y = canvas.cursor
        self.query_one("#draw-brush", Static).update(
            f"brush {canvas.brush} (1..4) at pixel ({x}, {y}) · the mouse paints too")

    def loaded(self) -> None:
        self.classify()

    def on_draw_canvas_changed(self, message: DrawCanvas.Changed) -> None:
        self.classify()  # the message goes on to the screen: the maps may show the drawing

    def classify(self) -> None:
        bars = self.query_one("#draw-bars", Static)
        if self.analysis is None:
            self.probs = None
            bars.update("the model of a run classifies the drawing: no run is loaded")
            return
        canvas = self.canvas
        if canvas.ink == 0:
            self.probs = None
            bars.update("draw a digit: the model classifies it as you paint")
            return
        from cnn_tui.tui.analyze.loading import classify
        self.probs = classify(self.analysis.model, canvas.pixels)
        best = max(range(len(self.probs)), key=self.probs.__getitem__)
        text = Text(f"prediction: {best} ({100 * self.probs[best]:.1f}%)\n", style="bold")
        text.append_text(probability_bars(self.probs, 20))
        bars.update(text)

    def action_drawing_maps(self) -> None:
        if self.analysis is None:
            self.notify("no run is loaded", severity="warning")
            return
        self.post_message(ShowDrawing(tuple(tuple(row) for row in self.canvas.pixels)))

    def export(self) -> tuple[str, str]:
        d = self.require_run()
        if self.canvas.ink == 0:
            raise NothingToExport("nothing drawn yet")
        lines = [f"{c}: {100 * p:.2f}%" for c, p in enumerate(self.probs or [])]
        return (f"{d.record.id}-drawing.txt",
                to_plain_text(self.canvas.pixels, "drawing") + "\n".join(lines) + "\n")
