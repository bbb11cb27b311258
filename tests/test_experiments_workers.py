"""Sweeps across processes, honestly: real worker processes (`cnn-tui sweep worker`), each with
its own run store and its own host name (a UTS namespace: `unshare --uts`), sharing one journal
file, then one PostgreSQL server started here; one worker is killed with `kill -9` mid-trial.
No trial runs twice, all N finish. On the journal the third box joins with `sweep run FILE
--gpus all` and CUDA_VISIBLE_DEVICES=0,1: one worker process per GPU, each seeing only its own
(they train on the CPU here: this machine has no GPU; only the spawning is tested)."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cnn_tui.errors import CnnTuiError
from cnn_tui.experiments.optuna_backend import Backend
from cnn_tui.experiments.storage import parse_storage
from cnn_tui.experiments.sweepfile import load_sweep
from cnn_tui.experiments.worker import PER_GPU_DEFAULT, plan_workers
from cnn_tui.runs.store import RunStore

REPO = Path(__file__).resolve().parent.parent
TRIALS = 4
HEARTBEAT = 2


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--uts", "sh", "-c", "hostname probe-box && hostname"],
                           capture_output=True, text=True)
    return probe.returncode == 0 and probe.stdout.strip() == "probe-box"


UNSHARE = _unshare_works()
needs_hostnames = pytest.mark.skipif(
    not UNSHARE, reason="different host names need `unshare --uts` (root or user namespaces)")


def _sweep_file(tmp_path, name: str) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({
        "format": "cnn-tui/sweep", "version": 1, "name": name, "base": "template:beginner",
        "sampler": "random", "pruner": "none", "trials": TRIALS,
        "space": {"training.learning_rate": {"type": "float", "low": 1e-3, "high": 1e-2,
                                             "log": True}},
        "data": {"limit_train": 600, "limit_test": 100},
        "training": {"epochs": 2, "val_size": 200}}))
    return path


def _env(**extra) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CNN_TUI_THREADS": "1"}
    env.update(extra)
    return env


def _start_worker(name, storage_arg, runs, mnist_root, host, log, run_file=None):
    """`cnn-tui sweep worker NAME` under host name `host`; with `run_file`: `cnn-tui sweep run
    FILE --gpus all` there instead (CUDA_VISIBLE_DEVICES=0,1: two GPU workers)."""
    tail = ["--storage", storage_arg, "--runs-dir", str(runs), "--data-dir", str(mnist_root),
            "--heartbeat", str(HEARTBEAT)]
    argv = [sys.executable, "-m", "cnn_tui", "sweep", "worker", name, *tail]
    env = _env()
    if run_file is not None:
        argv = [sys.executable, "-m", "cnn_tui", "sweep", "run", str(run_file), "--gpus", "all",
                "--per-gpu", "1", *tail]
        env["CUDA_VISIBLE_DEVICES"] = "0,1"
    argv = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host, *argv]
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def _kill_mid_trial(study, victim, deadline_s=90.0):
    """Wait until `victim` is training a run of a trial, then kill -9 it; its trial number."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        for view in study.trials():
            if view.state == "running" and view.worker.endswith(f":{victim.pid}") and view.runs:
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait()
                return view.number
        assert victim.poll() is None, "the victim ended before it took a trial"
        time.sleep(0.1)
    raise AssertionError("the victim never started a trial")


def _multi_worker_sweep(tmp_path, mnist_root, storage, name, gpus_on_c=False):
    """box-a, box-b and box-c run workers of one sweep; box-b is killed with kill -9 mid-trial.
    `gpus_on_c`: box-c joins with `sweep run FILE --gpus all` (two GPU workers) instead."""
    backend = Backend(parse_storage(storage, tmp_path), heartbeat=HEARTBEAT)
    sweep_file = _sweep_file(tmp_path, name)
    study, created = backend.create(load_sweep(sweep_file))
    assert created
    hosts = ["box-a", "box-b", "box-c"]
    stores = {h: tmp_path / f"runs-{h}" for h in hosts}
    logs = {h: open(tmp_path / f"{h}.log", "wb") for h in hosts}
    workers = {h: _start_worker(name, backend.ref.argument, stores[h], mnist_root, h, logs[h],
                                sweep_file if gpus_on_c and h == "box-c" else None)
               for h in hosts}
    try:
        killed = _kill_mid_trial(study, workers["box-b"])
        for h in ("box-a", "box-c"):
            assert workers[h].wait(timeout=180) == 0, (tmp_path / f"{h}.log").read_text()
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.kill()
        for fh in logs.values():
            fh.close()

    views = study.trials()
    done = [v for v in views if v.counted]
    assert len(done) == TRIALS and {v.state for v in done} == {"complete"}
    surplus = [v for v in views if v.surplus]  # two workers asking at once near the end
    assert all(not v.runs and v.state == "failed" and not v.counted for v in surplus)
    lost = [v for v in views if not v.counted and not v.surplus]
    assert [v.number for v in lost] == [killed], [
        (v.number, v.state, v.worker, v.message, v.retry_of, v.requeued_as) for v in views]
    assert lost[0].requeued_as is not None and "re-queued" in lost[0].message
    again = next(v for v in done if v.number == lost[0].requeued_as)
    assert again.retry_of == killed
    assert again.params == lost[0].params  # the same trial, run again
    assert again.worker.split(":")[0] in ("box-a", "box-c")

    # every counted trial is exactly one finished run, in the store of the box that ran it
    finished: dict[str, list] = {}
    for host, root in stores.items():
        if not (root / "runs.db").exists():
            continue
        for record in RunStore(root).list_runs():
            assert record.host == host
            trial_tags = [t for t in record.tags if t.startswith("trial:")]
            assert trial_tags and f"sweep:{name}" in record.tags
            if record.status == "finished":
                finished.setdefault(trial_tags[0], []).append(record.id)
    assert finished == {f"trial:{v.number}": [v.run_id] for v in done}
    killed_runs = [r for r in RunStore(stores["box-b"]).list_runs()
                   if f"trial:{killed}" in r.tags]
    assert len(killed_runs) == 1 and killed_runs[0].status == "running"  # left as the kill left it
    assert len({v.worker.split(":")[0] for v in done}) >= 2  # the work was shared
    return lost[0], done


