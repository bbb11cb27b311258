"""Write what a view exports (CSV, plain text) to a file, atomically.

A temp file in the target folder is written and renamed over the target, so a failed export
never leaves half a file; every failure is an `ExportError` naming the path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cnn_tui.errors import ExportError


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` to `path` (relative paths: the current folder); returns the absolute path."""
    target = Path(os.path.expanduser(str(path))).resolve()
    if target.is_dir():
        raise ExportError(f"{target}: is a folder; give a file name")
    folder = target.parent
    if not folder.is_dir():
        raise ExportError(f"{target}: folder {folder} does not exist")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise ExportError(f"{target}: cannot write ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return target
