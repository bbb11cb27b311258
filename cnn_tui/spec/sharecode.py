"""Share codes: a whole architecture (name and training included) as one short URL-safe line.

`cnn1:` + base64url (no padding) of a compact payload, zlib-compressed when that is shorter.
The payload is JSON `[name, layers, training, input, classes]`, trailing defaults dropped.
A layer is its one-letter code (`"r"` for relu) or `[code, p0, p1, ...]`: the parameters in the
order of `LAYOUT`, `null` meaning that layout's default, trailing defaults trimmed; a residual
block is `["R", [inner layers], lr_mult?]`. Training is `{index: value}` over `TRAINING_ORDER`.

`LAYOUT`, its defaults and `TRAINING_ORDER` are frozen for `cnn1`: a later change of a default
in the layer registry must not change what an old code means. A layer type or parameter that
is not in the frozen tables still travels, as an object `{"type": ..., every parameter}` (and a
training field under its own name), so every architecture encodes.

Decoding is defensive: whatever string is pasted, the answer is an Architecture or a
`SpecError("share code", ...)`; the decompressed size is bounded (no zip bombs) and zlib's
checksum catches most typos.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from typing import Any

from cnn_tui.errors import SpecError
from cnn_tui.spec.jsonread import safe_loads
from cnn_tui.spec.model import Architecture

PREFIX = "cnn1:"
MAX_CODE_CHARS = 200_000
MAX_PAYLOAD_BYTES = 256 * 1024
WHERE = "share code"

# Frozen for cnn1 codes: type -> (code, ((param, default), ...)).
LAYOUT: dict[str, tuple[str, tuple[tuple[str, Any], ...]]] = {
    "conv2d": ("c", (("filters", 16), ("kernel_size", 3), ("stride", 1), ("padding", "valid"),
                     ("activation", None), ("lr_mult", None))),
    "maxpool2d": ("m", (("pool_size", 2), ("stride", None), ("padding", "valid"))),
    "avgpool2d": ("a", (("pool_size", 2), ("stride", None), ("padding", "valid"))),
    "batchnorm": ("b", (("lr_mult", None),)),
    "dropout": ("o", (("rate", 0.25),)),
    "flatten": ("f", ()),
    "global_avgpool": ("g", ()),
    "dense": ("d", (("units", 64), ("activation", None), ("lr_mult", None))),
    "relu": ("r", ()),
    "leaky_relu": ("l", (("negative_slope", 0.01),)),
    "gelu": ("e", ()),
    "sigmoid": ("s", ()),
    "tanh": ("t", ()),
    "softmax": ("x", ()),
    "residual": ("R", (("lr_mult", None),)),
}
BY_CODE = {code: (name, params) for name, (code, params) in LAYOUT.items()}
TRAINING_ORDER = ("optimizer", "learning_rate", "batch_size", "epochs", "weight_decay",
                  "momentum", "nesterov", "label_smoothing", "schedule", "step_size", "gamma",
                  "warmup_epochs", "early_stopping", "monitor", "augment", "val_size", "seed",
                  "device")
PAYLOAD_FIELDS = ("name", "layers", "training", "input", "classes")  # what the payload's items are
_DEFAULT_INPUT = [1, 28, 28]
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
_INDEX = re.compile(r"[0-9]{1,3}")


def _pack_layer(layer: dict[str, Any]) -> Any:
    type_ = layer["type"]
    inner = layer.get("layers")
    params = {k: v for k, v in layer.items() if k not in ("type", "layers")}
    code, layout = LAYOUT.get(type_, ("", ()))
    if not code or any(name not in dict(layout) for name in params):
        out = {"type": type_, **params}  # not in the frozen layout: spell it out
        if inner is not None:
            out["layers"] = [_pack_layer(l) for l in inner]
        return out
    values = [None if params.get(name) == default else params.get(name) for name, default in layout]
    while values and values[-1] is None:
        values.pop()
    if inner is not None:
        return [code, [_pack_layer(l) for l in inner], *values]
    return [code, *values] if values else code


def encode(arch: Architecture) -> str:
    """The share code of `arch`: deterministic, URL-safe, round-trips through `decode`."""
    obj = arch.to_dict()
    training = {(str(TRAINING_ORDER.index(k)) if k in TRAINING_ORDER else k): v
                for k, v in obj.get("training", {}).items()}
    payload: list[Any] = [obj["name"], [_pack_layer(l) for l in obj["layers"]], training,
                          obj["input"], obj["classes"]]
    defaults: list[Any] = [None, None, {}, _DEFAULT_INPUT, 10]
    while len(payload) > 2 and payload[-1] == defaults[len(payload) - 1]:
        payload.pop()
    try:
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        raise SpecError("name", "holds characters that cannot be encoded as UTF-8") from None
    packed = zlib.compress(raw, 9)  # starts with 0x78, never with "[" as raw JSON does
    data = packed if len(packed) < len(raw) else raw
    return PREFIX + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


# ---------------------------------------------------------------- decoding

def _bad(message: str) -> SpecError:
    return SpecError(WHERE, message)


def _unpack_layer(item: Any, path: str, depth: int = 0) -> Any:
    if depth > 16:
        raise _bad(f"damaged ({path}: residual blocks nested too deep)")
    if isinstance(item, dict):  # spelled out: check only the inner list here, from_dict does the rest
        out = dict(item)
        if isinstance(out.get("layers"), list):
            out["layers"] = [_unpack_layer(l, f"{path}.layers[{i}]", depth + 1)
                             for i, l in enumerate(out["layers"])]
        return out
    if isinstance(item, str):
        item = [item]
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise _bad(f"damaged ({path} is not a layer)")
    if item[0] not in BY_CODE:
        raise _bad(f"{path}: unknown layer code {item[0][:20]!r}")
    type_, layout = BY_CODE[item[0]]
    rest = item[1:]
    out = {"type": type_}
    if type_ == "residual":
        if not rest or not isinstance(rest[0], list):
            raise _bad(f"damaged ({path} has no inner layer list)")
        out["layers"] = [_unpack_layer(inner, f"{path}.layers[{i}]", depth + 1)
                         for i, inner in enumerate(rest[0])]
        rest = rest[1:]
    if len(rest) > len(layout):
        raise _bad(f"damaged ({path} has {len(rest)} values, {type_} takes at most {len(layout)})")
    for i, (name, default) in enumerate(layout):
        value = rest[i] if i < len(rest) and rest[i] is not None else default
        if value is not None:
            out[name] = value
    return out


def _payload_to_dict(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, list) or not 2 <= len(payload) <= 5:
        raise _bad("damaged (unexpected content)")
    name, layers, training, input_, classes = (payload + [{}, _DEFAULT_INPUT, 10][len(payload) - 2:])
    if not isinstance(layers, list):
        raise _bad("damaged (no layer list)")
    if not isinstance(training, dict):
        raise _bad("damaged (training is not an object)")
    train: dict[str, Any] = {}
    for key, value in training.items():
        if _INDEX.fullmatch(key):
            if int(key) >= len(TRAINING_ORDER):
                raise _bad(f"damaged (unknown training field {key!r})")
            key = TRAINING_ORDER[int(key)]
        train[key] = value
    return {"name": name, "input": input_, "classes": classes, "training": train,
            "layers": [_unpack_layer(l, f"layers[{i}]") for i, l in enumerate(layers)]}


def _bytes(code: str) -> bytes:
    if not isinstance(code, str):
        raise _bad(f"must be text starting with {PREFIX!r}")
    code = "".join(code.split())  # chat clients wrap long lines
    if not code.startswith(PREFIX):
        raise _bad(f"must start with {PREFIX!r}")
    body = code[len(PREFIX):]
    if not body:
        raise _bad("empty")
    if len(body) > MAX_CODE_CHARS:
        raise _bad(f"too long ({len(body):,} characters)")
    if not _ALPHABET.fullmatch(body):
        at, bad = next((i, ch) for i, ch in enumerate(body)
                       if not (ch.isascii() and (ch.isalnum() or ch in "-_")))
        raise _bad(f"unexpected character {bad!r} at position {len(PREFIX) + at + 1} "
                   "(codes use A-Z a-z 0-9 - _)")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise _bad("truncated or damaged (not valid base64)") from None


def _inflate(data: bytes) -> bytes:
    if data[:1] == b"[":
        return data
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_PAYLOAD_BYTES)
        if inflater.unconsumed_tail:
            raise _bad(f"too large once unpacked (over {MAX_PAYLOAD_BYTES:,} bytes)")
        out += inflater.flush()
    except zlib.error:
        raise _bad("truncated or damaged (cannot unpack it; was it copied whole?)") from None
    if not inflater.eof:
        raise _bad("truncated (was it copied whole?)")
    if inflater.unused_data:
        raise _bad("damaged (extra data after the end)")
    return out


def decode(code: str) -> Architecture:
    """The Architecture a share code stands for; SpecError('share code', ...) when it is bad."""
    raw = _inflate(_bytes(code))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("damaged (not UTF-8 inside)") from None
    payload = safe_loads(text, WHERE, names=PAYLOAD_FIELDS)
    obj = _payload_to_dict(payload)
    try:
        return Architecture.from_dict(obj)
    except SpecError as err:
        raise SpecError(WHERE, err.message) from None
    except RecursionError:
        raise _bad("damaged (nested too deeply)") from None


__all__ = ["PREFIX", "decode", "encode"]
