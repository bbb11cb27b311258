"""Model exports read back by their own readers: ONNX in onnx.reference, the .pt2 with
torch.export.load, TorchScript with torch.jit.load, the TF.js layers model by a numpy
re-implementation of Keras (and by TensorFlow.js itself when it is installed for node)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import keras_numpy
import numpy as np
import pytest
import torch

from cnn_tui.errors import ExportError
from cnn_tui.export import tfjs, weights
from cnn_tui.spec.model import Architecture
from cnn_tui.spec.templates import get_template
from cnn_tui.train.build import build_model

REPO = Path(__file__).resolve().parent.parent

# every layer type, fused activations (leaky_relu and gelu included), asymmetric `same`
# paddings, BatchNorm on a map and on a flattened vector, a residual block without projection
EVERY = Architecture.from_dict({"name": "Every layer", "layers": [
    {"type": "conv2d", "filters": 6, "kernel_size": 5, "stride": 1, "padding": "same",
     "activation": "leaky_relu"},
    {"type": "gelu"},
    {"type": "avgpool2d", "pool_size": 3, "stride": 2, "padding": "same"},
    {"type": "conv2d", "filters": 5, "kernel_size": 3, "stride": 2, "padding": "valid",
     "activation": "tanh"},
    {"type": "batchnorm"}, {"type": "leaky_relu", "negative_slope": 0.2},
    {"type": "maxpool2d", "pool_size": 2, "padding": "same"},
    {"type": "residual", "layers": [
        {"type": "conv2d", "filters": 5, "kernel_size": 3, "padding": "same",
         "activation": "gelu"}, {"type": "sigmoid"}]},
    {"type": "flatten"}, {"type": "batchnorm"}, {"type": "dropout", "rate": 0.3}, {"type": "tanh"},
    {"type": "dense", "units": 20, "activation": "sigmoid"}, {"type": "relu"},
    {"type": "dense", "units": 10, "activation": "softmax"}]})
# a projection shortcut (stride 2, more channels), global average pooling, a softmax layer
PROJECTED = Architecture.from_dict({"name": "Projected", "layers": [
    {"type": "conv2d", "filters": 4, "kernel_size": 4, "stride": 2, "padding": "same",
     "activation": "relu"},
    {"type": "batchnorm"},
    {"type": "maxpool2d", "pool_size": 3, "stride": 2, "padding": "same"},
    {"type": "avgpool2d", "pool_size": 2, "stride": 1, "padding": "same"},
    {"type": "residual", "layers": [
        {"type": "conv2d", "filters": 8, "kernel_size": 3, "stride": 2, "padding": "same"}]},
    {"type": "global_avgpool"}, {"type": "dense", "units": 10}, {"type": "softmax"}]})


def _model(arch, seed=0):
    """`arch` built with random weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = build_model(arch)
    model.train()
    with torch.no_grad():
        model(torch.randn(32, *arch.input))
    return model.eval()


