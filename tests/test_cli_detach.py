"""`cnn-tui train --detach`: the command returns while the run goes on in its own session,
recorded in the store like any run; bad input is refused before any child starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from cnn_tui.runs.store import RunStore


def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "cnn_tui", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_detach_returns_while_the_run_goes_on_then_finishes(mnist_root, isolated_home):
    env = {**os.environ, "CNN_TUI_THREADS": "1"}
    done = _cli("train", "template:beginner", "--epochs", "2", "--limit-train", "1500",
                "--limit-test", "300", "--data-dir", str(mnist_root), "--detach", "--json",
                env=env)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    store = RunStore()
    assert store.get(info["run_id"]).status == "running"  # the command did not wait for it
    assert os.path.exists(info["log"])
    deadline = time.monotonic() + 150
    while store.get(info["run_id"]).status == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    record = store.get(info["run_id"])
    assert record.status == "finished", open(info["log"]).read()[-500:]
    assert len(record.epochs) == 2 and record.test_acc is not None


def test_detach_refuses_an_invalid_architecture_at_once(tmp_path, mnist_root, isolated_home):
    bad = tmp_path / "bad.json"
    bad.write_text('{"layers": [{"type": "dense", "units": 10}]}')
    done = _cli("train", str(bad), "--detach", "--data-dir", str(mnist_root), env=dict(os.environ))
    assert done.returncode == 1
    assert "dense needs a vector" in done.stderr and "Traceback" not in done.stderr
    assert RunStore().list_runs() == []


def test_a_detached_run_ignores_sighup_and_takes_sigterm_as_a_clean_stop(mnist_root, isolated_home):
    import signal

    from cnn_tui.train import checkpoint as ckpt

    env = {**os.environ, "CNN_TUI_THREADS": "1"}
    done = _cli("train", "template:beginner", "--epochs", "3", "--limit-train", "30000",
                "--limit-test", "300", "--data-dir", str(mnist_root), "--detach", "--json",
                env=env)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    store = RunStore()
    deadline = time.monotonic() + 120
    while not store.batch_points(info["run_id"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(info["pid"], signal.SIGHUP)  # a dropped ssh session
    time.sleep(1.0)
    assert store.get(info["run_id"]).status == "running"
    os.kill(info["pid"], signal.SIGTERM)  # kill, timeout, systemd, a container stop
    deadline = time.monotonic() + 60
    while store.get(info["run_id"]).status == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    record = store.get(info["run_id"])
    assert record.status == "stopped", open(info["log"]).read()[-500:]
    assert ckpt.load(store.checkpoint_path(record.id))["step"] > 0  # where it stopped is kept
    log = open(info["log"]).read()
    assert "stopping (SIGTERM)" in log and "Traceback" not in log
