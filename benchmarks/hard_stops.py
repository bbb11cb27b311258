"""Hard stops, counted: kill -9 at random moments (some land inside a checkpoint write) and
SIGTERM at random moments, each against a real `cnn-tui train` process.

After each kill -9 the run must either resume to the end with `cnn-tui train --resume` or be
clearly failed, and no `*.tmp` file may be left in its folder once it resumed. After each
SIGTERM the process must exit 143 with the run recorded as "stopped" and resumable.

    python benchmarks/hard_stops.py --data-dir DIR [--kills 10] [--terms 4]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("CNN_TUI_DATA_DIR"))
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--terms", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def train(args, runs: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "cnn_tui", "train", "template:beginner", "--epochs", "4",
           "--limit-train", "8000", "--val-size", "200", "--limit-test", "200",
           "--data-dir", str(args.data_dir), "--runs-dir", str(runs), *extra]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def newest(runs: Path):
    from cnn_tui.runs.store import RunStore
    if not (runs / "runs.db").exists():
        return None
    store = RunStore(runs)
    try:
        found = store.list_runs()
        return found[0] if found else None
    finally:
        store.close()


def main() -> int:
    args = parse_args()
    if not args.data_dir:
        raise SystemExit("--data-dir DIR is needed")
    os.environ["CNN_TUI_THREADS"] = "1"
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="cnn-tui-stops-"))
    os.environ["CNN_TUI_HOME"] = str(root / "home")
    # the moments are drawn inside this machine's own run: one uninterrupted run first, timed
    times = []
    for k in range(2):  # the first one warms the caches: the shorter of two
        t0 = time.monotonic()
        proc = train(args, root / f"calibrate{k}")
        proc.communicate(timeout=600)
        times.append(time.monotonic() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"the uninterrupted run failed (exit {proc.returncode})")
    whole = min(times)
    low, high = 0.25 * whole, 0.9 * whole
    print(f"an uninterrupted run takes {whole:.1f} s here: kills and signals land in "
          f"{low:.1f}-{high:.1f} s (from the imports to its last epoch)")
    ok_kills = mid_write = 0
    for i in range(args.kills):
        runs = root / f"kill{i}"
        proc = train(args, runs)
        t0 = time.monotonic()
        tmp_seen = False
        if i % 2:  # half the kills aim at a checkpoint write: the next moment its temp file
            time.sleep(rng.uniform(low, 0.7 * high))  # exists after a random moment
            while time.monotonic() - t0 < whole + 10 and proc.poll() is None:
                if runs.exists() and any(runs.glob("*/.checkpoint.pt.*.tmp")):
                    tmp_seen = True
                    break
                time.sleep(0.0005)
            delay = time.monotonic() - t0
        else:  # the others at a random moment, from before the first step to the last epoch
            delay = rng.uniform(low, high)
            time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        record = newest(runs)
        left = sorted(p.name for p in runs.glob("*/*.tmp")) if runs.exists() else []
        if left or tmp_seen:
            mid_write += 1
        if record is None:
            verdict = "killed before the run was recorded: nothing to resume, nothing left behind"
            ok = not left
        elif record.status == "finished":
            verdict, ok = "it had finished before the kill", not left
        else:
            res = subprocess.run([sys.executable, "-m", "cnn_tui", "train", "--resume", record.id,
                                  "--data-dir", str(args.data_dir), "--runs-dir", str(runs)],
                                 cwd=REPO, capture_output=True, text=True)
            after = newest(runs)
            still = sorted(p.name for p in runs.glob("*/*.tmp"))
            ok = (res.returncode == 0 and after.status == "finished" and not still) or \
                (after.status == "failed" and after.message)
            verdict = (f"{record.status} at {len(record.epochs)} epochs -> resume exit "
                       f"{res.returncode}, {after.status}; temp files before {left or 'none'}, "
                       f"after {still or 'none'}")
        ok_kills += bool(ok)
        aim = "inside a checkpoint write" if tmp_seen else "at a random moment"
        print(f"kill -9 #{i + 1} after {delay:.2f} s, {aim}: {verdict}: {'ok' if ok else 'BAD'}")
    ok_terms = 0
    for i in range(args.terms):
        runs = root / f"term{i}"
        proc = train(args, runs)
        delay = rng.uniform(low, high)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        record = newest(runs)
        ok = proc.returncode == 143 and record is not None and record.status == "stopped"
        if record is not None and record.status == "finished" and proc.returncode in (0, 143):
            ok, note = True, f"finished before the signal (exit {proc.returncode})"
        elif record is not None and record.status == "finished" and proc.returncode == -15 \
                and "finished: test accuracy" in out:
            # its report printed and its handlers given back: the signal ended the exit itself
            ok, note = True, "finished and reported before the signal, which ended its exit (-15)"
        else:
            note = f"exit {proc.returncode}, {record.status if record else 'no run'}"
        ok_terms += bool(ok)
        print(f"SIGTERM #{i + 1} after {delay:.1f} s: {note}: {'ok' if ok else 'BAD'}")
    print(f"kill -9: {ok_kills} of {args.kills} left a run that resumes or is clearly failed, "
          f"no temp file left ({mid_write} landed inside a checkpoint write)")
    print(f"SIGTERM: {ok_terms} of {args.terms} clean stops (exit 143, recorded stopped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
