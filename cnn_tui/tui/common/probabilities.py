"""Class probabilities as horizontal bars: one line per class, the most likely one marked.

Bars are drawn with `█` and the eighth blocks (`▏▎▍▌▋▊▉`), so they read the same without colour.
"""

from __future__ import annotations

from rich.text import Text

EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: float, width: int) -> str:
    cells = max(0.0, min(1.0, value)) * width
    full = int(cells)
    rest = int((cells - full) * 8)
    text = "█" * full + (EIGHTHS[rest] if full < width and rest else "")
    return text.ljust(width)


def probability_bars(probs: list[float], width: int = 24, label: int | None = None) -> Text:
    """`7 ██████████▌ 43.1% <` per class; `<` marks the prediction, `=` the true label."""
    best = max(range(len(probs)), key=lambda i: probs[i]) if probs else -1
    out = Text()
    for c, p in enumerate(probs):
        mark = ("<" if c == best else " ") + ("=" if c == label else " ")
        style = "bold" if c == best else ""
        out.append(f"{c} {bar(p, width)} {100 * p:5.1f}% {mark}".rstrip() + "\n", style=style)
    out.rstrip()
    return out
