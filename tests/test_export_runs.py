"""What a run measured, out of cnn-tui and read back by other tools: TensorBoard event files
(TensorBoard's own EventAccumulator and hparams protobufs) and HDF5 (h5py)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from cnn_tui.cli import main
from cnn_tui.runs.store import RunStore


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Beginner, 2 epochs on 600 real images, a batch point every 3 steps and gradient norms
    every 4: (runs dir, the stored record with its points)."""
    from conftest import MNIST_ROOT

    from cnn_tui import api

    if MNIST_ROOT is None:
        pytest.fail("MNIST not found: set CNN_TUI_DATA_DIR to a folder holding MNIST/raw")
    runs = tmp_path_factory.mktemp("runs")
    result = api.train("template:beginner", epochs=2, limit_train=600, limit_test=200,
                       val_size=100, batch_size=32, data_dir=MNIST_ROOT, runs_dir=runs,
                       progress_every=3, grad_norms_every=4, name="travel")
    assert result.status == "finished"
    record = RunStore(runs).get(result.run_id, points=True)
    assert len(record.batch_points) >= 6 and len(record.grad_norms) >= 4  # enough to check
    return runs, record


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _global(record, epoch, step):
    steps = record.sizes["steps"]  # 600 images / 32 = 19 steps per epoch
    return (epoch - 1) * steps + step


# ----------------------------------------------------------------------------- TensorBoard

def _accumulator(folder):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def _series(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_tensorboard_events_read_back(tmp_path, capsys, run):
    runs, record = run
    out = tmp_path / "tb"
    code, stdout, err = cli(capsys, "export", record.id, "-f", "tensorboard", "-o", out,
                            "--runs-dir", runs)
    assert code == 0 and stdout == "" and err.startswith(f"wrote {out} (tensorboard, 1 file")
    (event_file,) = out.iterdir()
    assert "tfevents" in event_file.name
    acc = _accumulator(out)
    scalars = set(acc.Tags()["scalars"])
    steps = record.sizes["steps"]
    approx = lambda v: pytest.approx(v, rel=1e-6, abs=1e-7)

    # epochs: at the global step their epoch ends, every series the run kept
    for name in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "images_per_s",
                 "seconds"):
        assert _series(acc, f"epoch/{name}") == [(e["epoch"] * steps, approx(e[name]))
                                                 for e in record.epochs], name
    assert _series(acc, "epoch") == [(e["epoch"] * steps, e["epoch"]) for e in record.epochs]
    # batch points: a finer `batch/` series on the global step
    for name in ("loss", "acc", "lr", "images_per_s"):
        assert _series(acc, f"batch/{name}") == [
            (_global(record, p["epoch"], p["step"]), approx(p[name]))
            for p in record.batch_points], name
    # gradient norms, one series per layer
    layers = sorted({k for g in record.grad_norms for k in g["layers"]})
    assert {f"grad_norm/{k}" for k in layers} <= scalars and len(layers) == 4
    for layer in layers:
        assert _series(acc, f"grad_norm/{layer}") == [
            (_global(record, g["epoch"], g["step"]), approx(g["layers"][layer]))
            for g in record.grad_norms], layer
    # nothing else but the hparams' metrics
    assert scalars - {f"epoch/{n}" for n in ("train_loss", "train_acc", "val_loss", "val_acc",
                                             "lr", "images_per_s", "seconds")} \
        - {f"batch/{n}" for n in ("loss", "acc", "lr", "images_per_s")} \
        - {f"grad_norm/{k}" for k in layers} - {"epoch"} == \
        {"hparams/test_acc", "hparams/test_loss", "hparams/best_val_acc"}
    last = 2 * steps
    assert _series(acc, "hparams/test_acc") == [(last, approx(record.test_acc))]
    assert _series(acc, "hparams/best_val_acc") == [(last, approx(record.best_val_acc))]
    assert _series(acc, "hparams/test_loss") == [(last, approx(record.evaluation["test_loss"]))]
    # wall times grow with the steps, from the run's start
    times = [e.wall_time for e in acc.Scalars("batch/loss")]
    assert times == sorted(times) and record.started <= times[0] <= times[-1] <= record.ended

    # hparams, parsed with TensorBoard's own protobuf classes
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    content = acc.PluginTagToContent("hparams")
    assert set(content) == {"_hparams_/experiment", "_hparams_/session_start_info",
                            "_hparams_/session_end_info"}
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]).experiment
    assert {m.name.tag for m in experiment.metric_infos} == {
        "hparams/test_acc", "hparams/test_loss", "hparams/best_val_acc"}
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]).session_start_info
    hp = start.hparams
    assert hp["optimizer"].string_value == record.config["optimizer"]
    assert hp["learning_rate"].number_value == record.config["learning_rate"]
    assert hp["batch_size"].number_value == 32 and hp["epochs"].number_value == 2
    assert hp["limit_train"].number_value == 600 and hp["augment"].bool_value is False
    assert hp["architecture"].string_value == "Beginner"
    assert hp["run_id"].string_value == record.id
    types = {i.name: i.type for i in experiment.hparam_infos}
    assert types["optimizer"] == api_pb2.DATA_TYPE_STRING
    assert types["learning_rate"] == api_pb2.DATA_TYPE_FLOAT64
    assert types["augment"] == api_pb2.DATA_TYPE_BOOL
    end = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_end_info"]).session_end_info
    assert end.status == api_pb2.STATUS_SUCCESS and end.end_time_secs == record.ended


