"""Classify single images with a trained model: the smallest deployment story.

Images follow the MNIST convention: 28x28 grayscale, a WHITE digit on a BLACK background
(`invert=True` for a black digit on white paper, as most scans and drawings are). Accepted:
PNG (or any format PIL reads; colour is converted to grayscale) and `.npy` arrays of shape
[28, 28] (or [1, 28, 28]) holding uint8 0..255 or floats 0..1. Pixels are scaled to 0..1 and
normalised with MNIST's mean and standard deviation, exactly as the training data is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from cnn_tui.errors import CnnTuiError

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


def load_image(path: str | Path, size: tuple[int, int] = (28, 28), invert: bool = False):
    """The image at `path` as a float32 numpy array [H, W] in 0..1 (white digit on black)."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise CnnTuiError(f"image {path}: no such file")
    if path.suffix.lower() == ".npy":
        pixels = _load_npy(path)
    else:
        pixels = _load_picture(path)
    h, w = size
    if pixels.shape != (h, w):
        shown = "x".join(str(d) for d in pixels.shape[::-1]) if pixels.ndim == 2 else str(
            list(pixels.shape))
        raise CnnTuiError(f"image {path}: is {shown}, expected {w}x{h} grayscale "
                          f"(resize it to {w}x{h} first)")
    pixels = pixels.astype(np.float32)
    return 1.0 - pixels if invert else pixels


def _load_picture(path: Path):
    import numpy as np

    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - torchvision brings Pillow
        raise CnnTuiError("reading PNG images needs Pillow (pip install pillow)") from None
    try:
        with Image.open(path) as img:
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
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise CnnTuiError(f"image {path}: cannot be read as an image ({exc.__class__.__name__})") \
            from None


def _load_npy(path: Path):
    import numpy as np

    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CnnTuiError(f"image {path}: not a readable .npy array "
                          f"({str(exc).splitlines()[0][:120] if str(exc) else 'corrupt'})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "uif" or arr.dtype.kind == "c":
        raise CnnTuiError(f"image {path}: .npy must hold numbers, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        return arr  # the caller reports the shape
    if not np.isfinite(arr).all():
        raise CnnTuiError(f"image {path}: .npy holds NaN or infinite values")
    if arr.dtype.kind in "ui":
        if arr.min() < 0 or arr.max() > 255:
            raise CnnTuiError(f"image {path}: integer pixels must be 0..255, got "
                              f"{arr.min()}..{arr.max()}")
        return arr.astype(np.float64) / 255.0
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise CnnTuiError(f"image {path}: float pixels must be 0..1, got "
                          f"{float(arr.min()):.3g}..{float(arr.max()):.3g} "
                          "(integers 0..255 are read as bytes)")
    return arr.astype(np.float64)


def predict_images(model, paths: Sequence[str | Path], input_shape=(1, 28, 28),
                   invert: bool = False, device: str = "cpu") -> list[Prediction]:
    """Load every image first (so a bad one fails before any work), then classify in one batch."""
    import numpy as np
    import torch

    channels, h, w = input_shape
    arrays = [load_image(p, (h, w), invert) for p in paths]
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
