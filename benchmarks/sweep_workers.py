"""Trials per minute with more workers: `cnn-tui sweep run FILE --workers W` for each W of
`--workers` (CPU: each worker at CNN_TUI_THREADS=1 unless set), or `--gpus all --per-gpu K` for
each K of `--per-gpu` (on a GPU box), each a fresh sweep of the same N random-search trials.

Two figures per setting: the whole command's wall time (process starts included), and the
steady rate, from the first trial's start to the last trial's end as the storage recorded them.
Prints each and the ratio to the first setting (CPU target: 2 workers >= 1.7x 1 worker on a
2-core machine). On CPU, `--control` (on by default) also measures the machine's own ceiling
side by side: the same number of runs of the same size through `api.train` in a plain loop,
in 1 process, then split over W processes at the same threads: what W processes can gain
here at all, whatever the sweep does.

    python benchmarks/sweep_workers.py --data-dir DIR --trials 12 --limit-train 60000 --repeats 2

Trials of a few seconds measure process starts more than the sweep (each worker imports torch
and Optuna and loads MNIST: about 4 CPU seconds); a trial of one full epoch is a real one.
    python benchmarks/sweep_workers.py --data-dir DIR --per-gpu 1,2,4 --limit-train 60000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from source_env import source_env  # noqa: E402  (benchmarks/ is this script's folder)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", default="1,2", help="worker counts to compare (CPU)")
    p.add_argument("--per-gpu", default=None, help="workers per GPU to compare, e.g. 1,2,4")
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--limit-train", type=int, default=4000)
    p.add_argument("--limit-test", type=int, default=500)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--template", default="template:beginner")
    p.add_argument("--data-dir", default=os.environ.get("CNN_TUI_DATA_DIR"))
    p.add_argument("--repeats", type=int, default=1,
                   help="measure every setting this many times, in turned-round order; ratios "
                   "are the medians of each repeat's")
    p.add_argument("--no-control", dest="control", action="store_false",
                   help="skip the plain-loop ceiling (1 process vs W processes)")
    return p.parse_args()


PLAIN = """
import sys, time
from cnn_tui import api
data, runs, template, n, limit_train, limit_test, epochs = sys.argv[1:8]
for i in range(int(n)):
    api.train(template, data_dir=data, runs_dir=runs, limit_train=int(limit_train),
              limit_test=int(limit_test), epochs=int(epochs), val_size=1000,
              learning_rate=1e-3 * (1 + i % 3), seed=i)
"""


def plain(args, root: Path, processes: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process) for `args.trials` plain runs split over
    `processes` processes at CNN_TUI_THREADS=1 (each process trains its share in a loop)."""
    import resource
    env = source_env()
    env.setdefault("CNN_TUI_THREADS", "1")
    shares = [args.trials // processes + (1 if i < args.trials % processes else 0)
              for i in range(processes)]
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", PLAIN, str(args.data_dir),
                               str(root / f"plain-{processes}-{i}"), args.template, str(n),
                               str(args.limit_train), str(args.limit_test), str(args.epochs)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i, n in enumerate(shares)]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"plain loop failed ({proc.returncode}): {err[-1500:]}")
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)


def one(args, root: Path, label: str, extra: list[str]) -> tuple[float, float, int, float]:
    """(command wall seconds, steady trials/minute, trials, CPU seconds of every process) of
    one fresh sweep."""
    import resource
    from cnn_tui.experiments.optuna_backend import Backend
    from cnn_tui.experiments.storage import parse_storage
    name = f"bench-{label}"
    path = root / f"{name}.json"
    path.write_text(json.dumps({
        "format": "cnn-tui/sweep", "version": 1, "name": name, "base": args.template,
        "kind": "search", "sampler": "random", "pruner": "none", "trials": args.trials,
        "space": {"training.learning_rate": {"type": "float", "low": 5e-4, "high": 5e-3,
                                             "log": True}},
        "data": {"limit_train": args.limit_train, "limit_test": args.limit_test},
        "training": {"epochs": args.epochs, "val_size": 1000}}))
    runs = root / f"runs-{label}"
    env = source_env()
    if args.per_gpu is None:
        env.setdefault("CNN_TUI_THREADS", "1")
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cnn_tui", "sweep", "run", str(path),
                           "--runs-dir", str(runs), "--data-dir", str(args.data_dir), "--json",
                           *extra], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{label}: sweep run failed ({done.returncode}): {done.stderr[-1500:]}")
    study = Backend(parse_storage(None, runs)).open(name)
    trials = [t for t in study.trials() if t.counted and t.state == "complete"]
    start = min(t.started for t in trials)
    end = max(t.ended for t in trials)
    return wall, 60.0 * len(trials) / (end - start), len(trials), cpu


