"""Does the TUI slow training down, and does it answer keys while training?

Trains the same architecture with the same settings, alternately:
- headless, as `cnn-tui train` does it (the CLI's plain progress printer, to a null stream);
- through the app: `CnnTuiApp` run headless (Textual's headless driver: everything is laid out,
  rendered and composited, only the terminal write is skipped), Train screen, key `s`.
- on a plain thread (the engine off the main thread, as in the app, with no UI at all);
- through the app with the relay silenced (the app runs, nothing is drawn during training):
  TUI / silent isolates what the live updates cost from machine noise and thread effects.
It prints each run's training throughput (the engine's own images/s, training time only) and
the ratios (target >= 0.95). On a CPU shared with busy neighbours the run-to-run noise is larger
than the effect: compare the medians, and prefer a quiet machine.

While the TUI trains, a key is posted every `--key-every` seconds to a binding that only
records when it ran; the time from posting the key to its action running is the key-press
latency (target: p95 < 100 ms on a 2-core CPU).

    python benchmarks/tui_throughput.py                      # CPU: Beginner, 10,000 images
    CNN_TUI_THREADS=1 python benchmarks/tui_throughput.py    # a CPU shared with busy neighbours
    python benchmarks/tui_throughput.py --limit-train 0 --epochs 2   # all 55,000 (a GPU)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--template", default="template:beginner")
    p.add_argument("--limit-train", type=int, default=10000, help="0: all 55,000")
    p.add_argument("--limit-test", type=int, default=1000)
    p.add_argument("--val-size", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--key-every", type=float, default=0.2)
    p.add_argument("--data-dir", default=os.environ.get("CNN_TUI_DATA_DIR"))
    return p.parse_args()


def settings(args) -> dict:
    out = {"epochs": args.epochs, "val_size": args.val_size, "device": args.device}
    if args.batch_size:
        out["batch_size"] = args.batch_size
    return out


def headless(arch, args, in_thread: bool = False) -> float:
    """The CLI's way (main thread), or the same call on a plain thread (`in_thread`): the
    latter isolates what the UI costs from what running the engine off the main thread does
    (on a busy CPU, OpenMP teams behave differently there)."""
    if in_thread:
        import threading
        box = []
        worker = threading.Thread(target=lambda: box.append(headless(arch, args)))
        worker.start()
        worker.join()
        return box[0]
    from cnn_tui import api
    try:
        from cnn_tui.commands.train_cmds import PlainPrinter
        callbacks = [PlainPrinter(io.StringIO())]
    except ImportError:
        callbacks = []
    result = api.train(arch, callbacks=callbacks, data_dir=args.data_dir,
                       limit_train=args.limit_train or None, limit_test=args.limit_test,
                       **settings(args))
    return result.images_per_s


async def through_tui(arch, args, silent: bool = False) -> tuple[float, list[float], int, int]:
    """Train through the app; `silent`: the relay posts nothing (the UI shows no progress), the
    control that isolates what the live updates cost from what the app's mere presence costs."""
    from textual.binding import Binding

    from cnn_tui.tui.app import CnnTuiApp
    from cnn_tui.tui.screens.train import TrainScreen

    pings: list[float] = []

    class PingTrainScreen(TrainScreen):
        BINDINGS = [*TrainScreen.BINDINGS, Binding("k", "ping", show=False)]

        def action_ping(self) -> None:
            pings.append(time.perf_counter())

    class BenchApp(CnnTuiApp):
        MODES = {**CnnTuiApp.MODES, "train": PingTrainScreen}

    from cnn_tui.tui.training_worker import ProgressRelay
    post = ProgressRelay._post
    if silent:
        ProgressRelay._post = lambda self, message: None
    try:
        return await _drive(BenchApp(arch, offer_autosave=False), args, pings)
    finally:
        ProgressRelay._post = post


