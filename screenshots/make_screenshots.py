"""Regenerate screenshots/<name>.svg: every screen of the app at 120x40, for the README.

    python screenshots/make_screenshots.py            # all
    python screenshots/make_screenshots.py build help  # some

Runs the real app headless (Textual's run_test) from the Beginner template, in a throwaway
CNN_TUI_HOME so your own config, themes and autosave do not leak into the pictures.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZE = (120, 40)

# name -> (keys to press from the start, theme)
SHOTS: dict[str, tuple[tuple[str, ...], str]] = {
    "build": ((), "cnn-dark"),
    "build-diagram": (("v",), "cnn-dark"),
    "build-mono": ((), "cnn-mono"),
    "build-light": ((), "cnn-light"),
    "train": (("2",), "cnn-dark"),
    "analyze": (("3",), "cnn-dark"),
    "runs": (("4",), "cnn-dark"),
    "help": (("f1",), "cnn-dark"),
    "palette": (("ctrl+p",), "cnn-dark"),
    "export": (("e",), "cnn-dark"),
    "high-contrast": ((), "cnn-high-contrast"),
}


async def shoot(name: str, keys: tuple[str, ...], theme: str) -> Path:
    from cnn_tui.tui.app import CnnTuiApp

    app = CnnTuiApp(theme=theme, offer_autosave=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
        await pilot.pause(0.5)  # let workers that fill a screen on mount finish drawing
        app.save_screenshot(f"{name}.svg", str(HERE))
    return HERE / f"{name}.svg"


def main(argv: list[str]) -> int:
    os.environ["CNN_TUI_HOME"] = tempfile.mkdtemp(prefix="cnn-tui-shots-")
    for var in ("CNN_TUI_CONFIG_DIR", "CNN_TUI_STATE_DIR", "NO_COLOR"):
        os.environ.pop(var, None)
    names = argv or list(SHOTS)
    unknown = [n for n in names if n not in SHOTS]
    if unknown:
        print(f"unknown screenshot(s): {', '.join(unknown)} (known: {', '.join(SHOTS)})",
              file=sys.stderr)
        return 2
    for name in names:
        keys, theme = SHOTS[name]
        path = asyncio.run(shoot(name, keys, theme))
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    raise SystemExit(main(sys.argv[1:]))
