"""Bring MNIST in from what people already have: IDX files, Keras' mnist.npz, mnist.pkl.gz.

Whatever the source, the four IDX byte strings are rebuilt and checked against MNIST's md5
values before anything is written, then installed atomically into `<cache>/MNIST/raw`
(extracted, as torchvision leaves them: reading them back is then a plain file read).

A pickle is code, so the classic `mnist.pkl.gz` is read with a restricted unpickler that can
build numpy arrays and nothing else (no os.system, no builtins; `_codecs.encode` only as the
latin-1 text-to-bytes step of a protocol-2 pickle).
"""

from __future__ import annotations

import contextlib
import io
import pickle
import zlib
from pathlib import Path
from typing import Any, Callable

from cnn_tui import atomic, locations
from cnn_tui.data.mnist import FILES, check_bytes, file_in, idx_bytes, raw_dir, read_file
from cnn_tui.errors import DataError

Progress = Callable[[str], None] | None
# The classic pickle is 220 MB of float32; refuse anything far larger.
PICKLE_LIMIT = 400_000_000
# The only globals an ndarray pickle needs (numpy 1.x and 2.x spell the module differently):
# `_reconstruct`/`ndarray`/`dtype` (protocols 0-4), `_frombuffer` (protocol 5: an array from
# bytes) and `_codecs.encode` (protocol 2 from Python 3 spells bytes as latin-1 text). The last
# two are pure data constructors, and even so each is replaced by a checked wrapper below.
ALLOWED_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
})
_LATIN1 = frozenset({"latin1", "latin_1", "latin-1", "iso-8859-1", "iso8859-1", "l1"})


def _say(progress: Progress, text: str) -> None:
    if progress is not None:
        progress(text)


def _latin1_bytes(text: Any, encoding: Any = "latin1", errors: Any = "strict") -> bytes:
    """`_codecs.encode` as protocol 2 uses it (text to latin-1 bytes), and nothing else."""
    if not (isinstance(text, str) and isinstance(encoding, str) and encoding.lower() in _LATIN1):
        raise pickle.UnpicklingError("_codecs.encode is allowed only to make latin-1 bytes")
    return text.encode("latin-1")


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any, axis_order: Any = None) -> Any:
    """numpy's `_frombuffer` (protocol 5), for plain bytes of a numeric dtype only."""
    import numpy as np

    plain = isinstance(buf, (bytes, bytearray)) and isinstance(dtype, np.dtype)
    if not plain or dtype.hasobject:
        raise pickle.UnpicklingError("numpy _frombuffer is allowed only for bytes of a plain dtype")
    try:
        from numpy._core.numeric import _frombuffer as frombuffer
    except ImportError:  # numpy < 2
        from numpy.core.numeric import _frombuffer as frombuffer  # type: ignore[no-redef]
    return frombuffer(buf, dtype, shape, order, axis_order)


class RestrictedUnpickler(pickle.Unpickler):
    """Loads plain numpy arrays (and tuples/lists of them); refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        import numpy as np

        if name == "ndarray":
            return np.ndarray
        if name == "dtype":
            return np.dtype
        if name == "encode":
            return _latin1_bytes
        if name == "_frombuffer":
            return _frombuffer
        try:
            from numpy._core.multiarray import _reconstruct
        except ImportError:  # numpy < 2
            from numpy.core.multiarray import _reconstruct
        return _reconstruct

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def restricted_loads(data: bytes, where: str) -> Any:
    """Unpickle `data` (Python 2 pickles too) allowing only numpy array reconstruction."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise DataError(f"{where}: refused to load the pickle: {exc}") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError, MemoryError) as exc:
        raise DataError(f"{where}: unreadable pickle ({type(exc).__name__}: {exc})") from None


def arrays_to_blobs(train_x: Any, train_y: Any, test_x: Any, test_y: Any, where: str
                    ) -> dict[str, bytes]:
    """Four arrays (pixels 0-255, labels 0-9) as verified IDX bytes, keyed like FILES."""
    import numpy as np

    blobs = {}
    for key, array, label in (("train_images", train_x, "training images"),
                              ("train_labels", train_y, "training labels"),
                              ("test_images", test_x, "test images"),
                              ("test_labels", test_y, "test labels")):
        array = np.asarray(array)
        if array.dtype.kind not in "ui" or array.size == 0:
            raise DataError(f"{where}: {label} are {array.dtype}, not integers")
        if array.min() < 0 or array.max() > 255:
            raise DataError(f"{where}: {label} fall outside 0..255")
        if key.endswith("images"):
            array = array.reshape(len(array), 28, 28) if array.ndim == 2 and array.shape[1] == 784 else array
            if array.ndim != 3:
                raise DataError(f"{where}: {label} have shape {array.shape}, not [N, 28, 28]")
        elif array.ndim != 1:
            raise DataError(f"{where}: {label} have shape {array.shape}, not [N]")
        blob = idx_bytes(array.astype(np.uint8, copy=False))
        check_bytes(key, blob, f"{where} ({label})")
        blobs[key] = blob
    return blobs


