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
from typing import Any, BinaryIO, Callable

from cnn_tui import atomic, locations
from cnn_tui.data.mnist import FILES, check_bytes, file_in, idx_bytes, raw_dir, read_file
from cnn_tui.errors import DataError

Progress = Callable[[str], None] | None
# The classic pickle is 220,080,xxx bytes (50k/10k/10k images as float32, pickled with protocol
# 3, 4 or 5, or by Python 2); Python 3's protocol 2 spells the bytes as latin-1 text and makes
# it 222,134,543. Nothing more is read: a gzip bomb stops here.
PICKLE_LIMIT = 225_000_000
# The classic pickle is 150-234 opcodes (its arrays are a few long byte strings); a stream of
# millions of one-byte opcodes (empty lists, marks) would make the unpickler allocate gigabytes
# out of a file of kilobytes, so the opcodes are counted before anything is built.
MAX_OPCODES = 10_000
_CHUNK = 1 << 20
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


def restricted_loads(data: bytes | BinaryIO, where: str) -> Any:
    """Unpickle `data` (bytes or a binary stream; Python 2 pickles too) allowing only numpy array
    reconstruction."""
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        return RestrictedUnpickler(stream, encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise DataError(f"{where}: refused to load the pickle: {exc}") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError, MemoryError) as exc:
        raise DataError(f"{where}: unreadable pickle ({type(exc).__name__}: {exc})") from None


class PickleStream(io.RawIOBase):
    """The bytes of a pickle, gunzipped on the fly when the source is gzip, never more than
    `limit` in all: a read that would pass it is refused before anything is decompressed for
    it, so a bomb costs at most `limit` bytes of decompression and no more than one chunk
    of memory beyond what the reader asked for."""

    def __init__(self, source: BinaryIO, where: str, limit: int = PICKLE_LIMIT) -> None:
        super().__init__()
        self.source, self.where, self.limit = source, where, limit
        head = source.read(2)
        self.inflater = zlib.decompressobj(wbits=31) if head == b"\x1f\x8b" else None
        self.pending = head  # read from the source, not yet decompressed
        self.buffer = bytearray()
        self.produced = 0  # bytes decompressed (or read, when not gzip) so far
        self.given = 0  # bytes handed to the reader
        self.done = False

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.given

    def _too_much(self) -> DataError:
        return DataError(f"{self.where}: decompresses to more than {self.limit:,} bytes "
                         "(the classic mnist.pkl is 220 MB): refused")

    def _fill(self, need: int) -> None:
        while len(self.buffer) < need and not self.done:
            data = self.pending or self.source.read(_CHUNK)
            self.pending = b""
            if self.inflater is None:
                out = data
                self.done = not data
            else:
                if self.inflater.unconsumed_tail:
                    data = self.inflater.unconsumed_tail + data
                if not data:
                    if not self.inflater.eof:
                        raise DataError(f"{self.where}: truncated gzip file")
                    self.done = True
                    break
                try:
                    out = self.inflater.decompress(data, _CHUNK)
                except zlib.error as exc:
                    raise DataError(f"{self.where}: not a readable gzip file ({exc})") from None
                if self.inflater.eof:
                    self._next_member()
            self.produced += len(out)
            if self.produced > self.limit:
                raise self._too_much()
            self.buffer += out

    def _next_member(self) -> None:
        """gzip allows members one after another; zero padding after the last is harmless."""
        rest = self.inflater.unused_data + self.source.read(_CHUNK) if self.inflater else b""
        if rest.startswith(b"\x1f\x8b"):
            self.inflater = zlib.decompressobj(wbits=31)
            self.pending = rest
        elif rest.strip(b"\x00"):
            raise DataError(f"{self.where}: data after the end of the gzip stream")
        else:
            self.done = True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.limit - self.given + 1
        elif self.given + size > self.limit:  # asked for more than any real file holds
            raise self._too_much()
        self._fill(size)
        view = memoryview(self.buffer)
        out = bytes(view[:size])
        view.release()
        del self.buffer[:size]
        self.given += len(out)
        return out

    def readinto(self, target) -> int:
        data = self.read(len(target))
        target[:len(data)] = data
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        while b"\n" not in self.buffer and not self.done:
            self._fill(len(self.buffer) + 4096)
        end = self.buffer.find(b"\n")
        return self.read(len(self.buffer) if end < 0 else end + 1)


