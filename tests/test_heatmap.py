"""Half-block / shade rendering of small arrays, checked character by character."""

from __future__ import annotations

from rich.style import Style
from textual.app import App, ComposeResult

from cnn_tui.tui.analyze.canvas import DrawCanvas, stamp
from cnn_tui.tui.analyze.confusion import cell_text, confusion_csv, metrics_csv
from cnn_tui.tui.common.heatmap import (Heatmap, halfblock_lines, ramp_color, scale_values,
                                         shade_lines, to_plain_text, upscale)


def test_scale_values_min_max_and_fixed_range():
    assert scale_values([[0, 5], [10, 5]]) == [[0.0, 0.5], [1.0, 0.5]]
    assert scale_values([[0, 255]], 0, 255) == [[0.0, 1.0]]
    assert scale_values([[3, 3], [3, 3]]) == [[0.0, 0.0], [0.0, 0.0]]  # constant: no div by 0
    assert scale_values([[-1, 2]], 0, 1) == [[0.0, 1.0]]  # clipped to the range


def test_shade_lines_use_the_mean_of_two_rows():
    values = [[0.0, 1.0, 0.5, 1.0, 0.25],
              [0.0, 1.0, 0.5, 0.0, 0.25],
              [1.0, 0.75, 0.0, 0.5, 0.25]]  # odd height: the last row stands alone
    assert shade_lines(values) == [" █▒▒░", "█▓ ▒░"]


def test_halfblock_top_pixel_is_foreground_bottom_is_background():
    lines = halfblock_lines([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]], ramp="gray")
    assert [line.plain for line in lines] == ["▀▀", "▀▀"]
    first = lines[0]
    spans = [(s.start, s.end, s.style) for s in first.spans]
    assert spans[0] == (0, 1, Style(color="rgb(0,0,0)", bgcolor="rgb(255,255,255)"))
    assert spans[1] == (1, 2, Style(color="rgb(255,255,255)", bgcolor="rgb(0,0,0)"))
    # the odd last row has no pixel below: no background
    assert lines[1].spans[0].style == Style(color="rgb(128,128,128)")


def test_ramp_ends_and_upscale():
    assert ramp_color(0.0, "viridis") == (68, 1, 84)
    assert ramp_color(1.0, "viridis") == (253, 231, 37)
    assert ramp_color(2.0, "gray") == (255, 255, 255)
    assert upscale([[1, 2]], 2) == [[1, 1, 2, 2], [1, 1, 2, 2]]


def test_plain_text_export():
    assert to_plain_text([[1.0, 0.0], [1.0, 0.0]], "ch 0") == "ch 0\n█ \n"


def test_confusion_cells_and_csv():
    assert cell_text(95, 0.95, True, 3) == "[ 95]█"
    assert cell_text(2, 0.02, False, 3) == "   2  "
    assert confusion_csv([[3, 1], [0, 4]]) == "true\\pred,0,1,total\n0,3,1,4\n1,0,4,4\n"
    per_class = [{"class": 0, "precision": 1.0, "recall": 0.75, "f1": 0.857142, "support": 4},
                 {"class": 1, "precision": 0.8, "recall": 1.0, "f1": 0.888888, "support": 4}]
    avg = {"precision": 0.9, "recall": 0.875, "f1": 0.873}
    text = metrics_csv(per_class, avg, avg)
    assert text.splitlines()[0] == "class,precision,recall,f1,support"
    assert text.splitlines()[1] == "0,1.0000,0.7500,0.8571,4"
    assert text.splitlines()[-1] == "weighted avg,0.9000,0.8750,0.8730,8"


def test_stamp_brush_sizes():
    pixels = [[0.0] * 28 for _ in range(28)]
    assert stamp(pixels, 0, 0, 1)
    assert pixels[0][0] == 1.0 and pixels[0][1] == 0.5 and pixels[1][1] == 0.0
    assert not stamp(pixels, 0, 0, 1)  # nothing new


class _CanvasApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.changes: list[DrawCanvas.Changed] = []

    def on_draw_canvas_changed(self, message: DrawCanvas.Changed) -> None:
        self.changes.append(message)

    def compose(self) -> ComposeResult:
        yield Heatmap([[0.0, 1.0], [1.0, 0.0]], caption="x", monochrome=True, id="hm")
        yield DrawCanvas(id="canvas")


