"""The training loop on real MNIST subsets: accuracy bar, events, NaN, early stopping, probes."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from cnn_tui.errors import TrainingError  # noqa: E402
from cnn_tui.runs.store import RunStore  # noqa: E402
from cnn_tui.spec.model import Architecture  # noqa: E402
from cnn_tui.spec.templates import get_template  # noqa: E402
from cnn_tui.train import checkpoint as ckpt  # noqa: E402
from cnn_tui.train.control import Control  # noqa: E402
from cnn_tui.train.callbacks import Callback  # noqa: E402
from cnn_tui.train.events import Stage  # noqa: E402
from support import Opts as RunOptions, train  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """Tests check behaviour, not speed: one CPU thread is robust on a shared, busy machine."""
    monkeypatch.setenv("CNN_TUI_THREADS", "1")


def test_beginner_one_epoch_on_5000_images_reaches_90_percent(mnist_root, tmp_path):
    """Issue 3's bar: Beginner, a real 5,000-image subset, one epoch, >= 90% on 1,000 test images."""
    events = []
    result = train(get_template("beginner"),
                   {"epochs": 1, "val_size": 500, "batch_size": 32, "learning_rate": 0.002},
                   RunOptions(data_dir=mnist_root, runs_dir=tmp_path / "runs", limit_train=5000,
                              limit_test=1000, progress_every=40, grad_norms_every=40,
                              progress_seconds=1e9),  # events by step only: the steps are exact
                   callbacks=[events.append])
    assert result.status == "finished", result.message
    assert result.test_acc >= 0.90, result.test_acc
    stages = [e.stage for e in events if isinstance(e, Stage)]
    assert stages == ["import", "data", "model", "first_step"]  # what the app shows while starting
    events = [e for e in events if not isinstance(e, Stage)]
    names = [type(e).__name__ for e in events]
    assert names[0] == "RunStart" and names[-1] == "RunEnd"
    assert names.index("EpochEnd") < names.index("EvalDone") < names.index("RunEnd")
    start = events[0]
    assert (start.train_size, start.val_size, start.test_size, start.params) == (5000, 500, 1000, 27562)
    batches = [e for e in events if type(e).__name__ == "BatchEnd"]
    assert [b.step for b in batches] == [40, 80, 120, 157] and batches[-1].seen == 5000
    assert all(0 <= b.acc <= 1 and b.loss > 0 and b.images_per_s > 0 for b in batches)
    grads = [e for e in events if type(e).__name__ == "GradNorms"]
    assert grads and set(grads[0].norms) == {"0:conv2d", "3:conv2d", "7:dense", "10:dense"}
    assert all(v > 0 and math.isfinite(v) for v in grads[0].norms.values())
    # the evaluation: confusion matrix sums to the test size, per-class rows, mistakes really wrong
    assert sum(map(sum, result.confusion_matrix)) == 1000
    assert sum(c["support"] for c in result.per_class) == 1000
    assert abs(result.weighted["recall"] - result.test_acc) < 1e-9
    mnist_labels = __import__("cnn_tui.data", fromlist=["load_arrays"]).load_arrays(mnist_root).test_labels
    for m in result.mistakes:
        assert m["pred"] != m["label"] == int(mnist_labels[m["index"]])
    confs = [m["confidence"] for m in result.mistakes]
    assert confs == sorted(confs, reverse=True)
    # the store has it all, and the model file loads with weights_only
    record = RunStore(tmp_path / "runs").get(result.run_id)
    assert record.status == "finished" and len(record.epochs) == 1
    assert record.evaluation["test_acc"] == result.test_acc and record.params == 27562
    assert record.config["batch_size"] == 32 and record.device == result.device
    state = torch.load(RunStore(tmp_path / "runs").model_path(result.run_id), weights_only=True)
    assert set(state) == set(result.model.state_dict())


