"""Checkpoints and resume: kill -9 mid-epoch for real, stop/resume equals an uninterrupted run,
weights_only loading, and unwritable run folders refused before training starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")

from cnn_tui.cli import main  # noqa: E402
from cnn_tui.errors import TrainingError  # noqa: E402
from cnn_tui.runs.store import RunStore  # noqa: E402
from cnn_tui.spec.templates import get_template  # noqa: E402
from cnn_tui.train import checkpoint as ckpt  # noqa: E402
from cnn_tui.train.control import Control  # noqa: E402
from support import Opts as RunOptions, train  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """Tests check behaviour, not speed: one CPU thread is robust on a shared, busy machine."""
    monkeypatch.setenv("CNN_TUI_THREADS", "1")


def _wait(predicate, timeout, proc=None, what=""):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"trainer exited early ({proc.returncode}) while waiting for {what}: "
                        f"{proc.stderr.read()[-2000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_kill_9_in_epoch_3_then_resume_keeps_epochs_1_2(mnist_root, tmp_path, capsys):
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "cnn_tui", "train", "template:beginner", "--epochs", "4",
           "--limit-train", "3000", "--val-size", "200", "--limit-test", "300", "--batch-size", "32",
           "--data-dir", str(mnist_root), "--runs-dir", str(runs), "--json"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        store = RunStore(runs)

        def two_epochs():
            if not (runs / "runs.db").exists():
                return None
            found = store.list_runs()
            return found[0] if found and len(found[0].epochs) >= 2 else None

        record = _wait(two_epochs, 240, proc, "two epochs")
        # into epoch 3: wait ~40% of an epoch's training time, then kill without warning
        time.sleep(0.4 * record.epochs[1]["train_seconds"])
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    before = store.get(record.id)
    assert len(before.epochs) == 2, "the kill must land in epoch 3"
    assert before.status == "interrupted"  # "running" in the db, but its pid is gone
    assert ckpt.load(store.checkpoint_path(record.id))["epoch"] == 2

    code = main(["train", "--resume", record.id[:17], "--json", "--data-dir", str(mnist_root),
                 "--runs-dir", str(runs)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "finished" and out["run_id"] == record.id
    assert [e["epoch"] for e in out["epochs"]] == [1, 2, 3, 4]
    assert out["epochs"][:2] == before.epochs  # epochs 1-2 intact, bit for bit
    after = store.get(record.id)
    assert after.status == "finished" and len(after.epochs) == 4 and after.test_acc == out["test_acc"]
    assert sum(map(sum, out["confusion_matrix"])) == 300  # resumed on the same subset


def test_an_epoch_the_store_shows_is_one_its_checkpoint_holds(mnist_root, tmp_path, monkeypatch):
    """When an epoch's row is written (the moment any other process can see it), the checkpoint
    on disk already holds that epoch: a kill between the two can never show an epoch that a
    resume would train again."""
    store = RunStore(tmp_path)
    seen = []
    log_epoch = RunStore.log_epoch

    def watched(self, run_id, row):  # the real write, with what the checkpoint held just before
        seen.append((row["epoch"], ckpt.load(self.checkpoint_path(run_id))["epoch"]))
        return log_epoch(self, run_id, row)

    monkeypatch.setattr(RunStore, "log_epoch", watched)
    result = train(get_template("beginner"), {"epochs": 3, "val_size": 100, "batch_size": 64},
                   RunOptions(data_dir=mnist_root, runs_dir=tmp_path, limit_train=640,
                              limit_test=100))
    assert result.status == "finished" and len(store.get(result.run_id).epochs) == 3
    assert seen == [(1, 1), (2, 2), (3, 3)]


def test_stop_mid_epoch_then_resume_equals_an_uninterrupted_run(mnist_root, tmp_path):
    config = {"epochs": 2, "val_size": 100, "batch_size": 64, "seed": 5}
    opts = dict(data_dir=mnist_root, runs_dir=tmp_path, limit_train=1280, limit_test=200,
                progress_every=5)
    straight = train(get_template("beginner"), config, RunOptions(**opts))

    control = Control()

    def stop_in_epoch_2(event):
        if type(event).__name__ == "BatchEnd" and event.epoch == 2 and event.step == 10:
            control.stop()

    stopped = train(get_template("beginner"), config, RunOptions(**opts),
                    callbacks=[stop_in_epoch_2], control=control)
    assert stopped.status == "stopped" and len(stopped.epochs) == 1
    state = torch.load(RunStore(tmp_path).checkpoint_path(stopped.run_id), weights_only=True)
    assert (state["epoch"], state["step"]) == (1, 10) and state["perm"].shape == (1280,)
    assert isinstance(state["rng"]["python"]["state"], torch.Tensor)

    # no limits given: a subset run resumes on the subset it was started with
    resumed = train(None, {}, RunOptions(data_dir=mnist_root, runs_dir=tmp_path,
                                         resume=stopped.run_id))
    assert resumed.status == "finished" and resumed.run_id == stopped.run_id
    assert len(resumed.epochs) == 2
    for a, b in zip(straight.epochs, resumed.epochs):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
    assert resumed.test_acc == pytest.approx(straight.test_acc, abs=0.006)


def test_resume_of_an_unknown_run_or_without_anything_is_a_clear_error(mnist_root, tmp_path, capsys):
    assert main(["train", "--resume", "nope", "--runs-dir", str(tmp_path)]) == 2
    assert "no run 'nope'" in capsys.readouterr().err
    assert main(["train", "--runs-dir", str(tmp_path)]) == 2
    assert "--resume" in capsys.readouterr().err


def test_unwritable_runs_dir_is_refused_before_training(mnist_root, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    for runs_dir in (not_a_dir, not_a_dir / "runs"):
        with pytest.raises(TrainingError, match="run store"):
            train(get_template("beginner"), {"epochs": 1},
                  RunOptions(data_dir=mnist_root, runs_dir=runs_dir, limit_train=100))
    assert not_a_dir.read_text() == "x"
    if os.geteuid() == 0:  # root writes through file modes: the mode check below cannot bite
        return
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(TrainingError, match="not writable"):
            train(get_template("beginner"), {"epochs": 1},
                  RunOptions(data_dir=mnist_root, runs_dir=locked, limit_train=100))
    finally:
        locked.chmod(0o755)


def test_checkpoint_write_is_atomic_and_loads_weights_only(tmp_path):
    path = tmp_path / "c.pt"
    ckpt.save(path, {"model": {"w": torch.ones(3)}, "rng": ckpt.rng_state(), "epoch": 1})
    ckpt.save(path, {"model": {"w": torch.zeros(3)}, "rng": ckpt.rng_state(), "epoch": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp files left
    state = ckpt.load(path)
    assert state["epoch"] == 2 and torch.equal(state["model"]["w"], torch.zeros(3))
    before = torch.rand(3)
    ckpt.set_rng_state(state["rng"])
    torch.manual_seed(123)
    ckpt.set_rng_state(state["rng"])
    assert torch.rand(3).shape == before.shape
    with pytest.raises(TrainingError, match="cannot write checkpoint"):
        ckpt.save(tmp_path / "missing" / "c.pt", {"epoch": 1})
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="cannot read checkpoint"):
        ckpt.load(tmp_path / "bad.pt")


def _unreadable_checkpoints(good: bytes) -> dict[str, bytes]:
    import pickle

    return {"text": b"not a checkpoint", "empty": b"", "half": good[: len(good) // 2],
            "cut": good[:-10], "code": pickle.dumps(os.system, protocol=2)}


def test_unreadable_checkpoint_is_one_whole_line_naming_the_file(tmp_path, capsys):
    good = tmp_path / "good.pt"
    ckpt.save(good, {"model": {"w": torch.ones(1000)}, "epoch": 1})
    for name, data in _unreadable_checkpoints(good.read_bytes()).items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(data)
        with pytest.raises(TrainingError) as err:
            ckpt.load(path)
        message = str(err.value)
        assert message.startswith(f"{path}: cannot read checkpoint (corrupt or truncated"), message
        assert message.endswith(")") and "\n" not in message and len(message) < 200, message
        assert "likelihood" not in message and "weights_only" not in message, message
    assert capsys.readouterr().err == ""  # torch's warnings do not leak to the terminal
    assert "the file is empty" in str(pytest.raises(TrainingError, ckpt.load,
                                                    tmp_path / "empty.pt").value)


def test_resume_from_a_corrupt_checkpoint_is_a_one_line_error(mnist_root, tmp_path, capsys):
    run = train(get_template("beginner"), {"epochs": 1, "val_size": 50},
                RunOptions(data_dir=mnist_root, runs_dir=tmp_path, limit_train=100,
                           limit_test=50))
    path = RunStore(tmp_path).checkpoint_path(run.run_id)
    path.write_bytes(path.read_bytes()[:5000])
    capsys.readouterr()
    code = main(["train", "--resume", run.run_id, "--epochs", "2", "--runs-dir", str(tmp_path),
                 "--data-dir", str(mnist_root)])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith(f"cnn-tui: error: {path}: cannot read checkpoint (corrupt or truncated")
    assert err.count("\n") == 1 and err.rstrip().endswith(")")


def test_architecture_mismatch_names_the_first_difference():
    from cnn_tui.train.build import build_model

    saved = build_model(get_template("beginner")).state_dict()
    model = build_model(get_template("intermediate"))
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(saved)
    line = ckpt.mismatch_reason(saved, model, err.value)
    assert line.startswith("layers.0.conv.weight is [8, 1, 3, 3] in the checkpoint but "
                           "[16, 1, 3, 3] in this model (and ")
    assert "the checkpoint lacks layers." in line and "this model has no layers." in line
    assert "\n" not in line

    # only missing / only unexpected parameters, and no weights at all
    current = model.state_dict()
    fewer = {k: v for k, v in current.items() if k != "layers.1.weight"}
    assert ckpt.state_dict_mismatch(fewer, current) == "the checkpoint lacks layers.1.weight"
    more = {**current, "layers.99.weight": torch.ones(2)}
    assert ckpt.state_dict_mismatch(more, current) == "this model has no layers.99.weight"
    assert ckpt.state_dict_mismatch(current, current) == ""
    assert ckpt.mismatch_reason(None, model) == "the checkpoint holds no model weights"


def test_a_full_disk_while_saving_is_one_line_and_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    """torch's zip writer reports a short write as a RuntimeError; on a full disk that is
    'no space left', and the checkpoint already there stays whole (written atomically)."""
    path = tmp_path / "checkpoint.pt"
    ckpt.save(path, {"epoch": 1, "w": torch.zeros(3)})

    class ShortWrite:
        def __reduce__(self):
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos")

    monkeypatch.setattr(ckpt, "_free_bytes", lambda folder: 0)  # as a full disk reports
    with pytest.raises(TrainingError, match=r"^cannot write checkpoint .*checkpoint\.pt: no space "
                                            r"left on the device$"):
        ckpt.save(path, {"epoch": 2, "bad": ShortWrite()})
    assert ckpt.load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left
