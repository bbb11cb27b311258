"""Import the browser "MNIST CNN Builder" export (its JSON download) into an `Architecture`.

That export looks like `{"layers": [{"type": "Conv2D", "filters": 8, "kernelSize": 3,
"strides": 1, "padding": "valid"}, "ReLU", ...], "trainingSettings": {"epochs", "batchSize",
"learningRate", "optimizer"}, "metadata": {"label" | "name", "timestamp", ...}}`, sometimes with
`weights`, `trainingHistory` and `modelPerformance` beside it. We take the architecture and the
training settings, ignore the rest (and any extra per-layer fields the builder added, such as a
pooling layer's `kernelSize`), and check every value with the native ranges, reporting errors
by the export's own field path: `layers[2].kernelSize: must be 1..11, got 0`.
Keras-style sizes may be an int or `[n, n]`; non-square ones are refused (we build square only).
"""

from __future__ import annotations

from typing import Any

from cnn_tui.errors import SpecError
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.spec.model import MAX_LAYERS, MAX_NAME, Architecture
from cnn_tui.spec.text import check_label
from cnn_tui.spec.training import TRAINING_PARAMS

# Browser / Keras layer name (lower-cased) -> native layer type.
_TYPES = {
    "conv2d": "conv2d",
    "maxpooling2d": "maxpool2d", "maxpool2d": "maxpool2d",
    "averagepooling2d": "avgpool2d", "avgpool2d": "avgpool2d",
    "globalaveragepooling2d": "global_avgpool",
    "batchnormalization": "batchnorm", "batchnorm": "batchnorm",
    "dropout": "dropout", "flatten": "flatten", "dense": "dense",
    "relu": "relu", "leakyrelu": "leaky_relu", "softmax": "softmax",
    "sigmoid": "sigmoid", "tanh": "tanh", "gelu": "gelu",
}
_ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
                "gelu": "gelu", "leakyrelu": "leaky_relu", "leaky_relu": "leaky_relu"}
_NO_ACTIVATION = ("", "linear", "none")
_OPTIMIZERS = {"adam": "adam", "adamw": "adamw", "sgd": "sgd", "rmsprop": "rmsprop",
               "adagrad": "adagrad", "adadelta": "adadelta"}
_TRAINING_FIELDS = (("epochs", "epochs"), ("batchSize", "batch_size"),
                    ("learningRate", "learning_rate"), ("optimizer", "optimizer"))
_MARKERS = ("trainingSettings", "trainingSetting", "metadata")


def _kind_of(type_: Any) -> str | None:
    return _TYPES.get(type_.lower()) if isinstance(type_, str) else None


def is_browser_export(obj: Any) -> bool:
    """True for the browser builder's export; False for native files (and anything else)."""
    if not isinstance(obj, dict) or "format" in obj or not isinstance(obj.get("layers"), list):
        return False
    if any(key in obj for key in _MARKERS):
        return True
    for item in obj["layers"]:
        type_ = item if isinstance(item, str) else item.get("type") if isinstance(item, dict) else None
        if isinstance(type_, str) and type_ not in LAYER_TYPES and _kind_of(type_):
            return True
    return False


def _check(layer_type: str, param: str, value: Any, path: str) -> Any:
    return LAYER_TYPES[layer_type].params.get(param).check(value, path)


def _size(value: Any, path: str) -> Any:
    """A Keras size: n or [n, n] -> n; [h, w] with h != w is refused."""
    if isinstance(value, list):
        if len(value) == 1:
            return value[0]
        if len(value) != 2:
            raise SpecError(path, f"must be a number or [height, width], got a list of {len(value)}")
        if value[0] != value[1]:
            raise SpecError(path, f"non-square sizes are not supported, got {value!r:.40}")
        return value[0]
    return value


def _padding(value: Any, path: str) -> str:
    if isinstance(value, str) and value.lower() in ("valid", "same"):
        return value.lower()
    if value is None:
        return "valid"
    shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
    raise SpecError(path, f"must be 'valid' or 'same', got {shown}")


def _activation(value: Any, path: str) -> str | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _NO_ACTIVATION):
        return None
    if isinstance(value, str) and value.lower() in _ACTIVATIONS:
        return _ACTIVATIONS[value.lower()]
    shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
    known = ", ".join(sorted(set(_ACTIVATIONS)))
    raise SpecError(path, f"unsupported activation {shown} (known: {known}, linear)")


