"""What keeping everything a run measured costs: a run recorded the way every run is (batch points
every 10 steps, gradient norms every 50, peak memory, the diagnosis, the store written every
0.5 s and the remote-control watcher) against the same run trained bare (checkpoints only: no
progress events, no gradient norms, no store), alternately, same seed and data.

Prints both throughputs (the engine's own images/s, training time only), the wall time of each
run, and the ratio recorded/bare for each (target: recording costs <= 2%, ratio >= 0.98). Two
runs of a few seconds differ by more than 2% on a noisy machine, so the recorded runs also time
what recording adds on the training thread directly: every event handed to the callbacks
(`Trainer.emit`: the recorder, its store writes, the remote-control watcher, the diagnosis) and
every gradient-norm computation, as a share of the run's training time.

    python benchmarks/recording_cost.py --data-dir DIR
    CNN_TUI_THREADS=1 python benchmarks/recording_cost.py --data-dir DIR
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--template", default="template:beginner")
    p.add_argument("--limit-train", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data-dir", default=os.environ.get("CNN_TUI_DATA_DIR"))
    return p.parse_args()


def run(args, root: Path, recorded: bool) -> tuple[float, float]:
    from cnn_tui import api
    from cnn_tui.settings import Settings
    from cnn_tui.runs.training import train_run
    from cnn_tui.train.checkpointing import Checkpointing
    from cnn_tui.train.loop import RunOptions, Trainer

    arch = api.load_architecture(args.template)
    config = {"epochs": args.epochs, "val_size": 1000}
    t0 = time.perf_counter()
    if recorded:
        spent[0] = 0.0
        result = train_run(arch, config, options=RunOptions(limit_train=args.limit_train,
                                                             limit_test=1000),
                           settings=Settings.from_env(data_dir=args.data_dir, runs_dir=root))
    else:
        options = RunOptions(data_dir=args.data_dir, limit_train=args.limit_train,
                             limit_test=1000, progress_every=10**9, progress_seconds=1e9,
                             grad_norms_every=0)
        folder = root / f"bare-{time.time_ns()}"
        result = Trainer(arch, config, options, [Checkpointing(folder)]).run()
    assert result.status == "finished", result.message
    return result.images_per_s, time.perf_counter() - t0


spent = [0.0]  # seconds inside emit and grad_norm_tensors during the current recorded run


def timed(function):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0
    return wrapper


def instrument() -> None:
    """Time `Trainer.emit` and `grad_norm_tensors` (what recording adds on the training thread).
    Every event of the run counts, the run's creation and its end included, against its
    training time alone: an upper bound of what recording costs training."""
    from cnn_tui.train import loop, probes
    loop.Trainer.emit = timed(loop.Trainer.emit)
    probes.grad_norm_tensors = timed(probes.grad_norm_tensors)


def main() -> int:
    args = parse_args()
    if not args.data_dir:
        raise SystemExit("--data-dir DIR (a folder holding MNIST/raw) is needed")
    root = Path(tempfile.mkdtemp(prefix="cnn-tui-rec-"))
    os.environ["CNN_TUI_HOME"] = str(root / "home")
    print(f"{args.template}, {args.limit_train} images x {args.epochs} epoch(s), "
          f"CNN_TUI_THREADS={os.environ.get('CNN_TUI_THREADS', '(all cores)')}")
    run(argparse.Namespace(**{**vars(args), "limit_train": 2000}), root, True)  # warm-up
    instrument()
    rows, shares = [], []
    for r in range(args.repeats):
        order = (True, False) if r % 2 == 0 else (False, True)
        got = {}
        for kind in order:
            got[kind] = run(args, root, kind)
            if kind:
                training = args.limit_train * args.epochs / got[kind][0]
                shares.append(spent[0] / training)
        rows.append((got[True], got[False]))
        (rec, rec_wall), (bare, bare_wall) = got[True], got[False]
        print(f"repeat {r + 1}: recorded {rec:,.0f} img/s ({rec_wall:.1f} s) · bare {bare:,.0f} "
              f"img/s ({bare_wall:.1f} s) · recorded/bare {rec / bare:.3f} · recording on the "
              f"training thread {1000 * shares[-1] * training:.0f} ms = {100 * shares[-1]:.2f}% "
              "of its training time")
    rec = statistics.median(r[0][0] for r in rows)
    bare = statistics.median(r[1][0] for r in rows)
    ratio = statistics.median(r[0][0] / r[1][0] for r in rows)
    print(f"median: recorded {rec:,.0f} img/s, bare {bare:,.0f} img/s; recorded/bare "
          f"{ratio:.3f} per repeat (target >= 0.98: recording costs <= 2%)")
    print(f"recording's own time on the training thread: median {100 * statistics.median(shares):.2f}% "
          f"of training time (max {100 * max(shares):.2f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
