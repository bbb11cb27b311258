"""The architecture as data: `Layer` and `Architecture`, checked on the way in.

`Architecture.from_dict(obj)` validates a native-format object (see DESIGN.md / README) and
raises `SpecError` with the field path on the first problem; `to_dict()` writes the canonical
form, so `from_dict(a.to_dict()) == a` always and `to_dict` of a read file is stable.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Iterator

from cnn_tui.errors import SpecError
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.spec.params import unknown_field
from cnn_tui.spec.text import check_label
from cnn_tui.spec.training import TRAINING_PARAMS

FORMAT = "cnn-tui/architecture"
VERSION = 1
MAX_LAYERS = 500  # in all, nested included: far beyond any MNIST network, bounds the work
MAX_DEPTH = 8  # residual blocks nested at most this deep
MAX_NAME = 200
MAX_CHANNELS = 16  # input [C, H, W]: C in 1..MAX_CHANNELS, H and W in 1..MAX_SIDE
MAX_SIDE = 1024
MIN_CLASSES, MAX_CLASSES = 2, 10000


@dataclass
class Layer:
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    layers: list["Layer"] | None = None  # the inner layers of a residual block

    @classmethod
    def make(cls, type_: str, **params: Any) -> "Layer":
        """A layer with defaults filled in; raises SpecError for bad values."""
        inner = params.pop("layers", None)
        obj = {"type": type_, **params}
        if type_ == "residual":
            obj["layers"] = [l.to_dict() if isinstance(l, Layer) else l for l in (inner or [])]
        return layer_from_dict(obj, "layer")

    def get(self, name: str) -> Any:
        return self.params.get(name)

    @property
    def kind(self):
        return LAYER_TYPES[self.type]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for p in LAYER_TYPES[self.type].params:
            value = self.params.get(p.name)
            if value is None and p.optional:
                continue
            out[p.name] = value
        if self.layers is not None:
            out["layers"] = [l.to_dict() for l in self.layers]
        return out

    def copy(self) -> "Layer":
        return copy.deepcopy(self)

    def walk(self, depth: int = 0) -> Iterator[tuple[int, "Layer"]]:
        yield depth, self
        for inner in self.layers or ():
            yield from inner.walk(depth + 1)


def layer_from_dict(obj: Any, path: str, depth: int = 0, budget: list[int] | None = None) -> Layer:
    budget = budget if budget is not None else [MAX_LAYERS]
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(path, f"too many layers (at most {MAX_LAYERS} in all)")
    if not isinstance(obj, dict):
        raise SpecError(path, f"must be an object with a \"type\", got {value_kind(obj)}")
    type_ = obj.get("type")
    if not isinstance(type_, str):
        raise SpecError(f"{path}.type", f"must be a layer type name, got {value_kind(type_)}")
    check_label(type_, f"{path}.type")
    spec = LAYER_TYPES.get(type_)
    if spec is None:
        names = ", ".join(LAYER_TYPES)
        raise SpecError(f"{path}.type", f"unknown layer type {type_[:40]!r} (known: {names})")
    reserved = ("type", "layers") if type_ == "residual" else ("type",)
    params = spec.params.check_object(obj, path, reserved=reserved)
    layers = None
    if type_ == "residual":
        if depth + 1 > MAX_DEPTH:
            raise SpecError(path, f"residual blocks nested too deep (at most {MAX_DEPTH})")
        inner = obj.get("layers", [])
        if not isinstance(inner, list):
            raise SpecError(f"{path}.layers", f"must be a list of layers, got {value_kind(inner)}")
        layers = [layer_from_dict(o, f"{path}.layers[{i}]", depth + 1, budget)
                  for i, o in enumerate(inner)]
    return Layer(type_, params, layers)


def value_kind(value: Any) -> str:
    """A JSON value as an error message names it: `null`, `a number`, `the string 'x'`, …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return {int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


@dataclass
class Architecture:
    layers: list[Layer] = field(default_factory=list)
    name: str = "Untitled"
    input: tuple[int, int, int] = (1, 28, 28)
    classes: int = 10
    training: dict[str, Any] = field(default_factory=dict)  # only the fields the file sets

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT, "version": VERSION, "name": self.name,
            "input": list(self.input), "classes": self.classes,
            "layers": [l.to_dict() for l in self.layers],
        }
        if self.training:
            out["training"] = {k: self.training[k] for k in TRAINING_PARAMS.names()
                               if k in self.training}
        return out

    @classmethod
    def from_dict(cls, obj: Any) -> "Architecture":
        if not isinstance(obj, dict):
            raise SpecError("", f"an architecture must be a JSON object, got {value_kind(obj)}")
        allowed = ("format", "version", "name", "input", "classes", "layers", "training")
        for key in obj:
            if key not in allowed:
                raise unknown_field("", key, allowed)
        if isinstance(obj.get("format"), str):
            check_label(obj["format"], "format")
        if obj.get("format", FORMAT) != FORMAT:
            raise SpecError("format", f"must be {FORMAT!r}, got {value_kind(obj.get('format'))}")
        version = obj.get("version", VERSION)
        if version != VERSION or isinstance(version, bool):
            raise SpecError("version", f"unsupported version {version!r:.40} "
                            f"(this cnn-tui reads version {VERSION})")
        name = obj.get("name", "Untitled")
        if not isinstance(name, str) or len(name) > MAX_NAME:
            raise SpecError("name", f"must be a string of at most {MAX_NAME} characters")
        check_label(name, "name")
        input_ = obj.get("input", [1, 28, 28])
        if (not isinstance(input_, list) or len(input_) != 3
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in input_)):
            raise SpecError("input", f"must be [channels, height, width], got {value_kind(input_)}")
        if not (1 <= input_[0] <= MAX_CHANNELS and 1 <= input_[1] <= MAX_SIDE
                and 1 <= input_[2] <= MAX_SIDE):
            raise SpecError("input", f"must be [1..{MAX_CHANNELS}, 1..{MAX_SIDE}, 1..{MAX_SIDE}], "
                                     f"got {input_}")
        classes = obj.get("classes", 10)
        if not isinstance(classes, int) or isinstance(classes, bool) \
                or not MIN_CLASSES <= classes <= MAX_CLASSES:
            raise SpecError("classes", f"must be an integer {MIN_CLASSES}..{MAX_CLASSES}, "
                                       f"got {value_kind(classes)}")
        layers = obj.get("layers")
        if not isinstance(layers, list):
            raise SpecError("layers", f"must be a list of layers, got {value_kind(layers)}")
        budget = [MAX_LAYERS]
        parsed = [layer_from_dict(o, f"layers[{i}]", 0, budget) for i, o in enumerate(layers)]
        training = obj.get("training", {})
        if training is None:
            training = {}
        if not isinstance(training, dict):
            raise SpecError("training", f"must be an object, got {value_kind(training)}")
        full = TRAINING_PARAMS.check_object(training, "training")
        sparse = {k: full[k] for k in TRAINING_PARAMS.names() if k in training}
        return cls(parsed, name, tuple(input_), classes, sparse)

    def copy(self) -> "Architecture":
        return copy.deepcopy(self)

    def training_config(self) -> dict[str, Any]:
        """Every training field: the file's values over the defaults."""
        return {**TRAINING_PARAMS.defaults(), **self.training}

    def walk(self) -> Iterator[tuple[int, Layer]]:
        """(depth, layer) for every layer, residual blocks before their inner layers."""
        for layer in self.layers:
            yield from layer.walk(0)
