"""Hypothesis against everything users feed in: files, browser exports and share codes.

The property is always the same: the answer is an Architecture or a one-line SpecError, never
another exception; and every valid architecture round-trips exactly through a file and a code.
"""

from __future__ import annotations

import base64
import json
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnn_tui.errors import SpecError
from cnn_tui.spec.io import dumps, parse_json_text, read_file
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.params import BOOL, CHOICE, INT
from cnn_tui.spec.sharecode import PREFIX, decode, encode
from cnn_tui.spec.templates import TEMPLATES, get_template
from cnn_tui.spec.training import TRAINING_PARAMS

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _param_value(p):
    if p.kind == BOOL:
        s = st.booleans()
    elif p.kind == CHOICE:
        s = st.sampled_from(p.choices)
    elif p.kind == INT:
        lo = int(p.lo) if p.lo is not None else 0
        s = st.integers(lo, int(p.hi) if p.hi is not None else lo + 1000)
    else:
        s = st.floats(p.lo, p.hi, allow_nan=False, allow_infinity=False,
                      exclude_min=p.lo_open, exclude_max=p.hi_open)
    return st.one_of(st.none(), s) if p.optional else s


@st.composite
def layers(draw, depth=0):
    names = [n for n in LAYER_TYPES if depth < 2 or n != "residual"]
    type_ = draw(st.sampled_from(names))
    params = {p.name: draw(_param_value(p)) for p in LAYER_TYPES[type_].params
              if draw(st.booleans())}
    if type_ == "residual":
        params["layers"] = draw(st.lists(layers(depth + 1), max_size=3))
    return Layer.make(type_, **params)


# any text a label may hold: no surrogates, control characters, separators or bidi controls
names = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                              blacklist_characters="\u202a\u202b\u202c\u202d\u202e"
                                                   "\u2066\u2067\u2068\u2069"), max_size=40)
trainings = st.fixed_dictionaries({}, optional={p.name: _param_value(p) for p in TRAINING_PARAMS})
architectures = st.builds(
    Architecture, st.lists(layers(), max_size=8), names,
    st.tuples(st.integers(1, 16), st.integers(1, 1024), st.integers(1, 1024)),
    st.integers(2, 10000), trainings)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30)


def _answer(call, *args):
    """Run a reader: return the Architecture, or None for a proper one-line SpecError."""
    try:
        result = call(*args)
    except SpecError as err:
        assert "\n" not in str(err) and str(err)
        return None
    assert isinstance(result, Architecture)
    return result


# ---------------------------------------------------------------- valid inputs round-trip

@FAST
@given(architectures)
def test_valid_architectures_round_trip_through_text(arch):
    text = dumps(arch)
    again = parse_json_text(text, "gen")
    assert again == arch
    assert dumps(again) == text


@FAST
@given(architectures)
def test_valid_architectures_round_trip_through_share_codes(arch):
    code = encode(arch)
    assert code == encode(arch)
    assert all(c.isascii() and (c.isalnum() or c in "-_:") for c in code)
    assert decode(code) == arch


# ---------------------------------------------------------------- hostile inputs

@FAST
@given(json_values)
def test_random_json_values(value):
    _answer(parse_json_text, json.dumps(value), "fuzz")


@FAST
@given(st.sampled_from(list(TEMPLATES)), st.data())
def test_mutated_valid_files(name, data):
    obj = get_template(name).to_dict()
    for _ in range(data.draw(st.integers(1, 3))):
        container, key = obj, None
        # walk down to a random spot
        while True:
            keys = list(container) if isinstance(container, dict) else list(range(len(container)))
            if not keys:
                break
            key = data.draw(st.sampled_from(keys))
            child = container[key]
            if isinstance(child, (dict, list)) and child and data.draw(st.booleans()):
                container = child
                continue
            break
        if key is None:
            continue
        if data.draw(st.booleans()):
            del container[key]
        else:
            container[key] = data.draw(json_values)
    _answer(parse_json_text, json.dumps(obj), "mutant")


@FAST
@given(st.binary(max_size=300))
def test_random_bytes(blob):
    _answer(parse_json_text, blob, "blob")


@FAST
@given(st.text(max_size=200))
def test_random_text(text):
    _answer(parse_json_text, text, "text")


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["[", "{\"a\":", "[{\"layers\":"]), st.integers(1, 100_000))
def test_deep_nesting_of_any_depth(opener, depth):
    text = opener * depth + "1"
    _answer(parse_json_text, text, "deep")


@FAST
@given(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 50, "1e-400",
                        "0.1e1", "-0", "1E2"]),
       st.sampled_from(["filters", "kernel_size", "units", "rate", "learning_rate", "epochs"]))
def test_odd_numbers_in_any_field(number, field):
    obj = get_template("beginner").to_dict()
    if field in ("learning_rate", "epochs"):
        obj["training"][field] = "@"
    elif field == "rate":
        obj["layers"][9][field] = "@"
    else:
        obj["layers"][0 if field != "units" else 7][field] = "@"
    _answer(parse_json_text, json.dumps(obj).replace('"@"', number), "num")


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=200))
def test_random_files(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("fz") / "f.json"
    path.write_bytes(blob)
    _answer(read_file, path)


@FAST
@given(json_values)
def test_random_browser_exports(value):
    obj = {"layers": value if isinstance(value, list) else [value], "metadata": {"label": "x"},
           "trainingSettings": value if isinstance(value, dict) else {}}
    _answer(parse_json_text, json.dumps(obj), "export")


# ---------------------------------------------------------------- share codes

@FAST
@given(st.text(max_size=120))
def test_decode_random_strings(text):
    _answer(decode, text)
    _answer(decode, PREFIX + text)


@FAST
@given(st.binary(max_size=200), st.booleans())
def test_decode_random_payload_bytes(blob, compress):
    data = zlib.compress(blob) if compress else blob
    _answer(decode, PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("="))


@FAST
@given(json_values)
def test_decode_random_json_payloads(value):
    data = zlib.compress(json.dumps(value).encode())
    _answer(decode, PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("="))
    data = zlib.compress(json.dumps(["n", [value]]).encode())
    _answer(decode, PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("="))


@FAST
@given(st.sampled_from(list(TEMPLATES)), st.data())
def test_decode_damaged_template_codes(name, data):
    code = encode(get_template(name))
    pos = data.draw(st.integers(len(PREFIX), len(code) - 1))
    char = data.draw(st.sampled_from("ABCxyz019-_"))
    cut = data.draw(st.integers(len(PREFIX), len(code)))
    _answer(decode, code[:pos] + char + code[pos + 1:])
    _answer(decode, code[:cut])
