"""Typed, range-checked parameters: one definition serves file validation, the CLI and UI forms.

A `Param` knows its type, its allowed range or choices, the values a form should offer first
(`suggested`), its default and a one-line help. `Param.check(value, path)` returns the
normalised value or raises `SpecError` naming the path: `layers[3].kernel_size: must be 1..11,
got 0`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from cnn_tui.errors import SpecError
from cnn_tui.spec.text import check_label

INT, FLOAT, CHOICE, BOOL = "int", "float", "choice", "bool"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    return type(value).__name__


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    hi_open: bool = False  # the upper bound is excluded (dropout rate < 1)
    lo_open: bool = False  # the lower bound is excluded (learning rate > 0)
    choices: tuple = ()
    suggested: tuple = ()
    optional: bool = False  # None is allowed (and is what "absent" means)
    help: str = ""
    unit: str = ""

    def range_text(self) -> str:
        if self.kind == CHOICE:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.kind == BOOL:
            return "true or false"
        lo = "" if self.lo is None else _fmt(self.lo)
        hi = "" if self.hi is None else _fmt(self.hi)
        if self.kind == FLOAT and (self.lo_open or self.hi_open):
            left = f"> {lo}" if self.lo_open else f">= {lo}"
            right = f"< {hi}" if self.hi_open else f"<= {hi}"
            if self.lo is None:
                return right
            if self.hi is None:
                return left
            return f"{left} and {right}"
        if self.hi is None:
            return f">= {lo}"
        return f"{lo}..{hi}"

    def check(self, value: Any, path: str) -> Any:
        """Validate and normalise `value`; raise SpecError(path, ...) when it is not allowed."""
        if value is None:
            if self.optional:
                return None
            raise SpecError(path, f"is required ({self.range_text()})")
        if self.kind == BOOL:
            if isinstance(value, bool):
                return value
            raise SpecError(path, f"must be true or false, got {_show(value)}")
        if self.kind == CHOICE:
            if isinstance(value, str):
                check_label(value, path)
            if isinstance(value, str) and value in self.choices:
                return value
            raise SpecError(path, f"must be {self.range_text()}, got {_show(value)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "an integer" if self.kind == INT else "a number"
            raise SpecError(path, f"must be {kind}, got {_show(value)}")
        original = value
        if self.kind == INT:
            if isinstance(value, float):
                if not value.is_integer():
                    raise SpecError(path, f"must be an integer, got {_show(value)}")
                value = int(value)
        else:
            try:
                value = float(value)
            except OverflowError:
                raise SpecError(path, "must be a finite number, got a number too large") from None
            if not math.isfinite(value):
                raise SpecError(path, f"must be a finite number, got {_show(value)}")
        bad = (
            (self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo))
            or (self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi))
        )
        if bad:
            raise SpecError(path, f"must be {self.range_text()}, got {_show(original)}")
        return value

    def parse_text(self, text: str, path: str) -> Any:
        """Parse what a user typed in a form field or on the command line."""
        text = text.strip()
        if text == "" or text.lower() in ("none", "null", "-"):
            return self.check(None, path)
        if self.kind == BOOL:
            low = text.lower()
            if low in ("true", "yes", "on", "1"):
                return True
            if low in ("false", "no", "off", "0"):
                return False
            raise SpecError(path, f"must be true or false, got {text!r}")
        if self.kind == CHOICE:
            return self.check(text, path)
        try:
            number: Any = int(text) if self.kind == INT else float(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                kind = "an integer" if self.kind == INT else "a number"
                raise SpecError(path, f"must be {kind}, got {text!r}") from None
        return self.check(number, path)


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}")


def unknown_field(path: str, key: object, allowed: tuple[str, ...]) -> SpecError:
    """The error for a field the format does not have: `layers[3].foo: unknown field (...)`
    for a plain name; an empty or odd key is quoted after the object's path, so it reads:
    `layers[3]: unknown field "" (...)`, `layers[3]: unknown field "a\\u001b"`."""
    known = ", ".join(allowed) or "none"
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key):
        return SpecError(f"{path}.{key}" if path else key, f"unknown field (allowed: {known})")
    shown = json.dumps(str(key)[:60])
    return SpecError(path, f"unknown field {shown} (allowed: {known})")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass(frozen=True)
class ParamSet:
    """An ordered set of Params, checked together against a JSON object."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    def __iter__(self):
        return iter(self.params)

    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def get(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def check_object(self, obj: dict, path: str, reserved: tuple[str, ...] = ()) -> dict[str, Any]:
        """Check every known field of `obj`, fill defaults, refuse unknown fields."""
        out: dict[str, Any] = {}
        for key in obj:
            if key in reserved:
                continue
            if not isinstance(key, str) or self.get(key) is None:
                raise unknown_field(path, key, self.names())
        for p in self.params:
            out[p.name] = p.check(obj.get(p.name, p.default), f"{path}.{p.name}")
        return out
