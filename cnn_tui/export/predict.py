"""Classify single images with a trained model: the smallest deployment story.

Images follow the MNIST convention: 28x28 grayscale, a WHITE digit on a BLACK background
(`invert=True` for a black digit on white paper, as most scans and drawings are). Accepted:
PNG (or JPEG, BMP, GIF, TIFF, WebP, PPM; colour is converted to grayscale) and `.npy` arrays of
shape [28, 28] (or [1, 28, 28]) holding uint8 0..255 or floats 0..1. Pixels are scaled to 0..1
and normalised with MNIST's mean and standard deviation, exactly as the training data is.

Untrusted files are checked before they are decoded: at most `MAX_IMAGE_BYTES` on disk, the size
read from the header (a .npy header through numpy's header reader, a picture through Pillow's
`Image.open`, which reads only the header) and refused unless it is the model's input size, so
no claimed 100000x100000 array or decompression bomb is ever allocated. `load_images` needs
neither torch nor the model, so the CLI checks every input before it loads the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.fmt import fmt_bytes, image_size, shape_text
from cnn_tui.spec.text import printable

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


@dataclass(frozen=True)
class Prediction:
    path: str
    label: int
    confidence: float
    probabilities: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "class": self.label, "confidence": self.confidence,
                "probabilities": list(self.probabilities)}


# A 28x28 image is a few kilobytes in any format: anything far larger is not one, and is
# refused from its size on disk before a byte of it is decoded.
MAX_IMAGE_BYTES = 4 * 1024 * 1024
# Only these decoders run (never EPS, which calls Ghostscript, nor the rarer plugins).
PICTURE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")


def _refuse(path: Path, why: str) -> CnnTuiError:
    return CnnTuiError(f"image {printable(path)}: {why}")


def _check_shape(path: Path, shape: tuple[int, ...], size: tuple[int, int]) -> None:
    """Refuse anything but [H, W] (or [1, H, W]) = `size`, from a header: nothing decoded yet."""
    dims = shape[1:] if len(shape) == 3 and shape[0] == 1 else shape
    if tuple(dims) == tuple(size):
        return
    h, w = size
    shown = image_size(dims[1], dims[0]) if len(dims) == 2 else shape_text(shape)
    want = image_size(w, h)
    raise _refuse(path, f"is {shown}, expected {want} grayscale (resize it to {want} first)")


def load_image(path: str | Path, size: tuple[int, int] = (28, 28), invert: bool = False):
    """The image at `path` as a float32 numpy array [H, W] in 0..1 (white digit on black).

    Size and type are checked from the file's header before anything is decoded, so a hostile
    file (a .npy or PNG header claiming 100000x100000, a decompression bomb) costs a header
    read and one error line."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise _refuse(path, "no such file")
    try:
        nbytes = path.stat().st_size
    except OSError as exc:
        raise _refuse(path, f"cannot read ({exc.strerror or exc})") from None
    if nbytes > MAX_IMAGE_BYTES:
        raise _refuse(path, f"{fmt_bytes(nbytes)}, far too large for a "
                            f"{image_size(size[1], size[0])} image (at most "
                            f"{fmt_bytes(MAX_IMAGE_BYTES)})")
    if path.suffix.lower() == ".npy":
        pixels = _load_npy(path, size)
    else:
        pixels = _load_picture(path, size)
    pixels = pixels.astype(np.float32)
    return 1.0 - pixels if invert else pixels


def load_images(paths: Sequence[str | Path], size: tuple[int, int] = (28, 28),
                invert: bool = False) -> list:
    """Every image checked and loaded (numpy and Pillow only): the first bad one is the error."""
    return [load_image(p, size, invert) for p in paths]


