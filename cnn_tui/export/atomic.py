"""Atomic file writes for every export, through the one helper `cnn_tui.atomic`.

The same functions with `ExportError` as their error; plus `check_bare_name` for the file names
users give exports. Folder exports (TensorBoard logs, a TF.js model) are written the same way
into a temporary folder beside the target (`atomic_folder`); an existing folder that is not
empty is kept unless `force`, and even then only replaced when it holds nothing but what the
format itself writes (a previous export), so `--force` can never delete a user's other files.
Stdlib only.
"""

from __future__ import annotations

import functools
import os

from cnn_tui import atomic
from cnn_tui.errors import ExportError

_SEPARATORS = tuple(s for s in (os.sep, os.altsep, "/", "\\") if s)

atomic_path = functools.partial(atomic.atomic_path, error=ExportError)
write_bytes = functools.partial(atomic.write_bytes, error=ExportError)
write_text = functools.partial(atomic.write_text, error=ExportError)
check_overwrite = functools.partial(atomic.check_overwrite, error=ExportError)
check_folder_target = functools.partial(atomic.check_folder_target, error=ExportError)
atomic_folder = functools.partial(atomic.atomic_folder, error=ExportError)


def write_with(path, writer, what: str = "export", *, overwrite: bool = True):
    return atomic.write_with(path, writer, what, overwrite=overwrite, error=ExportError)


def check_bare_name(name: str, what: str = "file name") -> str:
    """`name` if it is a plain file name (no folders, not `.`/`..`, no NUL); else ExportError."""
    if not name or not name.strip():
        raise ExportError(f"{what} is empty")
    if any(sep in name for sep in _SEPARATORS):
        raise ExportError(f"{what} {name!r:.80} must be a bare name without path separators")
    if name in (".", "..") or "\x00" in name:
        raise ExportError(f"{what} {name!r:.80} is not a usable file name")
    return name
