"""Checkpoints: written atomically, read with `torch.load(weights_only=True)` (never code).

A checkpoint holds the model and optimizer state, the schedule's plain numbers, the epoch, the
position inside an epoch when a run was stopped mid-epoch (with that epoch's permutation), the
history and every RNG state (torch, CUDA, numpy, Python) converted to tensors and plain types so
the restricted unpickler accepts them.

Writes go through `cnn_tui.atomic` (a temp file `.checkpoint.pt.XXXXXXXX.tmp` in the same folder,
fsynced, renamed over the old file): a crash or a full disk leaves the previous checkpoint whole.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from cnn_tui import atomic
from cnn_tui.errors import TrainingError
from cnn_tui.spec.fmt import and_more, shape_text


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


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def save(path: Path, state: dict) -> None:
    """Write `state` to `path` atomically; TrainingError (nothing replaced) on any OS error."""
    import torch
    path = Path(path)
    try:
        with atomic.atomic_path(path, what="checkpoint", error=TrainingError) as tmp:
            torch.save(state, tmp)
    except RuntimeError as exc:  # torch's zip writer reports a short write (a full disk) so
        free = _free_bytes(path.parent)
        why = ("no space left on the device" if free is not None and free < (1 << 20)
               else str(exc).splitlines()[0][:120])
        raise TrainingError(f"cannot write checkpoint {path}: {why}") from None


def load(path: Path, map_location="cpu") -> dict:
    """Read a checkpoint with the restricted unpickler; TrainingError when missing or unreadable.

    torch's own errors run to paragraphs; the message here is one line naming the file, with
    torch's reason only when it is one short, whole sentence.
    """
    import warnings

    import torch
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"no checkpoint at {path}")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise TrainingError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": noise on stderr
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        reason = _load_reason(exc, path)
        raise TrainingError(f"{path}: cannot read checkpoint (corrupt or truncated"
                            f"{': ' + reason if reason else ''})") from None


def _first_sentence(text: str, limit: int = 90) -> str:
    """The first sentence of `text` when it is whole and at most `limit` characters, else ''."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            sentence = re.split(r"(?<=[^.\s]{2})\.(?:\s|$)", line, maxsplit=1)[0].strip()
            return sentence if len(sentence) <= limit and not sentence.endswith(":") else ""
    return ""


def _load_reason(exc: BaseException, path: Path) -> str:
    """A short reason for a failed torch.load, or '' when torch gave none that is short."""
    text = str(exc)
    try:
        empty = path.stat().st_size == 0
    except OSError:
        empty = False
    if isinstance(exc, EOFError) or empty:
        return "the file is empty" if empty else "the file ends early"
    if isinstance(exc, OSError):  # the file opened: errno text from inside the zip reader
        return ""                   # ("Invalid argument") would mislead
    marker = "WeightsUnpickler error:"  # torch's safe loader: the reason follows a long preface
    if marker in text:
        return _first_sentence(text.split(marker, 1)[1])
    if text.startswith("Weights only load failed"):  # a preface line, the reason, a doc link
        lines = text.splitlines()[1:]
        text = "\n".join(line for line in lines if not line.startswith("Check the documentation"))
    return _first_sentence(text)


def state_dict_mismatch(saved: object, current: Mapping) -> str:
    """One line saying how a checkpoint's model weights (`saved`) differ from a model's
    (`current`, its state_dict()): the first parameter whose shape differs (checkpoint vs this
    model), else parameters one has and the other lacks; '' when nothing differs.

    For `TrainingError(f"... does not fit this architecture ({...})")` on a failed
    load_state_dict: torch's own message is a header line and a list of every key.
    """
    if not isinstance(saved, Mapping):
        return "the checkpoint holds no model weights"
    parts = []
    shapes = [(key, tuple(getattr(saved[key], "shape", ())), tuple(value.shape))
              for key, value in current.items()
              if key in saved and hasattr(value, "shape")
              and tuple(getattr(saved[key], "shape", ())) != tuple(value.shape)]
    if shapes:
        key, theirs, ours = shapes[0]
        parts.append(f"{key} is {shape_text(theirs)} in the checkpoint but {shape_text(ours)} "
                     f"in this model{and_more(len(shapes) - 1)}")
    missing = [key for key in current if key not in saved]
    unexpected = [key for key in saved if key not in current]
    if missing:
        parts.append(f"the checkpoint lacks {missing[0]}{and_more(len(missing) - 1)}")
    if unexpected:
        parts.append(f"this model has no {unexpected[0]}{and_more(len(unexpected) - 1)}")
    return "; ".join(parts)


def mismatch_reason(saved: object, model, exc: BaseException | None = None) -> str:
    """What makes checkpoint weights `saved` not fit `model`, in one line (see
    state_dict_mismatch); from `exc` (a load_state_dict error) only when the weights agree."""
    described = state_dict_mismatch(saved, model.state_dict())
    if described or exc is None:
        return described or "its weights do not load into this model"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = next((line for line in lines if not line.endswith(":")), "")
    return _first_sentence(detail, 160) or f"its weights do not load ({type(exc).__name__})"
