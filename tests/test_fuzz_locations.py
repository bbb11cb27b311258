"""Every refusal of a malformed architecture file or share code says WHERE (issue 13.7).

Hypothesis builds malformed input aimed at the JSON level (NaN, Infinity, numbers out of range
or too long, lone surrogates, duplicate and empty keys, deep nesting, control characters) as
well as random damage, and checks each answer: an Architecture, or one SpecError line that names
a location (a field path, a line and column, a byte offset or a character position) or is about
the input as a whole (empty, binary, too large, not a share code at all).

Run as a script for an attack rerun with counts:
    PYTHONPATH=. python tests/test_fuzz_locations.py 1500
"""

from __future__ import annotations

import base64
import json
import re
import sys
import zlib
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnn_tui.errors import SpecError
from cnn_tui.spec.io import dumps, parse_json_text
from cnn_tui.spec.model import Architecture
from cnn_tui.spec.sharecode import PREFIX, decode, encode
from cnn_tui.spec.templates import TEMPLATES, get_template

SOURCE = "net.json"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
COUNTS: Counter = Counter()

# A field path at the start (`layers[3].kernel_size: `, `name: `, `layers[3][""]: `), a quoted
# key, a line/column, a byte offset or a character position.
_STEP = r'\[(?:\d+|"(?:[^"\\]|\\.)*")\]'
_PATH = rf'(?:[A-Za-z_]\w*|{_STEP})(?:{_STEP}|\.[A-Za-z_]\w*)*'
_LOCATED = re.compile(
    rf"^{_PATH}: "
    r"|^unknown field \"|line \d+ column \d+|at offset \d+|at position \d+|\(character \d+\)"
    rf"|^damaged \({_PATH}[ :]"
    rf"|^damaged \(unknown training field")
# About the input as a whole, where no place inside it is wrong.
_WHOLE = re.compile(
    r"^(empty file, expected a JSON object|binary data, not a JSON architecture file"
    r"|too large|an architecture must be a JSON object|a browser-builder export must be"
    r"|must start with|must be text starting with|empty$|truncated|damaged \(not UTF-8 inside\)"
    r"|damaged \(unexpected content\)|damaged \(no layer list\)|damaged \(training is not an"
    r"|damaged \(extra data|too long)")


def located(message: str, source: str) -> bool:
    assert message.startswith(f"{source}: "), message
    rest = message[len(source) + 2:]
    return bool(_LOCATED.search(rest) or _WHOLE.match(rest))


def check(call, arg, source: str, kind: str) -> None:
    """One attack: an Architecture or a located one-line SpecError; anything else fails."""
    COUNTS[kind] += 1
    try:
        result = call(arg) if source == "share code" else call(arg, source)
    except SpecError as err:
        message = str(err)
        assert "\n" not in message and message
        if not located(message, source):
            COUNTS[f"{kind} unlocated"] += 1
            raise AssertionError(f"no location in: {message}") from None
        COUNTS[f"{kind} refused"] += 1
        return
    except Exception as exc:  # a traceback for the user
        COUNTS[f"{kind} traceback"] += 1
        raise AssertionError(f"{type(exc).__name__} escaped: {exc}") from exc
    assert isinstance(result, Architecture)
    COUNTS[f"{kind} read"] += 1


# ---------------------------------------------------------------- what is thrown at the readers

HOSTILE_TOKENS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1" * 31, "-" + "9" * 60,
                  "1" * 5000, '"\\ud800"', '"a\\udfffb"', '"\\u001b]0;x\\u0007"', '"\\u202e"',
                  "[" * 150 + "1" + "]" * 150, '{"a":' * 120 + "1" + "}" * 120, '""', "1e-400",
                  "-0", "true", "null", '"valid"', "[]", "{}"]
_VALUE = re.compile(r'-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|"[^"\\]*"|true|false|null')
texts = st.sampled_from(sorted(TEMPLATES)).map(lambda n: dumps(get_template(n)))


@st.composite
def damaged_texts(draw) -> str:
    """A template's file text with values swapped for hostile tokens, keys doubled or emptied,
    or random cuts: damage at the JSON level that a decoder's hooks see without a position."""
    text = draw(texts)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["value", "value", "key", "empty key", "cut", "insert"]))
        spots = list(_VALUE.finditer(text))
        if how == "value" and spots:
            m = spots[draw(st.integers(0, len(spots) - 1))]
            text = text[:m.start()] + draw(st.sampled_from(HOSTILE_TOKENS)) + text[m.end():]
        elif how in ("key", "empty key"):
            keys = list(re.finditer(r'"(\w+)": ([^,{}\[\]]+)', text))
            if keys:
                m = keys[draw(st.integers(0, len(keys) - 1))]
                extra = f'"{m.group(1)}": {m.group(2)}' if how == "key" else '"": 1'
                text = text[:m.end()] + ", " + extra + text[m.end():]
        elif how == "cut":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + text[at + draw(st.integers(0, 5)):]
        else:
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from(HOSTILE_TOKENS + [",", ":", "}", "]"])) + text[at:]
    return text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**40, 10**40)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@st.composite