def blobs_from_pickle(data: bytes, where: str) -> dict[str, bytes]:
    """The classic mnist.pkl(.gz): ((train x, y), (valid x, y), (test x, y)), x = uint8/256."""
    import numpy as np

    obj = restricted_loads(data, where)
    try:
        (tx, ty), (vx, vy), (sx, sy) = obj
    except (TypeError, ValueError):
        raise DataError(f"{where}: not the classic MNIST pickle (three (images, labels) pairs)") from None
    parts = [tx, ty, vx, vy, sx, sy]
    if not all(isinstance(p, np.ndarray) and p.dtype.kind in "fiu" for p in parts):
        raise DataError(f"{where}: not the classic MNIST pickle (expected numeric arrays)")

    def pixels(x: np.ndarray) -> np.ndarray:
        if x.dtype.kind != "f":
            return x
        y = np.multiply(x, 256, dtype=np.float32)  # stored as uint8/256 in float32: exact
        np.rint(y, out=y)
        low, high = y.min(), y.max()
        if not (0 <= low and high <= 255):  # NaN fails both comparisons
            raise DataError(f"{where}: pixel values fall outside 0..1")
        return y.astype(np.uint8)

    return arrays_to_blobs(np.concatenate([pixels(tx), pixels(vx)]), np.concatenate([ty, vy]),
                           pixels(sx), sy, where)


def blobs_from_npz(path: Path) -> dict[str, bytes]:
    """Keras' mnist.npz: x_train, y_train, x_test, y_test (uint8); never unpickles."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in npz.files]
            if missing:
                raise DataError(f"{path}: not Keras' mnist.npz (no {', '.join(missing)})")
            arrays = [npz[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, ValueError, EOFError) as exc:  # zipfile errors are OSError/ValueError
        raise DataError(f"{path}: unreadable npz ({exc})") from None
    except Exception as exc:  # zipfile.BadZipFile and friends
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: unreadable npz ({type(exc).__name__}: {exc})") from None
    return arrays_to_blobs(*arrays, where=str(path))


def _idx_folder(path: Path) -> Path | None:
    """The folder under `path` holding all four IDX files (<root>, MNIST/, raw/ or any)."""
    for folder in (path, path / "raw", raw_dir(path)):
        if folder.is_dir() and all(file_in(folder, n) for n, _, _ in FILES.values()):
            return folder
    return None


def blobs_from_idx(folder: Path) -> dict[str, bytes]:
    """Verified IDX bytes (uncompressed) from a folder of the four files, `.gz` or not."""
    blobs = {}
    for key, (name, size, _) in FILES.items():
        path = file_in(folder, name)
        assert path is not None
        data = read_file(path, size)
        check_bytes(key, data, str(path))
        blobs[key] = data
    return blobs


def install(blobs: dict[str, bytes], dest_root: str | Path | None = None,
            progress: Progress = None) -> Path:
    """Write the four verified files as `<dest>/MNIST/raw/<name>`, each atomically.

    Every blob is checked again first, so nothing unverified lands in the cache. The files are
    stored extracted, as torchvision leaves them: 55 MB that load in a tenth of the time of the
    `.gz` (and install in a fraction of a second instead of seconds of gzip). Older `.gz`
    copies beside them are removed so one folder never holds two different versions.
    """
    root = Path(dest_root).expanduser() if dest_root else locations.cache_dir()
    for key in FILES:
        check_bytes(key, blobs[key], f"{FILES[key][0]} (to install)")
    raw = raw_dir(root)
    try:
        raw.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot write MNIST into {raw}: {exc.strerror or exc}") from None
    # All four are written before any is put in place: a failure leaves the old set whole.
    with contextlib.ExitStack() as stack:
        for key, (name, _, _) in FILES.items():
            _say(progress, f"writing {raw / name}")
            tmp = stack.enter_context(atomic.atomic_path(raw / name, error=DataError))
            tmp.write_bytes(blobs[key])
    for name, _, _ in FILES.values():
        (raw / f"{name}.gz").unlink(missing_ok=True)
    return root


def import_path(path: str | Path, dest_root: str | Path | None = None,
                progress: Progress = None) -> Path:
    """Verify MNIST found at `path` and install it into the cache (or `dest_root`)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        folder = _idx_folder(path)
        if folder is None:
            names = ", ".join(n for n, _, _ in FILES.values())
            raise DataError(f"{path}: holds no complete MNIST IDX set ({names}, .gz or not)")
        _say(progress, f"verifying IDX files in {folder}")
        blobs = blobs_from_idx(folder)
    elif path.suffix == ".npz":
        _say(progress, f"reading {path}")
        blobs = blobs_from_npz(path)
    elif path.name.endswith((".pkl.gz", ".pkl")):
        _say(progress, f"reading {path}")
        data = read_pickle_file(path)
        blobs = blobs_from_pickle(data, str(path))
    elif any(path.name in (n, f"{n}.gz") for n, _, _ in FILES.values()):
        return import_path(path.parent, dest_root, progress)
    else:
        raise DataError(f"{path}: not an MNIST source (IDX folder, mnist.npz or mnist.pkl.gz)")
    return install(blobs, dest_root, progress)


def read_pickle_file(path: Path) -> bytes:
    """The (decompressed) bytes of mnist.pkl or mnist.pkl.gz."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return gunzip_pickle(data, str(path)) if data[:2] == b"\x1f\x8b" else data


def gunzip_pickle(data: bytes, where: str) -> bytes:
    """Decompress a gzipped pickle, refusing more than PICKLE_LIMIT bytes (a gzip bomb)."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, PICKLE_LIMIT + 1)
    except zlib.error as exc:
        raise DataError(f"{where}: not a readable gzip file ({exc})") from None
    if len(out) > PICKLE_LIMIT:
        raise DataError(f"{where}: decompresses to more than {PICKLE_LIMIT:,} bytes")
    if not inflater.eof:
        raise DataError(f"{where}: truncated gzip file")
    return out
