"""Autosave of the working architecture, so no edit is lost to a crash or a dropped ssh link.

After every change the app schedules a write (debounced: one write per quiet `delay`), atomic
through `spec.io.write_file`, to `<state_dir>/autosave.json`: a normal architecture file a
user could also open by hand. It is removed when the work is safe elsewhere (saved, or the user
chose to discard it), and offered back at the next start when it differs from what was opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from cnn_tui import atomic, locations
from cnn_tui.errors import CnnTuiError
from cnn_tui.spec import io as spec_io
from cnn_tui.spec.model import Architecture

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

AUTOSAVE_NAME = "autosave.json"


def autosave_path() -> Path:
    return locations.state_dir() / AUTOSAVE_NAME


def _source_note(path: Path) -> Path:
    """Beside the autosave: the file the work came from, so a restore can save back to it."""
    return path.with_name(path.name + ".source")


def write_autosave(arch: Architecture, path: Path | None = None,
                   source: Path | None = None) -> Path:
    """Write `arch` atomically (and the file it came from, when it has one); raises
    CnnTuiError when the state folder is unwritable."""
    path = path or autosave_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CnnTuiError(f"{path.parent}: cannot create autosave folder "
                          f"({exc.strerror or exc})") from None
    spec_io.write_file(arch, path)
    note = _source_note(path)
    try:
        if source is None:
            note.unlink(missing_ok=True)
        else:
            atomic.write_text(note, str(Path(source).resolve()))
    except (OSError, CnnTuiError):
        pass  # the work itself is safe; only the way back to its file is lost
    return path


def read_autosave_source(path: Path | None = None) -> Path | None:
    """The file the autosaved work came from, when it said one and that file still exists."""
    try:
        text = _source_note(path or autosave_path()).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    source = Path(text) if text else None
    return source if source is not None and source.is_file() else None


def read_autosave(path: Path | None = None) -> Architecture | None:
    """The autosaved architecture, or None when there is none or it cannot be read."""
    path = path or autosave_path()
    if not path.is_file():
        return None
    try:
        return spec_io.read_file(path)
    except CnnTuiError:
        return None


def clear_autosave(path: Path | None = None) -> None:
    path = path or autosave_path()
    for file in (path, _source_note(path)):
        try:
            file.unlink()
        except OSError:
            pass  # a stale autosave is offered again next time: annoying, never harmful


def keep_aside(path: Path | None = None) -> Path | None:
    """Move the autosave to `autosave-<time>.json` beside it (a file the user can open later),
    so the next autosave cannot overwrite it. Returns the new path, None if it failed."""
    import time

    path = path or autosave_path()
    target = path.with_name(f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
    try:
        path.replace(target)
    except OSError:
        return None
    try:
        _source_note(path).unlink(missing_ok=True)
    except OSError:
        pass
    return target


def same_architecture(a: Architecture | None, b: Architecture | None) -> bool:
    return a is not None and b is not None and a.to_dict() == b.to_dict()


class Autosaver:
    """Debounced writer: `schedule()` after each change, `flush()` before quitting."""

    def __init__(self, app: "App", get_arch: Callable[[], Architecture], delay: float = 0.5,
                 path: Path | None = None,
                 get_source: Callable[[], Path | None] | None = None) -> None:
        self.app = app
        self.get_arch = get_arch
        self.get_source = get_source or (lambda: None)
        self.delay = delay
        self.path = path or autosave_path()
        self.writes = 0
        self.failed: str | None = None
        self._timer: Timer | None = None

    def schedule(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.app.set_timer(self.delay, self.flush, name="autosave")

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def flush(self) -> None:
        self.cancel()
        try:
            write_autosave(self.get_arch(), self.path, self.get_source())
        except CnnTuiError as err:
            if self.failed != str(err):  # say it once, not after every keystroke
                self.failed = str(err)
                self.app.notify(f"autosave failed: {err}", severity="warning", timeout=8)
            return
        self.failed = None
        self.writes += 1

    def clear(self) -> None:
        self.cancel()
        clear_autosave(self.path)
