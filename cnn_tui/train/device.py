"""Pick the training device and set it up for speed.

`auto` means CUDA, then MPS, then CPU. On CUDA the loop uses bf16 autocast, channels_last and
cuDNN's autotuner. On CPU it uses channels_last too (oneDNN's NHWC convolutions), every core
it may run on (`torch.set_num_threads`, overridable with `CNN_TUI_THREADS`) and float32 (bf16
on most CPUs is slower, not faster).

Batch size: a value the architecture file or the command line sets explicitly always wins. When
neither sets one, `default_batch_size(device)` picks one that suits the device (the file format's
default of 64 is a good size for a browser, not for 16 CPU threads or an H100).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from cnn_tui.errors import CnnTuiError, TrainingError

# CPU: 64 measured >= 128 >= 256 (cache-bound); H100: the Net ran 23k img/s at 64, 85k at 256.
DEFAULT_BATCH = {"cuda": 512, "mps": 128, "cpu": 64}


@dataclass
class DeviceInfo:
    kind: str  # cuda, mps, cpu
    name: str  # "NVIDIA H100 80GB HBM3", "cpu (16 threads)"
    torch_device: object  # torch.device

    @property
    def amp_dtype(self):
        import torch
        return torch.bfloat16 if self.kind == "cuda" else None

    @property
    def channels_last(self) -> bool:
        """NHWC convolutions: faster with cuDNN and with oneDNN on CPUs (measured on the
        pytorch/examples Net on a 2-core CPU: about 1.2-1.7x at batch 64)."""
        return self.kind in ("cuda", "cpu")

    def autocast(self):
        """bf16 autocast on CUDA; a no-op context elsewhere."""
        import torch
        if self.kind == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def synchronize(self) -> None:
        import torch
        if self.kind == "cuda":
            torch.cuda.synchronize()
        elif self.kind == "mps":
            torch.mps.synchronize()


def _mps_available() -> bool:
    import torch
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(requested: str | None) -> DeviceInfo:
    """The device for `requested` (auto|cuda|mps|cpu, or e.g. "cuda:1"); TrainingError if absent."""
    import torch
    requested = (requested or "auto").lower()
    base = requested.split(":")[0]
    if base == "auto":
        if torch.cuda.is_available():
            requested, base = "cuda", "cuda"
        elif _mps_available():
            requested, base = "mps", "mps"
        else:
            requested, base = "cpu", "cpu"
    if base == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError("device cuda: no CUDA GPU is available here (use --device cpu or auto)")
        dev = torch.device(requested)
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise TrainingError(f"device {requested}: only {torch.cuda.device_count()} CUDA device(s)")
        return DeviceInfo("cuda", torch.cuda.get_device_name(index), torch.device("cuda", index))
    if base == "mps":
        if not _mps_available():
            raise TrainingError("device mps: Apple MPS is not available here (use --device cpu or auto)")
        return DeviceInfo("mps", "Apple MPS", torch.device("mps"))
    if base == "cpu":
        return DeviceInfo("cpu", f"cpu ({cpu_threads()} threads)", torch.device("cpu"))
    raise CnnTuiError(f"device {requested!r}: unknown (choose auto, cuda, cuda:N, mps or cpu)")


def configure(info: DeviceInfo) -> None:
    """Global speed settings for the chosen device (idempotent)."""
    import torch
    if info.kind == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    elif info.kind == "cpu":
        threads = cpu_threads()
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def cpu_threads() -> int:
    """Every core this process may use, or `CNN_TUI_THREADS` when set.

    On a machine shared with other busy processes, fewer threads than cores can be much faster
    (OpenMP threads waiting on each other at every barrier); `CNN_TUI_THREADS=1` says so.
    """
    value = os.environ.get("CNN_TUI_THREADS", "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise TrainingError(f"CNN_TUI_THREADS={value!r}: must be a whole number") from None
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_batch_size(kind: str) -> int:
    return DEFAULT_BATCH.get(kind, 64)
