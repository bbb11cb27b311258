"""Checkpoints: written atomically, read with `torch.load(weights_only=True)` (never code).

A checkpoint holds the model and optimizer state, the schedule's plain numbers, the epoch, the
position inside an epoch when a run was stopped mid-epoch (with that epoch's permutation), the
history and every RNG state (torch, CUDA, numpy, Python) converted to tensors and plain types so
the restricted unpickler accepts them.

Writes go to a temp file in the same folder, are flushed and fsynced, then `os.replace`d over the
old file: a crash or a full disk leaves the previous checkpoint whole.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from cnn_tui.errors import TrainingError


def rng_state() -> dict:
    import torch
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    version, internal, gauss = random.getstate()
    state["python"] = {"version": int(version), "state": torch.tensor(internal, dtype=torch.int64),
                       "gauss": gauss}
    try:
        import numpy as np
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        state["numpy"] = {"kind": str(kind), "keys": torch.from_numpy(keys.astype("int64")),
                          "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)}
    except ImportError:  # numpy is optional for the loop itself
        pass
    return state


def set_rng_state(state: dict) -> None:
    import torch
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        try:
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
        except (RuntimeError, IndexError):  # fewer GPUs now than when saved
            pass
    if "python" in state:
        p = state["python"]
        random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss"]))
    if "numpy" in state:
        import numpy as np
        n = state["numpy"]
        np.random.set_state((n["kind"], n["keys"].numpy().astype("uint32"), n["pos"],
                             n["has_gauss"], n["cached"]))


def save(path: Path, state: dict) -> None:
    """Write `state` to `path` atomically; TrainingError (nothing replaced) on any OS error."""
    import torch
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise TrainingError(f"cannot write checkpoint {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def load(path: Path, map_location="cpu") -> dict:
    """Read a checkpoint with the restricted unpickler; TrainingError when missing or unreadable."""
    import torch
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise TrainingError(f"cannot read checkpoint {path}: {str(exc).splitlines()[0][:200]}") from None
