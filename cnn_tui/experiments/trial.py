"""One trial: its parameters, its architecture, its runs; pruning and divergence as callbacks.

A trial trains ordinary runs through `cnn_tui.runs.training.train_run`, exactly as
`cnn-tui train` would, tagged `sweep:NAME`, `trial:N` (and `seed:S`, `fold:F`, `variant:V`):
a search trial one run per seed x fold (its objective is their mean), a queued ablation /
compare trial one run.

- **Invalid**: a sampled architecture that breaks a rule is not trained; the trial is invalid
  with the rule's message.
- **Pruning** (`PruneWatch`, a callback): each epoch's validation metric of the trial's first
  run goes to the pruner (`handle.report`); when it says prune, the run ends after that epoch
  with status "pruned" (its checkpoint kept, no test evaluation) and the trial is pruned.
- **Divergence**: a run that fails because it diverged (a NaN / inf loss, or the diagnosis'
  "diverged") scores the worst value (0 for val_acc, +inf for val_loss): a complete trial the
  sampler learns from, not a failure it would ignore.
- A run stopped by the worker's stop (Ctrl-C, SIGTERM) makes the trial "interrupted": the worker
  re-queues it.

`handle` is the backend's trial (see `optuna_backend.TrialHandle`): `number`, `suggest(dim)`,
`report(value, epoch)`, `should_prune()`, `set_attr(key, value)`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cnn_tui.errors import CnnTuiError
from cnn_tui.experiments.sweepfile import Dimension, Sweep, apply_params
from cnn_tui.train.callbacks import Callback

STOPPED = "interrupted"
LOST = "lost"  # another worker failed the trial as dead while it ran here: nothing to tell


@dataclass
class TrialOutcome:
    state: str  # complete, pruned, failed, invalid, interrupted, lost
    value: float | None = None
    message: str = ""
    runs: list[dict] = field(default_factory=list)
    diverged: bool = False
    params: dict = field(default_factory=dict)


class PruneWatch(Callback):
    """Reports the objective after each epoch; ends the run as "pruned" when the pruner says so
    (never after the last epoch: a run that trained in full is complete)."""

    def __init__(self, handle, sweep: Sweep, prune: bool) -> None:
        self.handle = handle
        self.metric = sweep.metric
        self.pruner = sweep.pruner.get("type", "none")
        self.prune = prune and self.pruner != "none"
        self.pruned_at: int | None = None
        self.lost = ""  # why the trial is no longer this worker's

    def on_epoch_end(self, trainer, event) -> None:
        value = getattr(event, self.metric)
        if value is None or not math.isfinite(value):
            return
        try:
            self.handle.report(float(value), int(event.epoch))
        except CnnTuiError as err:  # another worker took this trial for dead and re-queued it
            self.lost = err.message
            trainer.end_training("stopped", f"{err.message}: this run stops here")
            return
        if self.prune and event.epoch < event.epochs and self.handle.should_prune():
            self.pruned_at = event.epoch
            trainer.end_training("pruned", f"pruned by the sweep's {self.pruner} pruner after "
                                           f"epoch {event.epoch} ({self.metric} {value:.4f})")


class DivergenceWatch(Callback):
    """Notes the diagnosis' "diverged" (the run fails with it)."""

    def __init__(self) -> None:
        self.diverged = False

    def on_diagnosis(self, trainer, event) -> None:
        if event.kind == "diverged":
            self.diverged = True


