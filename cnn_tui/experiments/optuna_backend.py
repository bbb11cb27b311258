"""Every Optuna call of cnn-tui: storages, studies, samplers, pruners, trials, importance.

Nothing else in the package imports optuna (tests/test_layering.py checks it); the rest of
`cnn_tui.experiments` sees plain objects: `Backend` (a storage), `SweepStudy` (one sweep's
study) and `TrialHandle` (a trial being run), and reads trials as `report.TrialView`.

How a sweep maps onto Optuna:
- one study per sweep, named after it; the checked definition (`Sweep.to_dict()`) is the
  study's user attribute `cnn_tui_sweep`, written last when the study is created (a worker
  that finds the study without it waits: the creator is still queueing trials); the number of
  trials wanted is `cnn_tui_trials`, `sweep stop` sets `cnn_tui_stopped`;
- samplers: `TPESampler(constant_liar=True)` (parallel workers do not all try the same point),
  `RandomSampler`, `CmaEsSampler` (needs the `cmaes` package); a grid, an ablation and a
  comparison enqueue every trial up front (`enqueue_trial`) instead: Optuna's GridSampler may
  evaluate a point twice when workers run in parallel, as its docs say;
- pruners: `MedianPruner`, `HyperbandPruner` (resource: epochs), `NopPruner`;
- a worker takes a trial with `ask()` (which pops a queued trial first) and finishes it with
  `tell()`; a worker's trial carries `worker` ({host, pid, gpu, heartbeat}) and, on a journal,
  a `heartbeat` time it refreshes;
- dead workers: a RUNNING trial whose worker is this host's and whose pid is gone, or (journal)
  whose heartbeat is older than 4 of its worker's heartbeat intervals, is failed and re-queued
  with Optuna's `RetryHeartbeatStaleTrialCallback` (a WAITING copy with the same parameters);
  on PostgreSQL Optuna's own heartbeat (`RDBStorage(heartbeat_interval=...)`,
  `fail_stale_trials`) does the same across hosts. Failing the trial is the race's arbiter:
  the storage refuses a second FAIL (`UpdateFinishedTrialError`), so exactly one worker
  re-queues it;
- a trial asked beyond the number wanted (two workers asking at the same moment) is marked
  `surplus` and failed before it trains; it is never shown or counted.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnn_tui.errors import CnnTuiError
from cnn_tui.experiments.report import TrialView
from cnn_tui.experiments.storage import StorageRef, shown
from cnn_tui.experiments.sweepfile import FORMAT, VERSION, Dimension, Sweep, parse_sweep

DEFINITION = "cnn_tui_sweep"
LOST = "lost"  # a trial's outcome when another worker failed it as dead while it still ran
TARGET = "cnn_tui_trials"
STOPPED = "cnn_tui_stopped"
CREATE_WAIT_S = 30.0


def _optuna():
    try:
        import optuna
    except ImportError:
        raise CnnTuiError("sweeps need Optuna: pip install 'optuna>=5,<6' "
                          "(it comes with cnn-tui; was it removed?)") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # ask/tell with RDB heartbeats: we beat ourselves (worker.Heartbeat) and call
    # fail_stale_trials ourselves (SweepStudy.reap), which is what Study.optimize would do
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    return optuna


def lock_grace(heartbeat: float) -> int:
    """Seconds after which a journal lock left by a killed worker is broken (Optuna's default
    30 for the default heartbeat; shorter with a shorter heartbeat, never under 5)."""
    return int(max(5, min(30, 2 * heartbeat)))


def stale_after(heartbeat: float) -> float:
    """A journal trial is dead when its worker has not beaten for this long: 4 heartbeats, and
    always longer than a stuck lock stalls every writer (its grace) plus 2 heartbeats and 5 s,
    so a worker killed while holding the lock never makes the live ones look dead. The 5 s are
    for a loaded machine: once the stuck lock breaks, every writer rushes for it, and a live
    worker of a 2-core box running 5 trainings was seen silent for 9 s with a 2 s heartbeat
    (grace 5 s). At the default 30 s heartbeat it changes nothing (4 heartbeats: 120 s)."""
    heartbeat = max(1.0, float(heartbeat))
    return max(4 * heartbeat, lock_grace(heartbeat) + 2 * heartbeat + 5)


class TrialTaken(CnnTuiError):
    """This worker's trial was failed (and re-queued) by another worker that took it for dead."""


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return shown(text[0][:200]) if text else type(exc).__name__


