"""Weight formats (state_dict, safetensors, TorchScript, ONNX), atomic writes and image input."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
import torch

from cnn_tui.errors import CnnTuiError, ExportError
from cnn_tui.export import atomic, weights
from cnn_tui.export.predict import MNIST_MEAN, MNIST_STD, load_image, predict_images
from cnn_tui.spec.model import Architecture
from cnn_tui.spec.templates import get_template
from cnn_tui.train.build import build_model

# asymmetric `same` paddings (explicit pad modules, AvgPoolSame) and a projection shortcut:
# the parts of a model most likely to trip an exporter
TRICKY = Architecture.from_dict({"layers": [
    {"type": "conv2d", "filters": 4, "kernel_size": 4, "stride": 2, "padding": "same",
     "activation": "relu"},
    {"type": "batchnorm"},
    {"type": "maxpool2d", "pool_size": 3, "stride": 2, "padding": "same"},
    {"type": "avgpool2d", "pool_size": 2, "stride": 1, "padding": "same"},
    {"type": "residual", "layers": [
        {"type": "conv2d", "filters": 8, "kernel_size": 3, "stride": 2, "padding": "same"}]},
    {"type": "global_avgpool"}, {"type": "dense", "units": 10}, {"type": "softmax"}]})


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model(TRICKY)
    m.train()
    with torch.no_grad():  # give BatchNorm non-trivial running statistics
        m(torch.randn(16, 1, 28, 28))
    return m.eval()


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_state_dict_loads_with_weights_only(tmp_path, model):
    path = weights.save_state_dict(model, tmp_path / "w.pt")
    state = torch.load(path, weights_only=True)
    assert state.keys() == model.state_dict().keys()
    fresh = build_model(TRICKY).eval()
    fresh.load_state_dict(state, strict=True)
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(fresh(x), model(x))
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # an ordinary file, not mkstemp's mode


def test_safetensors_roundtrip_with_architecture(tmp_path, model):
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = weights.save_safetensors(model, tmp_path / "w.safetensors", TRICKY.to_dict(),
                                    {"run_id": "r1"})
    state = load_file(str(path))
    for key, value in model.state_dict().items():
        assert torch.equal(state[key], value)
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata()
    assert meta["run_id"] == "r1"
    assert Architecture.from_dict(json.loads(meta["architecture"])) == TRICKY


def test_torchscript_reloads_with_same_outputs(tmp_path, model):
    path = weights.save_torchscript(model, tmp_path / "m.torchscript.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice: the test calls it
        loaded = torch.jit.load(str(path))
    x = torch.randn(5, 1, 28, 28)  # another batch size than any example input
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-6)


def test_onnx_is_valid_and_batch_dynamic(tmp_path, model):
    onnx = pytest.importorskip("onnx")
    path = weights.save_onnx(model, tmp_path / "m.onnx")
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph, full_check=True)
    (inp,), (out,) = graph.graph.input, graph.graph.output
    assert inp.name == "image" and out.name == "logits"
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    try:
        import onnxruntime as ort
    except ImportError:
        return  # not installed here; the predictions check runs where it is
    x = torch.randn(6, 1, 28, 28)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"image": x.numpy()})[0]
    with torch.no_grad():
        want = model(x).numpy()
    assert np.allclose(got, want, atol=1e-4)
    assert (got.argmax(1) == want.argmax(1)).all()


def test_failed_export_leaves_nothing_and_keeps_the_old_file(tmp_path, model):
    target = tmp_path / "keep.pt"
    target.write_bytes(b"the user's old file")

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("exporter exploded\nsecond line")

    with pytest.raises(ExportError, match=r"export to .*keep.pt failed: exporter exploded$"):
        atomic.write_with(target, broken)
    assert target.read_bytes() == b"the user's old file"
    assert _leftovers(tmp_path) == []


def test_unwritable_places_are_one_line_errors(tmp_path, model):
    with pytest.raises(ExportError, match="folder .*missing does not exist"):
        weights.save_state_dict(model, tmp_path / "missing" / "w.pt")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="is not a folder"):
        atomic.write_text(tmp_path / "file" / "w.md", "x")
    with pytest.raises(ExportError, match="is a folder"):
        atomic.write_text(tmp_path, "x")
    if os.geteuid() != 0:  # root writes anywhere: the permission case needs a normal user
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ExportError, match="permission denied"):
            atomic.write_text(locked / "w.md", "x")
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["a/b.pt", "..\\x.pt", "..", "", "a\x00b"])
def test_bare_names_refuse_paths(name):
    with pytest.raises(ExportError):
        atomic.check_bare_name(name)
    assert atomic.check_bare_name("model v2.pt") == "model v2.pt"


def _png(path, array, mode="L"):
    from PIL import Image

    Image.fromarray(array, mode=mode if mode != "L" else None).save(path)
    return path


def test_image_loading_rules(tmp_path):
    digit = np.zeros((28, 28), np.uint8)
    digit[5:23, 12:16] = 255
    gray = load_image(_png(tmp_path / "g.png", digit))
    assert gray.shape == (28, 28) and gray.max() == 1.0 and gray[0, 0] == 0.0
    rgb = load_image(_png(tmp_path / "c.png", np.stack([digit] * 3, -1)))
    assert np.allclose(rgb, gray, atol=1 / 255)
    inverted = load_image(_png(tmp_path / "paper.png", 255 - digit), invert=True)
    assert np.allclose(inverted, gray)
    np.save(tmp_path / "u8.npy", digit)
    np.save(tmp_path / "f.npy", digit.astype(np.float32) / 255)
    assert np.allclose(load_image(tmp_path / "u8.npy"), gray)
    assert np.allclose(load_image(tmp_path / "f.npy"), gray)
    with pytest.raises(CnnTuiError, match=r"big.png: is 32x30, expected 28x28"):
        load_image(_png(tmp_path / "big.png", np.zeros((30, 32), np.uint8)))
    np.save(tmp_path / "bad.npy", np.full((28, 28), 3.0))
    with pytest.raises(CnnTuiError, match="bad.npy: float pixels must be 0..1"):
        load_image(tmp_path / "bad.npy")
    np.save(tmp_path / "shape.npy", np.zeros((2, 28, 28)))
    with pytest.raises(CnnTuiError, match=r"shape.npy: is \[2, 28, 28\]"):
        load_image(tmp_path / "shape.npy")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(CnnTuiError, match="junk.png: cannot be read as an image"):
        load_image(tmp_path / "junk.png")
    with pytest.raises(CnnTuiError, match="nope.png: no such file"):
        load_image(tmp_path / "nope.png")


def test_predict_normalises_like_training(tmp_path, model):
    from cnn_tui.data.device import MEAN, STD

    assert (MNIST_MEAN, MNIST_STD) == (MEAN, STD)
    digit = (np.arange(784).reshape(28, 28) % 256).astype(np.uint8)
    np.save(tmp_path / "d.npy", digit)
    (result,) = predict_images(model, [tmp_path / "d.npy"])
    x = (torch.from_numpy(digit).float()[None, None] / 255 - MEAN) / STD
    with torch.no_grad():
        probs = torch.softmax(model(x), 1)[0]
    assert result.label == int(probs.argmax())
    assert result.confidence == pytest.approx(float(probs.max()), abs=1e-6)


def test_template_weights_export_roundtrip(tmp_path):
    """A plain template (no tricky padding) through all four formats, as a user would."""
    m = build_model(get_template("beginner")).eval()
    x = torch.randn(2, 1, 28, 28)
    weights.save_state_dict(m, tmp_path / "b.pt")
    weights.save_safetensors(m, tmp_path / "b.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
        scripted = torch.jit.load(str(weights.save_torchscript(m, tmp_path / "b.ts")))
    assert torch.allclose(scripted(x), m(x), atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.pt", "b.safetensors", "b.ts"]
