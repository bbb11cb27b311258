"""Training under the app against the command line the user compares it with, key latency while
training, and how far the app's live view lags the run.

Trains the same architecture with the same settings, alternately:
- `cli`: `cnn-tui train FILE` as a user runs it, in a process of its own (the baseline);
- `tui`: the app (`CnnTuiApp` under Textual's headless driver: laid out, rendered and
  composited, only the terminal write skipped), Train screen, key `s`: the run trains in the
  app's training process and the app follows it through the store;
- `thread`: the engine on a plain thread of one process (how the app trained before it used a
  process: the GIL and OpenMP then compete with whatever else that process does).
Throughput is the engine's own images/s (training time only), read from the run's record. The
headline is TUI/cli (target >= 0.95, at the default thread count and with CNN_TUI_THREADS=1).

While the app trains, a key is posted every `--key-every` seconds to a binding that only records
when it ran: the time from posting to its action is the key latency (target p95 <= 100 ms). The
follow lag is, for every batch point the app received, the time from the trainer writing it
down (its `wall` time in the store) to the app's history receiving it (target <= 1 s).

    python benchmarks/tui_throughput.py --data-dir DIR
    CNN_TUI_THREADS=1 python benchmarks/tui_throughput.py --data-dir DIR
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--template", default="template:beginner")
    p.add_argument("--limit-train", type=int, default=20000, help="0: all 55,000")
    p.add_argument("--limit-test", type=int, default=1000)
    p.add_argument("--val-size", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--key-every", type=float, default=0.2)
    p.add_argument("--data-dir", default=os.environ.get("CNN_TUI_DATA_DIR"))
    p.add_argument("--modes", default="cli,tui,thread")
    p.add_argument("--load", type=int, default=0,
                   help="busy processes running beside everything (a loaded machine)")
    return p.parse_args()


def busy() -> None:
    while True:
        pass


def flags(args) -> list[str]:
    out = ["--epochs", str(args.epochs), "--val-size", str(args.val_size),
           "--limit-test", str(args.limit_test)]
    if args.limit_train:
        out += ["--limit-train", str(args.limit_train)]
    return out


def record_of(runs: Path, run_id: str):
    from cnn_tui.runs.store import RunStore
    store = RunStore(runs)
    try:
        return store.get(run_id, points=True)
    finally:
        store.close()


def cli(args, runs: Path) -> float:
    proc = subprocess.run([sys.executable, "-m", "cnn_tui", "train", args.template, *flags(args),
                           "--data-dir", str(args.data_dir), "--runs-dir", str(runs), "--json"],
                          cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"cli run failed: {proc.stderr[-500:]}")
    return record_of(runs, json.loads(proc.stdout)["run_id"]).images_per_s


def on_a_thread(args, runs: Path) -> float:
    from cnn_tui import api
    box: list = []

    def job() -> None:
        box.append(api.train(args.template, data_dir=args.data_dir, runs_dir=runs,
                             epochs=args.epochs, val_size=args.val_size,
                             limit_train=args.limit_train or None, limit_test=args.limit_test))

    worker = threading.Thread(target=job)
    worker.start()
    worker.join()
    return box[0].images_per_s


async def through_tui(args, runs: Path, keys: bool = False) -> tuple[float, list[float], list[float]]:
    from textual.binding import Binding

    from cnn_tui.tui.app import CnnTuiApp
    from cnn_tui.tui.train.screen import TrainScreen

    pings: list[float] = []
    received: dict[tuple[int, int], float] = {}

    class PingTrainScreen(TrainScreen):
        BINDINGS = [*TrainScreen.BINDINGS, Binding("k", "ping", show=False)]

        def action_ping(self) -> None:
            pings.append(time.perf_counter())

    class BenchApp(CnnTuiApp):
        MODES = {**CnnTuiApp.MODES, "train": PingTrainScreen}

    from cnn_tui.train.events import BatchEnd
    from cnn_tui.tui.train.feed import TrainingHistory
    add = TrainingHistory.add

    def watch(self, event) -> None:  # when each batch point reaches the app
        if isinstance(event, BatchEnd):
            received.setdefault((event.epoch, event.step), time.time())
        add(self, event)

    TrainingHistory.add = watch
    try:
        return await _drive(BenchApp, args, runs, pings, received, keys)
    finally:
        TrainingHistory.add = add


async def _drive(BenchApp, args, runs: Path, pings: list[float], received: dict, keys: bool):
    from textual import events

    from cnn_tui.api import load_architecture
    from cnn_tui.session.run import RunState
    from cnn_tui.settings import Settings
    app = BenchApp(load_architecture(args.template), offer_autosave=False,
                   settings=Settings.from_env(data_dir=args.data_dir, runs_dir=runs))
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        screen = app.screen
        form = screen.query_one("#train-form")
        for name, value in (("epochs", args.epochs), ("val_size", args.val_size),
                            ("limit_train", args.limit_train or ""),
                            ("limit_test", args.limit_test)):
            form.set_field(name, str(value))
        await pilot.pause()
        assert not form.errors, form.errors
        app.post_message(events.Key("s", "s"))
        while screen.state in (RunState.IDLE, RunState.STARTING):
            await asyncio.sleep(0.01)
        cpu0, wall0 = time.process_time(), time.perf_counter()  # the app's own process
        while screen.state.active:
            await asyncio.sleep(args.key_every if keys else 0.2)
            if not keys:
                continue
            before = len(pings)
            t0 = time.perf_counter()
            app.post_message(events.Key("k", "k"))
            while len(pings) == before and screen.state.active:
                await asyncio.sleep(0.001)
            if len(pings) > before:
                latencies.append(pings[-1] - t0)
        APP_CPU.append((time.process_time() - cpu0) / max(time.perf_counter() - wall0, 1e-9))
        run_id = screen.run_id
        if screen.state != RunState.FINISHED:
            raise SystemExit(f"the TUI run did not finish: {screen.state} {screen.last_message}")
    record = record_of(runs, run_id)
    lags = [received[(p["epoch"], p["step"])] - p["wall"] for p in record.batch_points
            if (p["epoch"], p["step"]) in received and p.get("wall")]
    return record.images_per_s, latencies, lags


APP_CPU: list[float] = []  # per TUI run: the app process's CPU seconds / wall seconds while it trained


def pct(values: list[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))] if values else float("nan")


def main() -> int:
    args = parse_args()
    if not args.data_dir:
        raise SystemExit("--data-dir DIR (a folder holding MNIST/raw) is needed")
    home = Path(tempfile.mkdtemp(prefix="cnn-tui-bench-"))
    os.environ["CNN_TUI_HOME"] = str(home)
    runs = home / "runs"
    import torch
    print(f"torch {torch.__version__}, CNN_TUI_THREADS="
          f"{os.environ.get('CNN_TUI_THREADS', '(all cores)')}, cpu count {os.cpu_count()}, "
          f"cuda {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no'}")
    print(f"{args.template}: {args.limit_train or 55000} training images x {args.epochs} "
          f"epoch(s), runs in {runs}")
    modes = args.modes.split(",")
    import multiprocessing
    hogs = [multiprocessing.Process(target=busy, daemon=True) for _ in range(args.load)]
    for hog in hogs:
        hog.start()
    if hogs:
        print(f"{len(hogs)} busy processes run beside it (a loaded machine)")
    warm = argparse.Namespace(**{**vars(args), "limit_train": 2000})
    cli(warm, runs)  # imports, MNIST in the page cache
    rows = []
    for r in range(args.repeats):  # throughput: no key is pressed, nothing but the app runs
        order = modes[r % len(modes):] + modes[:r % len(modes)]  # each arm in each place
        got: dict = {}
        for mode in order:
            if mode == "tui":
                got[mode] = asyncio.run(through_tui(args, runs))[0]
            elif mode == "cli":
                got[mode] = cli(args, runs)
            else:
                got[mode] = on_a_thread(args, runs)
        rows.append(got)
        print(f"run {r + 1}: " + " · ".join(f"{m} {got[m]:,.0f}" for m in modes) + " img/s"
              + (f" · TUI/cli {got['tui'] / got['cli']:.3f}" if {"tui", "cli"} <= set(got) else "")
              + (f" · the app used {100 * APP_CPU[-1]:.1f}% of a core" if "tui" in got else ""))
    med = {m: statistics.median(row[m] for row in rows) for m in modes}
    print("median images/s: " + ", ".join(f"{m} {v:,.0f}" for m, v in med.items()))
    if {"tui", "cli"} <= set(modes):
        paired = statistics.median(row["tui"] / row["cli"] for row in rows)
        print(f"TUI/cli {med['tui'] / med['cli']:.3f} of the medians, {paired:.3f} the median of "
              f"each repeat's ratio (target >= 0.95)")
    if {"thread", "cli"} <= set(modes):
        print(f"thread/cli {med['thread'] / med['cli']:.3f} (the engine on a thread of one process: "
              "how the app trained before its runs had a process of their own)")
    if "tui" in modes:  # keys and the follow lag, in a run of their own
        _, lat, lags = asyncio.run(through_tui(args, runs, keys=True))
        print(f"key latency while training, {len(lat)} keys: median "
              f"{1000 * statistics.median(lat):.1f} ms, p95 {1000 * pct(lat, 0.95):.1f} ms, max "
              f"{1000 * max(lat):.1f} ms (target p95 <= 100 ms)")
        print(f"follow lag, {len(lags)} batch points: median {statistics.median(lags):.2f} s, "
              f"p95 {pct(lags, 0.95):.2f} s, max {max(lags):.2f} s (target <= 1 s)")
    for hog in hogs:
        hog.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
