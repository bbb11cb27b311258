"""Find, verify and load MNIST from torchvision's layout (`<root>/MNIST/raw/`, `.gz` or not).

Why this shape: the four classic IDX files are the one format every MNIST tool agrees on, and
their uncompressed md5 values are published, so whatever produced them (a mirror, a Keras
`mnist.npz`, the classic pickle) can be proven byte-identical before training starts. A corrupt
or truncated file is named in a `DataError`; nothing unverified is ever handed to training.

numpy is imported inside functions: `cnn_tui.data` sits on the CLI's import path.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnn_tui import locations
from cnn_tui.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

# key -> (file name, uncompressed bytes, md5 of the uncompressed bytes)
FILES: dict[str, tuple[str, int, str]] = {
    "train_images": ("train-images-idx3-ubyte", 47_040_016, "6bbc9ace898e44ae57da46a324031adb"),
    "train_labels": ("train-labels-idx1-ubyte", 60_008, "a25bea736e30d166cdddb491f175f624"),
    "test_images": ("t10k-images-idx3-ubyte", 7_840_016, "2646ac647ad5339dbf082846283269ea"),
    "test_labels": ("t10k-labels-idx1-ubyte", 10_008, "27ae3e4e09519cfbb04c329615203637"),
}
# IDX magic numbers: unsigned bytes, 3 dimensions (images) or 1 (labels)
_MAGIC = {3: 0x00000803, 1: 0x00000801}

# `option` names where the caller gives a folder: `--data-dir` on the command line, the
# argument's name (`data_dir`) in the Python API, so an error never names a flag a script lacks
FIX_FOR = "run `cnn-tui data fetch` or `cnn-tui data import PATH`, or pass {option}"
FIX = FIX_FOR.format(option="--data-dir")
REPLACE = "replace it with `cnn-tui data fetch` or `cnn-tui data import PATH`"


@dataclass
class MnistArrays:
    """The whole of MNIST as read-only uint8 arrays (shared by every caller in the process).

    The arrays are views on verified bytes and are marked read-only so no caller can change the
    in-process cache under another; copy (`np.array(a)`, `torch.tensor(a)`) before writing.
    """

    train_images: np.ndarray  # uint8 [60000, 28, 28]
    train_labels: np.ndarray  # uint8 [60000]
    test_images: np.ndarray  # uint8 [10000, 28, 28]
    test_labels: np.ndarray  # uint8 [10000]
    root: Path  # the <root> holding MNIST/raw


def raw_dir(root: str | Path) -> Path:
    """`<root>/MNIST/raw`, where torchvision (and cnn-tui) keep the IDX files."""
    return Path(root) / "MNIST" / "raw"


def file_in(folder: Path, name: str) -> Path | None:
    """The IDX file `name` in `folder`, extracted (faster to read) or else `.gz`."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _root_candidates(path: Path) -> list[tuple[Path, Path]]:
    """(root, raw folder) pairs for a folder the user named: <root>, <root>/MNIST or .../raw."""
    pairs = [(path, raw_dir(path))]
    if path.name == "MNIST":
        pairs.append((path.parent, path / "raw"))
    if path.name == "raw" and path.parent.name == "MNIST":
        pairs.append((path.parent.parent, path))
    return pairs


def _probe(path: Path) -> tuple[Path | None, str]:
    """The root under `path` holding all four files, or None and what was wrong there."""
    path = path.expanduser()
    for root, raw in _root_candidates(path):
        if not raw.is_dir():
            continue
        missing = [name for name, _, _ in FILES.values() if file_in(raw, name) is None]
        if not missing:
            return root, ""
        inside = raw.relative_to(path)  # every candidate folder lies under `path`
        lacks = f"lacks {', '.join(missing)}"
        return None, f"{path} ({lacks})" if inside == Path(".") else f"{path} ({inside} {lacks})"
    if not path.exists():
        return None, f"{path} (does not exist)"
    return None, f"{path} (no MNIST/raw inside)"


def find_mnist(data_dir: str | Path | None = None, option: str = "--data-dir") -> Path:
    """The MNIST <root> to use: `data_dir`, else CNN_TUI_DATA_DIR, else the user cache.

    An explicit `data_dir` is the only place looked (a typo must not silently pick up another
    copy); the environment variable falls through to the cache. Raises DataError naming every
    place looked and the command that fixes it; `option` is what the caller calls `data_dir`.
    """
    fix = FIX_FOR.format(option=option)
    if data_dir is not None and str(data_dir) != "":
        root, why = _probe(Path(data_dir))
        if root is None:
            raise DataError(f"MNIST not found in {option} {why}: {fix}")
        return root
    looked = []
    override = locations.data_dir_override()
    if override is not None:
        root, why = _probe(override)
        if root is not None:
            return root
        looked.append(f"CNN_TUI_DATA_DIR {why}")
    cache = locations.cache_dir()
    root, why = _probe(cache)
    if root is not None:
        return root
    looked.append(f"cache {why}")
    raise DataError(f"MNIST not found (looked in {'; '.join(looked)}): {fix}")


