"""A sweep worker: the loop one process runs, its heartbeat, and which workers to start where.

`work(study, settings, identity)` takes trials until the sweep has the number it wants:

    until stopped: fail and re-queue dead workers' trials; if nothing is queued and enough
    trials are done or running: wait while others run, else end; otherwise ask a trial (a
    queued one first), train it (`trial.run_trial`) with a heartbeat thread, tell the outcome.

Any number of workers, on any number of machines, run this loop against one storage; the
storage decides who gets which trial. A worker that waits while others run is what lets a
sweep survive a `kill -9`: one of them fails the dead worker's trial and re-queues it.

`plan_workers` decides the worker processes of `sweep run --workers W` / `--gpus all|LIST
--per-gpu K`: one process per GPU slot, with `CUDA_VISIBLE_DEVICES` set to that GPU, and the
CPU threads shared out (`CNN_TUI_THREADS`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cnn_tui.errors import CnnTuiError


@dataclass(frozen=True)
class Identity:
    """Who runs a trial: recorded on it so other workers can tell whether it still lives."""

    host: str
    pid: int
    gpu: str | None = None  # this process's CUDA_VISIBLE_DEVICES
    heartbeat: float = 30.0

    @classmethod
    def here(cls, heartbeat: float = 30.0) -> Identity:
        return cls(socket.gethostname(), os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES"),
                   float(heartbeat))

    @property
    def key(self) -> str:
        return f"{self.host}:{self.pid}"

    def to_dict(self) -> dict:
        return {"host": self.host, "pid": self.pid, "gpu": self.gpu, "heartbeat": self.heartbeat}


class Heartbeat:
    """Calls `handle.beat()` every `interval` seconds on a thread until `stop()`."""

    def __init__(self, handle, interval: float) -> None:
        self.handle = handle
        self.interval = max(0.2, float(interval))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweep-heartbeat", daemon=True)

    def _run(self) -> None:
        while True:  # at once, then every interval (Optuna only watches beating trials)
            try:
                self.handle.beat()
            except Exception:  # noqa: BLE001 - a missed beat must never break the trial
                pass
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


@dataclass
class WorkerSummary:
    trials: list[int] = field(default_factory=list)  # the trials this worker finished
    notes: list[str] = field(default_factory=list)
    reason: str = ""  # why it ended: done, stopped, interrupted


def work(study, settings, identity: Identity, device: str | None = None, control=None,
         on_trial: Callable | None = None, on_note: Callable[[str], None] | None = None,
         callbacks=(), poll: float = 1.0, max_trials: int | None = None) -> WorkerSummary:
    """Run trials of `study` (an optuna_backend.SweepStudy) until the sweep is done, stopped,
    or `control` asks to stop. `on_trial(number, outcome)` after each trial."""
    from cnn_tui.data import find_mnist
    from cnn_tui.experiments.trial import STOPPED, TrialOutcome, run_trial
    from cnn_tui.train.control import Control

    control = control or Control()
    find_mnist(settings.data_dir)  # no MNIST: say so now, before a trial is taken
    summary = WorkerSummary()

    def note(text: str) -> None:
        summary.notes.append(text)
        if on_note is not None:
            on_note(text)

    while True:
        if control.stop_requested:
            summary.reason = "interrupted"
            break
        if study.stopped:
            summary.reason = "stopped"
            break
        if max_trials is not None and len(summary.trials) >= max_trials:
            summary.reason = "done"
            break
        for text in study.reap(identity):
            note(text)
        counts = study.counts()
        if counts.waiting == 0 and counts.active >= study.target:
            if counts.running == 0:
                summary.reason = "done"
                break
            _sleep(poll, control)  # others are running the last trials: one may die
            continue
        handle = study.ask(identity)
        if handle is None:
            continue
        with Heartbeat(handle, identity.heartbeat):
            try:
                outcome = run_trial(study.sweep, handle, settings, device=device,
                                    control=control, callbacks=callbacks)
            except BaseException as exc:  # a crash, or a second Ctrl-C: never leave it running
                stopped = isinstance(exc, KeyboardInterrupt)
                text = "stopped" if stopped else f"{type(exc).__name__}: {exc}"
                study.tell(handle, TrialOutcome(STOPPED if stopped else "failed",
                                                message=str(text).splitlines()[0][:300]))
                raise
        text = study.tell(handle, outcome)
        if text:
            note(text)
        summary.trials.append(handle.number)
        if on_trial is not None:
            on_trial(handle.number, outcome)
        if outcome.state == STOPPED:
            summary.reason = "interrupted"
            break
    return summary


def _sleep(seconds: float, control) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not control.stop_requested:
        time.sleep(min(0.1, max(0.0, end - time.monotonic())))


# ---------------------------------------------------------------- which workers where

@dataclass(frozen=True)
class WorkerPlan:
    label: str  # "worker 2", "gpu 1 #2"
    env: dict  # environment overrides: CUDA_VISIBLE_DEVICES, CNN_TUI_THREADS


def _gpu_ids(gpus: str, visible: str | None, count: int) -> list[str]:
    """The CUDA_VISIBLE_DEVICES value of each GPU `--gpus` names (`all` or a list of indices
    into the GPUs this process sees)."""
    entries = [v.strip() for v in visible.split(",") if v.strip()] if visible else \
        [str(i) for i in range(count)]
    if visible is not None and count:
        entries = entries[:count]
    if gpus.strip().lower() == "all":
        if not entries:
            raise CnnTuiError("--gpus all: no GPU is visible (CUDA_VISIBLE_DEVICES="
                              f"{visible!r}, torch sees {count})" if visible is not None else
                              "--gpus all: no GPU is visible (torch sees none)")
        return entries
    out = []
    for part in gpus.split(","):
        part = part.strip()
        if not part.isdigit():
            raise CnnTuiError(f"--gpus {gpus}: give 'all' or GPU indices such as 0,1,3")
        index = int(part)
        if index >= len(entries):
            raise CnnTuiError(f"--gpus {gpus}: there is no GPU {index} (this process sees "
                              f"{len(entries)}{': ' + ','.join(entries) if entries else ''})")
        if entries[index] in out:
            raise CnnTuiError(f"--gpus {gpus}: GPU {index} is listed twice (use --per-gpu K)")
        out.append(entries[index])
    return out


# Workers per GPU when --per-gpu is not given, chosen by `benchmarks/sweep_workers.py --per-gpu`
# on an H200 (12 Beginner trials of 60,000 images, 1 epoch; trials/minute from first start to
# last end, and the whole command's wall time): 2 per GPU 1.61x one, 4 2.19-2.28x, 8 2.56x
# (wall 1.45x, 1.69-1.84x, 1.93x). 4 takes most of the gain for half the processes and memory
# of 8. An MNIST trial leaves a big GPU mostly idle; a GPU that is full is merely shared.
PER_GPU_DEFAULT = 4


def plan_workers(workers: int | None = None, gpus: str | None = None, per_gpu: int | None = None,
                 visible: str | None = None, gpu_count: int = 0,
                 cpu_count: int | None = None, threads: str | None = None) -> list[WorkerPlan]:
    """One plan per worker process. Without `gpus`: `workers` processes sharing the devices,
    the CPU threads divided between them (unless CNN_TUI_THREADS, `threads`, is set); with
    `gpus`: `per_gpu` (default PER_GPU_DEFAULT) processes per GPU, each seeing only its GPU
    (CUDA_VISIBLE_DEVICES)."""
    cpu_count = cpu_count or os.cpu_count() or 1
    if per_gpu is None:
        per_gpu = PER_GPU_DEFAULT
    if per_gpu < 1:
        raise CnnTuiError(f"--per-gpu: must be at least 1, got {per_gpu}")
    if gpus is None:
        workers = 1 if workers is None else workers
        if workers < 1:
            raise CnnTuiError(f"--workers: must be at least 1, got {workers}")
        share = {"CNN_TUI_THREADS": threads or str(max(1, cpu_count // workers))}
        return [WorkerPlan(f"worker {i + 1}", dict(share)) for i in range(workers)]
    if workers is not None:
        raise CnnTuiError("--workers and --gpus: give one (with --gpus the workers are the GPUs "
                          "times --per-gpu)")
    ids = _gpu_ids(gpus, visible, gpu_count)
    total = len(ids) * per_gpu
    share = threads or str(max(1, cpu_count // total))
    return [WorkerPlan(f"gpu {gpu} #{k + 1}" if per_gpu > 1 else f"gpu {gpu}",
                       {"CUDA_VISIBLE_DEVICES": gpu, "CNN_TUI_THREADS": share})
            for gpu in ids for k in range(per_gpu)]


__all__ = ["PER_GPU_DEFAULT", "Heartbeat", "Identity", "WorkerPlan", "WorkerSummary", "plan_workers",
           "work"]