def damaged_objects(draw) -> str:
    """A template's object with a random spot replaced: JSON that json.dumps writes with NaN,
    Infinity and out-of-range integers in any field."""
    obj = get_template(draw(st.sampled_from(sorted(TEMPLATES)))).to_dict()
    if draw(st.booleans()):  # as a browser export
        obj = {"layers": [{"type": "Dense", "units": 10}], "metadata": {"label": "x"},
               "trainingSettings": {"epochs": 3, "batchSize": 32}}
    container = obj
    while True:
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        key = draw(st.sampled_from(keys))
        child = container[key]
        if isinstance(child, (dict, list)) and child and draw(st.booleans()):
            container = child
            continue
        break
    container[key] = draw(json_values)
    return json.dumps(obj)


files = st.one_of(damaged_texts(), damaged_objects(), st.binary(max_size=200),
                  st.text(max_size=200))


def _code_of(payload_text: str, compress: bool = True) -> str:
    data = payload_text.encode("utf-8", "surrogatepass")
    data = zlib.compress(data) if compress else data
    return PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("=")


@st.composite
def damaged_codes(draw) -> str:
    how = draw(st.sampled_from(["payload", "payload", "template", "random"]))
    if how == "payload":  # a well-formed code around a hostile JSON payload
        name = draw(st.sampled_from(['"n"', '"a\\u001bb"', '"\\ud800"', "NaN", "1e400", '""']))
        layer = draw(st.sampled_from(['"r"', '["c", 1e400]', '["c", NaN]', '["d", ' + "9" * 40 + "]",
                                      '["m", 2, 2, "same\\u001b"]', '{"type": "relu", "": 1}',
                                      '{"type": "relu", "type": "relu"}', '["R", ' * 30 + "[]" + "]" * 30,
                                      "[" * 150 + "]" * 150]))
        training = draw(st.sampled_from(["{}", '{"1": Infinity}', '{"0": "adam\\u0000"}',
                                         '{"1": 0.1, "1": 0.2}', '{"99": 1}', '{"x": 1}']))
        return _code_of(f"[{name}, [{layer}], {training}]", draw(st.booleans()))
    if how == "template":
        code = encode(get_template(draw(st.sampled_from(sorted(TEMPLATES)))))
        at = draw(st.integers(len(PREFIX), len(code) - 1))
        return code[:at] + draw(st.sampled_from("ABCxyz019-_$ é")) + code[at + 1:]
    return PREFIX + draw(st.text(max_size=80))


# ---------------------------------------------------------------- the tests

@FAST
@given(damaged_texts())
def test_json_level_damage_in_files_is_located(text):
    check(parse_json_text, text, SOURCE, "file")


@FAST
@given(files)
def test_any_damaged_file_is_located(data):
    check(parse_json_text, data, SOURCE, "file")


@FAST
@given(damaged_codes())
def test_any_damaged_share_code_is_located(code):
    check(decode, code, "share code", "code")


def test_the_kinds_issue_13_named():
    """The messages that named no place before: each now has its field path or line/column."""
    cases = {
        '{"name": "x", "layers": [{"type": "conv2d", "filters": 1e400}]}':
            "layers[0].filters: number 1e400 is out of range",
        '{"name": NaN, "layers": []}': "name: NaN is not allowed (numbers must be finite)",
        '{"layers": [], "classes": Infinity}': "classes: Infinity is not allowed",
        '{"layers": [], "classes": ' + "1" * 40 + "}": "classes: number 1111111111",
        '{"layers": [{"type": "dropout", "rate": 0.1, "rate": 0.2}]}':
            "layers[0].rate: given twice in one object",
        '{"name": "\\ud800", "layers": []}': "name: a string holds a lone UTF-16 surrogate",
        '{"layers": [{"type": "relu", "\\udc00": 1}]}':
            'layers[0]: key "\\udc00" holds a lone UTF-16 surrogate',
        '{"layers": [{"type": "relu", "": 1}]}': 'layers[0]: unknown field "" (allowed: none)',
        "[" * 5000 + "]" * 5000: "invalid JSON at line 1 column 101: nested too deeply",
    }
    for text, want in cases.items():
        try:
            parse_json_text(text, SOURCE)
        except SpecError as err:
            assert str(err).startswith(f"{SOURCE}: {want}"), str(err)
        else:
            raise AssertionError(f"accepted: {text[:60]}")
    code = _code_of('["n", [["c", 1e400]]]')
    try:
        decode(code)
    except SpecError as err:
        assert str(err) == "share code: layers[0][1]: number 1e400 is out of range"


def main(examples: int) -> int:
    """An attack rerun: `examples` of each kind; prints the counts (for the issue's note)."""
    tweak = settings(max_examples=examples, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))
    runs = [(given(files)(lambda d: check(parse_json_text, d, SOURCE, "file"))),
            (given(damaged_texts())(lambda d: check(parse_json_text, d, SOURCE, "file"))),
            (given(damaged_codes())(lambda c: check(decode, c, "share code", "code")))]
    failed = 0
    for run in runs:
        try:
            tweak(run)()
        except AssertionError as exc:  # hypothesis re-raises the first failure
            failed += 1
            print(f"FAILED: {exc}", file=sys.stderr)
    print(f"architecture files: {COUNTS['file']} fuzzed, {COUNTS['file read']} read, "
          f"{COUNTS['file refused']} refused with a location, "
          f"{COUNTS['file unlocated']} without a location, {COUNTS['file traceback']} tracebacks")
    print(f"share codes: {COUNTS['code']} fuzzed, {COUNTS['code read']} read, "
          f"{COUNTS['code refused']} refused with a location, "
          f"{COUNTS['code unlocated']} without a location, {COUNTS['code traceback']} tracebacks")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