class RunIdNote(Callback):
    """Puts the run id on the trial as soon as the run exists (the live table shows it)."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def on_run_start(self, trainer, event) -> None:
        try:
            self.handle.set_attr("current_run", event.run_id)
        except CnnTuiError:
            pass


def search_dimensions(sweep: Sweep) -> dict[str, Dimension]:
    """The dimensions a trial suggests: the space (search), or variant / seed / fold (queued)."""
    if sweep.kind == "search":
        return dict(sweep.space)
    seeds = sweep.seed_values()
    dims = {"variant": Dimension("variant", "categorical", choices=tuple(sweep.variant_archs())),
            "seed": Dimension("seed", "int", seeds[0], seeds[-1])}
    if sweep.folds > 1:
        dims["fold"] = Dimension("fold", "int", 0, sweep.folds - 1)
    return dims


def trial_setup(sweep: Sweep, params: dict) -> tuple[dict, dict]:
    """(architecture object, training overrides) of a trial with `params`."""
    if sweep.kind == "search":
        arch, sampled = apply_params(sweep.base, params)
        return arch, {**sweep.training, **sampled}
    return sweep.variant_archs()[params["variant"]], dict(sweep.training)


def run_value(sweep: Sweep, result) -> float | None:
    """The objective of a finished run: its best validation metric over the epochs."""
    values = [row.get(sweep.metric) for row in result.epochs]
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None
    return max(values) if sweep.direction == "maximize" else min(values)


def is_divergence(result, watch: DivergenceWatch) -> bool:
    """A failed run that diverged: the diagnosis said so, or the loss / validation loss became
    NaN or inf (the trainer's message says "training diverged")."""
    return result.status == "failed" and (watch.diverged or "training diverged" in result.message)


def run_trial(sweep: Sweep, handle, settings, device: str | None = None, control=None,
              callbacks: Iterable[Any] = (), on_run=None) -> TrialOutcome:
    """Sample, check and train trial `handle.number` of `sweep`; the outcome to tell."""
    from cnn_tui.runs.training import train_run
    from cnn_tui.spec.model import Architecture
    from cnn_tui.train.loop import RunOptions, check_architecture

    params = {key: handle.suggest(dim) for key, dim in search_dimensions(sweep).items()}
    arch_dict, overrides = trial_setup(sweep, params)
    try:
        arch = Architecture.from_dict(arch_dict)
        check_architecture(arch)
    except CnnTuiError as err:
        return TrialOutcome("invalid", message=err.message, params=params)

    number = handle.number
    runs: list[dict] = []
    values: list[float] = []
    diverged_any = False
    plan = sweep.runs_of_trial(params)
    for index, (seed, fold) in enumerate(plan):
        tags = [f"sweep:{sweep.name}", f"trial:{number}"]
        label = f"{sweep.name} #{number}"
        if "variant" in params:
            tags.append(f"variant:{params['variant']}")
            label += f" {params['variant']}"
        if sweep.seeds > 1:
            tags.append(f"seed:{seed}")
            label += f" seed {seed}"
        if fold is not None:
            tags.append(f"fold:{fold}")
            label += f" fold {fold}"
        options = RunOptions(limit_train=sweep.limit_train, limit_test=sweep.limit_test,
                             device=device, fold=(fold, sweep.folds) if fold is not None else None)
        prune = PruneWatch(handle, sweep, prune=(index == 0 and sweep.kind == "search"))
        divergence = DivergenceWatch()
        watchers = [prune, divergence, RunIdNote(handle)] if index == 0 else \
            [divergence, RunIdNote(handle)]
        try:
            result = train_run(arch, {**overrides, "seed": seed}, settings=settings,
                               options=options, name=label, tags=tags,
                               callbacks=[*watchers, *callbacks], control=control)
        except CnnTuiError as err:  # refused before anything trained (data, store, settings)
            return TrialOutcome("failed", message=err.message, runs=runs, params=params)
        diverged = is_divergence(result, divergence)
        value = sweep.worst_value() if diverged else run_value(sweep, result)
        run = {"run_id": result.run_id, "seed": seed, "fold": fold, "status": result.status,
               "value": value, "test_acc": result.test_acc, "diverged": diverged}
        runs.append(run)
        if on_run is not None:
            on_run(run)
        try:
            handle.set_attr("runs", runs)
        except CnnTuiError:
            pass
        if result.status == "pruned":
            return TrialOutcome("pruned", value=value, message=result.message, runs=runs,
                                params=params)
        if prune.lost:
            return TrialOutcome(LOST, message=prune.lost, runs=runs, params=params)
        if result.status == "stopped":
            return TrialOutcome(STOPPED, message=result.message, runs=runs, params=params)
        if result.status == "failed" and not diverged:
            return TrialOutcome("failed", message=result.message, runs=runs, params=params)
        if value is None:
            return TrialOutcome("failed", message="the run measured no validation metric",
                                runs=runs, params=params)
        diverged_any = diverged_any or diverged
        values.append(value)
    mean = sum(values) / len(values)
    message = "diverged: scored as the worst value" if diverged_any else ""
    return TrialOutcome("complete", value=mean, message=message, runs=runs,
                        diverged=diverged_any, params=params)


__all__ = ["DivergenceWatch", "PruneWatch", "TrialOutcome", "is_divergence", "run_trial",
           "run_value", "search_dimensions", "trial_setup"]
