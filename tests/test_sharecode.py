"""Share codes: exact round trips, short and URL-safe, and every bad paste a one-line SpecError."""

from __future__ import annotations

import base64
import json
import re
import zlib

import pytest

from cnn_tui.errors import SpecError
from cnn_tui.spec import sharecode
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.sharecode import LAYOUT, PREFIX, TRAINING_ORDER, decode, encode
from cnn_tui.spec.templates import TEMPLATES, get_template
from cnn_tui.spec.training import TRAINING_PARAMS

URL_SAFE = re.compile(r"cnn1:[A-Za-z0-9_-]+")


def _code_of(payload, compress=True) -> str:
    raw = json.dumps(payload).encode()
    data = zlib.compress(raw) if compress else raw
    return PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("=")


def _bad(code) -> str:
    with pytest.raises(SpecError) as info:
        decode(code)
    message = str(info.value)
    assert message.startswith("share code: ") and "\n" not in message
    return message[len("share code: "):]


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_templates_round_trip_and_are_short(name):
    arch = get_template(name)
    code = encode(arch)
    assert URL_SAFE.fullmatch(code)
    assert encode(arch) == code  # deterministic
    assert decode(code) == arch
    assert len(code) < 260


def test_name_training_input_and_classes_travel():
    arch = Architecture([Layer.make("conv2d", filters=4, activation="gelu", lr_mult=0.5),
                         Layer.make("flatten"), Layer.make("dense", units=100)],
                        name="Ünïcode 🙂 name", input=(3, 32, 32), classes=100,
                        training={"optimizer": "sgd", "nesterov": True, "early_stopping": None,
                                  "device": "cpu", "seed": 7})
    again = decode(encode(arch))
    assert again == arch
    assert again.training["early_stopping"] is None and "early_stopping" in again.training


def test_whitespace_from_chat_wrapping_is_ignored():
    code = encode(get_template("advanced"))
    wrapped = "  " + "\n".join(code[i:i + 40] for i in range(0, len(code), 40)) + " \n"
    assert decode(wrapped) == get_template("advanced")


def test_small_payloads_may_travel_uncompressed():
    arch = Architecture([], name="e")
    code = encode(arch)
    body = base64.urlsafe_b64decode(code[5:] + "=" * (-len(code[5:]) % 4))
    assert body.startswith(b"[")  # shorter than its zlib form
    assert decode(code) == arch


def test_codes_do_not_depend_on_registry_defaults(monkeypatch):
    """A later default change in the registry must not change what an old code means."""
    code = encode(get_template("beginner"))
    from dataclasses import replace

    conv = LAYER_TYPES["conv2d"]
    params = tuple(replace(p, default=5) if p.name == "kernel_size" else p for p in conv.params)
    monkeypatch.setitem(LAYER_TYPES, "conv2d", replace(conv, params=replace(conv.params, params=params)))
    assert all(l.params["kernel_size"] == 3 for l in decode(code).layers if l.type == "conv2d")


def test_frozen_layout_covers_the_registry():
    for name, spec in LAYER_TYPES.items():
        if name in LAYOUT:
            assert [p for p, _ in LAYOUT[name][1]] == [p.name for p in spec.params][:len(LAYOUT[name][1])]
    assert TRAINING_ORDER == TRAINING_PARAMS.names()[:len(TRAINING_ORDER)]
    codes = [code for code, _ in LAYOUT.values()]
    assert len(codes) == len(set(codes))


def test_unknown_layer_types_and_params_still_travel(monkeypatch):
    """Types or params added after cnn1 was frozen are spelled out, so encoding never loses them."""
    monkeypatch.delitem(sharecode.LAYOUT, "gelu")
    monkeypatch.setattr(sharecode, "TRAINING_ORDER", sharecode.TRAINING_ORDER[:3])
    arch = Architecture([Layer.make("gelu"), Layer.make("residual", layers=[Layer.make("gelu")])],
                        training={"epochs": 3, "seed": 9})
    assert decode(encode(arch)) == arch


@pytest.mark.parametrize("code,expected", [
    ("", "must start with 'cnn1:'"),
    ("https://example.com", "must start with 'cnn1:'"),
    ("cnn1:", "empty"),
    ("cnn1:abc$def", "unexpected character '$'"),
    ("cnn1:é", "unexpected character 'é'"),
    ("cnn1:A", "truncated or damaged (not valid base64)"),
    ("cnn1:AAAA", "truncated or damaged (cannot unpack it; was it copied whole?)"),
])
def test_bad_pastes(code, expected):
    assert _bad(code).startswith(expected)


def test_not_text():
    assert _bad(None).startswith("must be text")


def test_truncated_and_typo_codes():
    code = encode(get_template("intermediate"))
    assert "truncated" in _bad(code[:-4]) or "damaged" in _bad(code[:-4])
    mid = len(code) // 2
    typo = code[:mid] + ("A" if code[mid] != "A" else "B") + code[mid + 1:]
    _bad(typo)  # zlib's checksum (or the inflater) refuses it


def test_zip_bomb_is_bounded():
    bomb = zlib.compress(b"[" + b" " * 50_000_000 + b"]", 9)
    code = PREFIX + base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    assert len(code) < 200_000
    assert _bad(code).startswith("too large once unpacked")


def test_trailing_garbage_after_the_stream():
    data = zlib.compress(b'["x",[]]') + b"junk"
    code = PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert _bad(code).startswith("damaged (extra data")


@pytest.mark.parametrize("payload,expected", [
    ({"a": 1}, "damaged (unexpected content)"),
    (["x"], "damaged (unexpected content)"),
    (["x", "r"], "damaged (no layer list)"),
    (["x", [], []], "damaged (training is not an object)"),
    (["x", [], {"99": 1}], "damaged (unknown training field '99')"),
    (["x", [3]], "damaged (layers[0] is not a layer)"),
    (["x", ["Q"]], "layers[0]: unknown layer code 'Q'"),
    (["x", [["c", 1, 2, 3, "valid", None, None, 9]]], "damaged (layers[0] has 7 values"),
    (["x", [["R"]]], "damaged (layers[0] has no inner layer list)"),
    (["x", [["c", 0]]], "layers[0].filters: must be 1..1024, got 0"),
    (["x", [["c", 8, None, None, "full"]]], "layers[0].padding: must be one of valid, same"),
    (["x", [], {"1": -1}], "training.learning_rate: must be > 0"),
    (["x", [], {"bogus": 1}], "training.bogus: unknown field"),
    ([7, []], "name: must be a string"),
    (["x", [], {}, [1, 28], 10], "input: must be [channels, height, width]"),
    (["x", [], {}, [1, 28, 28], 1], "classes: must be an integer 2..10000"),
])
def test_damaged_payloads(payload, expected):
    for compress in (True, False) if isinstance(payload, list) else (True,):
        assert _bad(_code_of(payload, compress)).startswith(expected)


def test_deeply_nested_payloads():
    nested = "r"
    for _ in range(40):
        nested = ["R", [nested]]
    assert _bad(_code_of(["x", [nested]])).startswith("damaged (layers[0].layers[0].layers[0]")
    assert _bad(_code_of(["x", [nested]])).endswith("]: residual blocks nested too deep)")
    deep = "[" * 100_000 + "]" * 100_000
    code = PREFIX + base64.urlsafe_b64encode(zlib.compress(deep.encode())).decode().rstrip("=")
    assert _bad(code) == "invalid JSON at line 1 column 101: nested too deeply (over 100 levels)"


def test_nan_inside_a_code_is_refused():
    raw = b'["x",[],{"1":NaN}]'
    code = PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert "NaN is not allowed" in _bad(code)