async def test_canvas_keyboard_and_heatmap_widget():
    app = _CanvasApp()
    async with app.run_test(size=(60, 24)) as pilot:
        app.query_one("#canvas").focus()
        canvas = app.query_one(DrawCanvas)
        await pilot.press("space")
        assert canvas.pixels[14][14] == 1.0
        await pilot.press("right", "right", "right", "minus", "space")
        assert canvas.brush == 1 and canvas.pixels[14][17] == 1.0
        await pilot.press("plus", "plus")
        assert canvas.brush == 3
        await pilot.press("c")
        assert canvas.ink == 0.0
        await pilot.click(DrawCanvas, offset=(5, 3))  # border at (0,0): content (4,2) -> pixel row 4
        assert canvas.pixels[4][4] == 1.0
        await pilot.pause()
        assert len(app.changes) >= 4 and app.changes[-1].pixels[4][4] == 1.0
        hm = app.query_one(Heatmap)
        assert hm.render().plain == "▒▒\nx"


def test_sparklines_and_gradient_flow_text():
    from cnn_tui.train.events import GradNorms
    from cnn_tui.tui.analyze.weights import gradflow_text, sparkline, weights_csv

    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([2, 2]) == "▁▁" and sparkline([]) == ""
    assert len(sparkline(list(range(100)), 40)) == 40
    events = [GradNorms(1, 1, {"0:conv2d": 1.0, "3:dense": 1e-7}),
              GradNorms(1, 11, {"0:conv2d": 10.0, "3:dense": 1e-8})]
    text = gradflow_text(events).plain
    assert "2 samples from epoch 1 step 1 to epoch 1 step 11" in text
    conv, dense = text.splitlines()[1:]
    assert conv.startswith("0:conv2d  ▁█") and "vanishing" not in conv
    assert dense.startswith("3:dense   █▁") and dense.endswith("vanishing")
    hists = {"0:conv2d": {"counts": [1, 3], "edges": [-1.0, 0.0, 1.0], "mean": 0.1, "std": 0.5,
                          "count": 4}}
    assert weights_csv(hists, events).splitlines() == [
        "layer,bin_low,bin_high,count", "0:conv2d,-1,0,1", "0:conv2d,0,1,3", "",
        "epoch,step,layer,grad_norm", "1,1,0:conv2d,1", "1,1,3:dense,1e-07",
        "1,11,0:conv2d,10", "1,11,3:dense,1e-08"]


async def test_monochrome_theme_and_no_color_draw_with_shades(monkeypatch):
    """The monochrome theme (and NO_COLOR) switch every picture to shade characters."""
    from cnn_tui.tui.app import CnnTuiApp
    from cnn_tui.tui.analyze.confusion import confusion_table
    from cnn_tui.tui.common.heatmap import prefers_monochrome

    app = CnnTuiApp(theme="cnn-mono", offer_autosave=False)
    async with app.run_test(size=(80, 24)):
        assert prefers_monochrome(app)
        heatmap = Heatmap([[1.0, 0.0], [1.0, 0.5]])  # monochrome=None: follows the app
        await app.screen.mount(heatmap)
        assert heatmap.render().plain == "█░"
        app.theme = "cnn-dark"
        assert not prefers_monochrome(app)
        monkeypatch.setenv("NO_COLOR", "1")
        assert prefers_monochrome(app)
    from rich.console import Console
    console = Console(record=True, width=80, color_system="truecolor")
    console.print(confusion_table([[5, 1], [0, 6]], monochrome=True))
    text, styled = console.export_text(), console.export_text(styles=True)
    assert "[5]▓" in text.replace(" ", "") and "[6]█" in text.replace(" ", "")  # 5/6, 6/6
    assert "48;2;" not in styled  # no background tints: the shade characters carry it
    console = Console(record=True, width=80, color_system="truecolor")
    console.print(confusion_table([[5, 1], [0, 6]], monochrome=False))
    assert "48;2;" in console.export_text(styles=True)  # in colour, a row-share tint too
