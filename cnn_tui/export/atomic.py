"""Atomic file writes for every export: all of the new file, or nothing (the old one intact).

Each writer goes to a temporary file in the target's own folder (so `os.replace` is a rename on
one file system, atomic on POSIX and Windows), is flushed and fsynced, then renamed over the
target. On any failure the temporary file is removed and an `ExportError` names the target and
the reason in one line. Folder exports (TensorBoard logs, a TF.js model) are written the same
way into a temporary folder beside the target (`atomic_folder`); an existing folder that is not
empty is kept unless `force`, and even then only replaced when it holds nothing but what the
format itself writes (a previous export), so `--force` can never delete a user's other files.
Stdlib only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from cnn_tui.errors import CnnTuiError, ExportError

_SEPARATORS = tuple(s for s in (os.sep, os.altsep, "/", "\\") if s)


def check_bare_name(name: str, what: str = "file name") -> str:
    """`name` if it is a plain file name (no folders, not `.`/`..`, no NUL); else ExportError."""
    if not name or not name.strip():
        raise ExportError(f"{what} is empty")
    if any(sep in name for sep in _SEPARATORS):
        raise ExportError(f"{what} {name!r:.80} must be a bare name without path separators")
    if name in (".", "..") or "\x00" in name:
        raise ExportError(f"{what} {name!r:.80} is not a usable file name")
    return name


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied" if exc.errno != errno.EROFS else "read-only file system"
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if exc.errno == errno.ENOENT:
        return "folder does not exist"
    if exc.errno == errno.EISDIR:
        return "is a folder"
    return exc.strerror or type(exc).__name__


def _check_target(path: Path) -> None:
    parent = path.parent
    if path.is_dir():
        raise ExportError(f"cannot write {path}: is a folder (give a file name)")
    if not parent.exists():
        raise ExportError(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise ExportError(f"cannot write {path}: {parent} is not a folder")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path` for a writer that wants a file name (torch.save,
    torch.onnx.export, ...); rename it over `path` when the block ends without error."""
    target = Path(path).expanduser()
    _check_target(target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name[:80]}.", suffix=".tmp",
                                        dir=target.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {_reason(exc)}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _fsync(tmp)
        _match_umask(tmp)
        os.replace(tmp, target)
    except CnnTuiError:
        _remove(tmp)
        raise
    except OSError as exc:
        _remove(tmp)
        raise ExportError(f"cannot write {target}: {_reason(exc)}") from None
    except BaseException:
        _remove(tmp)
        raise


def write_with(path: str | os.PathLike[str], writer: Callable[[Path], object],
               what: str = "export") -> Path:
    """Run `writer(tmp_path)` and move the result to `path` atomically. A writer's own failure
    (not an OSError) becomes an ExportError naming `what` and the target."""
    target = Path(path).expanduser()
    with atomic_path(target) as tmp:
        try:
            writer(tmp)
        except (CnnTuiError, OSError, KeyboardInterrupt):
            raise
        except Exception as exc:  # torch / onnx failures: one line, the cause named
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"{what} to {target} failed: {msg[:300]}") from None
    return target


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    return write_with(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Text as UTF-8 with `\\n` line ends on every platform (generated code, CSV, Markdown)."""
    return write_bytes(path, text.encode("utf-8"))


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _read_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, not thread-safe


def _match_umask(path: Path) -> None:
    """mkstemp creates 0600; an export is an ordinary file, so give it the usual mode."""
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~_UMASK)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _folder_entries(path: Path) -> list[Path]:
    try:
        return sorted(path.iterdir())
    except OSError as exc:
        raise ExportError(f"cannot read folder {path}: {_reason(exc)}") from None


def check_folder_target(path: str | os.PathLike[str], force: bool = False,
                        owned: Callable[[str], bool] = lambda name: False,
                        what: str = "export") -> Path:
    """The folder a folder export may write: missing, empty, or (with `force`) a previous
    export whose every entry satisfies `owned(name)`. ExportError otherwise, naming why."""
    target = Path(path).expanduser()
    parent = target.parent
    if not parent.exists():
        raise ExportError(f"cannot write {target}: folder {parent} does not exist")
    if not parent.is_dir():
        raise ExportError(f"cannot write {target}: {parent} is not a folder")
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise ExportError(f"cannot write {target}: it exists and is not a folder "
                              f"({what} writes a folder)")
        entries = _folder_entries(target)
        if entries and not force:
            raise ExportError(f"{target} exists and is not empty (use --force to replace it)")
        foreign = [p.name for p in entries if not (p.is_file() and owned(p.name))]
        if entries and foreign:
            raise ExportError(f"{target} holds files that are not a {what} ({foreign[0]!r:.60}"
                              f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}); "
                              "not replacing it: choose another folder")
    return target


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str], force: bool = False,
                  owned: Callable[[str], bool] = lambda name: False,
                  what: str = "export") -> Iterator[Path]:
    """Yield a temporary folder beside `path`; when the block ends without error its files are
    fsynced and it replaces `path` (see `check_folder_target` for when that is allowed). On any
    failure the temporary folder is removed and `path` is left as it was."""
    target = check_folder_target(path, force, owned, what)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name[:80]}.", suffix=".tmp",
                                    dir=target.parent))
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {_reason(exc)}") from None
    old: Path | None = None
    try:
        try:
            yield tmp
        except (CnnTuiError, OSError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a writer's failure: one line, the cause named
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"{what} to {target} failed: {msg[:300]}") from None
        for child in tmp.iterdir():
            if child.is_file():
                _fsync(child)
                _match_umask(child)
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o777 & ~_UMASK)
        check_folder_target(target, force, owned, what)  # again: it may have changed meanwhile
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name[:80]}.", suffix=".old",
                                        dir=target.parent))
            os.replace(target, old / "previous")
        try:
            os.replace(tmp, target)
        except OSError:
            if old is not None:  # put the previous export back
                os.replace(old / "previous", target)
            raise
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"cannot write {target}: {_reason(exc)}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
