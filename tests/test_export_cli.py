"""`cnn-tui export` and `cnn-tui predict` on a real run trained by the engine on real MNIST."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import torch

from cnn_tui.cli import main
from cnn_tui.commands.export_cmds import FORMAT_NAMES
from cnn_tui.export import FORMATS
from cnn_tui.spec.io import write_file
from cnn_tui.spec.sharecode import encode
from cnn_tui.spec.templates import get_template
from cnn_tui.train.build import build_model


def _mnist_root():
    """conftest's copy, found before the autouse `isolated_home` removed CNN_TUI_DATA_DIR (read
    here during a test, the variable is gone), for a module-scoped fixture and the tests."""
    from conftest import require_mnist

    return require_mnist()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(runs_dir, run_id): Beginner trained one epoch on 3,000 real images by cnn-tui's engine."""
    from cnn_tui import api

    mnist_root = _mnist_root()
    runs = tmp_path_factory.mktemp("runs")
    result = api.train("template:beginner", epochs=1, limit_train=3000, limit_test=500,
                       val_size=500, batch_size=32, learning_rate=0.002, data_dir=mnist_root,
                       runs_dir=runs, name="export-test")
    return runs, result.run_id


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _no_temp_files(folder):
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_cli_formats_match_the_package():
    assert set(FORMAT_NAMES) == set(FORMATS)


def test_every_format_from_a_run(tmp_path, capsys, trained):
    runs, run_id = trained
    stem = f"beginner-{run_id}"
    for fmt in FORMAT_NAMES:
        if FORMATS[fmt].unavailable():
            continue  # an optional package missing here: tested by test_export_formats
        target = tmp_path / f"{stem}{FORMATS[fmt].suffix}" if FORMATS[fmt].folder else tmp_path
        code, out, err = run_cli(capsys, "export", run_id[:15], "-f", fmt, "-o", target,
                                 "--runs-dir", runs)
        assert code == 0, err
        assert out == "" and err.startswith("wrote ") and f"({fmt}," in err
    files = {p.name for p in tmp_path.iterdir()}
    assert files == {f"{stem}{FORMATS[f].name_tag}{FORMATS[f].suffix}" for f in FORMAT_NAMES
                     if not FORMATS[f].unavailable()}
    state = torch.load(tmp_path / f"{stem}.pt", weights_only=True)
    model = build_model(get_template("beginner"))
    model.load_state_dict(state, strict=True)
    script = (tmp_path / f"{stem}.py").read_text()
    assert "'batch_size': 32," in script and "'learning_rate': 0.002," in script  # the run's
    # the exported script, given the exported weights, scores what the engine scored
    namespace = {"__name__": "exported"}
    exec(compile(script, stem, "exec"), namespace)  # noqa: S102 - our own output
    result = namespace["main"](["--data-dir", str(_mnist_root()), "--weights",
                                str(tmp_path / f"{stem}.pt"), "--epochs", "0",
                                "--limit-test", "500", "--val-size", "0", "--device", "cpu"])
    capsys.readouterr()
    evaluation = json.loads((tmp_path / f"{stem}.json").read_text())["run"]["evaluation"]
    assert result["test_acc"] == pytest.approx(evaluation["test_acc"], abs=0.0021)
    rows = list(csv.DictReader(io.StringIO((tmp_path / f"{stem}.csv").read_text())))
    assert [r["epoch"] for r in rows] == ["1"] and rows[0]["run_id"] == run_id
    doc = json.loads((tmp_path / f"{stem}.json").read_text())
    assert doc["run"]["id"] == run_id and doc["run"]["evaluation"]["test_acc"] > 0.5
    # everything the run measured, as `runs show --json` prints it
    assert doc["run"]["batch_points"] and doc["run"]["grad_norms"]
    assert set(doc["run"]["batch_points"][0]) >= {"epoch", "step", "loss", "acc", "lr"}
    assert (tmp_path / f"{stem}.txt").read_text().startswith("cnn1:")
    assert _no_temp_files(tmp_path)


