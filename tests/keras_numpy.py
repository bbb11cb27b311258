"""A small numpy interpreter of a TF.js layers model (model.json + weights), written from
Keras' documented semantics, independent of cnn_tui/export/tfjs.py: it reads only the files.

Channels last; `same` padding as TensorFlow computes it (out = ceil(n / s), the total padding
split with the odd cell after); a `same` max-pool never picks the padding, a `same` average
counts only real cells; Keras' Flatten reads [H, W, C] in C order.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def load(folder):
    """(model.json as a dict, {weight name: array}) from an exported folder."""
    folder = Path(folder)
    doc = json.loads((folder / "model.json").read_text())
    (group,) = doc["weightsManifest"]
    data = b"".join((folder / p).read_bytes() for p in group["paths"])
    weights, offset = {}, 0
    for spec in group["weights"]:
        assert spec["dtype"] == "float32"
        count = int(np.prod(spec["shape"], dtype=np.int64))
        weights[spec["name"]] = np.frombuffer(data, "<f4", count, offset).reshape(spec["shape"])
        offset += 4 * count
    assert offset == len(data), "the weights file holds more than its manifest lists"
    return doc, weights


def _pads(n, k, s, padding):
    if padding == "valid":
        return (n - k) // s + 1, 0, 0
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def _windows(x, k, s, padding, fill):
    """[N, H', W', C, kh, kw] windows of x [N, H, W, C]."""
    _, h, w, _ = x.shape
    oh, top, bottom = _pads(h, k[0], s[0], padding)
    ow, left, right = _pads(w, k[1], s[1], padding)
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    view = np.lib.stride_tricks.sliding_window_view(x, k, axis=(1, 2))
    return view[:, ::s[0], ::s[1]][:, :oh, :ow]


def activation(name, x):
    if name in (None, "linear"):
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "gelu":
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise AssertionError(f"activation {name!r} not known to the reference")


def apply(layer, inputs, weights):
    cls, cfg = layer["class_name"], layer["config"]
    name = cfg["name"]
    x = inputs[0]
    if cls == "InputLayer":
        return x
    if cls == "Conv2D":
        assert cfg["data_format"] == "channels_last" and cfg["dilation_rate"] == [1, 1]
        win = _windows(x, cfg["kernel_size"], cfg["strides"], cfg["padding"], 0.0)
        y = np.einsum("nhwcij,ijco->nhwo", win, weights[f"{name}/kernel"].astype(np.float64))
        if cfg["use_bias"]:
            y = y + weights[f"{name}/bias"]
        return activation(cfg["activation"], y)
    if cls == "MaxPooling2D":
        return _windows(x, cfg["pool_size"], cfg["strides"], cfg["padding"], -np.inf).max((4, 5))
    if cls == "AveragePooling2D":
        k, s, p = cfg["pool_size"], cfg["strides"], cfg["padding"]
        total = _windows(x, k, s, p, 0.0).sum((4, 5))
        count = _windows(np.ones_like(x[:1, :, :, :1]), k, s, p, 0.0).sum((4, 5))
        return total / count
    if cls == "BatchNormalization":
        assert cfg["axis"] in (-1, [-1], [x.ndim - 1])
        mean, var = weights[f"{name}/moving_mean"], weights[f"{name}/moving_variance"]
        gamma, beta = weights[f"{name}/gamma"], weights[f"{name}/beta"]
        return (x - mean) / np.sqrt(var + cfg["epsilon"]) * gamma + beta
    if cls == "Dropout":
        return x
    if cls == "Flatten":
        return x.reshape(len(x), -1)
    if cls == "GlobalAveragePooling2D":
        return x.mean(axis=(1, 2))
    if cls == "Dense":
        y = x @ weights[f"{name}/kernel"].astype(np.float64)
        if cfg["use_bias"]:
            y = y + weights[f"{name}/bias"]
        return activation(cfg["activation"], y)
    if cls == "ReLU":
        assert cfg.get("max_value") is None and not cfg.get("threshold")
        return np.maximum(x, 0)
    if cls == "LeakyReLU":
        return np.where(x >= 0, x, cfg["alpha"] * x)
    if cls == "Softmax":
        assert cfg["axis"] == -1
        return activation("softmax", x)
    if cls == "Activation":
        return activation(cfg["activation"], x)
    if cls == "Add":
        return sum(inputs)
    raise AssertionError(f"layer class {cls!r} not known to the reference")


def forward(folder, x):
    """The model's output for x [N, H, W, C] (float64 arithmetic)."""
    doc, weights = load(folder)
    model = doc["modelTopology"]["model_config"]
    x = np.asarray(x, dtype=np.float64)
    if model["class_name"] == "Sequential":
        for layer in model["config"]["layers"]:
            x = apply(layer, [x], weights)
        return x
    assert model["class_name"] in ("Functional", "Model")
    config = model["config"]
    ((input_name, _, _),) = config["input_layers"]
    values = {input_name: x}
    pending = [layer for layer in config["layers"] if layer["name"] != input_name]
    while pending:  # any order the file lists them in: run each once its inputs exist
        ready = [layer for layer in pending
                 if all(src in values for src, *_ in layer["inbound_nodes"][0])]
        assert ready, "a layer's inputs never appear"
        for layer in ready:
            inputs = [values[src] for src, *_ in layer["inbound_nodes"][0]]
            values[layer["name"]] = apply(layer, inputs, weights)
            pending.remove(layer)
    ((output_name, _, _),) = config["output_layers"]
    return values[output_name]
