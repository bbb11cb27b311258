"""RunSession: one run's lifecycle for an interactive front end (the app), with a real state.

    idle -> starting -> running <-> pausing -> paused -> running
                        running | paused -> stopping -> stopped
                        any active state -> finished | failed | interrupted

The session never trains in the front end's process: `start` and `resume` spawn a training
process (`session.process`: `cnn-tui train` in a session of its own, so quitting the app is
"detach": the run goes on), and every run, whoever started it (this app, another app, a shell,
a sweep), is shown by following it through the store (`runs.follow`): one path, the same
events, the same live view. Pause, resume and stop are requests through the store, which the
training process takes within a fraction of a second (`runs.remote`).

`poll()` is called by the front end (from a worker thread, a few times a second): it returns
the new events and updates `state`; `transitions` keeps every state change with its time and
reason. Thread-safe: the front end's own thread may call `pause()` / `stop()` while a poll runs.
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnn_tui.errors import CnnTuiError, TrainingError
from cnn_tui.settings import Settings


class RunState(str, enum.Enum):
    IDLE = "idle"
    STARTING = "starting"
    RUNNING = "running"
    PAUSING = "pausing"
    PAUSED = "paused"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def active(self) -> bool:
        """A run is going (its process is alive and owes us an end)."""
        return self in ACTIVE

    @property
    def resumable(self) -> bool:
        return self in (RunState.STOPPED, RunState.INTERRUPTED, RunState.FAILED)

    def __str__(self) -> str:
        return self.value


ACTIVE = frozenset({RunState.STARTING, RunState.RUNNING, RunState.PAUSING, RunState.PAUSED,
                    RunState.STOPPING})
ENDED = {"finished": RunState.FINISHED, "stopped": RunState.STOPPED, "failed": RunState.FAILED,
         "interrupted": RunState.INTERRUPTED, "pruned": RunState.STOPPED}


@dataclass
class Transition:
    state: RunState
    at: float
    note: str = ""


@dataclass
class RunSession:
    """`RunSession(settings)`; `start(...)`, `resume(run_id)` or `follow(run_id)`; `poll()`."""

    settings: Settings
    state: RunState = RunState.IDLE
    run_id: str | None = None
    child: object | None = None  # session.process.Child of a run started here
    stage: str = ""  # the training process's start-up stage while starting
    message: str = ""  # the run's own message once it ended (why it failed, how to resume)
    record: object | None = None  # the run's record as last polled
    transitions: list[Transition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._follower = None
        self._store = None
        self._asked: str | None = None  # the request this session made and the run not yet took

    # ------------------------------------------------------------------ state
    def _set(self, state: RunState, note: str = "") -> None:
        if state != self.state or not self.transitions:
            self.state = state
            self.transitions.append(Transition(state, time.time(), note))

    @property
    def store(self):
        if self._store is None:
            from cnn_tui.runs.store import RunStore
            self._store = RunStore(self.settings.runs_dir)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # ------------------------------------------------------------------ starting
    def start(self, arch, config: dict, limits: dict, name: str | None = None,
              source_path: Path | None = None) -> str:
        """Train `arch` with `config` in a training process; returns the run id it records."""
        from cnn_tui.session import process
        with self._lock:
            if self.state.active:
                raise TrainingError(f"run {self.run_id} is still going: stop it first")
            self.store.ensure_writable()
            child = process.spawn(self.settings, arch, config, limits, name=name,
                                  source_path=source_path)
            self._begin(child, "started")
            return child.run_id

    def resume(self, run_id: str, limits: dict | None = None) -> str:
        """Continue a stopped or interrupted run in a training process."""
        from cnn_tui.session import process
        with self._lock:
            if self.state.active:
                raise TrainingError(f"run {self.run_id} is still going: stop it first")
            record = self.store.get(run_id)
            if record.status == "running":
                raise TrainingError(f"run {record.id} is still training: follow it instead")
            child = process.spawn(self.settings, None, {}, limits or {}, resume=record.id)
            self._begin(child, f"resuming run {record.id}")
            return record.id

    def _begin(self, child, note: str) -> None:
        self.child, self.run_id = child, child.run_id
        self._follower, self.record, self.message, self.stage = None, None, "", ""
        self._asked = None
        self._set(RunState.STARTING, note)

    def follow(self, run_id: str) -> None:
        """Show a run started elsewhere (or stored): live while it trains, whole once ended."""
        from cnn_tui.runs.follow import Follower
        with self._lock:
            follower = Follower(self.store, run_id)
            self.child, self.run_id = None, follower.run_id
            self._follower, self.record, self.message, self.stage = follower, None, "", ""
            self._asked = None
            self._set(RunState.STARTING, f"following run {follower.run_id}")

    # ------------------------------------------------------------------ control
    def _request(self, action: str) -> None:
        if self.run_id is None:
            return
        self.store.request(self.run_id, action)
        self._asked = action

    def pause(self) -> bool:
        with self._lock:
            if self.state != RunState.RUNNING:
                return False
            self._request("pause")
            self._set(RunState.PAUSING, "pause asked")
            return True

    def unpause(self) -> bool:
        with self._lock:
            if self.state not in (RunState.PAUSED, RunState.PAUSING):
                return False
            self._request("resume")
            self._set(RunState.RUNNING, "resume asked")
            return True

    def stop(self) -> bool:
        """Ask the run to stop after its current step (it saves a checkpoint: resumable)."""
        with self._lock:
            if not self.state.active or self.state == RunState.STOPPING:
                return False
            if self.record is None and self.child is not None:
                import signal
                try:  # not recorded yet: the training process takes SIGTERM as a clean stop
                    self.child.proc.send_signal(signal.SIGTERM)
                except OSError:
                    pass
            else:
                self._request("stop")
            self._set(RunState.STOPPING, "stop asked")
            return True

    # ------------------------------------------------------------------ following
    def poll(self) -> list:
        """What is new since the last poll, as engine events; updates `state`."""
        from cnn_tui.runs.follow import Follower
        from cnn_tui.train.events import RunEnd
        with self._lock:
            if self.state == RunState.IDLE or self.run_id is None:
                return []
            if self._follower is None:  # started here: wait until the process recorded it
                if not self._child_recorded():
                    return self._starting()
                self._follower = Follower(self.store, self.run_id)
            try:
                events = self._follower.poll()
            except CnnTuiError as err:
                self.message = f"cannot read the run store: {err}"
                return []
            self.record = record = self._follower.record
            for event in events:
                if isinstance(event, RunEnd):
                    self.message = event.message
                    self._set(ENDED.get(event.status, RunState.FAILED), event.status)
            if not self.state.active:
                self._reap()
                return events
            self._set(self._live_state(record))
            return events

    def _child_recorded(self) -> bool:
        """The training process started here has taken its run up (a resumed run's record
        exists before: it counts once the process's own pid is in it)."""
        try:
            record = self.store.get(self.run_id)
        except CnnTuiError:
            return False
        return self.child is None or record.pid == self.child.pid

    def _starting(self) -> list:
        """The process has not recorded its run yet: its stage, or why it ended early."""
        child = self.child
        if child is None:
            return []
        code = child.poll()
        if code is None:
            line = child.last_line("stage: ")
            self.stage = line[len("stage: "):] if line else "starting the training process…"
            return []
        self.message = child.error_line() or f"the training process ended (exit {code}) " \
                                             f"before its run started; see {child.log}"
        self._set(RunState.STOPPED if self.state == RunState.STOPPING and code in (130, 143)
                  else RunState.FAILED, "ended before its run started")
        return []

    def _live_state(self, record) -> RunState:
        if self.state == RunState.STOPPING or record.control == "stop":
            return RunState.STOPPING
        if record.paused:
            return RunState.PAUSED if record.control != "resume" else RunState.RUNNING
        if record.control == "pause" or (self.state == RunState.PAUSING and self._asked == "pause"
                                          and record.control is not None):
            return RunState.PAUSING
        return RunState.RUNNING

    def _reap(self) -> None:
        if self.child is not None:
            self.child.poll()

    # ------------------------------------------------------------------ the store
    def running_runs(self) -> list:
        """Runs recorded as training by a live process, newest first (the app says so on start)."""
        return self.store.list_runs(status="running", with_epochs=False)
