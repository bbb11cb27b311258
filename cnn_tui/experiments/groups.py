"""One experiment of several runs: `cnn-tui train FILE --seeds N` and / or `--folds K`.

Seeds: N runs with seeds S, S+1, ..., S+N-1 (S: `--seed`, else the file's, else 0): the spread
of a result over random initialisation, batch order and validation split. Folds: K runs, each
validating on one of K disjoint stratified folds of the 60,000 training images
(`cnn_tui.data.folds`; the test set untouched). Both: N x K runs. Each is an ordinary run,
tagged `experiment:ID`, `seed:S` and / or `fold:F`. The summary is the mean with its 95%
Student-t interval of the best validation accuracy and of the test accuracy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cnn_tui.experiments import stats


@dataclass
class GroupResult:
    experiment: str
    runs: list[dict] = field(default_factory=list)  # run_id, seed, fold, status, val_acc, test_acc
    status: str = "finished"  # finished, failed (a run failed), stopped
    message: str = ""

    def interval(self, key: str, confidence: float = 0.95) -> stats.Interval | None:
        values = [r[key] for r in self.runs if r.get(key) is not None and r["status"] == "finished"]
        return stats.mean_ci(values, confidence) if values else None

    def to_dict(self) -> dict:
        val, test = self.interval("val_acc"), self.interval("test_acc")
        return {"experiment": self.experiment, "status": self.status, "message": self.message,
                "runs": self.runs, "val_acc": val.to_dict() if val else None,
                "test_acc": test.to_dict() if test else None}


def plan(first_seed: int, seeds: int, folds: int) -> list[tuple[int, int | None]]:
    fold_list = list(range(folds)) if folds > 1 else [None]
    return [(first_seed + i, f) for i in range(seeds) for f in fold_list]


def train_group(arch, overrides: dict, settings, options, seeds: int = 1, folds: int = 1,
                name: str | None = None, callbacks: Iterable = (), control=None,
                on_run: Callable[[dict], None] | None = None, source_path=None) -> GroupResult:
    """Train every (seed, fold) run of the experiment, in order; stops at the first run that
    fails or is stopped (its result says which)."""
    from cnn_tui.runs.store import new_run_id
    from cnn_tui.runs.training import train_run
    first = int(overrides.get("seed") if overrides.get("seed") is not None
                else arch.training_config()["seed"])
    group = GroupResult(f"exp-{new_run_id()}")
    for seed, fold in plan(first, seeds, folds):
        tags = [f"experiment:{group.experiment}"]
        label = name or arch.name
        if seeds > 1:
            tags.append(f"seed:{seed}")
            label += f" seed {seed}"
        if fold is not None:
            tags.append(f"fold:{fold}")
            label += f" fold {fold}"
        run_options = copy.copy(options)
        run_options.fold = (fold, folds) if fold is not None else None
        result = train_run(arch, {**overrides, "seed": seed}, settings=settings,
                           options=run_options, name=label, tags=tags, callbacks=callbacks,
                           control=control, source_path=source_path)
        run = {"run_id": result.run_id, "seed": seed, "fold": fold, "status": result.status,
               "val_acc": result.best_val_acc, "test_acc": result.test_acc,
               "message": result.message}
        group.runs.append(run)
        if on_run is not None:
            on_run(run)
        if result.status != "finished":
            group.status, group.message = result.status, result.message
            break
    return group


__all__ = ["GroupResult", "plan", "train_group"]
