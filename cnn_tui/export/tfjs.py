"""A trained run as a TensorFlow.js layers model: the browser builder's own format.

The folder holds `model.json` and `group1-shard1of1.bin`, what `tf.loadLayersModel(url)` reads:
- `model.json`: `format` "layers-model", `generatedBy`, `convertedBy`, `modelTopology` (the Keras
  model config as tf.keras 2 serialises it, which TF.js reads: `keras_version`, `backend`
  "tensorflow", `model_config`), `weightsManifest` (one group: its path and every weight's
  `name`, `shape`, `dtype`) and `userDefinedMetadata` (the architecture JSON, the run, how to
  feed it).
- `group1-shard1of1.bin`: every weight as little-endian float32, concatenated in manifest order.

A plain stack of layers is a `Sequential` model; one with a residual block is a functional
model (`Functional`: named layers wired by `inbound_nodes`, the shortcut an `Add` layer, a
1x1 `Conv2D` when the block projects).

From PyTorch's channels-first weights to Keras' channels-last layout:
- Conv2D kernels (out, in, kh, kw) -> (kh, kw, in, out); Dense (out, in) -> (in, out);
- Keras flattens a [H, W, C] map, PyTorch a [C, H, W] one: the layers that read a flattened map
  (the first Dense, a BatchNormalization before it) get their input features reordered from CHW
  to HWC order, so the model gives the same numbers;
- BatchNormalization: gamma, beta, moving_mean, moving_variance, with PyTorch's epsilon and
  momentum (Keras momentum = 1 - PyTorch momentum).
`same` padding needs no conversion: ours is TF's (ceil(in / stride), the odd cell bottom/right;
a `same` max-pool ignores the padding, a `same` average counts only real cells).
The model's input is [batch, H, W, C] (channels last) normalised as for training,
(x / 255 - 0.1307) / 0.3081; a final softmax stays the model's last layer (the browser builder's
convention), so its output is probabilities where the PyTorch model gives logits.

numpy only (with the run's state_dict as tensors or arrays).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnn_tui.errors import ExportError
from cnn_tui.export.atomic import atomic_folder
from cnn_tui.export.formats import FORMATS
from cnn_tui.spec.analysis import LayerInfo, analyze, param
from cnn_tui.spec.model import Architecture

MODEL_FILE = "model.json"
WEIGHTS_FILE = "group1-shard1of1.bin"
KERAS_VERSION = "2.15.0"  # the tf.keras serialisation the configs follow (what TF.js reads)
BN_EPSILON, BN_MOMENTUM = 1e-5, 0.1  # PyTorch's BatchNorm defaults, which build_model uses
LEAKY_SLOPE = 0.01  # a fused leaky_relu's slope (torch's default)

_GLOROT = {"class_name": "GlorotUniform", "config": {"seed": None}}
_ZEROS = {"class_name": "Zeros", "config": {}}
_ONES = {"class_name": "Ones", "config": {}}
_FUSED = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
          "gelu": "gelu"}  # leaky_relu: a separate LeakyReLU layer (Keras' string means 0.2)


@dataclass
class _Builder:
    """Keras layers in order, their inputs (functional wiring) and weights for the manifest."""

    state: Mapping[str, Any]
    layers: list[dict] = field(default_factory=list)
    weights: list[tuple[str, Any]] = field(default_factory=list)  # (name, float32 array)
    counts: dict[str, int] = field(default_factory=dict)
    functional: bool = False

    def name(self, base: str) -> str:
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def add(self, class_name: str, base: str, config: dict, inputs: list[str]) -> str:
        name = self.name(base)
        entry = {"class_name": class_name,
                 "config": {"name": name, "trainable": True, "dtype": "float32", **config},
                 "name": name,
                 "inbound_nodes": [[[i, 0, 0, {}] for i in inputs]] if inputs else []}
        self.layers.append(entry)
        return name

    def tensor(self, key: str):
        import numpy as np

        try:
            value = self.state[key]
        except KeyError:
            raise ExportError(f"TF.js export: the weights have no {key!r}") from None
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        return np.asarray(value, dtype=np.float32)

    def weight(self, layer: str, name: str, array) -> None:
        self.weights.append((f"{layer}/{name}", array))


def _flat_order(shape) -> Any:
    """For a flattened [C, H, W] map: keras_position -> torch_position (CHW read as HWC)."""
    import numpy as np

    c, h, w = shape
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()


class _Converter:
    def __init__(self, arch: Architecture, state: Mapping[str, Any]) -> None:
        self.arch = arch
        self.analysis = analyze(arch)
        self.analysis.raise_if_invalid()
        self.rows = iter(self.analysis.rows)
        self.b = _Builder(state)
        self.last = len(arch.layers) - 1

    # each returns (output layer name, feature order after it: None = as PyTorch's)
    def layer(self, info: LayerInfo, prefix: str, x: str, order, final: bool):
        layer, t, b = info.layer, info.layer.type, self.b
        if t == "conv2d":
            k, s = param(layer, "kernel_size"), param(layer, "stride")
            act = param(layer, "activation")
            name = b.add("Conv2D", "conv2d", {
                "filters": param(layer, "filters"), "kernel_size": [k, k], "strides": [s, s],
                "padding": param(layer, "padding"), "data_format": "channels_last",
                "dilation_rate": [1, 1], "activation": _FUSED.get(act, "linear"),
                "use_bias": True, "kernel_initializer": _GLOROT, "bias_initializer": _ZEROS,
                "kernel_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": None, "kernel_constraint": None,
                "bias_constraint": None}, [x])
            kernel = b.tensor(f"{prefix}.conv.weight").transpose(2, 3, 1, 0)
            b.weight(name, "kernel", kernel)
            b.weight(name, "bias", b.tensor(f"{prefix}.conv.bias"))
            if act == "leaky_relu":
                name = b.add("LeakyReLU", "leaky_re_lu", {"alpha": LEAKY_SLOPE}, [name])
            return name, None
        if t in ("maxpool2d", "avgpool2d"):
            k = param(layer, "pool_size")
            s = param(layer, "stride") or k
            cls, base = (("MaxPooling2D", "max_pooling2d") if t == "maxpool2d"
                         else ("AveragePooling2D", "average_pooling2d"))
            return b.add(cls, base, {"pool_size": [k, k], "padding": param(layer, "padding"),
                                     "strides": [s, s], "data_format": "channels_last"},
                         [x]), None
        if t == "batchnorm":
            name = b.add("BatchNormalization", "batch_normalization", {
                "axis": -1, "momentum": 1 - BN_MOMENTUM, "epsilon": BN_EPSILON, "center": True,
                "scale": True, "beta_initializer": _ZEROS, "gamma_initializer": _ONES,
                "moving_mean_initializer": _ZEROS, "moving_variance_initializer": _ONES,
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None}, [x])
            for keras, torch_name in (("gamma", "weight"), ("beta", "bias"),
                                      ("moving_mean", "running_mean"),
                                      ("moving_variance", "running_var")):
                value = b.tensor(f"{prefix}.{torch_name}")
                b.weight(name, keras, value if order is None else value[order])
            return name, order
        if t == "dropout":
            return b.add("Dropout", "dropout", {"rate": param(layer, "rate"), "noise_shape": None,
                                                "seed": None}, [x]), order
        if t == "flatten":
            name = b.add("Flatten", "flatten", {"data_format": "channels_last"}, [x])
            return name, (_flat_order(info.in_shape) if len(info.in_shape) == 3 else order)
        if t == "global_avgpool":
            return b.add("GlobalAveragePooling2D", "global_average_pooling2d",
                         {"data_format": "channels_last", "keepdims": False}, [x]), None
        if t == "dense":
            act = param(layer, "activation")
            name = b.add("Dense", "dense", {
                "units": param(layer, "units"), "activation": _FUSED.get(act, "linear"),
                "use_bias": True, "kernel_initializer": _GLOROT, "bias_initializer": _ZEROS,
                "kernel_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": None, "kernel_constraint": None,
                "bias_constraint": None}, [x])
            kernel = b.tensor(f"{prefix}.linear.weight").T
            b.weight(name, "kernel", kernel if order is None else kernel[order])
            b.weight(name, "bias", b.tensor(f"{prefix}.linear.bias"))
            if act == "leaky_relu":
                name = b.add("LeakyReLU", "leaky_re_lu", {"alpha": LEAKY_SLOPE}, [name])
            return name, None
        if t == "relu":
            return b.add("ReLU", "re_lu", {"max_value": None, "negative_slope": 0.0,
                                           "threshold": 0.0}, [x]), order
        if t == "leaky_relu":
            return b.add("LeakyReLU", "leaky_re_lu",
                         {"alpha": float(param(layer, "negative_slope"))}, [x]), order
        if t == "softmax":  # over the channels or a whole vector: any feature order holds
            return b.add("Softmax", "softmax", {"axis": -1}, [x]), order
        if t in ("gelu", "sigmoid", "tanh"):
            return b.add("Activation", "activation", {"activation": t}, [x]), order
        if t == "residual":
            return self.residual(info, prefix, x, order)
        raise ExportError(f"TF.js export: layer {info.number} ({t}) has no TF.js equivalent")

    def residual(self, info: LayerInfo, prefix: str, x: str, order):
        self.b.functional = True
        y, y_order = x, order
        for j, _ in enumerate(info.layer.layers or ()):
            y, y_order = self.layer(next(self.rows), f"{prefix}.layers.{j}", y, y_order, False)
        shortcut = x
        if info.projection:
            s = info.projection_stride or 1
            shortcut = self.b.add("Conv2D", "conv2d", {
                "filters": info.out_shape[0], "kernel_size": [1, 1], "strides": [s, s],
                "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1],
                "activation": "linear", "use_bias": True, "kernel_initializer": _GLOROT,
                "bias_initializer": _ZEROS, "kernel_regularizer": None,
                "bias_regularizer": None, "activity_regularizer": None,
                "kernel_constraint": None, "bias_constraint": None}, [x])
            self.b.weight(shortcut, "kernel",
                          self.b.tensor(f"{prefix}.projection.weight").transpose(2, 3, 1, 0))
            self.b.weight(shortcut, "bias", self.b.tensor(f"{prefix}.projection.bias"))
            order = None
        if (y_order is None) != (order is None) or (
                order is not None and list(order) != list(y_order)):
            raise ExportError(f"TF.js export: residual block {info.number} adds maps whose "
                              "feature orders differ between Keras and PyTorch (a flattened "
                              "map on one side only); not exportable")
        return self.b.add("Add", "add", {}, [y, shortcut]), order

    def convert(self) -> tuple[dict, list[tuple[str, Any]]]:
        c, h, w = self.arch.input
        x = "input_1"
        order = None
        for i, _ in enumerate(self.arch.layers):
            info = next(self.rows)
            x, order = self.layer(info, f"layers.{i}", x, order, i == self.last)
        input_shape = [None, h, w, c]
        if self.b.functional:
            inputs = {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
                      "config": {"batch_input_shape": input_shape, "dtype": "float32",
                                 "sparse": False, "ragged": False, "name": "input_1"}}
            config = {"name": _model_name(self.arch), "layers": [inputs, *self.b.layers],
                      "input_layers": [["input_1", 0, 0]], "output_layers": [[x, 0, 0]]}
            return {"class_name": "Functional", "config": config}, self.b.weights
        layers = [{"class_name": e["class_name"], "config": dict(e["config"])}
                  for e in self.b.layers]
        if not layers:
            raise ExportError("TF.js export: the architecture has no layers")
        layers[0]["config"]["batch_input_shape"] = input_shape
        return ({"class_name": "Sequential",
                 "config": {"name": _model_name(self.arch), "layers": layers}}, self.b.weights)


def _model_name(arch: Architecture) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(arch.name)).strip("_")[:60] or "model"


def _version() -> str:
    try:
        from cnn_tui import __version__
    except ImportError:
        return "?"
    return __version__


def tfjs_model(arch: Architecture, state: Mapping[str, Any],
               metadata: Mapping[str, Any] | None = None) -> tuple[dict, bytes]:
    """(model.json as a dict, the weights file's bytes) for `arch` with the PyTorch `state`."""
    import numpy as np

    topology, weights = _Converter(arch, state).convert()
    manifest, chunks = [], []
    for name, array in weights:
        array = np.ascontiguousarray(array, dtype="<f4")
        manifest.append({"name": name, "shape": list(array.shape), "dtype": "float32"})
        chunks.append(array.tobytes())
    try:
        import torch
        converted = f"cnn-tui {_version()} from PyTorch {torch.__version__}"
    except ImportError:
        converted = f"cnn-tui {_version()}"
    c, h, w = arch.input
    doc = {
        "format": "layers-model",
        "generatedBy": f"cnn-tui {_version()}",
        "convertedBy": converted,
        "modelTopology": {"keras_version": KERAS_VERSION, "backend": "tensorflow",
                          "model_config": topology},
        "weightsManifest": [{"paths": [WEIGHTS_FILE], "weights": manifest}],
        "userDefinedMetadata": {"cnn-tui": {
            "architecture": arch.to_dict(),
            "input": f"[batch, {h}, {w}, {c}] float32 (channels last), pixels as "
                     "(x / 255 - 0.1307) / 0.3081 (MNIST: white digit on black)",
            "output": "probabilities" if _ends_in_softmax(arch) else "logits",
            **dict(metadata or {})}},
    }
    return doc, b"".join(chunks)


def _ends_in_softmax(arch: Architecture) -> bool:
    if not arch.layers:
        return False
    last = arch.layers[-1]
    return last.type == "softmax" or (last.type in ("conv2d", "dense")
                                      and param(last, "activation") == "softmax")


def write_tfjs(arch: Architecture, state: Mapping[str, Any], folder: str | Path,
               force: bool = False, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write `model.json` and `group1-shard1of1.bin` into `folder` (atomically)."""
    doc, data = tfjs_model(arch, state, metadata)
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    with atomic_folder(folder, force, FORMATS["tfjs"].owns, "tfjs export") as tmp:
        (tmp / MODEL_FILE).write_text(text, encoding="utf-8")
        (tmp / WEIGHTS_FILE).write_bytes(data)
    return Path(folder).expanduser()


__all__ = ["MODEL_FILE", "WEIGHTS_FILE", "tfjs_model", "write_tfjs"]
