"""Runs the training engine in a Textual thread worker and relays its events as messages.

The engine knows nothing of Textual: it calls `ProgressRelay` (a plain callback) with its
dataclass events on the worker thread. The relay appends what the charts need to a
`TrainingHistory` (a list append: no lock, no copy) and posts a message for the UI, at a
bounded rate for the per-batch events (`min_interval`, default 0.5 s, so at most 2 progress
messages a second whatever the trainer's speed) and always for the rare ones (epoch end,
evaluation, run end, logs). `post_message` is thread-safe in Textual.

torch and the engine are imported inside the worker thread, so the UI never waits for them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from textual import work
from textual.message import Message

from cnn_tui.errors import CnnTuiError
from cnn_tui.tui import messages as M


@dataclass
class TrainingHistory:
    """Everything the Train screen draws, appended on the worker thread, read on the UI thread.

    `batches` holds (x, loss, acc) with x in epochs (1.5 = half-way through epoch 2).
    """

    start: Any = None  # RunStart
    batches: list[tuple[float, float, float]] = field(default_factory=list)
    last_batch: Any = None  # BatchEnd
    epochs: list = field(default_factory=list)  # EpochEnd
    grad_norms: list = field(default_factory=list)  # GradNorms
    device_stats: Any = None  # DeviceStats
    evaluation: Any = None  # EvalDone
    end: Any = None  # RunEnd
    logs: list = field(default_factory=list)  # Log
    started_at: float = field(default_factory=time.monotonic)


class ProgressRelay:
    """The engine callback: events -> history + bounded-rate Textual messages."""

    def __init__(self, post: Callable[[Message], Any], history: TrainingHistory | None = None,
                 min_interval: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self.post = post
        self.history = history if history is not None else TrainingHistory()
        self.min_interval = min_interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self.posted = 0  # messages posted (the benchmark reports it)
        self.events = 0  # events received

    def _due(self, kind: str, interval: float) -> bool:
        now = self.clock()
        if now - self._last.get(kind, -1e9) >= interval:
            self._last[kind] = now
            return True
        return False

    def _post(self, message: Message) -> None:
        self.posted += 1
        self.post(message)

    def __call__(self, event: Any) -> None:
        self.events += 1
        h = self.history
        kind = type(event).__name__
        if kind == "BatchEnd":
            x = (event.epoch - 1) + event.step / max(event.steps, 1)
            h.batches.append((x, float(event.loss), float(event.acc)))
            h.last_batch = event
            if event.step >= event.steps or self._due("batch", self.min_interval):
                self._post(M.BatchProgress(event, len(h.batches)))
        elif kind == "EpochEnd":
            h.epochs.append(event)
            self._post(M.EpochFinished(event))
        elif kind == "RunStart":
            h.start = event
            h.started_at = self.clock()
            self._post(M.TrainingStarted(event))
        elif kind == "EvalDone":
            h.evaluation = event
            self._post(M.EvaluationReady(event))
        elif kind == "RunEnd":
            h.end = event
            self._post(M.TrainingFinished(event))
        elif kind == "Log":
            h.logs.append(event)
            self._post(M.TrainingLog(event))
        elif kind == "GradNorms":
            h.grad_norms.append(event)
            if self._due("grad", 5 * self.min_interval):
                self._post(M.GradNormsUpdate(event))
        elif kind == "DeviceStats":
            h.device_stats = event
            if self._due("device", 5 * self.min_interval):
                self._post(M.DeviceStatsUpdate(event))


@dataclass
class TrainRequest:
    """What one run needs: the architecture, its training config, RunOptions fields, a Control."""

    arch: Any
    config: dict
    options: dict  # keyword arguments for cnn_tui.train.loop.RunOptions
    control: Any  # cnn_tui.train.control.Control
    relay: ProgressRelay


def progress_every(request: TrainRequest) -> int:
    """Steps between progress events: 10 on CPU, 50 on a GPU.

    Each progress event costs the engine one device sync; on a GPU doing hundreds of steps a
    second, 50 keeps that cost negligible and still gives the relay more than it posts.
    """
    import torch
    device = request.options.get("device") or (request.config or {}).get("device") or "auto"
    if str(device).startswith(("auto", "cuda")) and torch.cuda.is_available():
        return 50
    return 10


class TrainingWorkerMixin:
    """Mixed into the Train screen (a Textual DOMNode): `run_training(request)` starts the worker.

    One training at a time per app (`exclusive=True` in the "training" group); an error never
    takes the app down (`exit_on_error=False`): it becomes a `TrainingFailed` message.
    """

    @work(thread=True, exclusive=True, group="training", exit_on_error=False)
    def run_training(self, request: TrainRequest):
        post = self.post_message  # type: ignore[attr-defined]
        try:
            from cnn_tui.train.loop import RunOptions, train
            # gradient norms stay at the engine's pace (they cost real work per layer)
            options = RunOptions(**{"progress_every": progress_every(request), **request.options})
            return train(request.arch, request.config, options, [request.relay], request.control)
        except CnnTuiError as err:
            post(M.TrainingFailed(str(err)))
        except Exception as err:  # the UI must survive a crash in the engine; say what it was
            post(M.TrainingFailed(f"training crashed: {type(err).__name__}: {err}"))
        return None
