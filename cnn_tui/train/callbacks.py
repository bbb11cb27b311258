"""Callbacks: everything around the loop that is not training (Lightning's design).

The Trainer only trains. Recording the run in the store, checkpoints, early stopping, the run's
diagnosis, CLI printing, the app's relay and a sweep's pruning are callbacks: objects with typed
hooks, called in list order with the trainer and the event. An event goes to the hook of its
type (`HOOKS`), never by class name. A plain function is a callback too: `EventFunction(fn)`
gets every event (that is how `api.train(callbacks=[print])` works).

Lifecycle hooks (no event of their own):
- `on_setup(trainer)`: the data, model and optimizer are ready and nothing has trained; the
  recorder creates the run here (so `trainer.run_id` is known by `RunStart`), checkpointing
  proves the run folder writable. A `TrainingError` here fails the run before its first step.
- `on_train_end(trainer, outcome)`: the epochs are over (finished, stopped or failed), before
  the test evaluation; `outcome.status` / `outcome.message` may be changed (a checkpoint that
  cannot be written fails the run). Early stopping restores the best weights here.
- `on_exception(trainer, exc)`: the loop raised something it does not turn into a status (a
  crash, or KeyboardInterrupt on a second ctrl+c); the recorder marks the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from cnn_tui.train.events import (BatchEnd, DeviceStats, Diagnosis, EpochEnd, EvalDone, GradNorms,
                                  Log, RunEnd, RunStart, Stage)

HOOKS: dict[type, str] = {
    RunStart: "on_run_start",
    BatchEnd: "on_batch_end",
    GradNorms: "on_grad_norms",
    EpochEnd: "on_epoch_end",
    EvalDone: "on_eval",
    RunEnd: "on_run_end",
    Log: "on_log",
    DeviceStats: "on_device_stats",
    Stage: "on_stage",
    Diagnosis: "on_diagnosis",
}


@dataclass
class Outcome:
    """How training ended; callbacks may change it in `on_train_end`."""

    status: str  # finished, stopped, failed
    message: str = ""


class Callback:
    """Override the hooks you need; every one is a no-op here."""

    def on_setup(self, trainer) -> None: ...
    def on_run_start(self, trainer, event: RunStart) -> None: ...
    def on_stage(self, trainer, event: Stage) -> None: ...
    def on_batch_end(self, trainer, event: BatchEnd) -> None: ...
    def on_grad_norms(self, trainer, event: GradNorms) -> None: ...
    def on_epoch_end(self, trainer, event: EpochEnd) -> None: ...
    def on_device_stats(self, trainer, event: DeviceStats) -> None: ...
    def on_diagnosis(self, trainer, event: Diagnosis) -> None: ...
    def on_log(self, trainer, event: Log) -> None: ...
    def on_train_end(self, trainer, outcome: Outcome) -> None: ...
    def on_eval(self, trainer, event: EvalDone) -> None: ...
    def on_run_end(self, trainer, event: RunEnd) -> None: ...
    def on_exception(self, trainer, exc: BaseException) -> None: ...


class EventFunction(Callback):
    """A plain function as a callback: it receives every event, whatever its type."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __repr__(self) -> str:
        return f"EventFunction({self.fn!r})"


def _forward(name: str):
    def hook(self, trainer, event) -> None:
        self.fn(event)
    hook.__name__ = name
    return hook


for _name in HOOKS.values():
    setattr(EventFunction, _name, _forward(_name))


def as_callbacks(items: Iterable[Any]) -> list[Callback]:
    """Callbacks as given, plain functions wrapped in `EventFunction`."""
    out = []
    for item in items:
        if isinstance(item, Callback):
            out.append(item)
        elif callable(item):
            out.append(EventFunction(item))
        else:
            raise TypeError(f"a callback must be a Callback or a function, not {type(item).__name__}")
    return out


def dispatch(callbacks: Iterable[Callback], trainer, event) -> None:
    """Hand `event` to each callback's hook for its type."""
    name = HOOKS[type(event)]
    for cb in callbacks:
        getattr(cb, name)(trainer, event)


__all__ = ["HOOKS", "Callback", "EventFunction", "Outcome", "as_callbacks", "dispatch"]