async def _drive(app, args, pings: list[float]):
    from textual import events
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        screen = app.screen
        form = screen.query_one("#train-form")
        for name, value in settings(args).items():
            form.set_field(name, str(value))
        form.set_field("limit_train", str(args.limit_train or ""))
        form.set_field("limit_test", str(args.limit_test))
        await pilot.pause()
        assert not form.errors, form.errors
        app.post_message(events.Key("s", "s"))
        while screen.relay is None or (screen.relay.history.start is None
                                       and screen.state != "failed"):
            await asyncio.sleep(0.01)
        while screen.busy and screen.relay.history.end is None:
            await asyncio.sleep(args.key_every)
            before = len(pings)
            t0 = time.perf_counter()
            app.post_message(events.Key("k", "k"))
            while len(pings) == before and screen.busy:
                await asyncio.sleep(0.001)
            if len(pings) > before:
                latencies.append(pings[-1] - t0)
        await screen.wait_until_idle(3600)
        result = screen.worker.result
        if result is None:
            raise SystemExit(f"the TUI run did not finish: {screen.state} {screen.last_message}")
        relay = screen.relay
        return result.images_per_s, latencies, relay.events, relay.posted


def pct(values: list[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))] if values else float("nan")


def main() -> int:
    args = parse_args()
    home = Path(os.environ.get("CNN_TUI_HOME") or "/tmp/cnn-tui-bench")
    os.environ["CNN_TUI_HOME"] = str(home)
    if args.data_dir:  # the app finds MNIST the way a user's app does: the environment
        os.environ["CNN_TUI_DATA_DIR"] = str(args.data_dir)
    from cnn_tui import api
    import torch

    arch = api.load_architecture(args.template)
    print(f"torch {torch.__version__}, CNN_TUI_THREADS={os.environ.get('CNN_TUI_THREADS', '(all cores)')}, "
          f"cuda {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no'}")
    print(f"{arch.name}: {args.limit_train or 55000} training images x {args.epochs} epoch(s), "
          f"device {args.device}, runs in {home}")
    warm = argparse.Namespace(**{**vars(args), "limit_train": 2000, "epochs": 1})
    headless(arch, warm)  # imports, cuDNN autotuning, MNIST cache
    rows = []
    for r in range(args.repeats):
        order = ["cli", "thread", "tui", "silent"]
        if r % 2:
            order.reverse()  # alternated: no side always gets the warmer machine
        got: dict = {}
        for mode in order:
            if mode in ("tui", "silent"):
                got[mode] = asyncio.run(through_tui(arch, args, silent=mode == "silent"))
            else:
                got[mode] = headless(arch, args, in_thread=mode == "thread")
        t, lat, n_events, n_posted = got["tui"]
        q = got["silent"][0]
        rows.append((got["cli"], got["thread"], t, q, lat))
        print(f"run {r + 1}: cli {got['cli']:,.0f} · thread {got['thread']:,.0f} · TUI {t:,.0f} · "
              f"TUI silent {q:,.0f} img/s · TUI/cli {t / got['cli']:.3f} · TUI/silent {t / q:.3f} · "
              f"{len(lat)} keys, p95 {1000 * pct(lat, 0.95):.1f} ms · engine events {n_events}, "
              f"UI messages {n_posted}")
    med = [statistics.median(r[i] for r in rows) for i in range(4)]
    cli, thr, tui, silent = med
    lat = [x for r in rows for x in r[4]]
    print(f"median images/s: cli {cli:,.0f}, thread {thr:,.0f}, TUI {tui:,.0f}, TUI silent "
          f"{silent:,.0f}; TUI/cli {tui / cli:.3f}, TUI/thread {tui / thr:.3f}, "
          f"TUI/silent {tui / silent:.3f} (target >= 0.95); per-repeat TUI/silent median "
          f"{statistics.median(r[2] / r[3] for r in rows):.3f}")
    if lat:
        print(f"key latency over {len(lat)} keys: median {1000 * statistics.median(lat):.1f} ms, "
              f"p95 {1000 * pct(lat, 0.95):.1f} ms, max {1000 * max(lat):.1f} ms "
              f"(target < 100 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
