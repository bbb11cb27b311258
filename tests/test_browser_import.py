"""Importing the browser MNIST CNN Builder's JSON export."""

from __future__ import annotations

import copy
import json

import pytest

from cnn_tui.errors import SpecError
from cnn_tui.spec.browser import from_browser, is_browser_export
from cnn_tui.spec.io import dumps, parse_json_text, read_file
from cnn_tui.spec.templates import get_template

# What the builder's "Export Model" button writes for the Beginner network (architecture only).
EXPORT = {
    "layers": [
        {"type": "Conv2D", "filters": 8, "kernelSize": 3, "strides": 1, "padding": "valid"},
        {"type": "ReLU"},
        {"type": "MaxPooling2D", "poolSize": 2, "kernelSize": 2, "strides": 2, "padding": "valid"},
        {"type": "Conv2D", "filters": 16, "kernelSize": [3, 3], "strides": [1, 1], "padding": "valid"},
        "ReLU",
        {"type": "MaxPooling2D", "poolSize": [2, 2], "strides": 2, "padding": "valid"},
        "Flatten",
        {"type": "Dense", "units": 64, "activation": "relu"},
        {"type": "Dropout", "rate": 0.25},
        {"type": "Dense", "units": 10},
        "Softmax",
    ],
    "trainingSettings": {"epochs": 5, "batchSize": 32, "learningRate": 0.001, "optimizer": "adam"},
    "metadata": {"label": "My first CNN", "timestamp": "2025-03-01T10:00:00.000Z", "version": "2.0",
                 "exportType": "architecture-only", "author": "MNIST-CNN-Builder",
                 "tags": ["CNN", "MNIST"]},
}


def _export(**changes) -> dict:
    obj = copy.deepcopy(EXPORT)
    obj.update(changes)
    return obj


def _layer_error(index: int, layer) -> str:
    obj = _export()
    obj["layers"][index] = layer
    with pytest.raises(SpecError) as info:
        from_browser(obj)
    return str(info.value)


def test_detection():
    assert is_browser_export(EXPORT)
    assert is_browser_export({"layers": ["ReLU"]})
    assert is_browser_export({"layers": [{"type": "Conv2D"}]})
    assert is_browser_export({"layers": [], "metadata": {}})
    native = get_template("beginner").to_dict()
    assert not is_browser_export(native)
    native.pop("format")
    assert not is_browser_export(native)  # lower-case native types, no browser markers
    assert not is_browser_export({"layers": [{"type": "relu"}]})
    assert not is_browser_export([EXPORT])
    assert not is_browser_export({"layers": "Conv2D", "metadata": {}})


def test_full_import():
    arch = from_browser(EXPORT)
    assert arch.name == "My first CNN"
    assert [l.type for l in arch.layers] == [
        "conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d", "flatten", "dense",
        "dropout", "dense", "softmax"]
    conv = arch.layers[3].params
    assert (conv["filters"], conv["kernel_size"], conv["stride"], conv["padding"]) == (16, 3, 1, "valid")
    assert arch.layers[2].params["pool_size"] == 2 and arch.layers[2].params["stride"] == 2
    assert arch.layers[7].params["activation"] == "relu"
    assert arch.layers[8].params["rate"] == 0.25
    assert arch.training == {"epochs": 5, "batch_size": 32, "learning_rate": 0.001, "optimizer": "adam"}


def test_same_shapes_as_the_native_template():
    from cnn_tui.spec.analysis import analyze

    imported = analyze(from_browser(EXPORT))
    native = analyze(get_template("beginner"))
    assert imported.total_params == native.total_params == 27_562
    assert imported.output_shape == (10,)


def test_read_file_auto_detects_and_round_trips_as_native(tmp_path):
    path = tmp_path / "cnn-model-architecture-2025.json"
    path.write_text(json.dumps(EXPORT, indent=2))
    arch = read_file(path)
    assert arch == from_browser(EXPORT)
    text = dumps(arch)
    assert json.loads(text)["format"] == "cnn-tui/architecture"
    assert parse_json_text(text, "n") == arch


def test_extra_export_sections_are_ignored():
    obj = _export(weights={"layerWeights": []}, trainingHistory={"epochs": [1]},
                  modelPerformance={"parametersCount": 1})
    obj["layers"][0]["id"] = "layer-1"
    assert from_browser(obj) == from_browser(EXPORT)


def test_name_sources():
    assert from_browser(_export(metadata={"name": "N", "label": "L"})).name == "N"
    assert from_browser(_export(metadata={"label": "  "})).name == "Imported"
    obj = _export()
    del obj["metadata"]
    assert from_browser(obj).name == "Imported"
    assert len(from_browser(_export(metadata={"label": "x" * 500})).name) == 200
    with pytest.raises(SpecError, match=r"^metadata\.label: must be a string"):
        from_browser(_export(metadata={"label": 3}))


