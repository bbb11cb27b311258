"""What the training loop tells the outside world: plain dataclasses, no UI knowledge.

The loop hands each event to its callbacks (`cnn_tui.train.callbacks`), which receive it in the
hook of its type (`on_epoch_end` for an `EpochEnd`, ...); the recorder stores them, the CLI
prints them, the app draws them, and a run followed from the store is read back as the same
events (`cnn_tui.runs.follow`). Every field is a plain Python value (floats, ints, lists, dicts),
so events can cross threads and processes, be logged as JSON, or be compared in tests without
touching torch.
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
    steps: int = 0  # steps per epoch
    config: dict = field(default_factory=dict)  # the settings the run trains with
    name: str | None = None
    arch_name: str = ""


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
    """Memory in bytes: on CUDA the allocator's current and peak allocation since the run
    started; on the CPU (and MPS) the process's resident set now and at its peak."""

    memory_current: int
    memory_peak: int


@dataclass
class Stage(Event):
    """Where a run is before its first step (loading MNIST, building the model, ...)."""

    stage: str  # import, data, model, first_step
    message: str


@dataclass
class Diagnosis(Event):
    """What the run's own measurements say: divergence, overfitting, underfitting, vanishing or
    exploding gradients. `severity` error stops the run; warning and hint are said and kept."""

    kind: str  # diverged, overfitting, underfitting, vanishing_gradients, exploding_gradients
    severity: str  # error, warning, hint
    epoch: int
    message: str  # what was seen, with the figures
    advice: str  # what to try


EVENT_TYPES = {cls.__name__: cls for cls in (RunStart, BatchEnd, EpochEnd, EvalDone, RunEnd, Log,
                                             GradNorms, DeviceStats, Stage, Diagnosis)}


def from_dict(data: dict) -> Event:
    """The event `Event.to_dict` gave (`{"event": "EpochEnd", ...}`); ValueError when unknown."""
    data = dict(data)
    cls = EVENT_TYPES.get(str(data.pop("event", "")))
    if cls is None:
        raise ValueError(f"unknown event {data!r:.80}")
    return cls(**data)


__all__ = ["BatchEnd", "DeviceStats", "Diagnosis", "EVENT_TYPES", "EpochEnd", "EvalDone", "Event",
           "GradNorms", "Log", "RunEnd", "RunStart", "Stage", "from_dict"]
