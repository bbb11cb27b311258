"""Every way to start a run records the same things: the same tiny run trained from the command
line, through the Python API, detached and from the app (tests/test_tui_train.py) finds the same
store record: fields, version link, batch points, gradient norms, diagnosis, evaluation.

One CPU thread and one seed make the runs bit-for-bit the same, so the figures are compared
exactly, not within a tolerance.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")

from cnn_tui import api  # noqa: E402
from cnn_tui.cli import main  # noqa: E402
from cnn_tui.runs.history import History, arch_hash  # noqa: E402
from cnn_tui.runs.store import RunStore  # noqa: E402
from cnn_tui.spec.templates import get_template  # noqa: E402
from support import comparable  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = {"epochs": 2, "val_size": 200, "batch_size": 32, "seed": 7}
LIMITS = {"limit_train": 640, "limit_test": 200}
ARGV = ["--epochs", "2", "--val-size", "200", "--batch-size", "32", "--seed", "7",
        "--limit-train", "640", "--limit-test", "200"]


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("CNN_TUI_THREADS", "1")


def test_cli_api_and_detached_record_the_same_run(mnist_root, tmp_path, capsys):
    runs = tmp_path / "runs"
    # the command line
    assert main(["train", "template:beginner", *ARGV, "--data-dir", str(mnist_root),
                 "--runs-dir", str(runs), "--json"]) == 0
    cli_id = json.loads(capsys.readouterr().out)["run_id"]
    # the Python API
    api_id = api.train("template:beginner", data_dir=mnist_root, runs_dir=runs, **SETTINGS,
                       **LIMITS).run_id
    # detached: a process of its own, returning at once
    proc = subprocess.run([sys.executable, "-m", "cnn_tui", "train", "template:beginner", *ARGV,
                           "--data-dir", str(mnist_root), "--runs-dir", str(runs), "--detach",
                           "--json"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    detached_id = json.loads(proc.stdout)["run_id"]
    store = RunStore(runs)
    deadline = time.monotonic() + 300
    while store.get(detached_id).status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)

    records = {how: store.get(run_id, points=True)
               for how, run_id in (("cli", cli_id), ("api", api_id), ("detached", detached_id))}
    first = records["cli"]
    assert first.status == "finished" and first.test_acc > 0.5
    assert first.version == arch_hash(get_template("beginner"))
    assert History(runs).get(first.version).source == "train"
    # 2 epochs x 20 steps, a point every 10 steps: each epoch's points end at its last step
    assert [(p["epoch"], p["step"]) for p in first.batch_points] == \
        [(1, 10), (1, 20), (2, 10), (2, 20)]
    assert all(0 <= p["acc"] <= 1 and p["loss"] > 0 and p["lr"] > 0 for p in first.batch_points)
    assert [(g["epoch"], g["step"]) for g in first.grad_norms] == [(1, 1), (2, 1)]
    assert set(first.grad_norms[0]["layers"]) == {"0:conv2d", "3:conv2d", "7:dense", "10:dense"}
    assert all(math.isfinite(v) and v > 0 for v in first.grad_norms[0]["layers"].values())
    assert first.peak_memory_bytes and first.peak_memory_bytes > 10 * 2**20  # a process's RSS
    assert first.images_per_s and first.images_per_s > 0
    assert first.sizes == {"train": 640, "val": 200, "test": 200, "steps": 20, "batch_size": 32,
                           "start_epoch": 0, "progress_every": 10}
    expected = comparable(first)
    for how in ("api", "detached"):
        assert comparable(records[how]) == expected, how


def test_epochs_shorter_than_the_progress_interval_keep_true_points(mnist_root, tmp_path):
    """5 steps an epoch, progress every 10: one point at each epoch's end, each the epoch's own
    mean (a bug once stored every point after the first epoch as loss 0, accuracy 0)."""
    result = api.train("template:beginner", epochs=3, limit_train=300, val_size=100,
                       limit_test=100, data_dir=mnist_root, runs_dir=tmp_path)
    record = RunStore(tmp_path).get(result.run_id, points=True)
    assert [(p["epoch"], p["step"]) for p in record.batch_points] == [(1, 5), (2, 5), (3, 5)]
    for point, row in zip(record.batch_points, record.epochs):
        assert point["loss"] == pytest.approx(row["train_loss"], rel=1e-6)
        assert point["acc"] == pytest.approx(row["train_acc"], rel=1e-6)