@dataclass
class Counts:
    done: int = 0  # complete, pruned, failed, invalid
    running: int = 0
    waiting: int = 0

    @property
    def active(self) -> int:
        return self.done + self.running + self.waiting


class Backend:
    """An opened storage. `heartbeat`: seconds between a worker's heartbeats (PostgreSQL: Optuna's
    heartbeat interval; a trial silent for 4 of them is failed and re-queued)."""

    def __init__(self, ref: StorageRef, heartbeat: int = 30) -> None:
        self.ref = ref
        self.heartbeat = max(1, int(heartbeat))
        _optuna()  # one clear error when Optuna is missing; quiet logging
        if ref.kind == "journal":
            from optuna.storages.journal import (
                JournalFileBackend,
                JournalFileOpenLock,
                JournalStorage,
            )
            path = Path(ref.target)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CnnTuiError(f"--storage {path}: cannot create its folder "
                                  f"({exc.strerror or exc})") from None
            try:
                # the open(O_EXCL) lock: works on local disks and NFSv3+ (Optuna's docs)
                self.storage = JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(
                    str(path), grace_period=lock_grace(self.heartbeat))))
            except (OSError, ValueError) as exc:
                raise CnnTuiError(f"--storage {path}: cannot open the journal "
                                  f"({_first_line(exc)})") from None
            return
        from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
        kwargs: dict[str, Any] = {}
        engine: dict[str, Any] = {}
        if ref.kind == "postgresql":
            kwargs = {"heartbeat_interval": self.heartbeat, "grace_period": 4 * self.heartbeat,
                      "heartbeat_stale_trial_callback": RetryHeartbeatStaleTrialCallback()}
            engine = {"connect_args": {"connect_timeout": 10}}
        try:
            self.storage = RDBStorage(ref.target, engine_kwargs=engine, **kwargs)
        except ImportError as exc:
            if ref.kind == "postgresql":
                raise CnnTuiError(f"--storage {ref.shown}: PostgreSQL needs its driver: pip install "
                                  "'cnn-tui[postgres]' (psycopg2-binary)") from None
            raise CnnTuiError(f"--storage {ref.shown}: {_first_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's many errors: said in one line
            raise CnnTuiError(f"--storage {ref.shown}: cannot connect ({_first_line(exc)})") from None

    # ------------------------------------------------------------ sweeps
    def names(self) -> list[str]:
        optuna = _optuna()
        return [s.study_name for s in optuna.get_all_study_summaries(self.storage,
                                                                     include_best_trial=False)]

    def _study_id(self, name: str) -> int | None:
        try:
            return self.storage.get_study_id_from_name(name)
        except KeyError:
            return None

    def open(self, name: str, wait: float = CREATE_WAIT_S) -> SweepStudy:
        """The sweep `name`; CnnTuiError when it is not there or not one cnn-tui can read."""
        optuna = _optuna()
        study_id = self._study_id(name)
        if study_id is None:
            others = ", ".join(self.names()[:10]) or "none"
            raise CnnTuiError(f"no sweep {name!r} in {self.ref.shown} (sweeps there: {others})")
        deadline = time.monotonic() + wait
        attrs = self.storage.get_study_user_attrs(study_id)
        while DEFINITION not in attrs and time.monotonic() < deadline:
            time.sleep(0.2)  # its creator is queueing its trials
            attrs = self.storage.get_study_user_attrs(study_id)
        definition = attrs.get(DEFINITION)
        if not isinstance(definition, dict):
            raise CnnTuiError(f"sweep {name!r} in {self.ref.shown}: not a cnn-tui sweep (no "
                              "definition in the study)")
        source = f"sweep {name} in {self.ref.shown}"
        if definition.get("format") != FORMAT:
            raise CnnTuiError(f"{source}: format: {definition.get('format')!r:.40}, not {FORMAT!r}")
        if definition.get("version") != VERSION:
            raise CnnTuiError(f"{source}: version: written by a cnn-tui with sweep format version "
                              f"{definition.get('version')!r:.20}; this one reads version "
                              f"{VERSION}: use the same cnn-tui on every worker")
        sweep = parse_sweep(definition, source)
        study = optuna.load_study(study_name=name, storage=self.storage,
                                  sampler=_sampler(sweep), pruner=_pruner(sweep))
        return SweepStudy(self, study, sweep, study_id)

    def create(self, sweep: Sweep, trials: int | None = None) -> tuple[SweepStudy, bool]:
        """(the sweep's study, created now): created with its queued trials when new; joined
        when it exists with the same definition; refused when it exists with another."""
        optuna = _optuna()
        definition = sweep.to_dict()
        if self._study_id(sweep.name) is None:
            try:
                study = optuna.create_study(storage=self.storage, study_name=sweep.name,
                                            direction=sweep.direction, sampler=_sampler(sweep),
                                            pruner=_pruner(sweep))
            except optuna.exceptions.DuplicatedStudyError:
                study = None  # another process created it a moment ago: join it below
            if study is not None:
                study.set_user_attr(TARGET, int(trials or sweep.trials))
                for params in sweep.queue():
                    study.enqueue_trial(params, user_attrs={"queued": True})
                study.set_user_attr(DEFINITION, definition)  # last: the sweep is ready
                return SweepStudy(self, study, sweep, study._study_id), True
        existing = self.open(sweep.name)
        differs = _first_difference(existing.definition, definition)
        if differs:
            raise CnnTuiError(f"sweep {sweep.name!r} exists in {self.ref.shown} with another "
                              f"definition ({differs} differs): `cnn-tui sweep delete {sweep.name}`"
                              " first, or give the sweep another name")
        if trials is not None:
            existing.set_target(trials)
        return existing, False

    def delete(self, name: str) -> None:
        optuna = _optuna()
        self.open(name, wait=0)
        optuna.delete_study(study_name=name, storage=self.storage)


def _first_difference(old: dict, new: dict) -> str | None:
    for key in sorted(set(old) | set(new)):
        if key in ("trials", "base_source"):
            continue
        if old.get(key) != new.get(key):
            return key
    return None


def _sampler(sweep: Sweep):
    optuna = _optuna()
    if sweep.sampler == "tpe":
        return optuna.samplers.TPESampler(constant_liar=True)
    if sweep.sampler == "cmaes":
        try:
            import cmaes  # noqa: F401 - Optuna imports it lazily; say what is missing now
        except ImportError:
            raise CnnTuiError("sampler cmaes needs the cmaes package: pip install cmaes") from None
        return optuna.samplers.CmaEsSampler(warn_independent_sampling=False)
    return optuna.samplers.RandomSampler()  # random; grid / ablation / compare: all queued


def _pruner(sweep: Sweep):
    optuna = _optuna()
    kind = sweep.pruner.get("type", "none")
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=sweep.pruner["startup_trials"],
                                           n_warmup_steps=sweep.pruner["warmup_epochs"])
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, sweep.epochs()),
                                              reduction_factor=sweep.pruner["reduction_factor"])
    return optuna.pruners.NopPruner()