def _open_source(source: Path | bytes, where: str) -> BinaryIO:
    if isinstance(source, (bytes, bytearray)):
        return io.BytesIO(source)
    try:
        return open(source, "rb")
    except OSError as exc:
        raise DataError(f"{where}: cannot read ({exc.strerror or exc})") from None


def check_pickle_shape(source: Path | bytes, where: str) -> None:
    """Walk the pickle's opcodes without building anything: refuse one that is not plainly a
    few arrays (more than MAX_OPCODES opcodes) or that is not a pickle at all."""
    import pickletools

    with _open_source(source, where) as raw:
        stream = PickleStream(raw, where)
        count = 0
        try:
            for _ in pickletools.genops(stream):
                count += 1
                if count > MAX_OPCODES:
                    raise DataError(f"{where}: not the classic MNIST pickle (over {MAX_OPCODES:,} "
                                    "pickle opcodes; the classic one has about 200)")
        except (ValueError, EOFError, UnicodeDecodeError) as exc:
            raise DataError(f"{where}: unreadable pickle ({type(exc).__name__}: "
                            f"{str(exc)[:120]})") from None


def load_pickle(source: Path | bytes, where: str) -> Any:
    """The objects of mnist.pkl or mnist.pkl.gz (a path or its bytes), streamed: checked opcode
    by opcode first, then unpickled with the restricted unpickler; never more than PICKLE_LIMIT
    bytes decompressed, never the whole decompressed file in memory at once."""
    check_pickle_shape(source, where)
    with _open_source(source, where) as raw:
        return restricted_loads(PickleStream(raw, where), where)


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


def blobs_from_pickle(data: Path | bytes, where: str) -> dict[str, bytes]:
    """The classic mnist.pkl(.gz) (a path, or its bytes gzipped or not): ((train x, y),
    (valid x, y), (test x, y)), x = uint8/256."""
    import numpy as np

    obj = load_pickle(data, where)
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


# Keras' mnist.npz: each member's .npy header says what it holds; nothing larger than MNIST
# itself is decompressed (a zip member of zeros claiming 10^7 images would be 7.8 GB).
NPZ_ARRAYS = {"x_train": (60000, 28, 28), "y_train": (60000,),
              "x_test": (10000, 28, 28), "y_test": (10000,)}


def check_npz_headers(path: Path) -> None:
    """Refuse an npz whose members are not MNIST-sized integer arrays, from the zip directory
    and each member's .npy header, before any array is read."""
    import zipfile

    import numpy as np
    from numpy.lib import format as npy

    with zipfile.ZipFile(path) as archive:
        members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
        missing = [k for k in NPZ_ARRAYS if k not in members]
        if missing:
            raise DataError(f"{path}: not Keras' mnist.npz (no {', '.join(missing)})")
        for key, most in NPZ_ARRAYS.items():
            with archive.open(members[key]) as fh:
                version = npy.read_magic(fh)
                read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                shape, _, dtype = read(fh)
            if dtype.hasobject or dtype.kind not in "ui" or len(shape) != len(most) \
                    or any(n > m for n, m in zip(shape, most)):
                raise DataError(f"{path}: {key} is {dtype} {list(shape)}, not MNIST's "
                                f"{list(most)} integers")
            expected = int(np.prod(shape)) * dtype.itemsize
            if members[key].file_size > expected + 4096:
                raise DataError(f"{path}: {key} unpacks to {members[key].file_size:,} bytes, "
                                f"more than its {list(shape)} {dtype} needs")


def blobs_from_npz(path: Path) -> dict[str, bytes]:
    """Keras' mnist.npz: x_train, y_train, x_test, y_test (uint8); never unpickles."""
    import numpy as np

    try:
        check_npz_headers(path)
        with np.load(path, allow_pickle=False) as npz:
            arrays = [npz[k] for k in NPZ_ARRAYS]
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
        blobs = blobs_from_pickle(path, str(path))
    elif any(path.name in (n, f"{n}.gz") for n, _, _ in FILES.values()):
        return import_path(path.parent, dest_root, progress)
    else:
        raise DataError(f"{path}: not an MNIST source (IDX folder, mnist.npz or mnist.pkl.gz)")
    return install(blobs, dest_root, progress)


def gunzip_pickle(data: bytes, where: str) -> bytes:
    """Decompress a gzipped pickle (streamed, refusing more than PICKLE_LIMIT bytes)."""
    return PickleStream(io.BytesIO(data), where).read()
