"""Hard stops and the run's lifecycle across processes: SIGTERM is a clean stop, a run killed
before its first checkpoint still resumes, a finished run's record is not rewritten, a NaN stops
the run keeping the last good checkpoint, a divergence that never reaches NaN is named, and a
run in another process is paused, resumed, stopped and followed through the store."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")

from cnn_tui import api  # noqa: E402
from cnn_tui.cli import main  # noqa: E402
from cnn_tui.errors import CnnTuiError  # noqa: E402
from cnn_tui.runs.follow import Follower  # noqa: E402
from cnn_tui.runs.store import RunStore  # noqa: E402
from cnn_tui.train import checkpoint as ckpt  # noqa: E402
from cnn_tui.train.callbacks import Callback  # noqa: E402
from cnn_tui.train.events import BatchEnd, EpochEnd, RunEnd, RunStart  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("CNN_TUI_THREADS", "1")


def _wait(predicate, timeout, proc=None, what=""):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"trainer exited early ({proc.returncode}) waiting for {what}: {out[-2000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _train(mnist_root, runs, *extra, epochs="3", limit="20000"):
    cmd = [sys.executable, "-m", "cnn_tui", "train", "template:beginner", "--epochs", epochs,
           "--limit-train", limit, "--val-size", "200", "--limit-test", "300",
           "--data-dir", str(mnist_root), "--runs-dir", str(runs), *extra]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _first_points(store):
    def ready():
        if not (store.root / "runs.db").exists():
            return None
        found = store.list_runs(with_epochs=False)
        return found[0] if found and store.batch_points(found[0].id) else None
    return ready


def test_sigterm_is_a_clean_stop_and_the_run_resumes(mnist_root, tmp_path):
    runs = tmp_path / "runs"
    proc = _train(mnist_root, runs)
    store = RunStore(runs)
    record = _wait(_first_points(store), 120, proc, "the first batch points")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 143, out
    assert "stopping (SIGTERM)" in out and "Traceback" not in out
    stopped = store.get(record.id)
    assert stopped.status == "stopped" and "resume with --resume" in stopped.message
    state = ckpt.load(store.checkpoint_path(record.id))
    assert state["epoch"] == 0 and state["step"] > 0  # the position inside epoch 1 is kept
    assert not list(store.run_dir(record.id).glob("*.tmp"))
    assert main(["train", "--resume", record.id, "--epochs", "1", "--limit-train", "2000",
                 "--data-dir", str(mnist_root), "--runs-dir", str(runs)]) in (0,)


def test_a_run_killed_during_its_first_checkpoint_write_restarts(mnist_root, tmp_path, capsys):
    runs = tmp_path / "runs"
    first = api.train("template:beginner", epochs=1, val_size=100, limit_train=300,
                      limit_test=100, data_dir=mnist_root, runs_dir=runs)
    store = RunStore(runs)
    folder = store.run_dir(first.run_id)
    # what a kill -9 inside the first write leaves: a part-written temp file, no checkpoint,
    # the run "running" for a process that is gone
    store.checkpoint_path(first.run_id).unlink()
    (folder / "model.pt").unlink()
    (folder / "checkpoint.pt.k3x9.tmp").write_bytes(b"PK\x03\x04 half a zip")
    store._write("UPDATE runs SET status='running', pid=999999, ended=NULL WHERE id=?",
                 (first.run_id,))
    store.truncate_epochs(first.run_id, 0)
    assert store.get(first.run_id).status == "interrupted"
    code = main(["train", "--resume", first.run_id, "--data-dir", str(mnist_root),
                 "--runs-dir", str(runs)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "has no checkpoint" in out and "starts again from epoch 1" in out
    again = store.get(first.run_id)
    assert again.status == "finished" and len(again.epochs) == 1
    assert [p.name for p in folder.glob("*.tmp")] == []


def test_resuming_a_finished_run_leaves_its_record_alone(mnist_root, tmp_path, capsys):
    runs = tmp_path / "runs"
    done = api.train("template:beginner", epochs=1, val_size=100, limit_train=300,
                     limit_test=300, data_dir=mnist_root, runs_dir=runs)
    store = RunStore(runs)
    before = store.get(done.run_id)
    code = main(["train", "--resume", done.run_id, "--limit-test", "50", "--data-dir",
                 str(mnist_root), "--runs-dir", str(runs)])
    err = capsys.readouterr().err
    assert code == 2 and "finished all its 1 epochs: nothing to train" in err
    after = store.get(done.run_id)
    assert (after.test_acc, after.evaluation, after.ended, after.config) == \
        (before.test_acc, before.evaluation, before.ended, before.config)


def test_a_nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint(mnist_root, tmp_path):
    class Poison(Callback):
        """Turns every weight into NaN in the middle of epoch 2: the next loss is NaN."""

        def on_batch_end(self, trainer, event):
            if event.epoch == 2 and event.step == 10:
                with torch.no_grad():
                    for p in trainer.model.parameters():
                        p.fill_(float("nan"))

    runs = tmp_path / "runs"
    result = api.train("template:beginner", epochs=3, val_size=100, limit_train=640,
                       limit_test=100, batch_size=32, data_dir=mnist_root, runs_dir=runs,
                       callbacks=[Poison()])
    assert result.status == "failed"
    assert "loss became nan in epoch 2" in result.message
    assert "lower learning rate" in result.message and "checkpoint (epoch 1) is kept" in result.message
    store = RunStore(runs)
    record = store.get(result.run_id)
    assert record.status == "failed" and len(record.epochs) == 1
    state = ckpt.load(store.checkpoint_path(result.run_id))
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_a_divergence_without_nan_is_diagnosed_and_stops_the_run(mnist_root, tmp_path, capsys):
    """LeNet-5 with SGD at learning rate 10 used to 'finish' at chance with loss ~2,000."""
    runs = tmp_path / "runs"
    code = main(["train", "template:lenet5", "--optimizer", "sgd", "--lr", "10", "--epochs", "3",
                 "--limit-train", "2000", "--val-size", "200", "--limit-test", "100",
                 "--data-dir", str(mnist_root), "--runs-dir", str(runs)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "diagnosis (error): training diverged: after epoch 1" in out
    assert "try a learning rate 10-100x lower than 10" in err
    record = RunStore(runs).list_runs()[0]
    assert record.status == "failed" and len(record.epochs) == 1
    assert [d["kind"] for d in record.diagnosis] == ["diverged"]
    assert "lower than 10" in record.diagnosis[0]["advice"]


def test_overfitting_is_named_with_what_to_try(mnist_root, tmp_path):
    """A big dense net on 100 images for many epochs: validation loss climbs while training
    loss falls."""
    arch = {"format": "cnn-tui/architecture", "version": 1, "name": "Memoriser",
            "input": [1, 28, 28], "classes": 10,
            "layers": [{"type": "flatten"}, {"type": "dense", "units": 512, "activation": "relu"},
                       {"type": "dense", "units": 10}]}
    result = api.train(arch, epochs=14, val_size=500, limit_train=100, limit_test=100,
                       learning_rate=0.003, batch_size=20, data_dir=mnist_root,
                       runs_dir=tmp_path / "runs")
    assert result.status == "finished"
    kinds = {d["kind"]: d for d in RunStore(tmp_path / "runs").get(result.run_id).diagnosis}
    assert "overfitting" in kinds, kinds
    assert "validation loss rose" in kinds["overfitting"]["message"]
    assert "dropout" in kinds["overfitting"]["advice"]


def test_a_run_in_another_process_is_paused_resumed_stopped_and_followed(mnist_root, tmp_path):
    runs = tmp_path / "runs"
    proc = _train(mnist_root, runs, epochs="2", limit="12000")
    store = RunStore(runs)
    record = _wait(_first_points(store), 120, proc, "the first batch points")
    follower = Follower(store, record.id)
    events = follower.poll()
    assert isinstance(events[0], RunStart) and events[0].run_id == record.id
    assert events[0].config["epochs"] == 2 and events[0].train_size == 12000
    assert any(isinstance(e, BatchEnd) for e in events)

    store.request(record.id, "pause")
    _wait(lambda: store.get(record.id).paused, 30, proc, "the pause")
    time.sleep(0.5)  # a step in flight may still land
    count = len(store.batch_points(record.id))
    time.sleep(1.5)
    assert len(store.batch_points(record.id)) == count  # nothing trains while paused
    assert store.get(record.id).status == "running"
    store.request(record.id, "resume")
    _wait(lambda: len(store.batch_points(record.id)) > count, 30, proc, "training again")
    assert not store.get(record.id).paused
    store.request(record.id, "stop")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert store.get(record.id).status == "stopped"
    events += follower.poll()
    ends = [e for e in events if isinstance(e, RunEnd)]
    assert len(ends) == 1 and ends[0].status == "stopped"
    assert follower.poll() == []  # nothing new once it ended
    points = [e for e in events if isinstance(e, BatchEnd)]
    stored = store.batch_points(record.id)
    assert [(p.epoch, p.step) for p in points] == [(p["epoch"], p["step"]) for p in stored]
    assert all(math.isfinite(p.loss) for p in points)


def test_following_a_finished_run_replays_it_whole(mnist_root, tmp_path):
    runs = tmp_path / "runs"
    result = api.train("template:beginner", epochs=2, val_size=100, limit_train=640,
                       limit_test=100, batch_size=32, data_dir=mnist_root, runs_dir=runs)
    events = Follower(RunStore(runs), result.run_id).poll()
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStart" and kinds[-2:] == ["EvalDone", "RunEnd"]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [1, 2]
    assert [e.val_acc for e in epochs] == [row["val_acc"] for row in result.epochs]
    # an epoch's points and gradient norms come before its row, as the trainer sent them
    first_row = kinds.index("EpochEnd")
    assert kinds.index("BatchEnd") < first_row and kinds.index("GradNorms") < first_row
    assert events[-1].status == "finished" and events[-1].test_acc == result.test_acc


def test_unknown_run_to_follow_is_one_line(tmp_path):
    store = RunStore(tmp_path)
    store.ensure_writable()
    with pytest.raises(CnnTuiError, match="no run 'nope'"):
        Follower(store, "nope")