def test_training_variants():
    old = _export()
    old["trainingSetting"] = old.pop("trainingSettings")  # the builder's older spelling
    assert from_browser(old).training["batch_size"] == 32
    no = _export()
    del no["trainingSettings"]
    assert from_browser(no).training == {}
    imported = from_browser(_export(trainingSettings={"optimizer": "RMSprop"}))
    assert imported.training == {"optimizer": "rmsprop"}
    with pytest.raises(SpecError, match=r"^trainingSettings\.optimizer: unsupported optimizer 'lbfgs'"):
        from_browser(_export(trainingSettings={"optimizer": "lbfgs"}))
    with pytest.raises(SpecError, match=r"^trainingSettings\.batchSize: must be 1\.\.65536, got 0"):
        from_browser(_export(trainingSettings={"batchSize": 0}))
    with pytest.raises(SpecError, match=r"^trainingSettings: must be an object"):
        from_browser(_export(trainingSettings=[1]))


def test_errors_name_the_export_path():
    bad = {"type": "Conv2D", "filters": 8, "kernelSize": 0, "strides": 1, "padding": "valid"}
    assert _layer_error(3, bad) == "layers[3].kernelSize: must be 1..11, got 0"
    assert _layer_error(0, {"type": "Conv2D", "kernelSize": 3}) == "layers[0].filters: is required (1..1024)"
    assert _layer_error(2, {"type": "Dense"}).startswith("layers[2].units: is required")
    assert _layer_error(1, {"type": "Dropout", "rate": 1.5}) == \
        "layers[1].rate: must be >= 0 and < 1, got 1.5"
    assert _layer_error(4, "Conv3D").startswith("layers[4].type: unknown layer type 'Conv3D'")
    assert _layer_error(4, 7) == 'layers[4]: must be a layer name or an object with a "type"'
    assert _layer_error(0, {"type": "Conv2D", "filters": 8, "kernelSize": 3, "padding": "full"}) == \
        "layers[0].padding: must be 'valid' or 'same', got 'full'"
    assert _layer_error(0, {"type": "Conv2D", "filters": 8, "kernelSize": 3, "activation": "swish"}) \
        .startswith("layers[0].activation: unsupported activation 'swish'")


def test_sizes_as_lists():
    assert _layer_error(0, {"type": "Conv2D", "filters": 8, "kernelSize": [3, 5]}) == \
        "layers[0].kernelSize: non-square sizes are not supported, got [3, 5]"
    assert _layer_error(2, {"type": "MaxPooling2D", "poolSize": [2, 2], "strides": [2, 1]}) == \
        "layers[2].strides: non-square sizes are not supported, got [2, 1]"
    assert _layer_error(0, {"type": "Conv2D", "filters": 8, "kernelSize": [3, 3, 3]}).startswith(
        "layers[0].kernelSize: must be a number or [height, width]")
    obj = _export()
    obj["layers"][0] = {"type": "Conv2D", "filters": 8, "kernelSize": [5]}
    assert from_browser(obj).layers[0].params["kernel_size"] == 5


def test_keras_extras_and_defaults():
    obj = _export(layers=[
        {"type": "Conv2D", "filters": 4, "kernelSize": 3, "padding": "SAME", "activation": "linear"},
        "BatchNormalization",
        {"type": "LeakyReLU", "alpha": 0.2},
        {"type": "AveragePooling2D"},
        {"type": "GlobalAveragePooling2D"},
        {"type": "Dense", "units": 10, "activation": "softmax"},
    ])
    arch = from_browser(obj)
    assert [l.type for l in arch.layers] == ["conv2d", "batchnorm", "leaky_relu", "avgpool2d",
                                             "global_avgpool", "dense"]
    assert arch.layers[0].params["padding"] == "same" and arch.layers[0].params["activation"] is None
    assert arch.layers[0].params["stride"] == 1
    assert arch.layers[2].params["negative_slope"] == 0.2
    assert arch.layers[3].params["pool_size"] == 2 and arch.layers[3].params["stride"] is None
    assert arch.layers[5].params["activation"] == "softmax"


def test_whole_object_errors():
    with pytest.raises(SpecError, match="must be a JSON object"):
        from_browser([])
    with pytest.raises(SpecError, match=r"^layers: must be a list"):
        from_browser({"metadata": {}})
    with pytest.raises(SpecError, match="too many layers"):
        from_browser({"layers": ["ReLU"] * 600})


def test_file_errors_carry_the_file_name(tmp_path):
    obj = _export()
    obj["layers"][0]["filters"] = 0
    path = tmp_path / "export.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(SpecError) as info:
        read_file(path)
    assert str(info.value) == f"{path}: layers[0].filters: must be 1..1024, got 0"