def main() -> int:
    import statistics
    args = parse_args()
    if not args.data_dir:
        print("give --data-dir (MNIST root) or set CNN_TUI_DATA_DIR", file=sys.stderr)
        return 2
    if args.per_gpu is not None:
        settings = [(f"per-gpu-{k}", ["--gpus", "all", "--per-gpu", k])
                    for k in args.per_gpu.split(",")]
    else:
        settings = [(f"workers-{w}", ["--workers", w]) for w in args.workers.split(",")]
    counts = sorted({int(w) for w in args.workers.split(",")})
    control = args.control and args.per_gpu is None
    walls: dict[str, list[float]] = {label: [] for label, _ in settings}
    rates: dict[str, list[float]] = {label: [] for label, _ in settings}
    ceiling: dict[int, list[float]] = {w: [] for w in counts}
    with tempfile.TemporaryDirectory(prefix="cnn-tui-workers-bench-") as tmp:
        for repeat in range(args.repeats):
            # the order turns round each repeat: a slow spell of a shared machine falls on
            # each setting in turn, not always on the first
            order = settings if repeat % 2 == 0 else settings[::-1]
            for label, extra in order:
                wall, rate, n, cpu = one(args, Path(tmp), f"{label}-r{repeat + 1}", extra)
                walls[label].append(wall)
                rates[label].append(rate)
                # CPU seconds over wall seconds: how many cores the sweep got (other programs
                # on the machine take the rest); CPU per trial: what a trial costs whatever
                # the load
                print(f"{label}: {n} trials in {wall:.1f} s ({60 * n / wall:.1f} trials/min with "
                      f"process starts); steady {rate:.1f} trials/min; {cpu:.1f} CPU s "
                      f"({cpu / wall:.2f} cores busy on average, {cpu / n:.2f} CPU s per trial)",
                      flush=True)
            if control:
                for w in counts if repeat % 2 == 0 else counts[::-1]:
                    seconds, cpu = plain(args, Path(tmp), w)
                    ceiling[w].append(seconds)
                    print(f"plain loop in {w} process{'es' if w != 1 else ''}: {args.trials} "
                          f"runs in {seconds:.1f} s ({60 * args.trials / seconds:.1f} runs/min); "
                          f"{cpu:.1f} CPU s ({cpu / args.trials:.2f} per run)", flush=True)
    first = settings[0][0]
    for label, _ in settings[1:]:
        by_wall = [f / w for f, w in zip(walls[first], walls[label])]
        steady = [r / f for f, r in zip(rates[first], rates[label])]
        line = (f"{label} vs {first}: {statistics.median(by_wall):.2f}x by wall time, "
                f"{statistics.median(steady):.2f}x steady")
        if args.repeats > 1:
            line += (" (medians of " + ", ".join(f"{x:.2f}" for x in by_wall) + " and "
                     + ", ".join(f"{x:.2f}" for x in steady) + ")")
        w = int(label.split("-")[1]) if label.startswith("workers-") else None
        base = int(first.split("-")[1]) if first.startswith("workers-") else None
        if control and w in ceiling and base in ceiling:
            plain_ratio = [b / x for b, x in zip(ceiling[base], ceiling[w])]
            line += (f"; the plain loop in {w} vs {base} processes (this machine's ceiling): "
                     f"{statistics.median(plain_ratio):.2f}x")
            if args.repeats > 1:
                line += " (" + ", ".join(f"{x:.2f}" for x in plain_ratio) + ")"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
