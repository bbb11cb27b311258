"""What the training loop tells the outside world: plain dataclasses, no UI knowledge.

The loop calls each callback with one of these; the CLI prints them, the TUI turns them into
Textual messages. Every field is a plain Python value (floats, ints, lists, dicts), so events can
cross threads, be logged as JSON, or be compared in tests without touching torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Event:
    def to_dict(self) -> dict:
        return {"event": type(self).__name__, **asdict(self)}


@dataclass
class RunStart(Event):
    run_id: str
    device: str
    device_name: str
    params: int
    train_size: int
    val_size: int
    test_size: int
    epochs: int
    start_epoch: int  # 0 for a new run; the epochs already done when resuming
    batch_size: int = 0


@dataclass
class BatchEnd(Event):
    """Emitted every `progress_every` steps (and at the last step of an epoch).

    `loss` / `acc` are means over the steps since the previous BatchEnd of this epoch.
    """

    epoch: int  # 1-based
    step: int  # 1-based step within the epoch
    steps: int
    loss: float
    acc: float
    lr: float
    images_per_s: float
    seen: int  # images seen in this epoch so far


@dataclass
class EpochEnd(Event):
    epoch: int  # 1-based
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float
    seconds: float
    images_per_s: float
    best: bool  # this epoch is the best so far on the monitored metric


@dataclass
class EvalDone(Event):
    test_loss: float
    test_acc: float
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    per_class: list[dict]  # {class, precision, recall, f1, support}
    macro: dict
    weighted: dict
    mistakes: list[dict]  # {index, label, pred, confidence}, most confident first


@dataclass
class RunEnd(Event):
    run_id: str
    status: str  # finished, stopped, failed
    message: str
    best_val_acc: float | None
    test_acc: float | None
    seconds: float


@dataclass
class Log(Event):
    level: str  # info, warning, error
    message: str


@dataclass
class GradNorms(Event):
    """L2 norm of the gradient of each top-level layer's parameters ("3:conv2d" -> norm)."""

    epoch: int
    step: int
    norms: dict[str, float] = field(default_factory=dict)


@dataclass
class DeviceStats(Event):
    """CUDA memory in bytes (current allocation and peak since the run started)."""

    memory_current: int
    memory_peak: int


__all__ = ["BatchEnd", "DeviceStats", "EpochEnd", "EvalDone", "Event", "GradNorms", "Log",
           "RunEnd", "RunStart"]
