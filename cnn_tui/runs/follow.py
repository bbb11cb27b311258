"""Following a run from the store: another process's run read back as the same events.

Whoever trains a run (a shell, the app's training process, another app, a sweep worker), its
recorder writes it to the store; `Follower(store, run_id).poll()` returns what is new since the
last poll as the engine's own events: `RunStart` (once, from the record), `BatchEnd` for new
batch points, `GradNorms`, `EpochEnd` for new epoch rows, `Diagnosis`, `DeviceStats` when the
peak memory grew, and at the end `EvalDone` and `RunEnd`. A front end draws them exactly as it
draws a run it trains itself: there is one way to show a run.

`poll()` also refreshes `record` (status, pause state, the request not yet taken), so a front end
can tell running, pausing, paused, stopping and the end apart.
"""

from __future__ import annotations

import time

from cnn_tui.train.events import (BatchEnd, DeviceStats, Diagnosis, EpochEnd, EvalDone, GradNorms,
                                  RunEnd, RunStart)


def run_start(record) -> RunStart:
    """The RunStart a run's record stands for (its settings, sizes, device)."""
    sizes = record.sizes or {}
    config = dict(record.config)
    epochs = int(config.get("epochs") or 0)
    return RunStart(record.id, record.device or "", record.device_name or "", int(record.params or 0),
                    int(sizes.get("train") or 0), int(sizes.get("val") or 0),
                    int(sizes.get("test") or 0), epochs, int(sizes.get("start_epoch") or 0),
                    int(sizes.get("batch_size") or config.get("batch_size") or 0),
                    int(sizes.get("steps") or 0), config, record.name, record.arch_name)


def epoch_end(row: dict, epochs: int, best: bool = False) -> EpochEnd:
    return EpochEnd(int(row["epoch"]), epochs, float(row.get("train_loss") or 0.0),
                    float(row.get("train_acc") or 0.0), row.get("val_loss"), row.get("val_acc"),
                    float(row.get("lr") or 0.0), float(row.get("seconds") or 0.0),
                    float(row.get("images_per_s") or 0.0), best)


def epoch_events(record) -> list[EpochEnd]:
    """A record's epoch rows as EpochEnd events, the best-so-far epoch marked by the monitored
    metric (as the trainer marks them)."""
    epochs = int(record.config.get("epochs") or 0)
    monitor = record.config.get("monitor", "val_loss")
    out, best = [], None
    for row in record.epochs:
        value = row.get(monitor) if row.get(monitor) is not None else \
            row.get("train_acc" if monitor == "val_acc" else "train_loss")
        improved = value is not None and (best is None or
                                          (value > best if monitor == "val_acc" else value < best))
        if improved:
            best = value
        out.append(epoch_end(row, epochs, bool(improved)))
    return out


def batch_end(point: dict, batch_size: int) -> BatchEnd:
    step, steps = int(point["step"]), int(point.get("steps") or point["step"])
    return BatchEnd(int(point["epoch"]), step, steps, float(point.get("loss") or 0.0),
                    float(point.get("acc") or 0.0), float(point.get("lr") or 0.0),
                    float(point.get("images_per_s") or 0.0), min(step * max(batch_size, 1), 10**9))


class Follower:
    """Reads one run's news from `store` (a RunStore); `poll()` -> list of events."""

    def __init__(self, store, run_id: str) -> None:
        self.store = store
        self.run_id = store.resolve(run_id)
        self.record = None
        self.started = False
        self.ended = False
        self._epochs = 0
        self._points = (0, 0)
        self._grads = (0, 0)
        self._diagnosis = 0
        self._peak = 0
        self._best = None
        self.polled_at = 0.0

    def poll(self) -> list:
        """The events since the last poll (empty when nothing changed)."""
        store, run_id = self.store, self.run_id
        record = store.get(run_id)
        self.record = record
        self.polled_at = time.monotonic()
        events: list = []
        if not self.started:
            self.started = True
            events.append(run_start(record))
        batch_size = int((record.sizes or {}).get("batch_size") or record.config.get("batch_size") or 0)
        points = store.batch_points(run_id, after=self._points)
        grads = store.grad_norms(run_id, after=self._grads)
        rows = epoch_events(record)
        # in the order the run produced them: an epoch's points and norms before its row
        merged = [((p["epoch"], p["step"], 0), batch_end(p, batch_size)) for p in points]
        merged += [((g["epoch"], g["step"], 1), GradNorms(g["epoch"], g["step"], g["layers"]))
                   for g in grads]
        merged += [((ev.epoch, 1 << 40, 2), ev) for ev in rows[self._epochs:]]
        merged.sort(key=lambda item: item[0])
        events += [ev for _, ev in merged]
        if points:
            self._points = (points[-1]["epoch"], points[-1]["step"])
        if grads:
            self._grads = (grads[-1]["epoch"], grads[-1]["step"])
        self._epochs = len(rows)
        for item in record.diagnosis[self._diagnosis:]:
            events.append(Diagnosis(str(item.get("kind", "")), str(item.get("severity", "warning")),
                                    int(item.get("epoch") or 0), str(item.get("message", "")),
                                    str(item.get("advice", ""))))
        self._diagnosis = len(record.diagnosis)
        peak = int(record.peak_memory_bytes or 0)
        if peak > self._peak:
            self._peak = peak
            events.append(DeviceStats(peak, peak))
        if record.status != "running" and not self.ended:
            self.ended = True
            ev = record.evaluation
            if record.status == "finished" and ev:
                events.append(EvalDone(ev.get("test_loss", 0.0), ev.get("test_acc", 0.0),
                                       ev.get("confusion_matrix") or [], ev.get("per_class") or [],
                                       ev.get("macro") or {}, ev.get("weighted") or {},
                                       ev.get("mistakes") or []))
            seconds = sum(float(row.get("seconds") or 0.0) for row in record.epochs)
            events.append(RunEnd(record.id, record.status, record.message, record.best_val_acc,
                                 record.test_acc, seconds))
        return events
