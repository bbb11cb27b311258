"""The app's current run: a headless `RunSession` followed a few times a second, its events
kept in a `TrainingHistory` that the Train and Analyze screens draw.

Every run the app shows, whether it started it (in a training process of its own) or found it
training (another app, a shell, a detached run), comes through here the same way: the session
reads the run's news from the store (`runs.follow`) in a thread worker every `POLL_SECONDS`,
the history grows, and each subscribed screen gets one `RunNews` message per poll that brought
something (replaceable while the UI is busy, so nothing piles up; never the last one of a run).

Nothing here imports torch: the app never trains in its own process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from cnn_tui.errors import CnnTuiError
from cnn_tui.session.run import RunSession, RunState
from cnn_tui.train import events as E

POLL_SECONDS = 0.25


@dataclass
class TrainingHistory:
    """Everything the screens draw of the current run, appended on the poll thread.

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
    diagnosis: list = field(default_factory=list)  # Diagnosis
    started_at: float = field(default_factory=time.monotonic)

    def add(self, event) -> None:
        """Keep `event` where the screens look for it."""
        if isinstance(event, E.BatchEnd):
            x = (event.epoch - 1) + event.step / max(event.steps, 1)
            self.batches.append((x, float(event.loss), float(event.acc)))
            self.last_batch = event
        elif isinstance(event, E.EpochEnd):
            self.epochs.append(event)
        elif isinstance(event, E.GradNorms):
            self.grad_norms.append(event)
        elif isinstance(event, E.RunStart):
            self.start = event
            self.started_at = time.monotonic()
        elif isinstance(event, E.DeviceStats):
            self.device_stats = event
        elif isinstance(event, E.EvalDone):
            self.evaluation = event
        elif isinstance(event, E.RunEnd):
            self.end = event
        elif isinstance(event, E.Log):
            self.logs.append(event)
        elif isinstance(event, E.Diagnosis):
            self.diagnosis.append(event)


class RunNews(Message):
    """The current run changed: `state` now, and whether this poll brought its end."""

    def __init__(self, state: RunState, events: list, ended: bool) -> None:
        super().__init__()
        self.state = state
        self.events = events  # the events this poll brought (logs and diagnosis are shown)
        self.ended = ended

    def can_replace(self, message: Message) -> bool:
        # a newer progress report stands for an older one; the events that say something to
        # the user (logs, diagnosis) and a run's end are never dropped
        return (isinstance(message, RunNews) and not message.ended
                and not any(isinstance(e, (E.Log, E.Diagnosis, E.RunStart)) for e in message.events))


class RunFeed:
    """Owned by the app: `feed.session` (the run's lifecycle), `feed.history` (what it
    measured), `subscribe(screen)` to get RunNews."""

    def __init__(self, app, settings) -> None:
        self.app = app
        self.session = RunSession(settings)
        self.history = TrainingHistory()
        self.subscribers: list = []
        self._polling = False
        self._timer = None
        self.polls = 0

    def subscribe(self, node) -> None:
        if node not in self.subscribers:
            self.subscribers.append(node)

    def _post(self, message_factory) -> None:
        for node in list(self.subscribers):
            if node.is_attached:
                node.post_message(message_factory())

    # ------------------------------------------------------------------ what the user asks
    def _fresh(self) -> None:
        self.history = TrainingHistory()
        self._ensure_timer()

    def start(self, arch, config: dict, limits: dict, source_path=None) -> str:
        self._fresh()
        run_id = self.session.start(arch, config, limits, source_path=source_path)
        self._news([], False)
        return run_id

    def resume(self, run_id: str) -> str:
        """Continue a stopped run; the history is read again from its start (the follower
        replays the run whole, so its curves and epochs go on from where they were)."""
        self._fresh()
        run_id = self.session.resume(run_id)
        self._news([], False)
        return run_id

    def follow(self, run_id: str) -> None:
        self._fresh()
        self.session.follow(run_id)
        self._news([], False)
        self.poll_now()

    # ------------------------------------------------------------------ polling
    def _ensure_timer(self) -> None:
        if self._timer is None:
            self._timer = self.app.set_interval(POLL_SECONDS, self.poll_now)

    def poll_now(self) -> None:
        """Poll in a thread worker unless one is still reading."""
        if self._polling or self.session.state == RunState.IDLE:
            return
        if not self.session.state.active and self.history.end is not None:
            return
        self._polling = True
        self.app.run_worker(self._poll, thread=True, group="run-feed", exit_on_error=False,
                            description="follow the run")

    def _poll(self) -> None:
        try:
            before = self.session.state
            try:
                events = self.session.poll()
            except CnnTuiError:
                events = []
            for event in events:
                self.history.add(event)
            self.polls += 1
            ended = any(isinstance(e, E.RunEnd) for e in events) or \
                (before.active and not self.session.state.active)
            if events or ended or self.session.state != before or \
                    self.session.state == RunState.STARTING:
                self._news(events, ended)
        finally:
            self._polling = False

    def _news(self, events: list, ended: bool) -> None:
        state = self.session.state
        self._post(lambda: RunNews(state, events, ended))
