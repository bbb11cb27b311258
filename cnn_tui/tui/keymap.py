"""User settings from config.toml: key rebinding (`[keys]`) and the starting theme.

    theme = "cnn-light"          # optional; `--theme` wins, NO_COLOR picks cnn-mono
    [keys]                       # binding id = "key" or "key1,key2"
    "app.build" = "f2"
    "app.save" = "ctrl+s,ctrl+w"

Every binding the app or a screen declares with an `id` can be rebound; Textual applies the
keymap (`App.set_keymap`) wherever that binding lives. A broken file never stops the app: the
problems come back as lines for a notification and the defaults stay.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Iterable

MAX_CONFIG_BYTES = 256_000
_KEY = re.compile(r"^[A-Za-z0-9_+\-]+$|^[^\s,]$")  # "ctrl+s", "f1", "question_mark", "?"


def read_config(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The parsed config file ({} when absent) and the problems found reading it."""
    shown = str(path)
    try:
        raw = path.read_bytes()[: MAX_CONFIG_BYTES + 1]
    except FileNotFoundError:
        return {}, []
    except OSError as exc:
        return {}, [f"{shown}: cannot read ({exc.strerror or exc}); using defaults"]
    if len(raw) > MAX_CONFIG_BYTES:
        return {}, [f"{shown}: too large for a config file; using defaults"]
    try:
        return tomllib.loads(raw.decode("utf-8")), []
    except UnicodeDecodeError:
        return {}, [f"{shown}: not UTF-8 text; using defaults"]
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"{shown}: not valid TOML ({exc}); using defaults"]


def parse_keys(table: Any, shown: str, known_ids: Iterable[str] = (),
               lazy_prefixes: Iterable[str] = ()) -> tuple[dict[str, str], list[str]]:
    """`[keys]` -> a Textual keymap; bad entries are skipped with a message each.

    An id not in `known_ids` is refused (a typo), unless it starts with one of
    `lazy_prefixes` ("train."): screens loaded on first visit cannot be checked at start.
    """
    if table is None:
        return {}, []
    if not isinstance(table, dict):
        return {}, [f"{shown}: keys: must be a table of id = \"key,key\"; using default keys"]
    known = set(known_ids)
    lazy = tuple(lazy_prefixes)
    keymap: dict[str, str] = {}
    errors: list[str] = []
    for binding_id, value in table.items():
        where = f"{shown}: keys.{binding_id}"
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{where}: must be a string like \"ctrl+s\" or \"f2,ctrl+b\"")
            continue
        keys = [k.strip() for k in value.split(",")]
        bad = next((k for k in keys if not _KEY.match(k)), None)
        if bad is not None:
            errors.append(f"{where}: {bad!r} is not a key name (e.g. ctrl+s, f2, j)")
            continue
        if known and binding_id not in known and not binding_id.startswith(lazy):
            errors.append(f"{where}: no binding has this id (known: {', '.join(sorted(known))})")
            continue
        keymap[binding_id] = ",".join(keys)
    return keymap, errors


def binding_ids(*classes: type) -> list[str]:
    """Every binding id declared in the BINDINGS of `classes` and their bases."""
    ids: list[str] = []
    for cls in classes:
        for klass in cls.__mro__:
            for binding in vars(klass).get("BINDINGS", ()):
                binding_id = getattr(binding, "id", None)
                if binding_id and binding_id not in ids:
                    ids.append(binding_id)
    return ids


def key_conflicts(keymap: dict[str, str], *classes: type) -> list[str]:
    """Rebound keys that another binding of `classes` also uses (after the keymap applies).

    Textual only notices clashes inside one widget's bindings; an app key rebound onto a key
    a screen uses would silently lose on that screen, so the user is told here.
    """
    from textual.binding import Binding

    bindings: list[Binding] = []
    for cls in classes:
        for klass in cls.__mro__:
            for item in vars(klass).get("BINDINGS", ()):
                binding = item if isinstance(item, Binding) else Binding(*item)
                bindings.extend(Binding.make_bindings([binding]))
    effective: dict[str, set[str]] = {}
    for binding in bindings:
        keys = keymap[binding.id].split(",") if binding.id in keymap else [binding.key]
        for key in keys:
            effective.setdefault(key, set()).add(binding.id or binding.action)
    problems = []
    for binding_id, value in keymap.items():
        for key in value.split(","):
            others = sorted(effective.get(key, set()) - {binding_id})
            if others:
                problems.append(f"keys.{binding_id}: {key!r} is also {', '.join(others)}; "
                                "where both apply, the screen's own key wins")
    return problems