def test_probes_feature_maps_and_histograms(mnist_root, tmp_path):
    from cnn_tui.data import load_arrays
    from cnn_tui.data.device import normalize
    from cnn_tui.train.build import build_model
    from cnn_tui.train.probes import feature_maps, weight_histograms
    model = build_model(get_template("beginner"))
    images = normalize(torch.from_numpy(load_arrays(mnist_root).test_images[:4].copy()))
    maps = feature_maps(model, images, 0)
    assert maps.shape == (4, 8, 26, 26)
    assert feature_maps(model, images, 6).shape == (4, 400)
    hist = weight_histograms(model, bins=10)
    assert set(hist) == {"0:conv2d", "3:conv2d", "7:dense", "10:dense"}
    assert sum(hist["0:conv2d"]["counts"]) == hist["0:conv2d"]["count"] == 80
    with pytest.raises(IndexError):
        feature_maps(model, images, 99)


def _linear_deep() -> Architecture:
    """No activations: with SGD at lr 10 the product of weights explodes to inf, then NaN."""
    return Architecture.from_dict({"name": "diverges", "layers": [
        {"type": "flatten"}, {"type": "dense", "units": 256}, {"type": "dense", "units": 256},
        {"type": "dense", "units": 10}]})


def test_nan_loss_fails_clearly_and_keeps_the_last_good_checkpoint(mnist_root, tmp_path):
    events = []
    result = train(_linear_deep(), {"epochs": 2, "val_size": 100, "optimizer": "sgd",
                                    "learning_rate": 10.0, "momentum": 0.9},
                   RunOptions(data_dir=mnist_root, runs_dir=tmp_path, limit_train=1000,
                              limit_test=100, progress_every=4), callbacks=[events.append])
    assert result.status == "failed"
    assert "loss became nan" in result.message or "loss became inf" in result.message, result.message
    assert "lower learning rate" in result.message
    record = RunStore(tmp_path).get(result.run_id)
    assert record.status == "failed" and record.message == result.message
    state = ckpt.load(RunStore(tmp_path).checkpoint_path(result.run_id))
    # the good checkpoint from before the divergence (on CPU it diverges in epoch 1; with CUDA's
    # bf16 it may survive one more epoch)
    assert state["epoch"] == len(result.epochs) and f"epoch {state['epoch'] + 1}" in result.message
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert type(events[-1]).__name__ == "RunEnd" and events[-1].status == "failed"


def test_early_stopping_restores_the_best_weights(mnist_root, tmp_path):
    """200 training images overfit quickly: validation loss turns up and patience 2 stops it."""
    from cnn_tui.data import load_arrays
    from cnn_tui.data.device import to_device
    from cnn_tui.train.evaluate import evaluate_split
    arch = Architecture.from_dict({"name": "overfit", "layers": [
        {"type": "flatten"}, {"type": "dense", "units": 256, "activation": "relu"},
        {"type": "dense", "units": 10}]})
    config = {"epochs": 60, "val_size": 500, "learning_rate": 0.003, "early_stopping": 2,
              "monitor": "val_loss", "batch_size": 50, "seed": 1}
    result = train(arch, config, RunOptions(data_dir=mnist_root, runs_dir=tmp_path,
                                            limit_train=200, limit_test=200))
    assert result.status == "finished"
    assert len(result.epochs) < 60 and "early stopping" in result.message
    losses = [e["val_loss"] for e in result.epochs]
    best = min(range(len(losses)), key=losses.__getitem__)
    assert best == len(losses) - 3  # two epochs without improvement after the best one
    from cnn_tui.train.device import resolve_device
    dev = resolve_device(result.device)  # evaluate as the loop did (bf16 autocast on CUDA)
    data = to_device(load_arrays(mnist_root), dev.torch_device, val_size=500, seed=1, limit_train=200)
    restored = evaluate_split(result.model, data.val, dev, channels_last=dev.channels_last)
    assert restored["loss"] == pytest.approx(losses[best], rel=1e-3)


