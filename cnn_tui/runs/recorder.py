"""The recorder: a callback that keeps everything a run measured in the run store.

Whoever starts a run (the CLI, the API, the app's training process, a sweep) puts a `Recorder`
in its callbacks, so every run records the same things:

- the run itself, created before its first step with its architecture, settings, device, the
  architecture version it trains (kept in the history too) and its sizes; a resume takes the
  same row up again;
- each epoch's row, and at each epoch's end the peak memory and throughput so far;
- batch points (epoch, step, loss, accuracy, learning rate, images/s, wall time), thinned to at
  most about `MAX_POINTS` per run (one point each time the step crosses a multiple of the run's
  steps / MAX_POINTS, never closer than its progress events, and at each epoch's last step):
  each kept point is the mean over the steps since the previous one, so the curve stays exact,
  only coarser;
- per-layer gradient norms (at most about `MAX_GRAD_NORMS` samples per run);
- the run's diagnosis as it is found, and the test evaluation and final status at the end.

Points are buffered and written at most every `FLUSH_SECONDS` (one transaction each), so a
process following the run from the store (`cnn_tui.runs.follow`) sees it within about a second
while the writes cost well under 1% of training time.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path

from cnn_tui.errors import CnnTuiError, RunStoreError, TrainingError
from cnn_tui.train.callbacks import Callback

MAX_POINTS = 2000
MAX_GRAD_NORMS = 500
FLUSH_SECONDS = 0.3  # + the follower's 0.25 s poll: a followed run lags by well under 1 s


class Recorder(Callback):
    """Record the trainer's run in `store` (a RunStore). `run_id`: the id to create the run
    with (the app allocates it before the training process starts); `source_path`: the file
    the architecture came from, for the version history; `tags`: the run's first tags."""

    def __init__(self, store, name: str | None = None, run_id: str | None = None,
                 source_path: Path | str | None = None, tags: list[str] | None = None,
                 clock=time.monotonic) -> None:
        self.store = store
        self.name = name
        self.run_id = run_id
        self.source_path = source_path
        self.tags = list(tags or [])
        self.clock = clock
        self.version: str | None = None
        self.warnings: list[str] = []
        self._points: list[dict] = []
        self._grads: list[dict] = []
        self._window = [0.0, 0.0, 0]  # loss sum, correct sum, images since the last kept point
        self._grad_events = 0
        self._point_steps = self._grad_stride = 1
        self._last_step = 0  # the step of the last batch event of this epoch
        self._prev_seen = 0
        self._epoch = 0  # the epoch of the last batch event
        self._flushed_at = clock()
        self.peak_memory: int | None = None

    # ------------------------------------------------------------------ setup
    def _keep_version(self, arch) -> str:
        """The architecture's version hash, kept in the history (a failure there is a warning:
        the history must never stop a run)."""
        from cnn_tui.runs.history import History, arch_hash
        history = History(self.store.root)
        try:
            return history.record(arch, "train", self.source_path).hash
        except CnnTuiError as err:
            self.warnings.append(f"not kept in the architecture history: {err}")
            return arch_hash(arch)
        finally:
            history.close()

    def on_setup(self, trainer) -> None:
        store = self.store
        try:
            store.ensure_writable()
            self.version = self._keep_version(trainer.arch)
            if trainer.resume is not None:
                run_id = trainer.resume.run_id
                store.mark_running(run_id, trainer.dev.kind, trainer.dev.name,
                                   trainer.recorded_config)
                store.truncate_epochs(run_id, trainer.start_epoch)
                store.truncate_points(run_id, trainer.start_epoch + (1 if trainer.start_step else 0),
                                      trainer.start_step)
            else:
                run_id = store.create_run(trainer.arch.to_dict(), trainer.recorded_config,
                                          trainer.dev.kind, name=self.name,
                                          device_name=trainer.dev.name, params=trainer.params,
                                          run_id=self.run_id, version=self.version, tags=self.tags)
        except CnnTuiError as err:
            raise TrainingError(str(err)) from None
        trainer.run_id = self.run_id = run_id
        for warning in self.warnings:
            trainer.log("warning", warning)

    def on_run_start(self, trainer, event) -> None:
        # a point at each multiple of this many steps: never closer than the progress events,
        # so extra events (the trainer also reports every 0.5 s on a slow machine) only split
        # a point's window and the points are the same however the run was timed
        total_steps = max(1, event.epochs * event.steps)
        self._point_steps = max(int(trainer.options.progress_every or 1),
                                math.ceil(total_steps / MAX_POINTS))
        grad_every = int(trainer.options.grad_norms_every or 0)
        if grad_every:
            samples = event.epochs * math.ceil(event.steps / grad_every)
            self._grad_stride = max(1, math.ceil(samples / MAX_GRAD_NORMS))
        self._write(self.store.set_sizes, self.run_id, {
            "train": event.train_size, "val": event.val_size, "test": event.test_size,
            "steps": event.steps, "batch_size": event.batch_size, "start_epoch": event.start_epoch,
            "progress_every": trainer.options.progress_every})

    # ------------------------------------------------------------------ measurements
    def on_batch_end(self, trainer, event) -> None:
        if event.epoch != self._epoch:  # a new epoch: its images count from 0
            self._epoch, self._prev_seen = event.epoch, 0
        images = event.seen - self._prev_seen
        self._prev_seen = event.seen
        window = self._window
        window[0] += event.loss * images
        window[1] += event.acc * images
        window[2] += images
        due = (event.step // self._point_steps) > (self._last_step // self._point_steps)
        self._last_step = event.step if event.step < event.steps else 0
        if due or event.step >= event.steps:
            count = max(window[2], 1)
            self._points.append({"epoch": event.epoch, "step": event.step, "steps": event.steps,
                                 "loss": window[0] / count, "acc": window[1] / count,
                                 "lr": event.lr, "images_per_s": event.images_per_s,
                                 "wall": time.time()})
            self._window = [0.0, 0.0, 0]
        if self.clock() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()

    def on_grad_norms(self, trainer, event) -> None:
        if self._grad_events % self._grad_stride == 0:
            self._grads.append({"epoch": event.epoch, "step": event.step, "layers": dict(event.norms)})
        self._grad_events += 1

    def on_device_stats(self, trainer, event) -> None:
        self.peak_memory = max(self.peak_memory or 0, int(event.memory_peak))

    def on_diagnosis(self, trainer, event) -> None:
        self._write(self.store.add_diagnosis, self.run_id, asdict(event))

    def on_epoch_end(self, trainer, event) -> None:
        self.flush()

    def record_epoch(self, trainer) -> None:
        """The finished epoch's row and the figures so far. Called by `EpochRows`, which runs
        after the checkpoint is written: an epoch the store shows as done is one a resume keeps
        (a kill between the two leaves the row out, never a row without its checkpoint)."""
        self._write(self.store.log_epoch, self.run_id, trainer.history[-1])
        ips = trainer.train_images / trainer.train_seconds if trainer.train_seconds else None
        self._write(self.store.set_figures, self.run_id, self.peak_memory, ips)

    def flush(self) -> None:
        """Write the buffered batch points and gradient norms (one transaction each)."""
        self._flushed_at = self.clock()
        points, grads = self._points, self._grads
        self._points, self._grads = [], []
        if points:
            self._write(self.store.add_batch_points, self.run_id, points)
        if grads:
            self._write(self.store.add_grad_norms, self.run_id, grads)

    # ------------------------------------------------------------------ the end
    def on_run_end(self, trainer, event) -> None:
        if self.run_id is None:
            return  # the run was never created (its store could not be written)
        try:
            self.flush()
        except TrainingError:
            pass  # the end must still be recorded if it can be
        ips = trainer.train_images / trainer.train_seconds if trainer.train_seconds else None
        evaluation = trainer.evaluation if event.status == "finished" else None
        peak = max(self.peak_memory or 0, _peak_of(trainer)) or None
        try:
            self.store.finish(self.run_id, event.status, evaluation, event.message, peak, ips)
        except CnnTuiError as err:
            if event.status != "failed":
                raise TrainingError(f"run {self.run_id}: the run store could not record its end: "
                                    f"{err}") from None
            # both said: why training stopped (a checkpoint that could not be written, say) and
            # why the store could not record it; the checkpoint on disk stays resumable
            raise TrainingError(f"{event.message}; the run store could not record it either: "
                                f"{err}") from None

    def on_exception(self, trainer, exc: BaseException) -> None:
        if self.run_id is None:
            return
        try:
            self.flush()
        except CnnTuiError:
            pass
        try:
            if isinstance(exc, KeyboardInterrupt):
                self.store.set_status(self.run_id, "stopped",
                                      "interrupted; resume from the last checkpoint")
            else:
                text = str(exc).splitlines()[0][:300] if str(exc) else ""
                self.store.finish(self.run_id, "failed", None, f"{type(exc).__name__}: {text}")
        except CnnTuiError:
            pass  # the store's own trouble (a full disk) must not hide what went wrong

    def _write(self, method, *args) -> None:
        """A store write; its failure is a TrainingError naming the store (the run fails)."""
        try:
            method(*args)
        except RunStoreError as err:
            raise TrainingError(str(err)) from None


class EpochRows(Callback):
    """Writes the recorder's epoch rows; placed after the checkpointing callback."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def on_epoch_end(self, trainer, event) -> None:
        self.recorder.record_epoch(trainer)


def _peak_of(trainer) -> int:
    from cnn_tui.train.loop import memory_now
    dev = getattr(trainer, "dev", None)
    if dev is None:
        return 0
    return memory_now(dev)[1] or 0
