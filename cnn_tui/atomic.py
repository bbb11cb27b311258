"""The one way cnn-tui writes a file: all of the new content, or nothing and the old file whole.

Every writer (architecture files, exports, checkpoints, MNIST installs, autosave, theme and
settings notes) goes through here. The content goes to a temporary file `.NAME.XXXXXXXX.tmp` in
the target's own folder (so the final rename stays on one file system: atomic on POSIX and
Windows), is flushed and fsynced, then renamed over the target, and the folder is fsynced so the
rename itself survives a power cut where the platform allows it. On any failure the temporary
file is removed and one error line names the target and the reason.

One overwrite rule for every command that writes where the user says (`-o`): an existing path,
a symlink included (even one pointing nowhere), is kept unless the user forced it. The check is
made early (`check_overwrite`, before the work) and again at the rename: without `overwrite` the
file is put in place with a hard link, which fails rather than replace anything that appeared
in between.

Stdlib only and below every other package, so spec/ may use it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from cnn_tui.errors import CnnTuiError

PathLike = str | os.PathLike[str]


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on device"
    if exc.errno == errno.ENOENT:
        return "folder does not exist"
    if exc.errno == errno.EISDIR:
        return "is a folder"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return exc.strerror or type(exc).__name__


def _label(what: str, path: Path) -> str:
    return f"{what} {path}" if what else str(path)


def check_overwrite(path: PathLike, force: bool,
                    error: type[CnnTuiError] = CnnTuiError) -> None:
    """The overwrite rule: refuse an existing `path` (file, symlink even dangling) unless
    `force`; a folder is never a file to write over."""
    path = Path(path).expanduser()
    if path.is_dir() and not path.is_symlink():
        raise error(f"cannot write {path}: is a folder (give a file name)")
    if os.path.lexists(path) and not force:
        what = "as a symlink; " if path.is_symlink() else ""
        raise error(f"{path}: already exists ({what}use --force to overwrite it)")


def _target(path: PathLike, error: type[CnnTuiError], what: str) -> Path:
    """The file to put in place: a symlink is followed (the link is kept, its file replaced)."""
    target = Path(path).expanduser()
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    parent = target.parent
    if target.is_dir():
        raise error(f"cannot write {_label(what, target)}: is a folder (give a file name)")
    if not parent.exists():
        raise error(f"cannot write {_label(what, target)}: folder {parent} does not exist")
    if not parent.is_dir():
        raise error(f"cannot write {_label(what, target)}: {parent} is not a folder")
    return target


def _new_temp(target: Path) -> Path:
    """A fresh, exclusively created temporary file beside `target` (the umask applies)."""
    for _ in range(100):
        tmp = target.with_name(f".{target.name[:120]}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(target))


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; not possible everywhere (Windows), so best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _put_in_place(tmp: Path, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails with EEXIST instead of replacing
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network or FAT file systems)
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: PathLike, *, overwrite: bool = True, what: str = "",
                error: type[CnnTuiError] = CnnTuiError) -> Iterator[Path]:
    """Yield a temporary path beside `path` for a writer that wants a file name (torch.save,
    torch.onnx.export, ...); it is fsynced and renamed over `path` when the block ends without
    error, removed otherwise. `what` names the file in errors (`cannot write checkpoint X: ...`).
    An existing file keeps its permission bits; a new one gets the usual mode (umask)."""
    target = _target(path, error, what)
    try:
        tmp = _new_temp(target)
    except OSError as exc:
        raise error(f"cannot write {_label(what, target)}: {_reason(exc)}") from None
    try:
        yield tmp
        _fsync_file(tmp)
        with contextlib.suppress(OSError):
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        try:
            _put_in_place(tmp, target, overwrite)
        except FileExistsError:
            raise error(f"{target}: already exists (use --force to overwrite it)") from None
    except CnnTuiError:
        _remove(tmp)
        raise
    except OSError as exc:
        _remove(tmp)
        raise error(f"cannot write {_label(what, target)}: {_reason(exc)}") from None
    except BaseException:
        _remove(tmp)
        raise
    _fsync_folder(target.parent)


def write_with(path: PathLike, writer: Callable[[Path], object], what: str = "write", *,
               overwrite: bool = True, error: type[CnnTuiError] = CnnTuiError) -> Path:
    """Run `writer(tmp_path)` and move the result to `path` atomically. A writer's own failure
    (not an OSError) becomes one error line naming `what` and the target."""
    target = Path(path).expanduser()
    with atomic_path(target, overwrite=overwrite, error=error) as tmp:
        try:
            writer(tmp)
        except (CnnTuiError, OSError, KeyboardInterrupt):
            raise
        except Exception as exc:  # torch / onnx failures: one line, the cause named
            text = str(exc).strip()
            msg = text.splitlines()[0] if text else type(exc).__name__
            raise error(f"{what} to {target} failed: {msg[:300]}") from None
    return target


def write_bytes(path: PathLike, data: bytes, *, overwrite: bool = True,
                error: type[CnnTuiError] = CnnTuiError) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return write_with(path, write, overwrite=overwrite, error=error)


def write_text(path: PathLike, text: str, *, overwrite: bool = True,
               error: type[CnnTuiError] = CnnTuiError) -> Path:
    """Text as UTF-8 with `\\n` line ends on every platform."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"cannot write {Path(path)}: the text holds characters that cannot be "
                    "saved as UTF-8") from None
    return write_bytes(path, data, overwrite=overwrite, error=error)