@pytest.fixture(scope="module")
def digits():
    """16 real MNIST test images, normalised as for training: [16, 1, 28, 28] float32."""
    from conftest import MNIST_ROOT

    from cnn_tui.data.mnist import load_arrays

    if MNIST_ROOT is None:
        pytest.fail("MNIST not found: set CNN_TUI_DATA_DIR to a folder holding MNIST/raw")
    data = load_arrays(MNIST_ROOT)
    images = torch.from_numpy(np.array(data.test_images[:16])).float()[:, None] / 255
    return (images - 0.1307) / 0.3081, np.array(data.test_labels[:16])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Beginner trained one epoch on 2,000 real images: (model, arch, run id, runs dir)."""
    from conftest import MNIST_ROOT

    from cnn_tui import api

    runs = tmp_path_factory.mktemp("runs")
    result = api.train("template:beginner", epochs=1, limit_train=2000, limit_test=200,
                       val_size=200, batch_size=32, data_dir=MNIST_ROOT, runs_dir=runs)
    loaded = api.load_run(result.run_id, runs_dir=runs)
    return loaded.model.eval(), get_template("beginner"), result.run_id, runs


# ----------------------------------------------------------------------------- ONNX

def _shape_of(value) -> list:
    dims = value.type.tensor_type.shape.dim
    return [d.dim_param or d.dim_value for d in dims]


@pytest.mark.parametrize("exporter", ["dynamo", "legacy"])
def test_onnx_runs_in_the_reference_evaluator_with_every_shape_known(tmp_path, exporter,
                                                                       digits, capfd):
    onnx = pytest.importorskip("onnx")
    if exporter == "dynamo":
        pytest.importorskip("onnxscript")
    from onnx.reference import ReferenceEvaluator

    model = _model(PROJECTED)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = weights.save_onnx(model, tmp_path / "m.onnx", arch=PROJECTED.to_dict(),
                                 extra={"run_id": "r1"}, exporter=exporter)
    assert [str(w.message)[:80] for w in caught] == []  # PyTorch's notices do not reach the user
    out, err = capfd.readouterr()
    assert "eprecat" not in out + err
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    graph = proto.graph
    (inp,), (outp,) = graph.input, graph.output
    assert inp.name == "image" and outp.name == "logits"
    assert _shape_of(inp)[1:] == [1, 28, 28] and isinstance(_shape_of(inp)[0], str)
    # every intermediate value has a shape, each dimension known (what Netron draws on each
    # edge); a scalar's shape is rank 0
    shaped = {v.name: v.type.tensor_type.shape for v in graph.value_info
              if v.type.tensor_type.HasField("shape")}
    outputs = [o for node in graph.node for o in node.output if o != "logits"]
    assert outputs and [o for o in outputs if o not in shaped] == []
    assert all(d.HasField("dim_value") or d.HasField("dim_param")
               for o in outputs for d in shaped[o].dim)
    assert any(len(shaped[o].dim) == 4 for o in outputs)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert Architecture.from_dict(json.loads(meta["architecture"])) == PROJECTED
    assert meta["run_id"] == "r1"
    x, _ = digits
    for batch in (1, 5):  # the batch axis is dynamic
        got = ReferenceEvaluator(proto).run(None, {"image": x[:batch].numpy()})[0]
        with torch.no_grad():
            want = model(x[:batch]).numpy()
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_onnx_of_a_trained_run_matches_it(tmp_path, trained, digits):
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    model, arch, _, _ = trained
    path = weights.save_onnx(model, tmp_path / "run.onnx", arch=arch.to_dict())
    proto = onnx.load(str(path))
    assert not weights.unshaped_values(proto)
    x, labels = digits
    got = ReferenceEvaluator(proto).run(None, {"image": x.numpy()})[0]
    with torch.no_grad():
        want = model(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert (got.argmax(1) == labels).mean() >= 0.6  # it is the trained model


# ----------------------------------------------------------------------------- torch.export

def test_pt2_loads_and_runs_with_two_batch_sizes(tmp_path, digits):
    model = _model(EVERY)
    path = weights.save_exported(model, tmp_path / "m.pt2", (1, 28, 28), EVERY.to_dict())
    extra = {"architecture.json": ""}
    program = torch.export.load(str(path), extra_files=extra)
    assert Architecture.from_dict(json.loads(extra["architecture.json"])) == EVERY
    module = program.module()
    x, _ = digits
    for batch in (3, 16):
        with torch.no_grad():
            assert torch.allclose(module(x[:batch]), model(x[:batch]), atol=1e-6)


def test_torchscript_without_a_warning(tmp_path, capfd):
    model = _model(PROJECTED)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = weights.save_torchscript(model, tmp_path / "m.torchscript.pt")
    assert caught == [] and "eprecat" not in "".join(capfd.readouterr())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load's own notice: this test is its caller
        loaded = torch.jit.load(str(path))
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-6)


def test_no_deprecation_warning_from_the_cli(tmp_path, trained):
    """A fresh interpreter with every warning shown: the model exports print none."""
    _, _, run_id, runs = trained
    # as on a machine without torchvision (the ONNX exporter logs a notice per torchvision op)
    code = ("import sys\nsys.modules['torchvision'] = None\nfrom cnn_tui.cli import main\n"
            "run, out, runs = sys.argv[1:4]\n"
            "for fmt in sys.argv[4:]:\n"
            "    target = out + '/web' if fmt == 'tfjs' else out  # a folder format: the folder\n"
            "    assert main(['export', run, '-f', fmt, '-o', target, '--runs-dir', runs]) == 0\n")
    out = tmp_path / "out"
    out.mkdir()
    formats = ["torchscript", "export", "tfjs"] + (["onnx"] if _has("onnx") else [])
    env = {**os.environ, "PYTHONWARNINGS": "always", "PYTHONPATH": str(REPO),
           "CNN_TUI_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code, run_id, str(out), str(runs), *formats],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert proc.stdout == "" and [line for line in lines if not line.startswith("wrote ")] == []
    assert len(lines) == len(formats)  # one "wrote ..." each, and nothing else
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"beginner-{run_id}{s}" for s in
        (".torchscript.pt", ".pt2") + ((".onnx",) if "onnx" in formats else ())) + ["web"]


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# ----------------------------------------------------------------------------- TF.js

def _keras_input(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def _expected_output(model, x):
    with torch.no_grad():
        logits = model(x)
    return (torch.softmax(logits, 1) if model.ends_in_softmax else logits).numpy()


def test_tfjs_topology_and_weights_of_a_trained_run(tmp_path, trained, digits):
    model, arch, run_id, _ = trained
    folder = tfjs.write_tfjs(arch, model.state_dict(), tmp_path / "web", metadata={"run_id": run_id})
    assert sorted(p.name for p in folder.iterdir()) == ["group1-shard1of1.bin", "model.json"]
    doc = json.loads((folder / "model.json").read_text())
    assert doc["format"] == "layers-model" and doc["generatedBy"].startswith("cnn-tui")
    assert doc["convertedBy"].startswith("cnn-tui")
    topology = doc["modelTopology"]
    assert topology["backend"] == "tensorflow" and topology["keras_version"]
    model_config = topology["model_config"]
    assert model_config["class_name"] == "Sequential"
    layers = model_config["config"]["layers"]
    # Beginner: conv relu pool conv relu pool flatten dense relu dropout dense softmax
    assert [layer["class_name"] for layer in layers] == [
        "Conv2D", "ReLU", "MaxPooling2D", "Conv2D", "ReLU", "MaxPooling2D", "Flatten", "Dense",
        "ReLU", "Dropout", "Dense", "Softmax"]
    first = layers[0]["config"]
    assert first["batch_input_shape"] == [None, 28, 28, 1]
    assert first["data_format"] == "channels_last" and first["kernel_size"] == [3, 3]
    assert first["filters"] == 8 and first["padding"] == "valid" and first["strides"] == [1, 1]
    assert layers[6]["config"]["data_format"] == "channels_last"
    assert layers[-1]["config"]["axis"] == -1
    names = [layer["config"]["name"] for layer in layers]
    assert len(set(names)) == len(names)
    meta = doc["userDefinedMetadata"]["cnn-tui"]
    assert meta["run_id"] == run_id and Architecture.from_dict(meta["architecture"]) == arch

    # the manifest: order, names, shapes; the bytes: the state_dict in Keras layout
    state = model.state_dict()
    conv0, conv1 = state["layers.0.conv.weight"], state["layers.3.conv.weight"]
    dense0, dense1 = state["layers.7.linear.weight"], state["layers.10.linear.weight"]
    c, h, w = conv1.shape[0], 5, 5  # the map the Flatten reads: [C, 5, 5] channels-first
    assert dense0.shape[1] == c * h * w
    expected = [
        ("conv2d/kernel", conv0.permute(2, 3, 1, 0)), ("conv2d/bias", state["layers.0.conv.bias"]),
        ("conv2d_1/kernel", conv1.permute(2, 3, 1, 0)),
        ("conv2d_1/bias", state["layers.3.conv.bias"]),
        # Keras flattens [H, W, C]: the dense rows go from CHW order to HWC order
        ("dense/kernel", dense0.reshape(-1, c, h, w).permute(2, 3, 1, 0).reshape(h * w * c, -1)),
        ("dense/bias", state["layers.7.linear.bias"]),
        ("dense_1/kernel", dense1.T), ("dense_1/bias", state["layers.10.linear.bias"])]
    (group,) = doc["weightsManifest"]
    assert group["paths"] == ["group1-shard1of1.bin"]
    assert [(s["name"], s["shape"], s["dtype"]) for s in group["weights"]] == [
        (n, list(t.shape), "float32") for n, t in expected]
    data = (folder / "group1-shard1of1.bin").read_bytes()
    assert data == b"".join(t.detach().contiguous().numpy().astype("<f4").tobytes()
                            for _, t in expected)

    # the strongest check: Keras' semantics (numpy) on the files give the model's output
    x, labels = digits
    got = keras_numpy.forward(folder, _keras_input(x))
    np.testing.assert_allclose(got, _expected_output(model, x), rtol=1e-5, atol=1e-6)
    assert (got.argmax(1) == labels).mean() >= 0.6


@pytest.mark.parametrize("arch", [EVERY, PROJECTED, get_template("residual"),
                                  get_template("lenet5"), get_template("advanced")],
                         ids=["every-layer", "projection", "residual", "lenet5", "advanced"])
def test_tfjs_forward_matches_torch(tmp_path, arch, digits):
    model = _model(arch)
    folder = tfjs.write_tfjs(arch, model.state_dict(), tmp_path / "web")
    doc = json.loads((folder / "model.json").read_text())
    residual = any(layer.type == "residual" for layer in arch.layers)
    model_config = doc["modelTopology"]["model_config"]
    assert model_config["class_name"] == ("Functional" if residual else "Sequential")
    if residual:
        classes = [layer["class_name"] for layer in model_config["config"]["layers"]]
        assert classes[0] == "InputLayer" and "Add" in classes
        for layer in model_config["config"]["layers"][1:]:
            assert layer["inbound_nodes"] and layer["name"] == layer["config"]["name"]
    x, _ = digits
    got = keras_numpy.forward(folder, _keras_input(x[:6]))
    np.testing.assert_allclose(got, _expected_output(model, x[:6]), rtol=1e-5, atol=1e-5)


TFJS_NODE_MODULES = os.environ.get("CNN_TUI_TFJS_NODE_MODULES")


@pytest.mark.skipif(not (TFJS_NODE_MODULES and shutil.which("node")),
                    reason="TensorFlow.js for node not installed (set CNN_TUI_TFJS_NODE_MODULES "
                    "to a node_modules with @tensorflow/tfjs-core, -layers, -backend-cpu)")
@pytest.mark.parametrize("arch", [EVERY, PROJECTED, get_template("beginner")],
                         ids=["every-layer", "projection", "beginner"])
def test_tfjs_loads_in_tensorflow_js(tmp_path, arch, digits):
    model = _model(arch)
    folder = tfjs.write_tfjs(arch, model.state_dict(), tmp_path / "web")
    x, _ = digits
    _keras_input(x[:4]).astype("<f4").tofile(tmp_path / "in.f32")
    c, h, w = arch.input
    env = {**os.environ, "NODE_PATH": TFJS_NODE_MODULES}
    proc = subprocess.run(["node", str(REPO / "tests" / "tfjs_predict.js"), str(folder),
                           str(tmp_path / "in.f32"), "4", str(h), str(w), str(c)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    doc = json.loads((folder / "model.json").read_text())
    assert result["className"] == doc["modelTopology"]["model_config"]["class_name"]
    assert sorted(result["weights"]) == sorted(s["name"] for s in doc["weightsManifest"][0]["weights"])
    np.testing.assert_allclose(np.array(result["output"]), _expected_output(model, x[:4]),
                               rtol=1e-4, atol=1e-5)


def test_tfjs_without_convolutions_and_with_missing_weights(tmp_path):
    # a flattened 2-channel input straight into dense layers: the first dense's rows reordered
    arch = Architecture.from_dict({"input": [2, 3, 3], "layers": [
        {"type": "flatten"},
        {"type": "dense", "units": 18}, {"type": "dense", "units": 10}]})
    model = _model(arch)
    folder = tfjs.write_tfjs(arch, model.state_dict(), tmp_path / "ok")  # no residual: fine
    x = torch.randn(3, 2, 3, 3)
    np.testing.assert_allclose(keras_numpy.forward(folder, _keras_input(x)),
                               _expected_output(model, x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ExportError, match="weights have no 'layers.1.linear.weight'"):
        tfjs.write_tfjs(arch, {}, tmp_path / "missing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok"]  # nothing half-written
