"""The Feature maps view: the subject (a test image, or the drawing) and what each image-shaped
layer makes of it: the selected channel large, then every channel of the layer as a grid.

Keys (shown on the view's first line): `[`/`]` layer, `,`/`.` channel, `n`/`p` next/previous
image, `m` next mistake, `c` next class, `g` go to an image index. The image keys ask the screen
for another subject (`SelectImage`), so Predictions follows. The header always says which layer
and channel are shown; where the grid is below the fold (80x24), a line says so and the arrows
and page keys scroll to it. One image through part of the model takes milliseconds: computed
on the spot.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from cnn_tui.tui.analyze.view import AnalyzeView, KeyLine, NothingToExport, key_line
from cnn_tui.tui.common.heatmap import (
    Heatmap,
    prefers_monochrome,
    scale_values,
    tile,
    to_plain_text,
    upscale,
)


def tile_maps(maps, selected: int, width: int, monochrome: bool) -> Text:
    """Every channel of `maps` [C,H,W] as a heatmap tile, wrapped at `width`.

    Each channel is scaled by its own min..max; small maps are enlarged so a 3x3 is visible.
    """
    c, h, _ = maps.shape
    factor = max(1, 8 // max(h, 1))
    grids = [upscale(scale_values(maps[ch]), factor) for ch in range(c)]
    return tile(grids, [str(ch) for ch in range(c)], width, monochrome, "viridis", selected)


def maps_text(maps, title: str) -> str:
    """Plain-text export of every channel (shade characters), one block per channel."""
    blocks = [title]
    for ch in range(maps.shape[0]):
        lo, hi = float(maps[ch].min()), float(maps[ch].max())
        blocks.append(to_plain_text(scale_values(maps[ch]), f"channel {ch} (min {lo:.4g}, max {hi:.4g})"))
    return "\n".join(blocks)


class MapsView(AnalyzeView):
    NAME, TITLE, FOCUS = "maps", "Feature maps", "#maps-scroll"
    HELP = ("Feature maps: `[`/`]` layer, `,`/`.` channel, `n`/`p` next/previous test image, "
            "`m` next mistake (most confident first), `c` next class, `g` go to an image index; "
            "arrows and page keys scroll to the grid of every channel. `w` on Draw shows the "
            "drawing here. `e` exports the maps as text.")
    BINDINGS = [
        Binding("right_square_bracket", "layer(1)", "Layer+", show=False, id="analyze.layer_next"),
        Binding("left_square_bracket", "layer(-1)", "Layer-", show=False, id="analyze.layer_prev"),
        Binding("full_stop", "channel(1)", "Channel+", show=False, id="analyze.channel_next"),
        Binding("comma", "channel(-1)", "Channel-", show=False, id="analyze.channel_prev"),
        Binding("n", "image(1)", "Next image", show=False, id="analyze.image_next"),
        Binding("p", "image(-1)", "Prev image", show=False, id="analyze.image_prev"),
        Binding("m", "next_mistake", "Next mistake", show=False, id="analyze.mistake"),
        Binding("c", "next_class", "Next class", show=False, id="analyze.class"),
        Binding("g", "goto_image", "Go to image", show=False, id="analyze.goto"),
    ]
    DEFAULT_CSS = """
    MapsView #maps-info { height: auto; }
    MapsView #maps-scroll { height: 1fr; }
    MapsView #maps-top { height: auto; }
    MapsView #maps-input, MapsView #maps-selected { margin-right: 2; }
    MapsView #maps-more { height: 1; color: $text-muted; text-style: italic; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.layer_pos = 0
        self.channel = 0
        self._mistake_pos = -1
        self._probs_drawn: list[float] | None = None

    def compose(self) -> ComposeResult:
        yield KeyLine(key_line(("[ ]", "layer"), (", .", "channel"), ("n p", "image"),
                               ("m", "mistake"), ("c", "class"), ("g", "go to")), id="maps-keys")
        yield Static("", id="maps-info")
        with VerticalScroll(id="maps-scroll"):
            with Horizontal(id="maps-top"):
                yield Heatmap(ramp="gray", id="maps-input")
                yield Heatmap(ramp="viridis", id="maps-selected")
            yield Static("", id="maps-grid")
        yield Static("", id="maps-more")

    def on_mount(self) -> None:
        scroll = self.query_one("#maps-scroll")
        self.watch(scroll, "scroll_y", lambda _: self._say_more(), init=False)

    # -- state ---------------------------------------------------------------------------
    def loaded(self) -> None:
        self.layer_pos, self.channel, self._mistake_pos = 0, 0, -1
        self._probs_drawn = None

    @property
    def image(self) -> int:
        return self.subject.image

    @property
    def use_drawing(self) -> bool:
        return self.subject.drawing is not None

    @property
    def current_layer(self):
        layers = self.analysis.layers if self.analysis else []
        return layers[self.layer_pos] if layers else None

    def current_maps(self):
        from cnn_tui.tui.analyze.loading import canvas_maps, feature_maps
        layer = self.current_layer
        if layer is None:
            return None
        if self.use_drawing:
            return canvas_maps(self.analysis.model, self.subject.drawing, layer.index)
        return feature_maps(self.analysis, self.image, layer.index)

    def subject_changed(self) -> None:
        self._probs_drawn = None
        if self.use_drawing and self.analysis is not None:
            from cnn_tui.tui.analyze.loading import classify
            self._probs_drawn = classify(self.analysis.model, self.subject.drawing)
        self.redraw_when_shown()

    def source_title(self) -> str:
        d = self.analysis
        if self.use_drawing:
            probs = self._probs_drawn or []
            guess = max(range(len(probs)), key=probs.__getitem__) if probs else "?"
            return f"the drawing (pred {guess})"
        i = self.image
        return (f"test image #{i} label {int(d.labels[i])} pred {int(d.preds[i])} "
                f"({100 * float(d.confidence[i]):.1f}%)")

    def source_pixels(self):
        if self.use_drawing:
            return [list(row) for row in self.subject.drawing]
        return scale_values(self.analysis.images[self.image], 0, 255)

    # -- drawing -------------------------------------------------------------------------
    def redraw(self) -> None:
        if self.analysis is None:
            return
        layer = self.current_layer
        info = self.query_one("#maps-info", Static)
        if layer is None:
            info.update("this model has no image-shaped layer to show")
            return
        maps = self.current_maps()
        self.channel = min(self.channel, maps.shape[0] - 1)
        self.query_one("#maps-input", Heatmap).set_values(self.source_pixels(), "input")
        factor = max(1, 28 // max(maps.shape[1], 1))
        self.query_one("#maps-selected", Heatmap).set_values(
            upscale(scale_values(maps[self.channel]), factor), f"channel {self.channel}")
        # what is shown first (layer and channel), then the image: at 80 columns it wraps
        # onto a second line instead of losing the channel
        info.update(f"layer {layer.label} ({self.layer_pos + 1}/{len(self.analysis.layers)}) "
                    f"{list(layer.shape)} · channel {self.channel + 1}/{maps.shape[0]} · "
                    f"{self.source_title()}")
        shown = self.query_one("#maps-scroll").scrollable_content_region.width
        width = max(20, (shown if shown > 0 else self.app.size.width - 4) - 1)
        grid = Text(f"every channel of layer {layer.label} ({maps.shape[0]}), the selected one "
                    "marked\n", style="bold")
        grid.append_text(tile_maps(maps, self.channel, width, prefers_monochrome(self.app)))
        self.query_one("#maps-grid", Static).update(grid)
        self.call_after_refresh(self._say_more)

    def _say_more(self) -> None:
        """A line under the view while the grid of channels is below the fold."""
        more = self.query_one("#maps-more", Static)
        layer = self.current_layer
        if layer is None or not self.is_mounted:
            more.display = False
            return
        scroll = self.query_one("#maps-scroll", VerticalScroll)
        grid = self.query_one("#maps-grid")
        bottom = scroll.scroll_y + scroll.scrollable_content_region.height
        below = grid.virtual_region.y + 2 > bottom  # not even the grid's first row of tiles
        more.display = below
        if below:
            more.update(f"↓ the grid of all {layer.shape[0]} channels is below: ↓ or page down "
                        "scrolls to it")

    # -- keys ----------------------------------------------------------------------------
    def action_layer(self, delta: int) -> None:
        if self.analysis and self.analysis.layers:
            self.layer_pos = (self.layer_pos + delta) % len(self.analysis.layers)
            self.channel = 0
            self.redraw_when_shown()

    def action_channel(self, delta: int) -> None:
        layer = self.current_layer
        if layer is not None:
            self.channel = (self.channel + delta) % layer.shape[0]
            self.redraw_when_shown()

    def _select(self, index: int) -> None:
        self.select_image(index % len(self.analysis.labels))

    def action_image(self, delta: int) -> None:
        if self.analysis is not None:
            self._select(self.image + delta)

    def action_next_mistake(self) -> None:
        if self.analysis is None:
            return
        wrong = self.analysis.mistakes()
        if not wrong:
            self.notify("no mistakes on this test set")
            return
        self._mistake_pos = (self._mistake_pos + 1) % len(wrong)
        self._select(wrong[self._mistake_pos])

    def action_next_class(self) -> None:
        """The next test image whose label is the current label + 1."""
        if self.analysis is None:
            return
        labels = self.analysis.labels
        want = (int(labels[self.image]) + 1) % int(labels.max() + 1)
        for step in range(1, len(labels) + 1):
            j = (self.image + step) % len(labels)
            if labels[j] == want:
                self._select(j)
                return

    def action_goto_image(self) -> None:
        if self.analysis is None:
            return
        from cnn_tui.tui.common.path_prompt import PathPrompt
        last = len(self.analysis.labels) - 1

        def chosen(text: str | None) -> None:
            if text is None:
                return
            try:
                index = int(text)
                if not 0 <= index <= last:
                    raise ValueError
            except ValueError:
                self.notify(f"image index: must be 0..{last}, got {text!r}", severity="error")
                return
            self._select(index)

        self.app.push_screen(PathPrompt(f"Test image index (0..{last})", str(self.image),
                                        "enter: go · escape: cancel"), chosen)

    # -- export --------------------------------------------------------------------------
    def export(self) -> tuple[str, str]:
        d = self.require_run()
        layer = self.current_layer
        if layer is None:
            raise NothingToExport("no feature maps to export")
        maps = self.current_maps()
        rid = d.record.id
        title = f"run {rid} · {self.source_title()} · layer {layer.label} {list(layer.shape)}"
        name = f"{rid}-maps-{'drawing' if self.use_drawing else self.image}-layer{layer.index}.txt"
        return name, to_plain_text(self.source_pixels(), "input") + "\n" + maps_text(maps, title)
