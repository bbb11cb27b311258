"""2-D arrays (digits, feature maps, the draw canvas) drawn with text characters.

Colour: the upper half block `▀` carries two pixels per cell, the top one as the foreground
colour and the bottom one as the background, so a 28x28 digit fits in 28 columns x 14 rows.
Monochrome (NO_COLOR, the monochrome theme, plain-text exports): one shade character per cell
from ` ░▒▓█`, for the mean of the same two pixels, so the picture keeps its shape without colour.

Values are scaled to 0..1 first (`scale_values`): digits by a fixed 0..255 range, feature maps
by each channel's own min..max.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Sequence

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

UPPER_HALF = "▀"
SHADES = " ░▒▓█"

# Colour ramps as (position, (r, g, b)) stops, interpolated linearly.
RAMPS: dict[str, tuple[tuple[float, tuple[int, int, int]], ...]] = {
    "gray": ((0.0, (0, 0, 0)), (1.0, (255, 255, 255))),
    "viridis": ((0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)),
                (0.75, (94, 201, 98)), (1.0, (253, 231, 37))),
}

Grid = Sequence[Sequence[float]]


def scale_values(array, lo: float | None = None, hi: float | None = None) -> list[list[float]]:
    """A 2-D array-like as rows of floats in 0..1; lo/hi default to the array's own min/max.

    A constant array (hi == lo) maps to all zeros rather than dividing by zero.
    """
    rows = [[float(v) for v in row] for row in _rows(array)]
    if not rows or not rows[0]:
        return []
    flat = [v for row in rows for v in row]
    lo = min(flat) if lo is None else float(lo)
    hi = max(flat) if hi is None else float(hi)
    span = hi - lo
    if span <= 0:
        return [[0.0 for _ in row] for row in rows]
    return [[min(1.0, max(0.0, (v - lo) / span)) for v in row] for row in rows]


def _rows(array) -> list:
    tolist = getattr(array, "tolist", None)
    return tolist() if tolist is not None else [list(r) for r in array]


def upscale(values: Grid, factor: int) -> list[list[float]]:
    """Nearest-neighbour enlargement, so a 5x5 map is still visible beside a 28x28 digit."""
    if factor <= 1:
        return [list(r) for r in values]
    out = []
    for row in values:
        wide = [v for v in row for _ in range(factor)]
        out.extend(list(wide) for _ in range(factor))
    return out


def ramp_color(value: float, ramp: str = "viridis") -> tuple[int, int, int]:
    stops = RAMPS[ramp]
    value = min(1.0, max(0.0, value))
    for (p0, c0), (p1, c1) in zip(stops, stops[1:]):
        if value <= p1:
            t = 0.0 if p1 == p0 else (value - p0) / (p1 - p0)
            return tuple(round(a + (b - a) * t) for a, b in zip(c0, c1))  # type: ignore[return-value]
    return stops[-1][1]


def shade_char(value: float) -> str:
    return SHADES[min(len(SHADES) - 1, max(0, int(value * (len(SHADES) - 1) + 0.5)))]


def shade_lines(values: Grid) -> list[str]:
    """Monochrome: one character per two rows of pixels (their mean), ` ░▒▓█`."""
    lines = []
    for y in range(0, len(values), 2):
        top = values[y]
        bottom = values[y + 1] if y + 1 < len(values) else None
        chars = []
        for x, v in enumerate(top):
            mean = v if bottom is None else (v + bottom[x]) / 2
            chars.append(shade_char(mean))
        lines.append("".join(chars))
    return lines


LEVELS = 64  # colours are quantised to this many steps: styles are then shared and cached


@lru_cache(maxsize=8192)
def _cell_style(top: int, bottom: int | None, ramp: str) -> Style:
    fg = "rgb({},{},{})".format(*ramp_color(top / LEVELS, ramp))
    bg = None if bottom is None else "rgb({},{},{})".format(*ramp_color(bottom / LEVELS, ramp))
    return Style(color=fg, bgcolor=bg)


def _level(v: float) -> int:
    return min(LEVELS, max(0, int(v * LEVELS + 0.5)))


def halfblock_lines(values: Grid, ramp: str = "viridis") -> list[Text]:
    """Colour: `▀` per cell, top pixel as foreground, bottom pixel as background colour."""
    lines = []
    for y in range(0, len(values), 2):
        top = values[y]
        bottom = values[y + 1] if y + 1 < len(values) else None
        text = Text(UPPER_HALF * len(top), no_wrap=True, overflow="crop")
        for x, v in enumerate(top):
            b = None if bottom is None else _level(bottom[x])
            text.stylize(_cell_style(_level(v), b, ramp), x, x + 1)
        lines.append(text)
    return lines


def render_heatmap(values: Grid, monochrome: bool, ramp: str = "viridis") -> Text:
    """The whole picture as one Text (lines joined by newlines)."""
    if monochrome:
        return Text("\n".join(shade_lines(values)), no_wrap=True, overflow="crop")
    return Text("\n").join(halfblock_lines(values, ramp))


def to_plain_text(values: Grid, title: str = "") -> str:
    """The plain-text export of a heatmap: an optional title line, then the shade picture."""
    body = "\n".join(shade_lines(values))
    return f"{title}\n{body}\n" if title else f"{body}\n"


def tile(grids: list, captions: list[str], width: int, monochrome: bool, ramp: str = "viridis",
         selected: int | None = None) -> Text:
    """Several pictures (each already scaled to 0..1) side by side, wrapped at `width` columns,
    each with its caption below; the `selected` one's caption in reverse."""
    if not grids:
        return Text("")
    tile_w = max(max(len(g[0]) for g in grids), max(len(c) for c in captions), 1)
    per_row = max(1, (width + 1) // (tile_w + 1))
    out = Text(no_wrap=True, overflow="crop")
    for start in range(0, len(grids), per_row):
        group = range(start, min(len(grids), start + per_row))
        pictures = [[Text(s) for s in shade_lines(grids[i])] if monochrome
                    else halfblock_lines(grids[i], ramp) for i in group]
        for row in range(max(len(p) for p in pictures)):
            for lines in pictures:
                piece = lines[row] if row < len(lines) else Text("")
                out.append_text(piece)
                out.append(" " * (tile_w - piece.cell_len + 1))
            out.append("\n")
        for i in group:
            out.append(captions[i].center(tile_w), style="reverse bold" if i == selected else "dim")
            out.append(" ")
        out.append("\n")
    out.rstrip()
    return out


def prefers_monochrome(app) -> bool:
    """NO_COLOR set, or a theme whose name says monochrome: draw with shade characters."""
    if os.environ.get("NO_COLOR"):
        return True
    name = str(getattr(app, "theme", "") or "")
    return "mono" in name.lower()


class Heatmap(Widget):
    """One 2-D array drawn as half blocks (or shades), with an optional caption line below."""

    DEFAULT_CSS = """
    Heatmap {
        width: auto;
        height: auto;
    }
    """

    caption: reactive[str] = reactive("", layout=True)

    def __init__(self, values: Grid | None = None, *, ramp: str = "viridis", caption: str = "",
                 monochrome: bool | None = None, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._values: list[list[float]] = [list(r) for r in (values or [])]
        self.ramp = ramp
        self._mono = monochrome
        self.set_reactive(Heatmap.caption, caption)

    @property
    def values(self) -> list[list[float]]:
        return self._values

    @property
    def monochrome(self) -> bool:
        return prefers_monochrome(self.app) if self._mono is None else self._mono

    def set_values(self, values: Grid, caption: str | None = None) -> None:
        """Replace the picture (already scaled to 0..1)."""
        self._values = [list(r) for r in values]
        if caption is not None:
            self.caption = caption
        self._fit()
        self.refresh(layout=True)

    def _fit(self) -> None:
        # Explicit cell sizes: an auto size would be measured once and cached by Textual.
        self.styles.width = max(len(self._values[0]) if self._values else 0, len(self.caption))
        self.styles.height = (len(self._values) + 1) // 2 + (1 if self.caption else 0)

    def on_mount(self) -> None:
        self._fit()

    def get_content_width(self, container, viewport) -> int:
        width = len(self._values[0]) if self._values else 0
        return max(width, len(self.caption))

    def get_content_height(self, container, viewport, width) -> int:
        return (len(self._values) + 1) // 2 + (1 if self.caption else 0)

    def render(self) -> Text:
        picture = render_heatmap(self._values, self.monochrome, self.ramp)
        if self.caption:
            picture = Text("\n").join([picture, Text(self.caption, no_wrap=True, overflow="crop")])
        return picture
