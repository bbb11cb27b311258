"""Sweeps for an interactive front end (the app's Sweeps screen), headless: no Textual here.

- `SweepsSession(settings, storage=None)`: one storage (the journal beside the run store by
  default, or a `--storage` value). `list()` gives its sweeps (`SweepRow`), `read(name)` one
  sweep as a `SweepSnapshot` (its trials as `report.TrialView`, the best so far, the counts,
  for an ablation or comparison the report), `importance(name)` Optuna's parameter importance
  (cached until another trial completes). The storage is opened once and kept: a journal is
  replayed once, then each read takes only the lines written since (cheap to poll).
- `start(path, workers)`: `cnn-tui sweep run FILE` as a process of its own session (no
  controlling terminal, so quitting the app or a dropped ssh session leaves it running; its
  output in a log under the state folder), recorded in `state/sweeps/NAME/launch.json` so the
  next app finds it. `stop(name, now)`: the sweep takes no new trial (running trials finish);
  `now` also asks the launched process to stop at once (its running trials stop after their
  step and go back to the queue, as Ctrl-C does).
- The views' data, as plain lists: `curves` (each trial's objective per epoch), `slices` (the
  objective against one parameter), `parallel` (every parameter scaled to 0..1 per trial),
  `forest` (each variant's effect with its interval), `trial_architecture` (a trial as an
  architecture with its training settings, for the editor).

Optuna is imported only when a storage is opened (through `experiments.optuna_backend`), never
at import: the app's first frame does not wait for it.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnn_tui.errors import CnnTuiError
from cnn_tui.settings import Settings

DONE_STATES = ("complete", "pruned", "failed", "invalid")
LAUNCH_FILE = "launch.json"


# ---------------------------------------------------------------- what is read

@dataclass
class SweepRow:
    """One sweep of a storage, as the picker lists it."""

    name: str
    kind: str = ""
    metric: str = ""
    direction: str = "maximize"
    target: int = 0
    done: int = 0
    running: int = 0
    stopped: bool = False
    best: float | None = None
    error: str = ""  # why it cannot be read (not a cnn-tui sweep, another format version)
    launch: Launch | None = None  # started by an app on this box, its process alive

    @property
    def active(self) -> bool:
        return self.running > 0 or (self.launch is not None and self.launch.alive)


@dataclass
class SweepSnapshot:
    """One sweep as read now."""

    name: str
    sweep: object  # experiments.sweepfile.Sweep
    target: int
    stopped: bool
    trials: list  # report.TrialView, counted ones (re-queued attempts and surplus asks left out)
    counts: dict  # state -> number (report.summary_counts)
    best: object | None  # the best TrialView so far
    signature: tuple  # equal signatures: nothing to redraw
    read_at: float = field(default_factory=time.time)
    report: dict | None = None  # ablation / compare: report.comparison
    requeued: list = field(default_factory=list)  # attempts whose worker died: (number, as, why)

    @property
    def kind(self) -> str:
        return self.sweep.kind

    @property
    def metric(self) -> str:
        return self.sweep.metric

    @property
    def done(self) -> int:
        return sum(self.counts.get(s, 0) for s in DONE_STATES)

    @property
    def running(self) -> int:
        return self.counts.get("running", 0)

    @property
    def finished(self) -> bool:
        """Nothing left to run: every trial wanted is done, or it is stopped and nothing runs."""
        if self.running:
            return False
        return self.stopped or (self.done >= self.target and not self.counts.get("waiting"))

    def trial(self, number: int):
        return next((t for t in self.trials if t.number == number), None)


def signature(trials, target: int, stopped: bool) -> tuple:
    """What the screen shows of a sweep, as a comparable value (heartbeats left out)."""
    return (target, stopped, tuple(
        (t.number, t.state, t.value, len(t.intermediate), t.worker, t.gpu, len(t.runs),
         t.ended, t.message) for t in trials))


# ---------------------------------------------------------------- launches

@dataclass
class Launch:
    """A `cnn-tui sweep run` started by an app: where it runs and logs."""

    name: str
    pid: int
    host: str
    file: str
    log: str
    started: float
    workers: int = 1
    storage: str = ""
    alive: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "pid": self.pid, "host": self.host, "file": self.file,
                "log": self.log, "started": self.started, "workers": self.workers,
                "storage": self.storage}

    def last_line(self) -> str:
        """The last line of its log that says something ('' when none)."""
        from cnn_tui.session.process import log_line
        return log_line(self.log)[:300]

    def error_line(self) -> str:
        """Why it ended early: its `cnn-tui: error: ...` line, else its log's last line."""
        from cnn_tui.session.process import log_error_line
        return log_error_line(self.log)[:300]