def test_stop_from_another_thread_saves_and_reports_stopped(mnist_root, tmp_path):
    control = Control()

    def stop_at_step_10(event):
        if type(event).__name__ == "BatchEnd" and event.step == 10:
            control.stop()

    result = train(get_template("beginner"), {"epochs": 2, "val_size": 100},
                   RunOptions(data_dir=mnist_root, runs_dir=tmp_path, limit_train=1280,
                              limit_test=100, progress_every=5),
                   callbacks=[stop_at_step_10], control=control)
    assert result.status == "stopped" and "--resume" in result.message
    state = ckpt.load(RunStore(tmp_path).checkpoint_path(result.run_id))
    assert state["epoch"] == 0 and state["step"] == 10 and state["partial"]["seen"] == 640
    assert RunStore(tmp_path).get(result.run_id).status == "stopped"


def test_invalid_architecture_and_bad_settings_are_refused_before_training(mnist_root, tmp_path):
    bad = Architecture.from_dict({"name": "too deep", "layers": [
        {"type": "conv2d", "filters": 4, "kernel_size": 11},
        {"type": "conv2d", "filters": 4, "kernel_size": 11},
        {"type": "conv2d", "filters": 4, "kernel_size": 11}, {"type": "flatten"},
        {"type": "dense", "units": 10}]})
    with pytest.raises(TrainingError, match="cannot train 'too deep': layer"):
        train(bad, {}, RunOptions(data_dir=mnist_root, runs_dir=tmp_path))
    with pytest.raises(Exception, match="learning_rate"):
        train(get_template("beginner"), {"learning_rate": -1}, RunOptions(data_dir=mnist_root,
                                                                          runs_dir=tmp_path))
    assert RunStore(tmp_path).list_runs() == []


def test_count_options_are_refused_before_a_run_is_recorded(mnist_root, tmp_path):
    for bad in ({"limit_test": 0}, {"limit_train": -5}, {"limit_test": "a"},
                {"limit_train": True}, {"progress_every": 0}):
        with pytest.raises(TrainingError, match=f"{next(iter(bad))}: must be a whole number"):
            train(get_template("beginner"), {"epochs": 1},
                  RunOptions(data_dir=mnist_root, runs_dir=tmp_path, **bad))
    assert RunStore(tmp_path).list_runs() == []


def test_resume_with_another_optimizer_and_new_settings(mnist_root, tmp_path):
    """A resume may change the optimizer (fresh state, with a warning, never a KeyError from
    the old state) or its settings (those train, not the checkpoint's); an epoch stopped
    mid-way counts its time from before the stop."""
    control = Control()

    def stop_at_step_10(event):
        if type(event).__name__ == "BatchEnd" and event.step == 10:
            control.stop()

    opts = dict(data_dir=mnist_root, runs_dir=tmp_path, limit_train=1280, limit_test=100,
                progress_every=5)
    first = train(get_template("beginner"), {"epochs": 1, "val_size": 100, "optimizer": "sgd"},
                  RunOptions(**opts), callbacks=[stop_at_step_10], control=control)
    assert first.status == "stopped"
    before = ckpt.load(RunStore(tmp_path).checkpoint_path(first.run_id))["partial"]["seconds"]
    logs, lrs = [], []

    def watch(event):
        if type(event).__name__ == "Log":
            logs.append(event.message)

    result = train(None, {"optimizer": "adam"}, RunOptions(resume=first.run_id, **opts),
                   callbacks=[watch])
    assert result.status == "finished"
    assert any("optimizer changed from sgd to adam" in m for m in logs)
    assert result.epochs[0]["seconds"] >= before > 0
    assert ckpt.load(RunStore(tmp_path).checkpoint_path(first.run_id))["optimizer_name"] == "adam"

    class Groups(Callback):
        """The optimizer's parameter groups as the trainer has them at each epoch's end."""

        def on_epoch_end(self, trainer, event):
            lrs.append([g["weight_decay"] for g in trainer.optimizer.param_groups])
            self.base_lrs = {g["base_lr"] for g in trainer.optimizer.param_groups}

    groups = Groups()
    result = train(None, {"epochs": 2, "learning_rate": 0.02, "weight_decay": 0.001},
                   RunOptions(resume=first.run_id, **opts), callbacks=[groups])
    assert result.status == "finished" and [e["epoch"] for e in result.epochs] == [1, 2]
    assert groups.base_lrs == {0.02}  # lr_mult 1 here
    assert lrs and set(lrs[-1]) == {0.001}
    recorded = RunStore(tmp_path).get(first.run_id).config  # what the run trained with now
    assert recorded["epochs"] == 2 and recorded["learning_rate"] == 0.02
    assert recorded["optimizer"] == "adam" and recorded["limit_train"] == 1280


