"""One home for how numbers reach users: byte sizes, durations, shapes, percentages, counts,
layer labels and "(and N more)". Every screen, command and export formats through here, so one
quantity reads the same wherever it shows.

- Bytes: binary units with their IEC names, one decimal: `512 B`, `1.5 KiB`, `41.2 MiB`.
- Durations: a clock, `0:45`, `3:05`, `1:02:03` (hours only when there are some).
- Shapes: `[8, 26, 26]` (channels first, as the file format writes them) in text, messages,
  the CLI and exports; `8x26x26` only where a column or a diagram box has no room for more
  (the app's layer table, totals, panel and diagram); image sizes are width x height: `28x28`.
- Percentages: two decimals, `97.54%`.
- Anything unknown is `—`.

Stdlib only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

MISSING = "—"
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def _known(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fmt_bytes(n: float | None) -> str:
    """`512 B`, `1.5 KiB`, `3.0 MiB`, `2.1 GiB`."""
    if not _known(n) or n < 0:
        return MISSING
    value = float(n)
    for unit in _BYTE_UNITS:
        if value < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return MISSING  # not reached


def fmt_duration(seconds: float | None) -> str:
    """`0:45`, `3:05`, `1:02:03`."""
    if not _known(seconds) or seconds < 0:
        return MISSING
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def shape_text(shape: Iterable[int] | None) -> str:
    """`[8, 26, 26]`: a tensor shape in text, messages, the CLI and exports."""
    if shape is None:
        return "?"
    try:
        return "[" + ", ".join(str(int(d)) for d in shape) + "]"
    except (TypeError, ValueError):
        return str(shape)


def shape_cell(shape: Iterable[int] | None) -> str:
    """`8x26x26`: the same shape where only a narrow column or box has room."""
    if shape is None:
        return "?"
    return "x".join(str(int(d)) for d in shape)


def image_size(width: int, height: int) -> str:
    """`28x28`, `64x48`: an image's width x height, as image tools write it."""
    return f"{width}x{height}"


def percent(fraction: float | None, digits: int = 2) -> str:
    """0.9754 -> `97.54%`."""
    return f"{100 * fraction:.{digits}f}%" if _known(fraction) else MISSING


def fmt_count(n: int | None) -> str:
    """12345 -> `12,345`."""
    return f"{n:,}" if _known(n) else MISSING


def short_count(n: float) -> str:
    """A compact count for totals: 950, 27.6K, 1.23M, 4.1G."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:g}"


def and_more(hidden: int) -> str:
    """` (and 3 more)` after the items shown, or nothing when none is hidden."""
    return f" (and {hidden} more)" if hidden > 0 else ""


def layer_label(row: int, layer_type: str | None = None) -> str:
    """`layer 3` or `layer 3 (conv2d)` for the layer at 0-based `row`."""
    return f"layer {row + 1}" + (f" ({layer_type})" if layer_type else "")


__all__ = ["MISSING", "and_more", "fmt_bytes", "fmt_count", "fmt_duration", "image_size",
           "layer_label", "percent", "shape_cell", "shape_text", "short_count"]
