"""`predict` on hostile files (issue 13.4): every size is read from the header and refused before
anything is decoded or allocated, one line and never a traceback, and every input is checked
before torch and the model are loaded. The hostile files are made here, byte by byte."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from stored_runs import finished_run

from cnn_tui.errors import CnnTuiError
from cnn_tui.export.predict import MAX_IMAGE_BYTES, load_image, load_images

REPO = Path(__file__).resolve().parent.parent


def npy_header_only(path: Path, shape, descr: str = "<f8", version=(1, 0), data: bytes = b""):
    """A .npy whose header claims `shape` and holds `data` (none: a 74.5 GiB claim in 128 B)."""
    from numpy.lib import format as npy

    with open(path, "wb") as fh:
        header = {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
        if version == (1, 0):
            npy.write_array_header_1_0(fh, header)
        else:
            npy.write_array_header_2_0(fh, header)
        fh.write(data)
    return path


def png_header_only(path: Path, width: int, height: int, idat: bytes = b"") -> Path:
    """A PNG signature, an IHDR claiming width x height (grayscale, 8 bit), an optional IDAT
    and IEND, with correct CRCs: what an image reader sees first, and nothing to decode."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + (chunk(b"IDAT", idat) if idat else b"") + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def _refused(path, match: str) -> str:
    with pytest.raises(CnnTuiError) as err:
        load_image(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"image {path}: "), message
    assert match in message, message
    return message


# ---------------------------------------------------------------- .npy

def test_a_npy_header_claiming_100000x100000_is_refused_from_the_header(tmp_path):
    path = npy_header_only(tmp_path / "huge.npy", (100_000, 100_000))
    assert path.stat().st_size < 200  # the claim is 74.5 GiB of float64
    _refused(path, "is 100000x100000, expected 28x28 grayscale")


@pytest.mark.parametrize("shape, shown", [((1, 100_000, 100_000), "100000x100000"),
                                          ((3, 28, 28), "[3, 28, 28]"),
                                          ((2**40,), f"[{2**40}]")])
def test_other_claimed_shapes(tmp_path, shape, shown):
    _refused(npy_header_only(tmp_path / "a.npy", shape, version=(2, 0)), f"is {shown}")


def test_npy_types_and_damage(tmp_path):
    _refused(npy_header_only(tmp_path / "obj.npy", (28, 28), descr="|O"), "must hold numbers")
    _refused(npy_header_only(tmp_path / "c.npy", (28, 28), descr="<c16"), "must hold numbers")
    short = npy_header_only(tmp_path / "short.npy", (28, 28), descr="|u1", data=b"\x01" * 100)
    _refused(short, "truncated .npy array (100 of 784 values)")
    (tmp_path / "magic.npy").write_bytes(b"\x93NUMPY\x03\x00" + b"\x00" * 40)
    _refused(tmp_path / "magic.npy", "not a readable .npy array")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    _refused(tmp_path / "junk.npy", "not a readable .npy array")
    good = npy_header_only(tmp_path / "ok.npy", (28, 28), descr="|u1", data=bytes(range(28)) * 28)
    assert load_image(good).shape == (28, 28)


# ---------------------------------------------------------------- pictures

def test_a_png_header_claiming_100000x100000_is_refused_without_a_traceback(tmp_path):
    path = png_header_only(tmp_path / "bomb.png", 100_000, 100_000)
    _refused(path, "its header claims 10,000,000,000 pixels, expected 28x28 (not decoded)")


def test_a_12000x12000_png_is_refused_from_its_header(tmp_path):
    """144 M pixels: over Pillow's warning threshold (the warning is an error here)."""
    _refused(png_header_only(tmp_path / "big.png", 12_000, 12_000), "header claims 144,000,000")


def test_a_large_png_is_refused_before_decoding(tmp_path):
    """5000x5000 is under Pillow's bomb limit; the header alone answers: the file has no pixel
    data at all, so reaching the decoder would have said 'cannot be read' instead."""
    _refused(png_header_only(tmp_path / "wide.png", 5000, 5000), "is 5000x5000, expected 28x28")
    # a real zlib bomb in IDAT behind a 28x28 header decodes only 28x28 worth of it
    bomb = zlib.compress(b"\x00" * (20 * 1024 * 1024), 9)
    path = png_header_only(tmp_path / "idat.png", 28, 28, idat=bomb)
    assert path.stat().st_size < MAX_IMAGE_BYTES
    assert load_image(path).shape == (28, 28)


def test_other_hostile_pictures(tmp_path):
    big = tmp_path / "big.png"
    with open(big, "wb") as fh:
        fh.truncate(MAX_IMAGE_BYTES + 1)
    _refused(big, "far too large for a 28x28 image (at most 4.0 MiB)")
    eps = tmp_path / "x.eps"  # Pillow would hand an EPS to Ghostscript: never opened here
    eps.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nshowpage\n")
    _refused(eps, "cannot be read as an image")
    _refused(png_header_only(tmp_path / "cut.png", 28, 28, idat=b"\x78\x9c\x01"),
             "cannot be read as an image")