def test_architecture_formats_from_file_and_share_code(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    arch = get_template("lenet5")
    write_file(arch, tmp_path / "net.json")
    code, out, err = run_cli(capsys, "export", "net.json", "-f", "pytorch")  # no -o: printed
    assert code == 0 and err == "" and "def main(argv=None):" in out
    compile(out, "lenet-5.py", "exec")
    code, out, err = run_cli(capsys, "export", "net.json", "-f", "pytorch", "-o", ".")
    assert code == 0 and (tmp_path / "lenet-5.py").read_text().startswith('"""')
    size = (tmp_path / "lenet-5.py").stat().st_size
    assert out == "" and err == f"wrote lenet-5.py (pytorch, {size:,} bytes)\n"
    code, out, _ = run_cli(capsys, "export", encode(arch), "-f", "keras", "-o", "-")
    assert code == 0 and "def build_model():" in out and "keras.Sequential([" in out
    code, out, _ = run_cli(capsys, "export", "net.json", "-f", "share")
    assert code == 0 and out.strip() == encode(arch)
    code, out, _ = run_cli(capsys, "export", "template:residual", "-f", "markdown",
                           "--name", "res.md")
    assert code == 0 and (tmp_path / "res.md").read_text().startswith("# Residual")


def test_weights_and_metrics_need_a_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_file(get_template("beginner"), tmp_path / "net.json")
    for fmt in ("pt", "onnx", "csv"):
        code, out, err = run_cli(capsys, "export", "net.json", "-f", fmt)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "has no trained weights or metrics" in err
    code, _, err = run_cli(capsys, "export", "nonesuch", "-f", "pytorch",
                           "--runs-dir", tmp_path / "runs")
    assert code == 2 and "neither an architecture file, a share code nor a run" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]


def _bare_run(runs, name):
    """A run in the same store whose weights we then break."""
    from cnn_tui.runs.store import RunStore

    store = RunStore(runs)
    arch = get_template("beginner")
    run_id = store.create_run(arch.to_dict(), arch.training_config(), "cpu", name=name)
    store.finish(run_id, "failed", None, "killed")
    return store, run_id


def test_missing_and_corrupt_weights(tmp_path, capsys, trained):
    runs, _ = trained
    store, run_id = _bare_run(runs, "no-weights")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = run_cli(capsys, "export", run_id, "-f", "onnx", "-o", out_dir,
                             "--runs-dir", runs)
    assert code == 2 and out == ""
    assert f"run {run_id} (failed) has no saved weights" in err and err.count("\n") == 1
    store.model_path(run_id).write_bytes(b"\x80\x04garbage, not a state_dict")
    code, out, err = run_cli(capsys, "export", run_id, "-f", "pt", "-o", out_dir,
                             "--runs-dir", runs)
    assert code == 2 and "is unreadable or corrupt" in err and "model.pt" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    torch.save({"layers.0.conv.weight": torch.zeros(3)}, store.model_path(run_id))
    code, _, err = run_cli(capsys, "export", run_id, "-f", "safetensors", "-o", out_dir,
                           "--runs-dir", runs)
    assert code == 2 and "the saved weights do not fit its architecture" in err
    from PIL import Image

    Image.new("L", (28, 28)).save(tmp_path / "x.png")  # images are checked first
    code, _, err = run_cli(capsys, "predict", run_id, tmp_path / "x.png", "--runs-dir", runs)
    assert code == 2 and "do not fit its architecture" in err
    assert list(out_dir.iterdir()) == []


def test_bad_destinations(tmp_path, capsys, trained):
    runs, run_id = trained
    args = ("--runs-dir", runs)
    code, _, err = run_cli(capsys, "export", run_id, "-f", "pt", "-o",
                           tmp_path / "missing" / "w.pt", *args)
    assert code == 2 and "does not exist" in err
    (tmp_path / "plain").write_text("x")
    code, _, err = run_cli(capsys, "export", run_id, "-f", "torchscript", "-o",
                           tmp_path / "plain" / "m.ts", *args)
    assert code == 2 and "is not a folder" in err
    code, _, err = run_cli(capsys, "export", run_id, "-f", "markdown", "-o", tmp_path,
                           "--name", "../escape.md", *args)
    assert code == 2 and "must be a bare name without path separators" in err
    code, _, err = run_cli(capsys, "export", run_id, "-f", "pt", "-o", "-", *args)
    assert code == 2 and "pt writes a binary file: give -o PATH" in err
    keep = tmp_path / "keep.md"
    keep.write_text("mine")
    code, _, err = run_cli(capsys, "export", run_id, "-f", "markdown", "-o", keep, *args)
    assert code == 2 and "exists (use --force" in err and keep.read_text() == "mine"
    code, _, _ = run_cli(capsys, "export", run_id, "-f", "markdown", "-o", keep, "--force", *args)
    assert code == 0 and keep.read_text().startswith("# Beginner")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.md", "plain"]