class SweepStudy:
    """One sweep's study: its trials, the queue, dead workers, stop."""

    def __init__(self, backend: Backend, study, sweep: Sweep, study_id: int) -> None:
        self.backend = backend
        self.study = study
        self.sweep = sweep
        self.study_id = study_id
        self.name = sweep.name

    @property
    def storage(self):
        return self.backend.storage

    @property
    def definition(self) -> dict:
        return self.storage.get_study_user_attrs(self.study_id).get(DEFINITION) or {}

    @property
    def target(self) -> int:
        return int(self.storage.get_study_user_attrs(self.study_id).get(TARGET) or self.sweep.trials)

    def set_target(self, trials: int) -> None:
        self.study.set_user_attr(TARGET, int(trials))

    def stop(self) -> None:
        self.study.set_user_attr(STOPPED, True)

    @property
    def stopped(self) -> bool:
        return bool(self.storage.get_study_user_attrs(self.study_id).get(STOPPED))

    def resume(self) -> None:
        """A stopped sweep run again: it takes trials again."""
        if self.stopped:
            self.study.set_user_attr(STOPPED, False)

    # ------------------------------------------------------------ reading
    def _frozen(self):
        return self.study.get_trials(deepcopy=False)

    def trials(self) -> list[TrialView]:
        return _views(self._frozen())

    def counts(self, views: list[TrialView] | None = None) -> Counts:
        out = Counts()
        for t in views if views is not None else self.trials():
            if not t.counted:
                continue
            if t.state == "running":
                out.running += 1
            elif t.state == "waiting":
                out.waiting += 1
            else:
                out.done += 1
        return out

    def importance(self) -> tuple[dict[str, float] | None, str]:
        """({parameter: importance} summing to 1, "") or (None, why there is none)."""
        optuna = _optuna()
        if self.sweep.kind != "search":
            return None, "importance is for searches"
        complete = [t for t in self._frozen() if t.state.name == "COMPLETE"]
        if len(complete) < 2:
            return None, f"needs at least 2 complete trials ({len(complete)} so far)"
        finite = [t.value for t in complete if t.value is not None and math.isfinite(t.value)]
        worst = (min(finite) if self.sweep.direction == "maximize" else max(finite)) if finite else 0.0

        sign = -1.0 if self.sweep.direction == "maximize" else 1.0

        def target(trial) -> float:  # PED-ANOVA: what matters for low values
            value = trial.value
            return sign * (value if value is not None and math.isfinite(value) else worst)

        try:
            with warnings.catch_warnings():  # "computes importances for low target values": yes
                warnings.simplefilter("ignore", UserWarning)
                result = optuna.importance.get_param_importances(self.study, target=target)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            return None, _first_line(exc)
        return {k: float(v) for k, v in result.items()}, ""

    # ------------------------------------------------------------ a worker's trials
    def ask(self, identity) -> TrialHandle | None:
        """A trial for this worker (a queued one first), or None when the one Optuna gave is
        beyond the number wanted (another worker asked at the same moment)."""
        optuna = _optuna()
        trial = self.study.ask()
        now = time.time()
        trial.set_user_attr("worker", identity.to_dict())
        trial.set_user_attr("heartbeat", now)
        frozen = self.storage.get_trial(trial._trial_id)
        queued = "fixed_params" in frozen.system_attrs or "failed_trial" in frozen.system_attrs
        if not queued:
            surplus = self.sweep.queued  # a queued sweep never samples: a sampled trial is extra
            if not surplus:
                views = [v for v in self.trials() if v.counted]
                extra = len(views) - self.target
                if extra > 0:
                    sampled = sorted((v.number for v in views if not v.queued), reverse=True)
                    surplus = trial.number in sampled[:extra]
            if surplus:
                trial.set_user_attr("surplus", True)
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return None
        return TrialHandle(self, trial)

    def tell(self, handle: TrialHandle, outcome) -> str:
        """Finish the trial with the outcome (see trial.TrialOutcome); returns a note when the
        trial could not be finished (another worker failed it as dead)."""
        optuna = _optuna()
        states = optuna.trial.TrialState
        trial = handle.trial
        if outcome.state == LOST:
            return outcome.message
        state = "failed" if outcome.state == "interrupted" else outcome.state
        try:
            for key, value in (("state", state), ("message", outcome.message),
                               ("runs", outcome.runs), ("diverged", outcome.diverged)):
                trial.set_user_attr(key, _jsonable(value))
            if outcome.state == "complete":
                self.study.tell(trial, outcome.value)
            elif outcome.state == "pruned":
                self.study.tell(trial, state=states.PRUNED)
            else:
                self.study.tell(trial, state=states.FAIL)
        except (optuna.exceptions.UpdateFinishedTrialError, ValueError):
            return (f"trial {trial.number} was failed and re-queued by another worker (no "
                    f"heartbeat from this one for too long); its runs are kept")
        if outcome.state == "interrupted":
            self._requeue(trial._trial_id)
            return f"trial {trial.number} stopped: re-queued"
        return ""

    def _requeue(self, trial_id: int) -> None:
        from optuna.storages import RetryHeartbeatStaleTrialCallback
        RetryHeartbeatStaleTrialCallback()(self.study, self.storage.get_trial(trial_id))

    def reap(self, identity) -> list[str]:
        """Fail and re-queue the trials of dead workers; what was done, one line each."""
        optuna = _optuna()
        from cnn_tui.runs.store import pid_alive
        notes = []
        if self.backend.ref.kind == "postgresql":
            before = {t.number for t in self._frozen() if t.state.name == "RUNNING"}
            optuna.storages.fail_stale_trials(self.study)  # Optuna's heartbeat: any host
            after = {t.number for t in self._frozen() if t.state.name == "RUNNING"}
            notes += [f"trial {n}: no heartbeat from its worker: failed and re-queued"
                      for n in sorted(before - after)]
        now = time.time()
        for t in self._frozen():
            if t.state.name != "RUNNING":
                continue
            worker = t.user_attrs.get("worker") or {}
            host, pid = worker.get("host"), worker.get("pid")
            who = f"{host}:{pid}" if host else "an unknown worker"
            why = None
            if host == identity.host and pid != identity.pid and pid and not pid_alive(pid):
                why = f"its worker {who} is gone"
            elif self.backend.ref.kind == "journal":
                interval = float(worker.get("heartbeat") or self.backend.heartbeat)
                last = t.user_attrs.get("heartbeat")
                if last is None and t.datetime_start is not None:
                    last = t.datetime_start.timestamp()
                silent = now - float(last) if last is not None else 0.0
                if silent > stale_after(interval):
                    why = f"its worker {who} has been silent for {silent:.0f} s"
            if why is None:
                continue
            try:
                self.storage.set_trial_user_attr(t._trial_id, "message", f"{why}: re-queued")
                self.storage.set_trial_user_attr(t._trial_id, "state", "failed")
                self.storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
            except (optuna.exceptions.UpdateFinishedTrialError, ValueError):
                continue  # finished meanwhile, or another worker failed it first
            self._requeue(t._trial_id)
            notes.append(f"trial {t.number}: {why}: failed and re-queued")
        return notes