def test_tfevents_framing_and_crc():
    from cnn_tui.export.tensorboard import crc32c, masked_crc, tfrecord

    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert crc32c(b"") == 0
    record = tfrecord(b"hello")
    assert record[:8] == (5).to_bytes(8, "little") and record[12:17] == b"hello"
    assert int.from_bytes(record[8:12], "little") == masked_crc(record[:8])
    assert int.from_bytes(record[17:], "little") == masked_crc(b"hello")
    pytest.importorskip("tensorboard")
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    for data in (b"", b"x", bytes(range(256)) * 3):
        assert masked_crc(data) == masked_crc32c(data)


def test_folder_exports_keep_what_is_there(tmp_path, capsys, run):
    runs, record = run
    out = tmp_path / "tb"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = (record.id, "-f", "tensorboard", "-o", out, "--runs-dir", runs)
    code, _, err = cli(capsys, "export", *args)
    assert code == 2 and "exists and is not empty (use --force" in err and err.count("\n") == 1
    code, _, err = cli(capsys, "export", *args, "--force")  # not a previous export: kept
    assert code == 2 and "holds files that are not a tensorboard export ('notes.txt')" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    (out / "notes.txt").unlink()
    assert cli(capsys, "export", *args)[0] == 0  # an empty folder is used
    first = sorted(p.name for p in out.iterdir())
    code, _, err = cli(capsys, "export", *args)
    assert code == 2 and "use --force" in err
    code, _, err = cli(capsys, "export", *args, "--force")  # a previous export: replaced
    assert code == 0 and sorted(p.name for p in out.iterdir()) == first
    (tmp_path / "plain").write_text("x")
    code, _, err = cli(capsys, "export", record.id, "-f", "tensorboard", "-o",
                       tmp_path / "plain", "--runs-dir", runs, "--force")
    assert code == 2 and "exists and is not a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "tb"]  # no temporary left


# ----------------------------------------------------------------------------- HDF5

def test_hdf5_reads_back(tmp_path, capsys, run):
    h5py = pytest.importorskip("h5py")
    runs, record = run
    path = tmp_path / "run.h5"
    code, out, err = cli(capsys, "runs", "--runs-dir", runs, "export", record.id, "--hdf5",
                         "-o", path)
    assert code == 0 and out == "" and err.startswith(f"wrote {path} (hdf5, ")
    code, _, err = cli(capsys, "runs", "--runs-dir", runs, "export", record.id, "--hdf5",
                       "-o", path)
    assert code == 2 and "exists (use --force" in err
    with h5py.File(path, "r") as h5:
        assert h5.attrs["format"] == "cnn-tui/run" and h5.attrs["run_id"] == record.id
        assert h5.attrs["name"] == "travel" and h5.attrs["status"] == "finished"
        assert json.loads(h5.attrs["config"]) == record.config
        assert json.loads(h5.attrs["architecture"]) == record.arch
        assert h5.attrs["test_acc"] == record.test_acc and h5.attrs["params"] == record.params
        epochs = h5["epochs"]
        assert epochs["epoch"][()].tolist() == [1, 2] and epochs["epoch"].dtype == np.int64
        for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "images_per_s"):
            assert epochs[key][()].tolist() == [e[key] for e in record.epochs], key
        points = h5["batch_points"]
        assert points.attrs["rows"] == len(record.batch_points)
        for key in ("epoch", "step", "loss", "acc", "lr"):
            assert points[key][()].tolist() == [p[key] for p in record.batch_points], key
        assert points["global_step"][()].tolist() == [
            _global(record, p["epoch"], p["step"]) for p in record.batch_points]
        grads = h5["grad_norms"]
        layers = [s.decode() if isinstance(s, bytes) else s for s in grads["layers"][()]]
        assert layers == ["0:conv2d", "3:conv2d", "7:dense", "10:dense"]
        assert grads["norms"].shape == (len(record.grad_norms), 4)
        assert grads["norms"][()].tolist() == [[g["layers"][k] for k in layers]
                                               for g in record.grad_norms]
        assert grads["step"][()].tolist() == [g["step"] for g in record.grad_norms]
        ev = h5["evaluation"]
        assert ev.attrs["test_acc"] == record.evaluation["test_acc"]
        assert ev.attrs["test_size"] == 200
        assert ev["confusion_matrix"][()].tolist() == record.evaluation["confusion_matrix"]
        assert ev["per_class"]["class"][()].tolist() == list(range(10))
        assert ev["per_class"]["f1"][()].tolist() == [c["f1"] for c in
                                                      record.evaluation["per_class"]]
        assert ev["macro"].attrs["f1"] == record.evaluation["macro"]["f1"]
        assert ev["mistakes"]["index"][()].tolist() == [m["index"] for m in
                                                        record.evaluation["mistakes"]]
    # the same file from `cnn-tui export -f hdf5`, by default name in the current folder
    os.chdir(tmp_path)
    code, out, err = cli(capsys, "export", record.id, "-f", "hdf5", "--runs-dir", runs)
    name = f"beginner-{record.id}.h5"
    assert code == 0 and out == "" and err.startswith(f"wrote {name} (hdf5, ")
    with h5py.File(tmp_path / name, "r") as h5:
        assert h5["grad_norms"]["norms"].shape == (len(record.grad_norms), 4)
