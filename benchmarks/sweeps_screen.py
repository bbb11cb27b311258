"""The Sweeps screen following a 200-trial sweep while 8 worker processes write it to a real
journal file: what each update of the screen costs, and how fast a key press is answered,
side by side with the same screen on the same sweep once nothing writes any more.

The workers are real processes using the experiments engine's own storage calls (Optuna's
journal file, `SweepStudy.ask` / `TrialHandle.report` / heartbeats / `SweepStudy.tell`), as a
`cnn-tui sweep worker` does, but without training: each trial reports `--epochs` epochs,
`--epoch-seconds` apart (what a small trial on a GPU looks like to the storage).

The app is `CnnTuiApp` under Textual's headless driver (laid out, rendered and composited, only
the terminal write skipped), on the Sweeps screen, at `--size`. Figures:
- update: one refresh of the screen: the storage read and the table's cells on its thread +
  the table, header and view updated on the app's thread + the chart drawn again when it
  changed (each chart draw is counted to whichever came last before it, an update or a key)
  (target: <= 100 ms);
- key: a key posted every `--key-every` s (cursor moves, view and parameter keys in turn) to
  its action having run: a ping binding posted right behind it records when the app got to it
  (target p95 <= 100 ms); "key + chart" adds the chart draw a view key causes.

    python benchmarks/sweeps_screen.py
    python benchmarks/sweeps_screen.py --trials 200 --workers 8 --size 80x24
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
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from source_env import source_env  # noqa: E402  (benchmarks/ is this script's folder)

# (key, character) in turn: cursor moves, the slice plot and its parameter, curves, parallel
KEYS = (("down", None), ("down", None), ("up", None), ("l", "l"), ("right_square_bracket", "]"),
        ("c", "c"), ("down", None), ("p", "p"), ("up", None), ("c", "c"))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--epoch-seconds", type=float, default=0.3)
    p.add_argument("--sampler", default="random", help="random or tpe (the workers' asks)")
    p.add_argument("--size", default="120x40", help="the terminal, COLSxROWS")
    p.add_argument("--key-every", type=float, default=0.15)
    p.add_argument("--idle-seconds", type=float, default=15.0,
                   help="how long to measure once the workers are done")
    p.add_argument("--writer", nargs=2, metavar=("NAME", "JOURNAL"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ---------------------------------------------------------------- a worker process

def writer(args) -> int:
    """One worker: take trials until the sweep has the number it wants; no training."""
    import random

    from cnn_tui.experiments.optuna_backend import Backend
    from cnn_tui.experiments.storage import parse_storage
    from cnn_tui.experiments.trial import TrialOutcome, search_dimensions
    from cnn_tui.experiments.worker import Identity

    name, journal = args.writer
    backend = Backend(parse_storage(journal, Path(journal).parent), heartbeat=5)
    study = backend.open(name)
    me = Identity.here(heartbeat=5)
    rng = random.Random(os.getpid())
    while True:
        counts = study.counts()
        if counts.waiting == 0 and counts.active >= study.target:
            return 0
        handle = study.ask(me)
        if handle is None:
            continue
        params = {k: handle.suggest(d) for k, d in search_dimensions(study.sweep).items()}
        final = 0.9 + 0.05 * rng.random() - abs(params["training.learning_rate"] - 0.003) * 10
        for epoch in range(1, args.epochs + 1):
            time.sleep(args.epoch_seconds)
            handle.report(final - 0.2 / epoch, epoch)
            handle.beat()  # a heartbeat each epoch: more writes than a real worker's 30 s
        run = {"run_id": f"run-{handle.number}", "seed": 0, "fold": None, "status": "finished",
               "value": final, "test_acc": final - 0.01}
        study.tell(handle, TrialOutcome("complete", value=final, runs=[run], params=params))


# ---------------------------------------------------------------- the app

def create_sweep(args, runs: Path) -> str:
    from cnn_tui.experiments.optuna_backend import Backend
    from cnn_tui.experiments.storage import parse_storage
    from cnn_tui.experiments.sweepfile import parse_sweep
    sweep = parse_sweep({
        "format": "cnn-tui/sweep", "version": 1, "name": "bench", "base": "template:beginner",
        "kind": "search", "sampler": args.sampler, "pruner": "none", "trials": args.trials,
        "space": {"training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2,
                                             "log": True},
                  "training.batch_size": {"type": "categorical", "choices": [32, 64, 128]},
                  "layers[0].filters": {"type": "int", "low": 4, "high": 32, "step": 4},
                  "layers[9].rate": {"type": "float", "low": 0.0, "high": 0.5}},
        "training": {"epochs": args.epochs}}, "bench")
    ref = parse_storage(None, runs)
    Backend(ref).create(sweep)
    return ref.target


async def drive(args, runs: Path, journal: str) -> dict:
    from textual.binding import Binding

    from cnn_tui.settings import Settings
    from cnn_tui.tui.app import CnnTuiApp
    from cnn_tui.tui.sweeps import charts
    from cnn_tui.tui.sweeps.screen import SweepsScreen

    pings: list[float] = []
    renders: list[tuple[float, float]] = []  # (when, seconds) of each chart drawn again
    original = charts.SweepChart.render

    def timed_render(self):
        before = self._cache_key
        result = original(self)
        if self._cache_key is not before:
            renders.append((time.perf_counter(), self.render_seconds))
        return result

    charts.SweepChart.render = timed_render

    class BenchScreen(SweepsScreen):
        BINDINGS = [*SweepsScreen.BINDINGS, Binding("f12", "ping", show=False)]

        def action_ping(self) -> None:
            pings.append(time.perf_counter())

    class BenchApp(CnnTuiApp):
        MODES = {**CnnTuiApp.MODES, "sweeps": BenchScreen}

    cols, rows = (int(x) for x in args.size.split("x"))
    app = BenchApp(offer_autosave=False, settings=Settings.from_env(runs_dir=runs))
    env = source_env()
    out: dict = {}
    async with app.run_test(size=(cols, rows)) as pilot:
        await pilot.press("5")
        screen = app.screen
        while screen.snapshot is None:
            await asyncio.sleep(0.05)
        procs = [subprocess.Popen([sys.executable, __file__, "--writer", "bench", journal,
                                   "--epochs", str(args.epochs), "--epoch-seconds",
                                   str(args.epoch_seconds)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for _ in range(args.workers)]
        t0 = time.perf_counter()
        try:
            while screen.snapshot.running == 0 and time.perf_counter() - t0 < 60:
                await asyncio.sleep(0.05)
            writing = await measure(app, screen, pings, renders, args,
                                    until=lambda: all(p.poll() is not None for p in procs))
            wall = time.perf_counter() - t0
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        errors = [p.stderr.read().decode(errors="replace")[-300:] for p in procs if p.returncode]
        if errors:
            raise SystemExit(f"a worker failed: {errors[0]}")
        await asyncio.sleep(2.5)  # the last trials read
        done = screen.snapshot.done
        deadline = time.perf_counter() + args.idle_seconds
        idle = await measure(app, screen, pings, renders, args,
                             until=lambda: time.perf_counter() > deadline)
        out = {"writing": writing, "idle": idle, "wall": wall, "done": done,
               "reorders": screen.table.reorders}
    charts.SweepChart.render = original
    return out


async def measure(app, screen, pings, renders, args, until) -> dict:
    """Key latencies and update costs from now until `until()`."""
    from textual import events
    updates_from = len(screen.timings)
    renders_from = len(renders)
    latencies, posted = [], []
    i = 0
    while not until():
        await asyncio.sleep(args.key_every)
        key, char = KEYS[i % len(KEYS)]
        i += 1
        before = len(pings)
        t0 = time.perf_counter()
        posted.append(t0)
        app.post_message(events.Key(key, char))
        app.post_message(events.Key("f12", None))
        while len(pings) == before:
            await asyncio.sleep(0.001)
        latencies.append(pings[-1] - t0)
    await asyncio.sleep(0.3)  # the last draws
    updates = screen.timings[updates_from:]
    # each chart draw to whichever came last before it: an update (its end) or a key (posted)
    marks = sorted([(end, "update", n) for n, (_, _, end) in enumerate(updates)] +
                   [(t, "key", n) for n, t in enumerate(posted)])
    update_cost = [read + apply for read, apply, _ in updates]
    key_cost = list(latencies)
    for when, seconds in renders[renders_from:]:
        cause = None
        for mark in marks:
            if mark[0] > when:
                break
            cause = mark
        if cause is None:
            continue
        if cause[1] == "update":
            update_cost[cause[2]] += seconds
        else:
            key_cost[cause[2]] += seconds
    return {"latencies": latencies, "updates": updates, "update_cost": update_cost,
            "key_cost": key_cost}


def pct(values, q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def ms(x: float) -> str:
    return f"{1000 * x:.1f} ms"


def report(name: str, part: dict) -> None:
    lat, cost = part["latencies"], part["update_cost"]
    reads = [r for r, _, _ in part["updates"]]
    applies = [a for _, a, _ in part["updates"]]
    print(f"{name}: {len(part['updates'])} updates, {len(lat)} keys")
    print(f"  update: {ms(statistics.median(cost))} median, p95 {ms(pct(cost, 0.95))}, max "
          f"{ms(max(cost))} (of which read {ms(statistics.median(reads))} median on its thread, "
          f"apply {ms(statistics.median(applies))} / p95 {ms(pct(applies, 0.95))} on the app's)")
    print(f"  key to action: median {ms(statistics.median(lat))}, p95 {ms(pct(lat, 0.95))}, "
          f"max {ms(max(lat))}; key + chart drawn: p95 {ms(pct(part['key_cost'], 0.95))}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.writer:
        return writer(args)
    root = Path(tempfile.mkdtemp(prefix="cnn-tui-sweeps-bench-"))
    os.environ["CNN_TUI_HOME"] = str(root / "home")
    runs = root / "runs"
    journal = create_sweep(args, runs)
    result = asyncio.run(drive(args, runs, journal))
    size = Path(journal).stat().st_size
    print(f"sweep of {args.trials} trials, {args.workers} worker processes writing "
          f"({args.epochs} epochs, {args.epoch_seconds} s apart, {args.sampler} sampler), "
          f"journal {size / 1e6:.1f} MB; app at {args.size}; {result['done']} trials done in "
          f"{result['wall']:.1f} s; rows re-sorted {result['reorders']} times")
    report("while 8 workers write" if args.workers == 8 else f"while {args.workers} workers "
           "write", result["writing"])
    report("nothing writing (same sweep, same keys)", result["idle"])
    print(json.dumps({k: {"key_p95_ms": round(1000 * pct(v["latencies"], 0.95), 1),
                          "update_p95_ms": round(1000 * pct(v["update_cost"], 0.95), 1)}
                      for k, v in result.items() if isinstance(v, dict)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