def gunzip(data: bytes, limit: int, path: str | Path) -> bytes:
    """Decompress at most `limit` + 1 bytes (a bad file cannot fill memory)."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise DataError(f"{path}: not a readable gzip file ({exc}); {REPLACE}") from None
    if len(out) <= limit and not inflater.eof:
        raise DataError(f"{path}: truncated gzip file ({len(out):,} of {limit:,} bytes); {REPLACE}")
    return out


def read_file(path: Path, expected_size: int) -> bytes:
    """The uncompressed bytes of an IDX file, `.gz` or not (sizes are checked by the caller)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return gunzip(data, expected_size, path) if path.name.endswith(".gz") else data


def check_bytes(key: str, data: bytes, where: str, md5: bool = True) -> None:
    """Raise DataError naming `where` unless `data` is MNIST's file `key`, byte for byte."""
    _, size, digest = FILES[key]
    # a `.gz` file is checked after decompression: say so, or its md5 would not match the file's
    what = "uncompressed " if where.endswith(".gz") else ""
    if len(data) != size:
        state = "truncated" if len(data) < size else "too long"
        raise DataError(f"{where}: {state} ({what}{len(data):,} bytes where {size:,} are "
                        f"expected); {REPLACE}")
    if md5:
        got = hashlib.md5(data).hexdigest()
        if got != digest:
            raise DataError(f"{where}: corrupt ({what}md5 {got} where {digest} is expected); "
                            f"{REPLACE}")


def parse_idx(data: bytes, where: str) -> np.ndarray:
    """An IDX byte string as a read-only uint8 array, without copying (np.frombuffer)."""
    import numpy as np

    if len(data) < 8:
        raise DataError(f"{where}: not an IDX file (too short)")
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    if _MAGIC.get(ndim) != magic:
        raise DataError(f"{where}: not an IDX uint8 file (magic {magic:#010x})")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    offset = 4 + 4 * ndim
    count = 1
    for dim in shape:
        count *= dim
    if len(data) - offset != count:
        raise DataError(f"{where}: header says {shape} but holds {len(data) - offset:,} values")
    array = np.frombuffer(data, dtype=np.uint8, count=count, offset=offset).reshape(shape)
    array.flags.writeable = False
    return array


def idx_bytes(array: Any) -> bytes:
    """Encode a uint8 array (1-D labels or 3-D images) as an IDX file's bytes."""
    import numpy as np

    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(f">I{array.ndim}I", _MAGIC[array.ndim], *array.shape)
    return header + array.tobytes()


_CACHE: dict[tuple, tuple[MnistArrays, bool]] = {}
_LOCK = threading.Lock()


def _files(root: Path) -> dict[str, Path]:
    raw = raw_dir(root)
    found = {key: file_in(raw, name) for key, (name, _, _) in FILES.items()}
    missing = [FILES[key][0] for key, path in found.items() if path is None]
    if missing:  # removed since find_mnist looked
        raise DataError(f"{raw} lacks {', '.join(missing)}: {FIX}")
    return found  # type: ignore[return-value]


def _cache_key(root: Path, files: dict[str, Path]) -> tuple:
    stats = []
    for path in files.values():
        st = path.stat()
        stats.append((str(path), st.st_size, st.st_mtime_ns))
    return (str(root.resolve()), tuple(stats))


def load_arrays(data_dir: str | Path | None = None, verify: bool = True,
                option: str = "--data-dir") -> MnistArrays:
    """All of MNIST as uint8 arrays, md5-checked; cached in-process per root and file state.

    `verify=False` skips only the md5 (sizes and IDX headers are still checked); a verified
    copy already in the cache is returned either way. `option`: as for `find_mnist`.
    """
    root = find_mnist(data_dir, option)
    files = _files(root)
    key = _cache_key(root, files)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and (hit[1] or not verify):
            return hit[0]
        arrays = {}
        for name_key, path in files.items():
            data = read_file(path, FILES[name_key][1])
            check_bytes(name_key, data, str(path), md5=verify)
            arrays[name_key] = parse_idx(data, str(path))
        result = MnistArrays(root=root, **arrays)
        _CACHE.clear()  # one copy of MNIST in memory is enough
        _CACHE[key] = (result, verify)
        return result


def verify(root: Path) -> list[tuple[str, bool, str]]:
    """Check each of the four files under `root`: (file name, ok, one-line detail)."""
    raw = raw_dir(root)
    if not raw.is_dir():
        for _cand_root, cand_raw in _root_candidates(Path(root)):
            if cand_raw.is_dir():
                raw = cand_raw
                break
    report = []
    for key, (name, size, digest) in FILES.items():
        path = file_in(raw, name)
        if path is None:
            report.append((name, False, f"missing from {raw}"))
            continue
        try:
            data = read_file(path, size)
            check_bytes(key, data, str(path))
        except DataError as err:
            detail = str(err).split("; replace")[0]
            report.append((path.name, False, detail))
            continue
        report.append((path.name, True, f"{size:,} bytes, md5 {digest}"))
    return report