def _process_is_sweep(pid: int) -> bool:
    """The pid is alive and (where /proc tells) still a cnn-tui sweep, not a reused pid."""
    from cnn_tui.runs.store import pid_alive
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc here: the pid is all there is to go by
    return b"cnn_tui" in cmdline and b"sweep" in cmdline


# ---------------------------------------------------------------- the session

class SweepsSession:
    """The sweeps of one storage (see the module docstring). Thread-safe enough for one
    reading thread beside the front end's: Optuna's journal storage takes its own lock."""

    def __init__(self, settings: Settings, storage: str | None = None) -> None:
        from cnn_tui.experiments.storage import parse_storage
        self.settings = settings
        self.ref = parse_storage(storage, settings.runs_dir)
        self._backend = None
        self._studies: dict[str, object] = {}
        self._children: dict[str, subprocess.Popen] = {}  # launched here: reaped on poll
        self._importance: dict[str, tuple[tuple, tuple]] = {}

    # ------------------------------------------------------------ storage
    @property
    def where(self) -> str:
        return self.ref.shown

    def exists(self) -> bool:
        """False while the default journal file has not been written (no sweep ever ran)."""
        return self.ref.kind != "journal" or Path(self.ref.target).exists()

    def backend(self):
        if self._backend is None:
            from cnn_tui.experiments.optuna_backend import Backend
            self._backend = Backend(self.ref)
        return self._backend

    def _study(self, name: str):
        study = self._studies.get(name)
        if study is None:
            study = self.backend().open(name, wait=0)
            self._studies[name] = study
        return study

    def names(self) -> list[str]:
        if not self.exists():
            return []
        return self.backend().names()

    def list(self) -> list[SweepRow]:
        """Every sweep of the storage, the ones running first, then by name."""
        from cnn_tui.experiments.report import best_trial
        rows = []
        for name in self.names():
            launch = self.launch(name)
            try:
                study = self._study(name)
                views = study.trials()
            except CnnTuiError as err:
                self._studies.pop(name, None)
                rows.append(SweepRow(name, error=err.message, launch=launch))
                continue
            counts = study.counts(views)
            best = best_trial(study.sweep, views)
            rows.append(SweepRow(
                name, kind=study.sweep.kind, metric=study.sweep.metric,
                direction=study.sweep.direction, target=study.target, done=counts.done,
                running=counts.running, stopped=study.stopped,
                best=None if best is None else best.value, launch=launch))
        rows.sort(key=lambda r: (not r.active, r.name))
        return rows

    def read(self, name: str) -> SweepSnapshot:
        """Sweep `name` now; CnnTuiError when it is not there (deleted meanwhile) or unreadable."""
        from cnn_tui.experiments.report import best_trial, comparison, counted, summary_counts
        study = self._study(name)
        try:
            views = study.trials()
            attrs = study.storage.get_study_user_attrs(study.study_id)
        except KeyError:  # deleted from the storage since it was opened
            self._studies.pop(name, None)
            raise CnnTuiError(f"sweep {name!r} is no longer in {self.where}") from None
        from cnn_tui.experiments.optuna_backend import STOPPED, TARGET
        target = int(attrs.get(TARGET) or study.sweep.trials)
        stopped = bool(attrs.get(STOPPED))
        trials = counted(views)
        snap = SweepSnapshot(
            name=name, sweep=study.sweep, target=target, stopped=stopped, trials=trials,
            counts=summary_counts(views), best=best_trial(study.sweep, views),
            signature=signature(trials, target, stopped),
            requeued=[(t.number, t.requeued_as, t.message) for t in views
                      if t.requeued_as is not None])
        if study.sweep.kind != "search":
            snap.report = comparison(study.sweep, views)
        return snap

    def importance(self, name: str) -> tuple[dict[str, float] | None, str]:
        """({parameter: importance} summing to 1, "") or (None, why not yet); computed again
        only when the set of complete trials changed."""
        study = self._study(name)
        complete = tuple(sorted((t.number, t.value) for t in study.trials()
                                if t.state == "complete" and t.counted))
        cached = self._importance.get(name)
        if cached is not None and cached[0] == complete:
            return cached[1]
        result = study.importance()
        self._importance[name] = (complete, result)
        return result

    # ------------------------------------------------------------ launches
    def _folder(self, name: str) -> Path:
        return self.settings.state_dir / "sweeps" / name

    def launch(self, name: str) -> Launch | None:
        """The last `sweep run` an app started for `name` (alive or not), None when none."""
        path = self._folder(name) / LAUNCH_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            launch = Launch(**{k: data[k] for k in ("name", "pid", "host", "file", "log",
                                                   "started")},
                            workers=int(data.get("workers", 1)),
                            storage=str(data.get("storage", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        child = self._children.get(name)
        if child is not None and child.pid == launch.pid:
            launch.alive = child.poll() is None  # reaps it: an ended child is no zombie
        else:
            launch.alive = launch.host == socket.gethostname() and _process_is_sweep(launch.pid)
        return launch

    def running_launches(self) -> list[Launch]:
        """Sweeps an app started on this box whose process is still running (no storage read:
        cheap enough for the app's start)."""
        folder = self.settings.state_dir / "sweeps"
        try:
            names = sorted(p.name for p in folder.iterdir() if (p / LAUNCH_FILE).is_file())
        except OSError:
            return []
        out = []
        for name in names:
            launch = self.launch(name)
            if launch is not None and launch.alive:
                out.append(launch)
        return out

    def start(self, path: str | Path, workers: int = 1, trials: int | None = None) -> Launch:
        """`cnn-tui sweep run FILE` in a process of its own session; CnnTuiError when the file
        is wrong or the sweep already runs from here."""
        from cnn_tui.experiments.sweepfile import load_sweep
        path = Path(os.path.expanduser(str(path))).resolve()
        sweep = load_sweep(path)  # a wrong file is said now, in one line, not in a log
        if workers < 1:
            raise CnnTuiError(f"workers: must be at least 1, got {workers}")
        running = self.launch(sweep.name)
        if running is not None and running.alive:
            raise CnnTuiError(f"sweep {sweep.name} is already running (pid {running.pid}, log "
                              f"{running.log})")
        folder = self._folder(sweep.name)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CnnTuiError(f"cannot start sweep {sweep.name}: {folder}: "
                              f"{exc.strerror or exc}") from None
        log = folder / f"run-{time.strftime('%Y%m%d-%H%M%S')}.log"
        argv = [sys.executable, "-m", "cnn_tui", "sweep", "run", str(path),
                "--runs-dir", str(self.settings.runs_dir), "--storage", self.ref.argument]
        if self.settings.data_dir is not None:
            argv += ["--data-dir", str(self.settings.data_dir)]
        if workers > 1:
            argv += ["--workers", str(workers)]
        if trials is not None:
            argv += ["--trials", str(int(trials))]
        try:
            with open(log, "ab") as out:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                        start_new_session=True, cwd=str(path.parent))
        except OSError as exc:
            raise CnnTuiError(f"cannot start sweep {sweep.name}: {exc.strerror or exc}") from None
        self._children[sweep.name] = proc
        launch = Launch(sweep.name, proc.pid, socket.gethostname(), str(path), str(log),
                        time.time(), workers, self.ref.shown, alive=True)
        from cnn_tui.atomic import write_text
        try:
            write_text(folder / LAUNCH_FILE, json.dumps(launch.to_dict(), indent=2))
        except (OSError, CnnTuiError):
            pass  # the sweep runs; only the next app's note about it is lost
        self._studies.pop(sweep.name, None)  # a deleted and re-created sweep: open it afresh
        return launch

    def stop(self, name: str, now: bool = False) -> str:
        """Stop sweep `name`: no new trial is taken, by any worker on any box (running trials
        finish); `now`: the process started here also stops its running trials after their
        step (they go back to the queue). Returns what was done, in one line."""
        study = self._study(name)
        study.stop()
        running = study.counts().running
        said = (f"sweep {name}: stopped: no new trial; {running} running trial"
                f"{'s' if running != 1 else ''} finish")
        if not now:
            return said
        launch = self.launch(name)
        if launch is None or not launch.alive:
            return said + " (no process started from here to stop now)"
        try:
            os.kill(launch.pid, signal.SIGTERM)  # sweep run passes it on to its workers
        except OSError as exc:
            return said + f" (cannot signal pid {launch.pid}: {exc.strerror or exc})"
        return (f"sweep {name}: stopping now: running trials stop after their step and go "
                f"back to the queue (pid {launch.pid})")

    def close(self) -> None:
        self._studies.clear()
        self._backend = None


# ---------------------------------------------------------------- the views' data

def short_param(key: str) -> str:
    """A parameter as a narrow column shows it: `training.learning_rate` -> `learning_rate`."""
    return key.removeprefix("training.")


def value_text(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.{digits}g}"  # nan and inf too
    return str(value)


def params_line(params: dict, width: int | None = None) -> str:
    text = " ".join(f"{short_param(k)}={value_text(v)}" for k, v in params.items())
    if width is not None and len(text) > width:
        text = text[: max(0, width - 1)] + "…"
    return text


def trial_epochs(trial) -> int:
    """Epochs the trial's first run has reported (its objective once per epoch)."""
    return max((int(k) for k in trial.intermediate), default=0)


def trial_seconds(trial, now: float | None = None) -> float | None:
    if trial.started is None:
        return None
    end = trial.ended if trial.ended is not None else (now or time.time())
    return max(0.0, end - trial.started)


def curves(snapshot: SweepSnapshot, limit: int = 60) -> list[tuple[int, str, list, list]]:
    """(number, state, epochs, objective per epoch) of the trials that reported, the best ones
    first when there are more than `limit` (running trials always kept)."""
    out = [(t.number, t.state, sorted(t.intermediate), [t.intermediate[k] for k in
                                                         sorted(t.intermediate)])
           for t in snapshot.trials if t.intermediate]
    if len(out) <= limit:
        return out
    sign = -1.0 if snapshot.sweep.direction == "maximize" else 1.0

    def rank(item):
        last = item[3][-1]
        finite = last is not None and math.isfinite(last)
        return (item[1] != "running", not finite, sign * last if finite else 0.0)

    return sorted(out, key=rank)[:limit]


@dataclass
class Axis:
    """One parameter as an axis: how its values map to 0..1."""

    key: str
    kind: str  # float, int, categorical
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple = ()

    def position(self, value) -> float | None:
        """`value` on this axis, 0..1 (None: not a value of it)."""
        if self.kind == "categorical":
            try:
                index = self.choices.index(value)
            except ValueError:
                return None
            return index / (len(self.choices) - 1) if len(self.choices) > 1 else 0.5
        try:
            v = float(value)
        except (TypeError, ValueError):
            return None
        lo, hi = self.low, self.high
        if self.log and lo > 0 and v > 0:
            v, lo, hi = math.log10(v), math.log10(lo), math.log10(hi)
        return 0.5 if hi == lo else min(1.0, max(0.0, (v - lo) / (hi - lo)))

    def range_text(self) -> str:
        if self.kind == "categorical":
            return "/".join(value_text(c) for c in self.choices)
        return f"{value_text(self.low)}..{value_text(self.high)}{' log' if self.log else ''}"


def axes(sweep) -> list[Axis]:
    """The sweep's parameters as axes (a search: its space; queued kinds: variant, seed, fold)."""
    from cnn_tui.experiments.trial import search_dimensions
    out = []
    for key, dim in search_dimensions(sweep).items():
        if dim.type == "categorical":
            out.append(Axis(key, "categorical", choices=tuple(dim.choices)))
        else:
            out.append(Axis(key, dim.type, float(dim.low), float(dim.high), bool(dim.log)))
    return out


def _scored(snapshot: SweepSnapshot) -> list:
    return [t for t in snapshot.trials if t.state == "complete" and t.value is not None
            and math.isfinite(t.value)]


def slices(snapshot: SweepSnapshot, axis: Axis) -> tuple[list, list, list[int]]:
    """(x, objective, trial numbers) of the complete trials for one parameter; x is the value
    (its log10 on a log axis; a categorical's index into its choices)."""
    xs, ys, numbers = [], [], []
    for t in _scored(snapshot):
        if axis.key not in t.params:
            continue
        value = t.params[axis.key]
        if axis.kind == "categorical":
            if value not in axis.choices:
                continue
            x = float(axis.choices.index(value))
        else:
            x = float(value)
            if axis.log and x > 0:
                x = math.log10(x)
        xs.append(x)
        ys.append(float(t.value))
        numbers.append(t.number)
    return xs, ys, numbers


def parallel(snapshot: SweepSnapshot,
             limit: int = 80) -> tuple[list[Axis], list[tuple[int, float, list]]]:
    """(axes, rows): each complete trial's parameters as 0..1 positions, the objective last
    (scaled over the trials shown, best = 1 when maximizing), best trials first."""
    ax = axes(snapshot.sweep)
    scored = _scored(snapshot)
    best_first = sorted(scored, key=lambda t: t.value,
                        reverse=snapshot.sweep.direction == "maximize")[:limit]
    if not best_first:
        return ax, []
    lo = min(t.value for t in best_first)
    hi = max(t.value for t in best_first)
    rows = []
    for t in best_first:
        positions = [a.position(t.params.get(a.key)) for a in ax]
        objective = 0.5 if hi == lo else (t.value - lo) / (hi - lo)
        rows.append((t.number, float(t.value), [*positions, objective]))
    return ax, rows


@dataclass
class ForestRow:
    variant: str
    reference: bool
    runs: int
    expected: int
    mean: float | None  # the variant's objective
    effect: float | None  # against the reference
    low: float | None  # the effect's interval
    high: float | None
    p_holm: float | None


def forest(report: dict | None) -> list[ForestRow]:
    """The rows of a forest plot: each variant's effect on the objective against the
    reference, with its interval and Holm-adjusted p (the reference: no effect)."""
    rows = []
    for row in (report or {}).get("variants", []):
        effect = row.get("effect") or {}
        objective = row.get("objective") or {}
        rows.append(ForestRow(
            variant=row["variant"], reference=bool(row.get("reference")), runs=row["runs"],
            expected=row.get("expected_runs", row["runs"]), mean=objective.get("mean"),
            effect=effect.get("diff"), low=effect.get("low"), high=effect.get("high"),
            p_holm=effect.get("p_holm", effect.get("p"))))
    return rows


def trial_architecture(snapshot: SweepSnapshot, trial):
    """Trial `trial` as an architecture, the sweep's and the sampled training settings (and
    its first run's seed) in its `training` section: what `sweep best -o` writes."""
    from cnn_tui.experiments.trial import trial_setup
    from cnn_tui.spec.model import Architecture
    arch_dict, overrides = trial_setup(snapshot.sweep, trial.params)
    arch = Architecture.from_dict(arch_dict)
    training = {**arch.training, **overrides}
    if trial.runs and trial.runs[0].get("seed") is not None:
        training["seed"] = int(trial.runs[0]["seed"])
    arch.training = training
    arch = Architecture.from_dict(arch.to_dict())  # checked as a file would be
    suffix = f" (sweep {snapshot.name} #{trial.number})"
    if not arch.name.endswith(suffix):
        from cnn_tui.spec.model import MAX_NAME
        arch.name = (arch.name[: MAX_NAME - len(suffix)] + suffix).strip()
    return arch


__all__ = ["Axis", "ForestRow", "Launch", "SweepRow", "SweepSnapshot", "SweepsSession",
           "axes", "curves", "forest", "parallel", "params_line", "short_param", "signature",
           "slices", "trial_architecture", "trial_epochs", "trial_seconds", "value_text"]
