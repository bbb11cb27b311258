"""Architecture files: read them defensively, write them canonically and atomically.

Whatever a user points us at (a file from the browser builder, a hand-edited file, a binary, a
10^5-deep JSON array, a 4 GB log) ends as an `Architecture` or as one `SpecError` line that
starts with the file name and then the field path: `net.json: layers[3].kernel_size: must be
1..11, got 0`. Nothing else escapes. Writing goes through `cnn_tui.atomic` (a temporary file in the
same folder, fsync, rename), so a crash or a full disk never leaves a half-written architecture.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cnn_tui import atomic
from cnn_tui.errors import SpecError
from cnn_tui.spec.jsonread import safe_loads
from cnn_tui.spec.model import Architecture

MAX_FILE_BYTES = 1_000_000
def _decode_bytes(data: bytes, source: str) -> str:
    if b"\x00" in data[:8192]:
        raise SpecError(source, "binary data, not a JSON architecture file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(source, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                                f"{exc.start})") from None


def parse_json_text(text: str | bytes, source: str) -> Architecture:
    """Parse a native architecture or a browser-builder export; errors start with `source`."""
    from cnn_tui.spec.browser import from_browser, is_browser_export

    if len(text) > MAX_FILE_BYTES:
        raise SpecError(source, f"too large ({len(text):,} bytes; at most {MAX_FILE_BYTES:,})")
    if isinstance(text, (bytes, bytearray)):
        text = _decode_bytes(bytes(text), source)
    else:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SpecError(source, f"not valid Unicode text (character {exc.start})") from None
        text = text.removeprefix("\ufeff")
    obj = safe_loads(text, source)
    try:
        if is_browser_export(obj):
            return from_browser(obj)
        return Architecture.from_dict(obj)
    except SpecError as err:
        raise SpecError(source, err.message) from None
    except RecursionError:
        raise SpecError(source, "nested too deeply") from None


def _read_bytes(path: Path, shown: str) -> bytes:
    try:
        if str(path) == "-":
            return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if path.is_dir():
            raise SpecError(shown, "is a folder, not an architecture file")
        with open(path, "rb") as fh:
            return fh.read(MAX_FILE_BYTES + 1)  # never more, even from /dev/zero
    except FileNotFoundError:
        raise SpecError(shown, "no such file") from None
    except PermissionError:
        raise SpecError(shown, "cannot read (permission denied)") from None
    except IsADirectoryError:
        raise SpecError(shown, "is a folder, not an architecture file") from None
    except OSError as exc:
        raise SpecError(shown, f"cannot read ({exc.strerror or exc})") from None


def read_file(path: str | Path) -> Architecture:
    """Read an architecture file (native or browser export); `-` reads standard input."""
    shown = str(path)
    data = _read_bytes(Path(path), shown)
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(shown, f"too large (over {MAX_FILE_BYTES:,} bytes); not an architecture file")
    return parse_json_text(data, shown)


# ---------------------------------------------------------------- writing

def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _layer_lines(layers: list[dict], indent: str) -> list[str]:
    """One layer per line; a residual block opens its own indented list."""
    lines = []
    for i, layer in enumerate(layers):
        comma = "," if i < len(layers) - 1 else ""
        inner = layer.get("layers")
        if inner is None:
            lines.append(f"{indent}{_compact(layer)}{comma}")
            continue
        head = _compact({k: v for k, v in layer.items() if k != "layers"})[:-1]
        if not inner:
            lines.append(f'{indent}{head}, "layers": []}}{comma}')
            continue
        lines.append(f'{indent}{head}, "layers": [')
        lines.extend(_layer_lines(inner, indent + "  "))
        lines.append(f"{indent}]}}{comma}")
    return lines


def dumps(arch: Architecture) -> str:
    """The canonical text of `arch`: stable, diff-friendly, one layer per line, newline at end."""
    obj = arch.to_dict()
    lines = ["{"]
    keys = list(obj)
    for i, key in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        value = obj[key]
        if key == "layers" and value:
            lines.append('  "layers": [')
            lines.extend(_layer_lines(value, "    "))
            lines.append(f"  ]{comma}")
        elif key == "training" and len(_compact(value)) > 90:
            lines.append('  "training": {')
            items = list(value.items())
            for j, (k, v) in enumerate(items):
                lines.append(f"    {_compact(k)}: {_compact(v)}{',' if j < len(items) - 1 else ''}")
            lines.append(f"  }}{comma}")
        else:
            lines.append(f"  {_compact(key)}: {_compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_file(arch: Architecture, path: str | Path, *, overwrite: bool = True) -> None:
    """Write `arch` to `path` atomically (`cnn_tui.atomic`: temp file beside it, fsync, rename;
    a symlink is written through). Without `overwrite` an existing path is refused."""
    try:
        data = dumps(arch).encode("utf-8")
    except UnicodeEncodeError:
        raise SpecError(str(path), "the name holds characters that cannot be saved as UTF-8") from None
    atomic.write_bytes(path, data, overwrite=overwrite)


def load_source(text: str) -> Architecture:
    """What a user typed: a file path, a share code (`cnn1:...`) or `template:NAME`."""
    from cnn_tui.spec import sharecode, templates

    word = str(text).strip()
    if word.startswith(sharecode.PREFIX):
        return sharecode.decode(word)
    if word.lower().startswith("template:"):
        return templates.get_template(word.split(":", 1)[1])
    if word and "/" not in word and "." not in word and word != "-" and not Path(text).exists():
        # a bare word: more likely a mistyped share code or template than a file name
        raise SpecError(word[:60], f"no such file, nor a share code (those start with "
                                   f"{sharecode.PREFIX!r}) or template:NAME")
    return read_file(text)


__all__ = ["MAX_FILE_BYTES", "dumps", "load_source", "parse_json_text", "read_file", "write_file"]
