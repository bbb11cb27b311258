"""`data import` on hostile archives (issue 13.8): a gzip bomb is refused after decompressing at
most the limit (which sits just above the real mnist.pkl's size), a flood of one-byte pickle
opcodes before the unpickler builds anything, an npz zip bomb from its headers. Each file is
made here and is a few kilobytes on disk."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from cnn_tui.cli import main
from cnn_tui.data import imports
from cnn_tui.data.imports import MAX_OPCODES, PICKLE_LIMIT, PickleStream, import_path
from cnn_tui.errors import DataError


def gz(path: Path, chunks) -> Path:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as fh:
        for chunk in chunks:
            fh.write(packer.compress(chunk))
        fh.write(packer.flush())
    return path


def test_the_limit_sits_just_above_the_real_pickle():
    """The classic layout pickled by Python 3 is 220,080,4xx bytes (protocols 3-5) or
    222,134,543 (protocol 2: bytes as latin-1 text); measured from the real MNIST arrays."""
    assert 222_134_543 < PICKLE_LIMIT <= 1.03 * 222_134_543


def _binbytes8(n: int) -> bytes:
    return b"\x8e" + struct.pack("<Q", n)


def test_a_stream_never_decompresses_more_than_its_limit(tmp_path):
    """Three byte strings of 4 MiB each (a valid pickle prefix, then zeros) against a 10 MiB
    limit: refused once 10 MiB plus at most one chunk has been decompressed."""
    limit = 10 << 20
    chunks = [b"\x80\x04"]
    for _ in range(3):
        chunks += [_binbytes8(4 << 20), b"\x00" * (4 << 20)]
    path = gz(tmp_path / "bomb.pkl.gz", chunks)
    assert path.stat().st_size < 100_000
    with open(path, "rb") as raw:
        stream = PickleStream(raw, "bomb", limit)
        with pytest.raises(DataError, match=r"^bomb: decompresses to more than 10,485,760 bytes"):
            while stream.read(1 << 20):
                pass
        assert stream.produced <= limit + (1 << 20)


def test_a_read_asking_for_more_than_the_limit_is_refused_before_decompressing(tmp_path):
    path = gz(tmp_path / "claim.pkl.gz", [b"\x80\x04", _binbytes8(10**12), b"\x00" * (1 << 24)])
    with open(path, "rb") as raw:
        stream = PickleStream(raw, "claim")
        stream.read(2)
        with pytest.raises(DataError, match="decompresses to more than"):
            stream.read(10**12)
        assert stream.produced < (2 << 20)
    with pytest.raises(DataError, match="claim.pkl.gz: decompresses to more than 225,000,000"):
        import_path(path, tmp_path / "dest")


def test_a_gzip_bomb_is_refused(tmp_path):
    """512 MiB of zeros in 500 KB: refused at its first byte, which is no pickle opcode (and
    never more than the limit would have been decompressed for it: see the tests above)."""
    zeros = b"\x00" * (1 << 24)
    path = gz(tmp_path / "mnist.pkl.gz", (zeros for _ in range(32)))
    assert path.stat().st_size < 1_000_000
    with pytest.raises(DataError, match=r"mnist\.pkl\.gz: unreadable pickle \(ValueError: at "
                                        r"position 0, opcode b'\\x00' unknown\)"):
        import_path(path, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_a_flood_of_opcodes_is_refused_before_anything_is_built(tmp_path, monkeypatch):
    """200,000 EMPTY_LIST opcodes: a 1 KB file that would make 200,000 lists (at the limit, 225
    million: about 14 GB). The opcodes are counted first; the unpickler never runs."""
    path = gz(tmp_path / "flood.pkl.gz", [b"\x80\x02", b"]" * 200_000, b"."])
    built = []
    monkeypatch.setattr(imports, "restricted_loads", lambda *a: built.append(a))
    with pytest.raises(DataError, match=rf"not the classic MNIST pickle \(over {MAX_OPCODES:,} "
                                        "pickle opcodes"):
        import_path(path, tmp_path / "dest")
    assert built == []


def test_concatenated_members_and_padding_read_like_one_file(tmp_path):
    data = pickle.dumps((np.arange(10, dtype=np.uint8),), protocol=4)
    one, two = zlib.compressobj(6, zlib.DEFLATED, 31), zlib.compressobj(6, zlib.DEFLATED, 31)
    blob = (one.compress(data[:20]) + one.flush() + two.compress(data[20:]) + two.flush()
            + b"\x00" * 512)
    assert PickleStream(io.BytesIO(blob), "x").read() == data
    with pytest.raises(DataError, match="data after the end"):
        PickleStream(io.BytesIO(blob + b"junk"), "x").read()
    with pytest.raises(DataError, match="truncated gzip file"):
        PickleStream(io.BytesIO(blob[:30]), "x").read()


def _npz(path: Path, arrays: dict, fake: dict | None = None) -> Path:
    """An npz; `fake` members get a .npy header claiming a shape with data of zeros behind it."""
    from numpy.lib import format as npy

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.save(buf, array)
            archive.writestr(f"{name}.npy", buf.getvalue())
        for name, (shape, zeros) in (fake or {}).items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as fh:
                npy.write_array_header_1_0(fh, {"descr": "|u1", "fortran_order": False,
                                                "shape": shape})
                for _ in range(zeros >> 24):
                    fh.write(b"\x00" * (1 << 24))
    return path


def test_an_npz_zip_bomb_is_refused_from_its_headers(tmp_path):
    small = {"y_train": np.zeros(60000, np.uint8), "x_test": np.zeros((10000, 28, 28), np.uint8),
             "y_test": np.zeros(10000, np.uint8)}
    # 10^7 images claimed (7.8 GB), 32 MiB of zeros behind the header: 60 KB on disk
    bomb = _npz(tmp_path / "mnist.npz", small, {"x_train": ((10**7, 28, 28), 32 << 20)})
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(DataError, match=r"x_train is uint8 \[10000000, 28, 28\], not MNIST's"):
        import_path(bomb, tmp_path / "dest")
    # the right shape in its header, more bytes behind it than that shape holds
    lying = _npz(tmp_path / "lying.npz", small, {"x_train": ((60000, 28, 28), 64 << 20)})
    with pytest.raises(DataError, match=r"x_train unpacks to 67,108,\d+ bytes, more than"):
        import_path(lying, tmp_path / "dest")
    with pytest.raises(DataError, match=r"not Keras' mnist\.npz \(no x_train\)"):
        import_path(_npz(tmp_path / "part.npz", small), tmp_path / "dest")


def test_the_cli_says_it_in_one_line(tmp_path, capsys):
    path = gz(tmp_path / "flood.pkl.gz", [b"\x80\x02", b"(" * 50_000, b"."])
    code = main(["data", "import", str(path), "--dest", str(tmp_path / "dest")])
    err = capsys.readouterr().err
    assert code == 2 and err.endswith("over 10,000 pickle opcodes; the classic one has about 200)\n")
    assert err.splitlines()[-1].startswith("cnn-tui: error: ")  # after the progress line
