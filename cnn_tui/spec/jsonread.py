"""JSON from users, read defensively: every refusal says where, as a field path or line/column.

`safe_loads(text, source)` is `json.loads` that refuses NaN and Infinity, numbers out of range or
with more than `MAX_INT_DIGITS` digits, a key given twice in one object, lone UTF-16 surrogates
(from `\\ud800` escapes) and nesting deeper than `MAX_NESTING`, and names the place:

    net.json: layers[0].filters: number 1e400 is out of range
    net.json: training.epochs: given twice in one object
    net.json: invalid JSON at line 3 column 12: Expecting ',' delimiter
    net.json: invalid JSON at line 1 column 9001: nested too deeply (over 100 levels)

The decoder's hooks cannot see where they are, so they leave a marker in the value's place and
the decoded tree is walked once for markers, which gives each one its exact field path; nesting
is measured before decoding, so no RecursionError can happen. Stdlib only.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from cnn_tui.errors import SpecError

MAX_INT_DIGITS = 30  # no field needs more; bounds float() and int() work downstream
MAX_NESTING = 100  # a native file needs about 20 (residual blocks nest at most 8 deep)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}")


class _Bad:
    """Left by a decoder hook where a refused value was; found by the walk with its path."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def join(path: str, key: object) -> str:
    """`path` + one step: `layers[3]`, `layers[3].filters`, `layers[3][""]` for an odd key."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_KEY.fullmatch(str(key)):
        return f"{path}.{key}" if path else str(key)
    return f"{path}[{json.dumps(str(key)[:60])}]"


def line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _too_deep(text: str) -> int | None:
    """The offset of the bracket that opens level MAX_NESTING + 1, if any (strings skipped)."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return None
    depth = 0
    for match in _STRUCTURE.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return match.start()
        elif char in "]}":
            depth -= 1
    return None


def _first_bad(obj: Any, names: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """(path, reason) of the first refused value in document order, or None. `names` names the
    items of a top-level list (a share code's payload: name, layers, training, ...)."""
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _Bad):
            return path, item.reason
        if isinstance(item, str):
            if not _encodable(item):
                return path, "a string holds a lone UTF-16 surrogate"
        elif isinstance(item, dict):
            for key in item:
                if not _encodable(key):
                    return path, f"key {json.dumps(key[:40])} holds a lone UTF-16 surrogate"
            stack.extend(reversed([(join(path, k), v) for k, v in item.items()]))
        elif isinstance(item, list):
            steps = [(names[i] if not path and i < len(names) else join(path, i), v)
                     for i, v in enumerate(item)]
            stack.extend(reversed(steps))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_value_offset(text: str) -> int:
    return len(text) - len(text.lstrip())


def safe_loads(text: str, source: str, names: tuple[str, ...] = ()) -> Any:
    """The value of the JSON `text`, or a SpecError naming `source` and the place."""
    found: list[int] = []

    def constant(name: str) -> Any:
        found.append(1)
        return _Bad(f"{name} is not allowed (numbers must be finite)")

    def finite_float(token: str) -> Any:
        value = float(token)
        if math.isfinite(value):
            return value
        found.append(1)
        return _Bad(f"number {token[:30]} is out of range")

    def bounded_int(token: str) -> Any:
        if len(token.lstrip("-")) <= MAX_INT_DIGITS:
            return int(token)
        found.append(1)
        return _Bad(f"number {token[:20]}... is too large (more than {MAX_INT_DIGITS} digits)")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # A repeated key means two values for one field; JSON readers disagree on which wins,
        # so we refuse rather than guess.
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out and not isinstance(out[key], _Bad):
                found.append(1)
                out[key] = _Bad("given twice in one object")
            elif key not in out:
                out[key] = value
        return out

    deep = _too_deep(text)
    if deep is not None:
        line, column = line_column(text, deep)
        raise SpecError(source, f"invalid JSON at line {line} column {column}: nested too deeply "
                                f"(over {MAX_NESTING} levels)")
    try:
        obj = json.loads(text, parse_constant=constant, parse_float=finite_float,
                         parse_int=bounded_int, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        if not text.strip():
            raise SpecError(source, "empty file, expected a JSON object") from None
        raise SpecError(source, f"invalid JSON at line {exc.lineno} column {exc.colno}: "
                                f"{exc.msg}") from None
    except (RecursionError, ValueError) as exc:  # not expected after the checks above
        line, column = line_column(text, _first_value_offset(text))
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
        raise SpecError(source, f"invalid JSON at line {line} column {column}: {why}") from None
    if found or _SURROGATE_ESCAPE.search(text):
        bad = _first_bad(obj, names)
        if bad is not None:
            path, reason = bad
            if not path:
                line, column = line_column(text, _first_value_offset(text))
                path = f"invalid JSON at line {line} column {column}"
            raise SpecError(source, f"{path}: {reason}")
    return obj


__all__ = ["MAX_INT_DIGITS", "MAX_NESTING", "join", "line_column", "safe_loads"]