@needs_hostnames
def test_three_hosts_share_a_journal_and_survive_a_kill_9(tmp_path, mnist_root):
    journal = tmp_path / "shared" / "sweeps.journal"
    lost, done = _multi_worker_sweep(tmp_path, mnist_root, f"journal:{journal}", "journal-3",
                                     gpus_on_c=True)
    assert "its worker box-b:" in lost.message and "has been silent for" in lost.message
    # box-c ran `sweep run FILE --gpus all` with CUDA_VISIBLE_DEVICES=0,1 on this CPU box: it
    # joined the sweep and started one worker per GPU, each seeing only its own
    log = (tmp_path / "box-c.log").read_text()
    assert "sweep journal-3: joined in" in log and "gpu 0: pid " in log and "gpu 1: pid " in log
    on_c = [v for v in done if v.worker.startswith("box-c:")]
    assert on_c and {v.gpu for v in on_c} <= {"0", "1"}
    assert all(v.gpu is None for v in done if not v.worker.startswith("box-c:"))
    assert {RunStore(tmp_path / "runs-box-c").get(v.run_id).device for v in on_c} == {"cpu"}


# ---------------------------------------------------------------- PostgreSQL

def _postgres_bin() -> Path | None:
    for candidate in [shutil.which("initdb"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))]:
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve().parent
    return None


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL server on 127.0.0.1 (Debian's `postgresql` package; it refuses to
    run as root, so as the `postgres` user when we are root)."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("the PostgreSQL server is not installed (Debian: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="cnn-tui-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        runuser = shutil.which("runuser") or next(
            (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(p)), None)
        if runuser is None:  # util-linux's; /usr/sbin is not on every PATH
            pytest.skip("running as root and there is no runuser to start the server as postgres")
        os.chmod(root, 0o755)
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = [runuser, "-u", "postgres", "--"]
    data = root / "data"
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                    "-o", f"-k {root} -h 127.0.0.1 -p {port}", "-w", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@needs_hostnames
def test_three_hosts_share_postgresql_and_survive_a_kill_9(tmp_path, mnist_root, postgres_url):
    lost, _ = _multi_worker_sweep(tmp_path, mnist_root, postgres_url, "pg-3")
    assert lost.state == "failed"  # failed by Optuna's heartbeat check, re-queued by its callback


def test_postgresql_url_that_cannot_be_reached_is_one_line(tmp_path):
    with pytest.raises(CnnTuiError, match=r"^--storage postgresql://u:\*\*\*@127.0.0.1:9/x: "
                                          r"cannot connect \("):
        Backend(parse_storage("postgresql://u:pw@127.0.0.1:9/x", tmp_path))


# ---------------------------------------------------------------- GPUs

def test_worker_plans():
    assert [p.env for p in plan_workers(2, cpu_count=2)] == [{"CNN_TUI_THREADS": "1"}] * 2
    assert plan_workers(None, cpu_count=8)[0].env == {"CNN_TUI_THREADS": "8"}
    plans = plan_workers(None, "all", per_gpu=2, visible=None, gpu_count=2, cpu_count=16)
    assert [(p.label, p.env["CUDA_VISIBLE_DEVICES"]) for p in plans] == [
        ("gpu 0 #1", "0"), ("gpu 0 #2", "0"), ("gpu 1 #1", "1"), ("gpu 1 #2", "1")]
    assert {p.env["CNN_TUI_THREADS"] for p in plans} == {"4"}
    # without --per-gpu: the measured default (4 per GPU), the cores shared out among them all
    plans = plan_workers(None, "all", visible=None, gpu_count=2, cpu_count=16)
    assert len(plans) == 2 * PER_GPU_DEFAULT == 8
    assert [p.label for p in plans[:4]] == ["gpu 0 #1", "gpu 0 #2", "gpu 0 #3", "gpu 0 #4"]
    assert {p.env["CNN_TUI_THREADS"] for p in plans} == {"2"}
    # indices into what this process sees: CUDA_VISIBLE_DEVICES=3,5 and --gpus 1 -> GPU 5
    assert [p.env["CUDA_VISIBLE_DEVICES"] for p in plan_workers(
        None, "1", per_gpu=1, visible="3,5", gpu_count=2)] == ["5"]
    assert [p.env["CUDA_VISIBLE_DEVICES"] for p in plan_workers(
        None, "all", per_gpu=1, visible="GPU-aa,GPU-bb", gpu_count=2)] == ["GPU-aa", "GPU-bb"]
    for kwargs, message in (
            ({"gpus": "all", "gpu_count": 0}, "--gpus all: no GPU is visible"),
            ({"gpus": "2", "gpu_count": 2}, "--gpus 2: there is no GPU 2 (this process sees 2"),
            ({"gpus": "0,0", "gpu_count": 2}, "GPU 0 is listed twice"),
            ({"gpus": "x", "gpu_count": 2}, "give 'all' or GPU indices"),
            ({"workers": 2, "gpus": "all", "gpu_count": 2}, "--workers and --gpus: give one"),
            ({"gpus": "all", "gpu_count": 1, "per_gpu": 0}, "--per-gpu: must be at least 1")):
        with pytest.raises(CnnTuiError, match=re.escape(message)):
            plan_workers(**kwargs)