def _load_picture(path: Path, size: tuple[int, int]):
    import warnings

    import numpy as np

    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - a dependency of cnn-tui
        raise CnnTuiError("reading PNG images needs Pillow (pip install pillow)") from None
    bombs = (Image.DecompressionBombError, Image.DecompressionBombWarning)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path, formats=PICTURE_FORMATS)  # reads the header only
    except bombs as exc:
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        what = f"{int(claimed.group(1)):,} pixels" if claimed else "an enormous size"
        raise _refuse(path, f"its header claims {what}, expected "
                            f"{image_size(size[1], size[0])} (not decoded)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise _refuse(path, f"cannot be read as an image ({exc.__class__.__name__})") from None
    with img:
        w, h = img.size
        _check_shape(path, (h, w), size)
        try:
            img.load()
            if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                arr = np.asarray(img, dtype=np.float64)
                top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
                return np.clip(arr / top, 0.0, 1.0)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                img = img.convert("RGBA")  # transparent pixels become black (the background)
                black = Image.new("RGBA", img.size, (0, 0, 0, 255))
                img = Image.alpha_composite(black, img)
            return np.asarray(img.convert("L"), dtype=np.float64) / 255.0
        except (OSError, ValueError, SyntaxError, *bombs) as exc:
            raise _refuse(path, f"cannot be read as an image ({exc.__class__.__name__})") from None


def _npy_header(path: Path, fh) -> tuple[tuple[int, ...], bool, Any]:
    """(shape, fortran_order, dtype) from a .npy header, without reading the data."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(fh)
        if version == (1, 0):
            return npy.read_array_header_1_0(fh)
        if version == (2, 0):
            return npy.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        first = str(exc).splitlines()[0][:120] if str(exc) else "corrupt header"
        raise _refuse(path, f"not a readable .npy array ({first})") from None
    raise _refuse(path, f"not a readable .npy array (format version {version[0]}.{version[1]})")


def _load_npy(path: Path, size: tuple[int, int]):
    import numpy as np

    try:
        with open(path, "rb") as fh:
            shape, fortran, dtype = _npy_header(path, fh)
            if dtype.hasobject or dtype.kind not in "uif":
                raise _refuse(path, f".npy must hold numbers, got dtype {dtype}")
            _check_shape(path, tuple(shape), size)
            count = int(np.prod(shape))
            arr = np.fromfile(fh, dtype=dtype, count=count)
    except OSError as exc:
        raise _refuse(path, f"cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise _refuse(path, f"not a readable .npy array ({str(exc)[:120]})") from None
    if arr.size != count:
        raise _refuse(path, f"truncated .npy array ({arr.size} of {count} values)")
    arr = arr.reshape(size, order="F" if fortran else "C")
    if not np.isfinite(arr).all():
        raise _refuse(path, ".npy holds NaN or infinite values")
    if arr.dtype.kind in "ui":
        if arr.min() < 0 or arr.max() > 255:
            raise _refuse(path, f"integer pixels must be 0..255, got {arr.min()}..{arr.max()}")
        return arr.astype(np.float64) / 255.0
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise _refuse(path, f"float pixels must be 0..1, got "
                            f"{float(arr.min()):.3g}..{float(arr.max()):.3g} "
                            "(integers 0..255 are read as bytes)")
    return arr.astype(np.float64)


def predict_images(model, paths: Sequence[str | Path], input_shape=(1, 28, 28),
                   invert: bool = False, device: str = "cpu") -> list[Prediction]:
    """Load every image first (so a bad one fails before any work), then classify in one batch."""
    _, h, w = input_shape
    return classify(model, paths, load_images(paths, (h, w), invert), input_shape, device)


def classify(model, paths: Sequence[str | Path], arrays: list, input_shape=(1, 28, 28),
             device: str = "cpu") -> list[Prediction]:
    """Classify images already loaded by `load_images`, in one batch."""
    import numpy as np
    import torch

    channels = input_shape[0]
    if not arrays:
        return []
    batch = torch.from_numpy(np.stack(arrays)).float().unsqueeze(1)
    if channels != 1:
        batch = batch.expand(-1, channels, -1, -1)
    batch = ((batch - MNIST_MEAN) / MNIST_STD).to(device)
    model = model.to(device).eval()
    with torch.no_grad():
        logits = model(batch).float()
        probs = torch.softmax(logits, dim=1).cpu()
    out = []
    for path, row in zip(paths, probs):
        label = int(row.argmax())
        out.append(Prediction(str(path), label, float(row[label]),
                              tuple(round(float(p), 6) for p in row)))
    return out
