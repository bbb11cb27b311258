"""What a sweep costs on top of its runs: N random-search trials through `cnn-tui sweep run` (in
this process: Optuna, the journal file, the heartbeat and monitor threads, every trial recorded
as a run) against the same N configurations (the ones the sweep sampled) trained through
`api.train` in a plain loop, same data, after a warm-up of both (a run and a 2-trial sweep):
the one-time import of Optuna (a few seconds, once per `sweep run` process) is left out.

Prints the wall time of each and the ratio sweep/loop (target: <= 1.05, at most 5% more).

    CNN_TUI_THREADS=1 python benchmarks/sweep_overhead.py --data-dir DIR
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import os
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--limit-train", type=int, default=1000)
    p.add_argument("--limit-test", type=int, default=500)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--data-dir", default=os.environ.get("CNN_TUI_DATA_DIR"))
    return p.parse_args()


def sweep_file(root: Path, name: str, args) -> Path:
    path = root / f"{name}.json"
    path.write_text(json.dumps({
        "format": "cnn-tui/sweep", "version": 1, "name": name, "base": "template:beginner",
        "kind": "search", "sampler": "random", "pruner": "none", "trials": args.trials,
        "space": {"training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2,
                                             "log": True},
                  "layers[0].filters": {"type": "int", "low": 4, "high": 16, "step": 4}},
        "data": {"limit_train": args.limit_train, "limit_test": args.limit_test},
        "training": {"epochs": args.epochs, "val_size": 1000}}))
    return path


def run_sweep(root: Path, name: str, args) -> tuple[float, list[dict]]:
    from cnn_tui import cli
    from cnn_tui.experiments.optuna_backend import Backend
    from cnn_tui.experiments.storage import parse_storage
    path = sweep_file(root, name, args)
    sink = io.StringIO()
    t0 = time.perf_counter()
    with redirect_stdout(sink), redirect_stderr(sink):
        code = cli.main(["sweep", "run", str(path), "--runs-dir", str(root / "runs"),
                         "--data-dir", str(args.data_dir)])
    seconds = time.perf_counter() - t0
    assert code == 0, sink.getvalue()[-2000:]
    study = Backend(parse_storage(None, root / "runs")).open(name)
    trials = [t for t in study.trials() if t.counted]
    assert len(trials) == args.trials and all(t.state == "complete" for t in trials)
    return seconds, [t.params for t in trials]


def run_loop(root: Path, configs: list[dict], args) -> float:
    from cnn_tui import api
    from cnn_tui.experiments.sweepfile import apply_params
    base = api.load_architecture("template:beginner").to_dict()
    t0 = time.perf_counter()
    for params in configs:
        arch, training = apply_params(base, params)
        result = api.train(arch, epochs=args.epochs, val_size=1000, **training,
                           limit_train=args.limit_train, limit_test=args.limit_test,
                           data_dir=args.data_dir, runs_dir=str(root / "loop-runs"))
        assert result.status == "finished", result.message
    return time.perf_counter() - t0


def main() -> int:
    args = parse_args()
    if not args.data_dir:
        print("give --data-dir (MNIST root) or set CNN_TUI_DATA_DIR", file=sys.stderr)
        return 2
    from cnn_tui import api
    with tempfile.TemporaryDirectory(prefix="cnn-tui-sweep-bench-") as tmp:
        root = Path(tmp)
        # warm-up, both arms alike: torch, MNIST and the engine loaded, and a 2-trial sweep
        # (Optuna imported, the journal code run once) before anything is timed; without the
        # sweep's, its first repeat carried Optuna's import alone (1.24 against 1.02-1.06)
        api.train("template:beginner", epochs=1, limit_train=500, limit_test=100,
                  data_dir=args.data_dir, runs_dir=str(root / "warm"))
        run_sweep(root, "warm-up", argparse.Namespace(**{**vars(args), "trials": 2,
                                                         "limit_train": 500, "epochs": 1}))
        rows = []
        for repeat in range(args.repeats):
            sweep_s, configs = run_sweep(root, f"bench-{repeat}", args)
            loop_s = run_loop(root, configs, args)  # the same configurations, just sampled
            rows.append((sweep_s, loop_s))
            print(f"repeat {repeat + 1}: sweep {sweep_s:.1f} s, api.train loop {loop_s:.1f} s "
                  f"({args.trials} trials, {args.limit_train} images, {args.epochs} epochs): "
                  f"sweep/loop {sweep_s / loop_s:.3f}", flush=True)
    total_sweep = sum(r[0] for r in rows)
    total_loop = sum(r[1] for r in rows)
    ratios = sorted(r[0] / r[1] for r in rows)
    print(f"overall sweep/loop {total_sweep / total_loop:.3f} "
          f"({100 * (total_sweep / total_loop - 1):+.1f}% wall time; target <= +5%); "
          f"median of the repeats {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