class TrialHandle:
    """A trial being run by this worker (see trial.run_trial)."""

    def __init__(self, owner: SweepStudy, trial) -> None:
        self.owner = owner
        self.trial = trial
        self.number = trial.number

    def suggest(self, dim: Dimension) -> Any:
        if dim.type == "categorical":
            return self.trial.suggest_categorical(dim.key, list(dim.choices))
        if dim.type == "int":
            return self.trial.suggest_int(dim.key, int(dim.low), int(dim.high),
                                          step=int(dim.step or 1), log=dim.log)
        return self.trial.suggest_float(dim.key, dim.low, dim.high, step=dim.step, log=dim.log)

    @property
    def params(self) -> dict:
        return dict(self.trial.params)

    def _taken(self) -> TrialTaken:
        return TrialTaken(f"trial {self.number} was failed and re-queued by another worker (this "
                          "one had not been heard of for too long)")

    def report(self, value: float, step: int) -> None:
        optuna = _optuna()
        try:
            self.trial.report(value, step)
        except optuna.exceptions.UpdateFinishedTrialError:
            raise self._taken() from None

    def should_prune(self) -> bool:
        return self.trial.should_prune()

    def set_attr(self, key: str, value: Any) -> None:
        optuna = _optuna()
        try:
            self.trial.set_user_attr(key, _jsonable(value))
        except optuna.exceptions.UpdateFinishedTrialError:
            raise self._taken() from None

    def beat(self) -> None:
        """Say this worker is alive (journal: a time attribute; PostgreSQL: Optuna's heartbeat)."""
        if self.owner.backend.ref.kind == "postgresql":
            self.owner.storage.record_heartbeat(self.trial._trial_id)
        else:
            self.set_attr("heartbeat", time.time())


