"""Untrusted text: refuse control characters in labels, show anything untrusted harmlessly.

A name comes from a file, a pasted share code, a command line or an old run store, and is later
printed on a terminal, drawn by the app, written into generated code and Markdown. A terminal
obeys what it is sent: `ESC ] 0 ; ... BEL` retitles the window, `ESC [ 2 J` clears it, OSC 52
writes the clipboard; CR and bidirectional overrides make text read differently from what it is.

- `check_label(value, where)` is the one check for every label users give (architecture names
  and every string field of the file format and share codes, run names, tags): it refuses C0
  and C1 control characters (NUL, TAB, CR, LF, ESC, DEL, U+0080-U+009F), line and paragraph
  separators and the bidirectional embeddings, overrides and isolates, naming the field path:
  `name: control character U+001B not allowed`.
- `printable(text)` shows those characters as visible escapes (`\\x1b`, `\\u202e`), for what
  was never checked (paths, old stores, error messages echoing input).
- `markup_safe(text)` is `printable` with Rich/Textual markup escaped, for f-strings that mix
  untrusted text into markup (`[b]{name}[/b]`).
- `markdown_safe(text)` and `docstring_safe(text)` for generated Markdown and Python.

Stdlib only.
"""

from __future__ import annotations

import re

from cnn_tui.errors import SpecError

_BIDI = "\u202a-\u202e\u2066-\u2069"
_SEPARATORS = "\u2028\u2029"
# C0 (TAB, CR, LF, ESC and NUL included), DEL, C1, line/paragraph separators, bidi controls.
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_SEPARATORS}{_BIDI}]")
_MARKDOWN = re.compile(r"([\\`*_\[\]<>&|~])")


def _what(char: str) -> str:
    code = ord(char)
    if char in _SEPARATORS:
        return f"line separator U+{code:04X}"
    if code >= 0x2000:
        return f"bidirectional control U+{code:04X}"
    return f"control character U+{code:04X}"


def unsafe_char(text: str) -> str | None:
    """The first character of `text` that `check_label` refuses, or None."""
    match = _UNSAFE.search(text)
    return match.group() if match else None


def check_label(value: str, where: str) -> str:
    """`value` if it holds no control character; else SpecError naming `where` (a field path
    such as `name`, `layers[2].padding`, `run name`)."""
    if not isinstance(value, str):
        raise SpecError(where, "must be a string")
    bad = unsafe_char(value)
    if bad is not None:
        raise SpecError(where, f"{_what(bad)} not allowed")
    return value


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """`text` with every control character shown as a visible escape (ESC -> `\\x1b`)."""
    return _UNSAFE.sub(_escape, str(text))


def markup_safe(text: object) -> str:
    """`printable(text)` that Textual's markup shows as written (`[b]` stays `[b]`), to put
    untrusted text into markup: `f"[b]{markup_safe(name)}[/b]"`. Textual reads a backslash as
    an escape only right before `[`, so each `[` gets one; a backslash at the end gets a zero-width
    space after it, so it cannot escape the tag that follows."""
    out = printable(text).replace("[", "\\[")
    return out + "\u200b" if out.endswith("\\") else out


def markdown_safe(text: object) -> str:
    """One line of Markdown that renders as written: control characters escaped, and the
    characters Markdown or HTML give meaning (`* _ [ ] < > & | ~` and backquotes) escaped."""
    return _MARKDOWN.sub(r"\\\1", " ".join(printable(text).split()))


def docstring_safe(text: object, default: str = "") -> str:
    """One line for a generated Python docstring: no double quote (which could end it), no
    backslash but those of the visible escapes, which are doubled so they stay visible."""
    line = printable(str(text).replace("\\", "/")).replace("\\", "\\\\").replace('"', "'")
    return " ".join(line.split()) or default


__all__ = ["check_label", "docstring_safe", "markdown_safe", "markup_safe", "printable",
           "unsafe_char"]