def remove_stale_temps(folder: PathLike, name: str) -> list[Path]:
    """Remove the temporary files that killed writes of `folder/name` left behind
    (`.NAME.*.tmp`, and `NAME.*.tmp` from earlier versions); returns what was removed.
    Call it only where no other process can be writing that file at the same time."""
    folder = Path(folder)
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        n = entry.name
        if not n.endswith(".tmp") or not n.startswith((f".{name}.", f"{name}.")):
            continue
        if entry.is_dir() and not entry.is_symlink():
            continue
        try:
            entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


__all__ = ["atomic_path", "check_overwrite", "remove_stale_temps", "write_bytes", "write_text",
           "write_with"]


def _folder_entries(path: Path, error: type[CnnTuiError]) -> list[Path]:
    try:
        return sorted(path.iterdir())
    except OSError as exc:
        raise error(f"cannot read folder {path}: {_reason(exc)}") from None


def check_folder_target(path: PathLike, force: bool = False,
                        owned: Callable[[str], bool] = lambda name: False, what: str = "export",
                        error: type[CnnTuiError] = CnnTuiError) -> Path:
    """The folder a folder-writer may fill: missing, empty, or (with `force`) a previous one of
    its own, every entry satisfying `owned(name)` (so `--force` never deletes a user's other
    files). `error` otherwise, naming why."""
    target = Path(path).expanduser()
    parent = target.parent
    if not parent.exists():
        raise error(f"cannot write {target}: folder {parent} does not exist")
    if not parent.is_dir():
        raise error(f"cannot write {target}: {parent} is not a folder")
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise error(f"cannot write {target}: it exists and is not a folder "
                        f"({what} writes a folder)")
        entries = _folder_entries(target, error)
        if entries and not force:
            raise error(f"{target} exists and is not empty (use --force to replace it)")
        foreign = [p.name for p in entries if not (p.is_file() and owned(p.name))]
        if entries and foreign:
            more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
            raise error(f"{target} holds files that are not a {what} ({foreign[0]!r:.60}{more}); "
                        "not replacing it: choose another folder")
    return target


@contextlib.contextmanager
def atomic_folder(path: PathLike, force: bool = False,
                  owned: Callable[[str], bool] = lambda name: False, what: str = "export",
                  error: type[CnnTuiError] = CnnTuiError) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; when the block ends without error its files are
    fsynced and it replaces `path` (see `check_folder_target` for when that is allowed). On any
    failure the temporary folder is removed and `path` is left as it was."""
    target = check_folder_target(path, force, owned, what, error)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name[:80]}.", suffix=".tmp",
                                    dir=target.parent))
    except OSError as exc:
        raise error(f"cannot write {target}: {_reason(exc)}") from None
    old: Path | None = None
    try:
        try:
            yield tmp
        except (CnnTuiError, OSError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a writer's failure: one line, the cause named
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise error(f"{what} to {target} failed: {msg[:300]}") from None
        for child in tmp.iterdir():
            if child.is_file():
                _fsync_file(child)
                with contextlib.suppress(OSError):
                    os.chmod(child, 0o666 & ~_UMASK)
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o777 & ~_UMASK)
        check_folder_target(target, force, owned, what, error)  # it may have changed meanwhile
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name[:80]}.", suffix=".old",
                                        dir=target.parent))
            os.replace(target, old / "previous")
        try:
            os.replace(tmp, target)
        except OSError:
            if old is not None:  # put the previous one back
                os.replace(old / "previous", target)
            raise
        _fsync_folder(target.parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise error(f"cannot write {target}: {_reason(exc)}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _read_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, not thread-safe