def _jsonable(value: Any) -> Any:
    """Storage attributes are JSON: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _views(frozen) -> list[TrialView]:
    requeued: dict[int, int] = {}
    for t in frozen:
        history = t.system_attrs.get("retry_history") or []
        if history:
            requeued[int(history[-1])] = t.number
    out = []
    for t in frozen:
        attrs = t.user_attrs
        name = t.state.name
        state = {"RUNNING": "running", "WAITING": "waiting", "COMPLETE": "complete",
                 "PRUNED": "pruned"}.get(name)
        if state is None:
            state = attrs.get("state") if attrs.get("state") in ("invalid", "failed") else "failed"
        worker = attrs.get("worker") or {}
        history = t.system_attrs.get("retry_history") or []
        view = TrialView(
            number=t.number, state=state, value=t.value, params=dict(t.params),
            runs=list(attrs.get("runs") or []),
            worker=f"{worker['host']}:{worker['pid']}" if worker.get("host") else "",
            gpu=worker.get("gpu"),
            message=str(attrs.get("message") or (  # failed by Optuna's heartbeat check
                f"no heartbeat from its worker: re-queued as trial {requeued[t.number]}"
                if t.number in requeued else "")),
            diverged=bool(attrs.get("diverged")),
            started=t.datetime_start.timestamp() if t.datetime_start else None,
            ended=t.datetime_complete.timestamp() if t.datetime_complete else None,
            intermediate=dict(t.intermediate_values),
            counted=not attrs.get("surplus") and t.number not in requeued,
            surplus=bool(attrs.get("surplus")),
            retry_of=int(history[-1]) if history else None,
            requeued_as=requeued.get(t.number), heartbeat=attrs.get("heartbeat"),
            queued="fixed_params" in t.system_attrs or "failed_trial" in t.system_attrs)
        if state == "complete" and view.diverged and view.value is None:
            view.value = math.inf  # stored as null
        if state == "running" and attrs.get("current_run") and not view.runs:
            view.runs = [{"run_id": attrs["current_run"], "status": "running"}]
        out.append(view)
    return out


__all__ = ["Backend", "Counts", "SweepStudy", "TrialHandle"]
