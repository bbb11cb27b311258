"""Textual messages carrying the training engine's events from the worker thread to the UI.

Each message wraps one engine event (`cnn_tui.train.events`) unchanged, so the screen reads the
same fields the CLI prints. Messages that only report "where are we now" (batch progress, device
memory, gradient norms) implement `can_replace`: when the UI falls behind, a queued one is
dropped for the newer one instead of piling up, so a fast trainer can never flood the event
loop. The per-batch points the charts draw are not lost when that happens: they live in the
worker's `TrainingHistory`, and the message only says that it grew.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from cnn_tui.train.events import (BatchEnd, DeviceStats, EpochEnd, EvalDone, GradNorms, Log,
                                      RunEnd, RunStart)


@dataclass
class TrainingStarted(Message):
    """The run exists (run id, device, sizes); the data is on the device."""

    event: "RunStart"


@dataclass
class BatchProgress(Message):
    """Where the current epoch is; replaceable by a newer one still in the queue."""

    event: "BatchEnd"
    points: int  # len(history.batches) when posted

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BatchProgress)


@dataclass
class EpochFinished(Message):
    event: "EpochEnd"


@dataclass
class EvaluationReady(Message):
    event: "EvalDone"


@dataclass
class TrainingLog(Message):
    event: "Log"


@dataclass
class GradNormsUpdate(Message):
    event: "GradNorms"

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GradNormsUpdate)


@dataclass
class DeviceStatsUpdate(Message):
    event: "DeviceStats"

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DeviceStatsUpdate)


@dataclass
class TrainingFinished(Message):
    """The engine returned: finished, stopped (by the user or early stopping) or failed."""

    event: "RunEnd"


@dataclass
class TrainingFailed(Message):
    """The run could not start or crashed outside the engine's own reporting: one line."""

    message: str


__all__ = ["BatchProgress", "DeviceStatsUpdate", "EpochFinished", "EvaluationReady",
           "GradNormsUpdate", "TrainingFailed", "TrainingFinished", "TrainingLog",
           "TrainingStarted"]