def test_load_images_stops_at_the_first_bad_one(tmp_path):
    from PIL import Image

    Image.new("L", (28, 28)).save(tmp_path / "ok.png")
    bad = npy_header_only(tmp_path / "bad.npy", (100_000, 100_000))
    with pytest.raises(CnnTuiError, match="bad.npy: is 100000x100000"):
        load_images([tmp_path / "ok.png", bad])


# ---------------------------------------------------------------- the command

@pytest.fixture
def run_without_weights(tmp_path):
    return finished_run(tmp_path / "runs", "w")


def test_predict_checks_every_input_before_torch_or_the_model(tmp_path, run_without_weights):
    """A refused input costs no torch import and no model: the run here has no weights at all,
    so an answer about the image proves the images came first."""
    runs, run_id = run_without_weights
    from PIL import Image

    Image.new("L", (28, 28)).save(tmp_path / "ok.png")
    hostile = [npy_header_only(tmp_path / "h.npy", (100_000, 100_000)),
               png_header_only(tmp_path / "h.png", 100_000, 100_000),
               png_header_only(tmp_path / "w.png", 12_000, 12_000)]
    for bad in hostile:
        code = ("import json, sys\nfrom cnn_tui.cli import main\n"
                "rc = main(sys.argv[1:])\n"
                "print(json.dumps({'rc': rc, 'torch': 'torch' in sys.modules}))\n")
        proc = subprocess.run([sys.executable, "-c", code, "predict", run_id, str(tmp_path / "ok.png"),
                               str(bad), "--runs-dir", str(runs)], cwd=REPO, capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
                              check=False)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result == {"rc": 2, "torch": False}, proc.stderr
        assert proc.stderr.count("\n") == 1 and f"image {bad}: " in proc.stderr
        assert "Traceback" not in proc.stderr
    # with good images the missing weights are the answer, still before any model is built
    proc = subprocess.run([sys.executable, "-m", "cnn_tui", "predict", run_id,
                           str(tmp_path / "ok.png"), "--runs-dir", str(runs)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2 and "has no saved weights" in proc.stderr


def test_shapes_are_checked_like_before(tmp_path):
    np.save(tmp_path / "one.npy", np.zeros((1, 28, 28), np.float32))
    assert load_image(tmp_path / "one.npy").shape == (28, 28)
    ramp = (np.arange(784, dtype=np.float32) / 784).reshape(28, 28)  # not symmetric
    np.save(tmp_path / "f.npy", np.asfortranarray(ramp))
    assert np.array_equal(load_image(tmp_path / "f.npy"), ramp)
    np.save(tmp_path / "be.npy", (np.arange(784) % 256).astype(">u2").reshape(28, 28))
    assert load_image(tmp_path / "be.npy")[0, 5] == np.float32(5 / 255)


# ---------------------------------------------------------------- fuzzed headers

def _attack(path: Path, counts: dict) -> None:
    """One hostile file: a 28x28 array, or one CnnTuiError line; anything else fails."""
    counts["files"] = counts.get("files", 0) + 1
    try:
        pixels = load_image(path)
    except CnnTuiError as err:
        assert "\n" not in str(err) and str(err).startswith(f"image {path}: ")
        counts["refused"] = counts.get("refused", 0) + 1
        return
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    counts["read"] = counts.get("read", 0) + 1


def _fuzz(examples: int, folder: Path, counts: dict) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    dims = st.sampled_from([0, 1, 27, 28, 29, 4096, 12_000, 100_000, 2**31 - 1, 2**32 - 1])
    tweak = settings(max_examples=examples, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))

    @tweak
    @given(st.lists(dims, min_size=0, max_size=4),
           st.sampled_from(["|u1", "<f8", ">f4", "<i8", "|O", "<c8", "|b1", "<U4", "|V8"]),
           st.sampled_from([(1, 0), (2, 0)]), st.binary(max_size=3000))
    def arrays(shape, descr, version, data):
        _attack(npy_header_only(folder / "a.npy", shape, descr, version, data), counts)

    @tweak
    @given(dims, dims, st.binary(max_size=2000), st.booleans())
    def pictures(width, height, tail, compress):
        idat = zlib.compress(tail) if compress else tail
        _attack(png_header_only(folder / "p.png", width, height, idat), counts)

    arrays()
    pictures()


def test_fuzzed_array_and_picture_headers(tmp_path):
    counts: dict = {}
    _fuzz(150, tmp_path, counts)
    assert counts["files"] == counts.get("refused", 0) + counts.get("read", 0) >= 300


if __name__ == "__main__":  # an attack rerun with counts: python tests/test_predict_hostile.py N
    import tempfile

    found: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        _fuzz(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, Path(tmp), found)
    print(f"hostile images and arrays: {found.get('files', 0)} files, {found.get('read', 0)} "
          f"read as 28x28, {found.get('refused', 0)} refused in one line, 0 tracebacks (any "
          "other exception stops the run)")