def test_all_runs_exports(tmp_path, capsys, trained):
    runs, run_id = trained
    code, out, _ = run_cli(capsys, "export", "-f", "csv", "--all-runs", "--summary", "-o", "-",
                           "--runs-dir", runs)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and run_id in [r["run_id"] for r in rows]
    code, out, _ = run_cli(capsys, "export", "-f", "json", "--all-runs", "-o",
                           tmp_path / "all.json", "--runs-dir", runs)
    assert code == 0
    doc = json.loads((tmp_path / "all.json").read_text())
    assert run_id in [r["id"] for r in doc["runs"]]
    code, _, err = run_cli(capsys, "export", "-f", "onnx", "--all-runs", "--runs-dir", runs)
    assert code == 2 and "--all-runs works with csv and json" in err


def test_predict_real_digits(tmp_path, capsys, trained, mnist_root):
    from PIL import Image

    from cnn_tui.data.mnist import load_arrays

    runs, run_id = trained
    data = load_arrays(mnist_root)
    images, labels = data.test_images[-20:], data.test_labels[-20:]
    paths = []
    for i, img in enumerate(images):
        if i % 2:
            np.save(tmp_path / f"d{i}.npy", np.array(img))
            paths.append(tmp_path / f"d{i}.npy")
        else:
            Image.fromarray(np.array(img)).save(tmp_path / f"d{i}.png")
            paths.append(tmp_path / f"d{i}.png")
    code, out, err = run_cli(capsys, "predict", run_id, *paths, "--json", "--runs-dir", runs)
    assert code == 0, err
    results = json.loads(out)
    assert [r["path"] for r in results] == [str(p) for p in paths]
    predicted = np.array([r["class"] for r in results])
    # the files go through the same preprocessing as the training data: the classes are the
    # ones the run's model gives the same pixels fed the engine's way
    import torch

    from cnn_tui import api
    from cnn_tui.data.device import normalize
    model = api.load_run(run_id, runs_dir=runs).model.eval()
    with torch.no_grad():
        direct = model(normalize(torch.from_numpy(np.array(images)))).argmax(1).numpy()
    assert predicted.tolist() == direct.tolist()
    assert (predicted == labels).mean() >= 0.5  # and it learned digits (20 images: a loose bar)
    assert all(0.0 < r["confidence"] <= 1.0 for r in results)
    # the same as the run's model on the same pixels
    from cnn_tui.api import load_run

    model = load_run(run_id, runs).model
    x = (torch.from_numpy(np.array(images)).float()[:, None] / 255 - 0.1307) / 0.3081
    with torch.no_grad():
        assert predicted.tolist() == model(x).argmax(1).tolist()
    # black on white paper, with --invert: the same answers
    Image.fromarray(255 - np.array(images[0])).save(tmp_path / "paper.png")
    code, out, _ = run_cli(capsys, "predict", run_id, tmp_path / "paper.png", "--invert",
                           "--runs-dir", runs)
    assert code == 0 and f"class {predicted[0]}  confidence" in out


def test_predict_rejects_wrong_sizes(tmp_path, capsys, trained):
    from PIL import Image

    runs, run_id = trained
    Image.new("L", (28, 28)).save(tmp_path / "ok.png")
    Image.new("RGB", (64, 48)).save(tmp_path / "photo.png")
    code, out, err = run_cli(capsys, "predict", run_id, tmp_path / "ok.png",
                             tmp_path / "photo.png", "--runs-dir", runs)
    assert code == 2 and out == ""  # nothing classified before the bad image is found
    assert "photo.png: is 64x48, expected 28x28" in err and err.count("\n") == 1
