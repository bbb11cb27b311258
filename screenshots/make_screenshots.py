"""Regenerate screenshots/<name>.svg: every screen of the app at 120x40 (Build, Train, Analyze
and Sweeps at 80x24 too), for the README.

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
    "train": (("2", "s"), "cnn-dark"),  # trains in the app, then shows the finished run
    "analyze": (("3",), "cnn-dark"),
    "analyze-features": (("3", "v", "v"), "cnn-dark"),
    "analyze-predictions": (("3", "v", "v", "v"), "cnn-dark"),
    "runs": (("4",), "cnn-dark"),
    "help": (("f1",), "cnn-dark"),
    "palette": (("ctrl+p",), "cnn-dark"),
    "export": (("e",), "cnn-dark"),
    "high-contrast": ((), "cnn-high-contrast"),
    "sweeps": (("5",), "cnn-dark"),
    "sweeps-80x24": (("5",), "cnn-dark"),
    "sweeps-parallel": (("5", "p"), "cnn-dark"),
    "build-80x24": ((), "cnn-dark"),
    "train-80x24": (("2", "s"), "cnn-dark"),
    "analyze-80x24": (("3",), "cnn-dark"),
    # Runs: filter the seed runs ("… seed N"), mark them all, compare: two seed groups
    "compare-groups": (("4", "slash", "s", "e", "e", "d", "enter", "M", "c"), "cnn-dark"),
}
SIZES = {"sweeps-80x24": (80, 24), "build-80x24": (80, 24), "train-80x24": (80, 24),
         "analyze-80x24": (80, 24)}  # other than SIZE
TRAIN_SHOTS = {"train"}  # trains in the app and waits for the run's end
WATCH_SHOTS = {"train-80x24"}  # trains 10 epochs in the app, shot while it trains
SWEEP_SHOTS = {"sweeps", "sweeps-80x24", "sweeps-parallel"}


async def shoot(name: str, keys: tuple[str, ...], theme: str) -> Path:
    from cnn_tui.tui.app import CnnTuiApp

    from cnn_tui.spec.templates import get_template

    arch = get_template("beginner")
    arch.training["epochs"] = 10 if name in WATCH_SHOTS else 3  # a short real run to show
    app = CnnTuiApp(arch, theme=theme, offer_autosave=False)
    async with app.run_test(size=SIZES.get(name, SIZE)) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
        if name in WATCH_SHOTS:  # a run as it is watched: two epochs in, then stopped
            screen = app.screen
            deadline = asyncio.get_running_loop().time() + 300
            while len(screen.history.epochs) < 2 and screen.state.active:
                if asyncio.get_running_loop().time() > deadline:
                    raise SystemExit(f"{name}: no two epochs in 300 s")
                await pilot.pause(0.1)
            await pilot.press("space")  # paused, so the charts (redrawn every few seconds
            while screen.state.name != "PAUSED" and screen.state.active:  # at most) catch up
                await pilot.pause(0.1)
            await pilot.pause(4)
            app.save_screenshot(f"{name}.svg", str(HERE))
            await pilot.press("x", "y")  # the run outlives the app otherwise: stop it
            await screen.wait_until_ended(120)
            return HERE / f"{name}.svg"
        if name in TRAIN_SHOTS:
            if not await app.screen.wait_until_ended(300):
                raise SystemExit(f"{name}: the run did not end in 300 s")
            await pilot.pause(1.5)  # the charts redraw at their own pace
        await pilot.pause(0.5)  # let workers that fill a screen on mount finish drawing
        if name in SWEEP_SHOTS:
            await pilot.pause(1.5)  # the sweep is read on a thread, the chart drawn after
        app.save_screenshot(f"{name}.svg", str(HERE))
    return HERE / f"{name}.svg"


def seed_runs() -> bool:
    """Two short real runs in the throwaway store, so Analyze and Runs show something real.
    Needs MNIST (CNN_TUI_DATA_DIR, or ../shared/data beside the checkout); False without it."""
    root = os.environ.get("CNN_TUI_DATA_DIR") or str(HERE.parent.parent / "shared" / "data")
    if not (Path(root) / "MNIST" / "raw").is_dir():
        print("no MNIST found: Train, Analyze and Runs are shot empty", file=sys.stderr)
        return False
    os.environ["CNN_TUI_DATA_DIR"] = root
    os.environ.setdefault("CNN_TUI_LIMIT_TRAIN", "6000")
    os.environ.setdefault("CNN_TUI_LIMIT_TEST", "1000")
    from cnn_tui import api

    for name, template, epochs in (("lenet-quick", "lenet5", 2), ("beginner-3ep", "beginner", 3)):
        api.train(f"template:{template}", epochs=epochs, name=name, limit_train=6000,
                  limit_test=1000)
    return True


def seed_groups() -> bool:
    """Two seed groups (`cnn-tui train --seeds 3`: Adam, and SGD at learning rate 0.05; 3
    epochs on 3,000 images each run) in the throwaway store, for Compare's seed groups."""
    root = os.environ.get("CNN_TUI_DATA_DIR") or str(HERE.parent.parent / "shared" / "data")
    if not (Path(root) / "MNIST" / "raw").is_dir():
        print("no MNIST found: Compare's seed groups are not shot", file=sys.stderr)
        return False
    import contextlib
    import io

    from cnn_tui import cli
    tiny = ["--epochs", "3", "--limit-train", "3000", "--limit-test", "500", "--val-size", "500",
            "--seeds", "3", "--data-dir", root, "--json"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return all(cli.main(["train", "template:beginner", *tiny, *extra]) == 0 for extra in
                   ([], ["--optimizer", "sgd", "--lr", "0.05"]))


def seed_sweep() -> bool:
    """A real small search (Beginner, 8 random trials of learning rate and dropout, 2 epochs
    on 3,000 images, median pruner) in the throwaway store's journal, for the Sweeps screen."""
    import json

    root = os.environ.get("CNN_TUI_DATA_DIR") or str(HERE.parent.parent / "shared" / "data")
    if not (Path(root) / "MNIST" / "raw").is_dir():
        print("no MNIST found: the Sweeps screen is shot empty", file=sys.stderr)
        return False
    from cnn_tui import cli

    path = Path(os.environ["CNN_TUI_HOME"]) / "beginner-lr.json"
    path.write_text(json.dumps({
        "format": "cnn-tui/sweep", "version": 1, "name": "beginner-lr",
        "base": "template:beginner", "sampler": "random", "pruner": "median", "trials": 8,
        "space": {"training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2,
                                             "log": True},
                  "layers[9].rate": {"type": "float", "low": 0.0, "high": 0.5}},
        "data": {"limit_train": 3000, "limit_test": 500},
        "training": {"epochs": 3, "val_size": 1000}}))
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):  # its --json object: not for the terminal
        return cli.main(["sweep", "run", str(path), "--data-dir", root, "--json"]) == 0


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
    if {"train", "analyze", "analyze-features", "analyze-predictions", "runs", "train-80x24",
            "analyze-80x24", "compare-groups"} & set(names):
        seed_runs()
    if "compare-groups" in names:
        seed_groups()
    if SWEEP_SHOTS & set(names):
        seed_sweep()
    for name in names:
        keys, theme = SHOTS[name]
        path = asyncio.run(shoot(name, keys, theme))
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    raise SystemExit(main(sys.argv[1:]))