def _layer(item: Any, path: str) -> dict[str, Any]:
    if isinstance(item, str):
        fields: dict[str, Any] = {"type": item}
    elif isinstance(item, dict):
        fields = item
    else:
        raise SpecError(path, "must be a layer name or an object with a \"type\"")
    type_ = fields.get("type")
    if isinstance(type_, str):
        check_label(type_, f"{path}.type" if isinstance(item, dict) else path)
    kind = _kind_of(type_)
    if kind is None:
        shown = repr(type_)[:40] if isinstance(type_, str) else type(type_).__name__
        known = "Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, BatchNormalization, " \
                "Dropout, Flatten, Dense, ReLU, LeakyReLU, Softmax, Sigmoid, Tanh, GELU"
        raise SpecError(f"{path}.type", f"unknown layer type {shown} (known: {known})")
    out: dict[str, Any] = {"type": kind}
    get = fields.get
    if kind == "conv2d":
        out["filters"] = _check(kind, "filters", get("filters"), f"{path}.filters")
        out["kernel_size"] = _check(kind, "kernel_size", _size(get("kernelSize"), f"{path}.kernelSize"),
                                    f"{path}.kernelSize")
        out["stride"] = _check(kind, "stride", _size(get("strides", 1), f"{path}.strides"), f"{path}.strides")
        out["padding"] = _padding(get("padding"), f"{path}.padding")
        act = _activation(get("activation"), f"{path}.activation")
        if act:
            out["activation"] = act
    elif kind in ("maxpool2d", "avgpool2d"):
        size = get("poolSize", get("kernelSize", 2))
        field = "poolSize" if "poolSize" in fields else "kernelSize" if "kernelSize" in fields else "poolSize"
        out["pool_size"] = _check(kind, "pool_size", _size(size, f"{path}.{field}"), f"{path}.{field}")
        strides = _size(get("strides"), f"{path}.strides")
        out["stride"] = _check(kind, "stride", strides, f"{path}.strides")
        out["padding"] = _padding(get("padding"), f"{path}.padding")
    elif kind == "dropout":
        out["rate"] = _check(kind, "rate", get("rate"), f"{path}.rate")
    elif kind == "dense":
        out["units"] = _check(kind, "units", get("units"), f"{path}.units")
        act = _activation(get("activation"), f"{path}.activation")
        if act:
            out["activation"] = act
    elif kind == "leaky_relu" and "alpha" in fields:
        out["negative_slope"] = _check(kind, "negative_slope", get("alpha"), f"{path}.alpha")
    return out


def _training(obj: dict) -> dict[str, Any]:
    key = next((k for k in ("trainingSettings", "trainingSetting") if k in obj), None)
    if key is None or obj[key] is None:
        return {}
    settings = obj[key]
    if not isinstance(settings, dict):
        raise SpecError(key, "must be an object")
    out: dict[str, Any] = {}
    for theirs, ours in _TRAINING_FIELDS:
        if settings.get(theirs) is None:
            continue
        value = settings[theirs]
        if ours == "optimizer":
            if not (isinstance(value, str) and value.lower() in _OPTIMIZERS):
                shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
                raise SpecError(f"{key}.{theirs}", f"unsupported optimizer {shown} "
                                f"(known: {', '.join(_OPTIMIZERS)})")
            value = _OPTIMIZERS[value.lower()]
        out[ours] = TRAINING_PARAMS.get(ours).check(value, f"{key}.{theirs}")
    return out


def _name(meta: Any) -> str:
    if meta is None:
        return "Imported"
    if not isinstance(meta, dict):
        raise SpecError("metadata", "must be an object")
    for field in ("name", "label"):
        value = meta.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise SpecError(f"metadata.{field}", "must be a string")
        check_label(value, f"metadata.{field}")
        if value.strip():
            return " ".join(value.split())[:MAX_NAME]
    return "Imported"


def from_browser(obj: dict) -> Architecture:
    """The browser builder's export as a native Architecture; SpecError names the export's path."""
    if not isinstance(obj, dict):
        raise SpecError("", "a browser-builder export must be a JSON object")
    layers = obj.get("layers")
    if not isinstance(layers, list):
        raise SpecError("layers", "must be a list of layers")
    if len(layers) > MAX_LAYERS:
        raise SpecError("layers", f"too many layers (at most {MAX_LAYERS})")
    native = [_layer(item, f"layers[{i}]") for i, item in enumerate(layers)]
    return Architecture.from_dict({"name": _name(obj.get("metadata")), "layers": native,
                                   "training": _training(obj)})


__all__ = ["from_browser", "is_browser_export"]