def test_lr_multipliers_and_schedules():
    from cnn_tui.train.build import build_model
    from cnn_tui.train.optim import LrSchedule, make_optimizer
    arch = get_template("beginner")
    arch.layers[0].params["lr_mult"] = 0.0  # frozen
    arch.layers[3].params["lr_mult"] = 0.1
    model = build_model(arch)
    opt = make_optimizer(model, arch, {**arch.training_config(), "learning_rate": 0.01})
    groups = {g["lr_mult"]: g for g in opt.param_groups}
    assert set(groups) == {0.1, 1.0}
    assert {id(p) for p in groups[0.1]["params"]} == {id(p) for p in model.layers[3].parameters()}
    assert not any(p.requires_grad for p in model.layers[0].parameters())
    sched = LrSchedule({"schedule": "onecycle"}, epochs=10)
    assert sched.factor(0) == pytest.approx(1 / 25) and sched.factor(2.5) == pytest.approx(1.0)
    assert sched.factor(10) < 1e-4
    step = LrSchedule({"schedule": "step", "step_size": 2, "gamma": 0.5}, epochs=10)
    assert [step.factor(e) for e in (0, 1.9, 2, 4)] == [1, 1, 0.5, 0.25]
    warm = LrSchedule({"schedule": "cosine", "warmup_epochs": 2}, epochs=10)
    assert warm.factor(1.0) == pytest.approx(0.5 * 0.5 * (1 + math.cos(math.pi * 0.1)))
    plateau = LrSchedule({"schedule": "plateau", "step_size": 2, "gamma": 0.1}, epochs=10)
    for metric in (1.0, 0.9, 0.95, 0.95):
        plateau.observe(metric)
    assert plateau.factor(5) == pytest.approx(0.1)
    assert step.apply(opt, 2) == 0.5
    assert groups[0.1]["lr"] == pytest.approx(0.01 * 0.1 * 0.5)
    assert groups[1.0]["lr"] == pytest.approx(0.01 * 0.5)


def test_public_api_train_load_run_evaluate(mnist_root, tmp_path):
    from cnn_tui import api
    from cnn_tui.errors import CnnTuiError
    result = api.train("template:beginner", epochs=1, val_size=100, limit_train=640,
                       limit_test=200, data_dir=mnist_root, runs_dir=tmp_path, name="api run")
    loaded = api.load_run(result.run_id[:17], runs_dir=tmp_path)
    assert loaded.record.id == result.run_id and loaded.record.name == "api run"
    assert loaded.arch.name == "Beginner" and loaded.config["epochs"] == 1
    again = api.evaluate(loaded.model, data_dir=mnist_root, limit=200, device="cpu")
    assert again["count"] == 200
    assert again["accuracy"] == pytest.approx(result.test_acc, abs=0.011)
    assert api.evaluate(result.run_id, data_dir=mnist_root, limit=200, device="cpu",
                        runs_dir=tmp_path)["confusion_matrix"] == again["confusion_matrix"]
    assert sum(p.numel() for p in api.build("template:beginner").parameters()) == 27562
    with pytest.raises(CnnTuiError, match="unknown setting 'epoch'"):
        api.train("template:beginner", epoch=1)
