"""Seed groups for Compare: several runs of one configuration (seeds and / or folds) read as
one thing, a mean ± sd curve per epoch, and whether two groups really differ.

A group is the runs of one experiment (`cnn-tui train --seeds N / --folds K`, tagged
`experiment:ID`) or of one sweep trial with several seeds or folds (`sweep:NAME` + `trial:N`).
Runs are the run store's records (`RunStore.get` / `list_runs`: `tags`, `config`, `epochs`,
`best_val_acc`, `test_acc`).

- `seed_groups(records)`: label -> the runs of each group found among `records` (groups of 2
  runs or more);
- `group_curve(runs, metric)`: per epoch, the mean and sample sd (n - 1) of a per-epoch metric
  (`val_acc`, `val_loss`, `train_loss`, `train_acc`) over the runs that reached that epoch;
- `compare_groups(a, b, metric)`: each group's mean with its Student-t interval and the effect
  b - a with its interval and p: Welch's t-test over the runs, or, when both groups are k-fold
  runs over the same (seed, fold) pairs, the Nadeau-Bengio corrected paired t-test (fold
  scores share training data; see `report`). The numbers come from `stats` (checked against
  scipy in the tests).

Stdlib and numpy (through `stats`); nothing here reads the store itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from cnn_tui.experiments import stats

RUN_METRICS = ("test_acc", "best_val_acc")  # one value per run; others: the last epoch's


@dataclass
class GroupCurve:
    metric: str
    epochs: list[float] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    sd: list[float | None] = field(default_factory=list)  # None where one run reached it
    n: list[int] = field(default_factory=list)

    def band(self) -> tuple[list[float], list[float]]:
        """(mean - sd, mean + sd) per epoch (the mean itself where there is no sd)."""
        low = [m - s if s is not None else m for m, s in zip(self.mean, self.sd, strict=True)]
        high = [m + s if s is not None else m for m, s in zip(self.mean, self.sd, strict=True)]
        return low, high


def _tag(record, prefix: str) -> str | None:
    for tag in record.tags or []:
        if tag.startswith(prefix):
            return tag[len(prefix):]
    return None


def group_key(record) -> str | None:
    """The group a run belongs to: `experiment:ID`, or `sweep:NAME trial:N`; None: none."""
    experiment = _tag(record, "experiment:")
    if experiment:
        return f"experiment:{experiment}"
    sweep, trial = _tag(record, "sweep:"), _tag(record, "trial:")
    if sweep and trial is not None:
        return f"sweep:{sweep} trial:{trial}"
    return None


def seed_groups(records) -> dict[str, list]:
    """label -> runs, for each group of two runs or more among `records` (in their order)."""
    groups: dict[str, list] = {}
    for record in records:
        key = group_key(record)
        if key is not None:
            groups.setdefault(key, []).append(record)
    return {k: v for k, v in groups.items() if len(v) >= 2}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def group_curve(runs, metric: str) -> GroupCurve:
    """Mean and sample sd of `metric` per epoch over `runs` (each epoch over the runs that
    reached it with a finite value)."""
    by_epoch: dict[float, list[float]] = {}
    for run in runs:
        for row in run.epochs or []:
            value = row.get(metric)
            if _finite(value) and _finite(row.get("epoch")):
                by_epoch.setdefault(float(row["epoch"]), []).append(float(value))
    curve = GroupCurve(metric)
    for epoch in sorted(by_epoch):
        interval = stats.mean_ci(by_epoch[epoch])
        curve.epochs.append(epoch)
        curve.mean.append(interval.mean)
        curve.sd.append(interval.sd)
        curve.n.append(interval.n)
    return curve


def run_value(run, metric: str) -> float | None:
    """One number per run: `test_acc`, `best_val_acc`, else `metric` at its last epoch."""
    if metric in RUN_METRICS:
        value = getattr(run, metric, None)
    else:
        rows = [row for row in run.epochs or [] if _finite(row.get(metric))]
        value = rows[-1][metric] if rows else None
    return float(value) if _finite(value) else None


def _pair(run) -> tuple | None:
    """(seed, fold, folds) of a k-fold run, None for a run without a fold."""
    config = run.config or {}
    fold = config.get("fold")
    if not isinstance(fold, (list, tuple)) or len(fold) != 2:
        return None
    return (config.get("seed"), int(fold[0]), int(fold[1]))


@dataclass
class GroupComparison:
    metric: str
    a: stats.Interval | None
    b: stats.Interval | None
    effect: stats.TestResult | None  # b - a; None below 2 runs a side (2 pairs paired)
    test: str  # welch, corrected-paired
    skipped: int = 0  # runs without a value of the metric

    def to_dict(self) -> dict:
        return {"metric": self.metric, "test": self.test, "skipped": self.skipped,
                "a": self.a.to_dict() if self.a else None,
                "b": self.b.to_dict() if self.b else None,
                "effect": self.effect.to_dict() if self.effect else None}


def compare_groups(a, b, metric: str = "test_acc", confidence: float = 0.95) -> GroupComparison:
    """Group `b` against group `a` on `metric` (see the module docstring)."""
    values_a = [(r, run_value(r, metric)) for r in a]
    values_b = [(r, run_value(r, metric)) for r in b]
    skipped = sum(1 for _, v in values_a + values_b if v is None)
    values_a = [(r, v) for r, v in values_a if v is not None]
    values_b = [(r, v) for r, v in values_b if v is not None]
    xa, xb = [v for _, v in values_a], [v for _, v in values_b]
    interval_a = stats.mean_ci(xa, confidence) if xa else None
    interval_b = stats.mean_ci(xb, confidence) if xb else None
    pairs_a = {_pair(r): v for r, v in values_a}
    pairs_b = {_pair(r): v for r, v in values_b}
    folded = (None not in pairs_a and None not in pairs_b and len(pairs_a) == len(values_a)
              and len(pairs_b) == len(values_b) and set(pairs_a) == set(pairs_b) and pairs_a)
    if folded:
        keys = sorted(pairs_a, key=repr)
        k = keys[0][2]
        effect = stats.corrected_paired_test([pairs_b[key] for key in keys],
                                             [pairs_a[key] for key in keys],
                                             1.0 / (k - 1), confidence) if k > 1 else None
        test = "corrected-paired"
    else:
        effect = stats.welch_test(xb, xa, confidence)
        test = "welch"
    return GroupComparison(metric, interval_a, interval_b, effect, test, skipped)


METRIC_NAMES = {"test_acc": "test accuracy", "best_val_acc": "best validation accuracy",
                "val_acc": "validation accuracy", "val_loss": "validation loss",
                "train_loss": "training loss", "train_acc": "training accuracy"}
SHORT_NAMES = {"test_acc": "test", "best_val_acc": "best val", "val_acc": "val",
               "val_loss": "val loss", "train_loss": "train loss", "train_acc": "train"}
_SUFFIX = re.compile(r"( (seed|fold) -?\d+)+$")


def group_label(runs) -> str:
    """A group's name for people: its runs' name without the ` seed S` / ` fold F` ending."""
    first = runs[0]
    name = getattr(first, "name", None) or getattr(first, "arch_name", None) or first.id
    return _SUFFIX.sub("", name) or name


def group_labels(groups: dict[str, list]) -> dict[str, str]:
    """key -> label for each group: `group_label`, and where two groups would read the same,
    the settings that set them apart (`Beginner · optimizer sgd, learning rate 0.05`; the
    group's key when none does)."""
    from cnn_tui.runs.compare import config_label

    labels = {key: group_label(runs) for key, runs in groups.items()}
    if len(set(labels.values())) == len(labels):
        return labels
    configs = {key: {k: v for k, v in (runs[0].config or {}).items() if k not in ("seed", "fold")}
               for key, runs in groups.items()}
    names = sorted({k for c in configs.values() for k in c})
    differ = [k for k in names if len({repr(c.get(k)) for c in configs.values()}) > 1]
    out = {}
    for key, label in labels.items():
        if sum(1 for other in labels.values() if other == label) == 1:
            out[key] = label
            continue
        parts = [f"{config_label(k)} {configs[key].get(k, '-')}" for k in differ[:3]]
        out[key] = f"{label} · {', '.join(parts)}" if parts else f"{label} · {key}"
    return out


def describe_group(runs, metric: str = "test_acc") -> str:
    """`test 97.10 ± 0.21% (n 3)`: the mean ± sample sd over the runs (short: it sits on one
    line beside the group's name)."""
    values = [v for v in (run_value(r, metric) for r in runs) if v is not None]
    name = SHORT_NAMES.get(metric, metric)
    if not values:
        return f"no {name} (n {len(runs)})"
    interval = stats.mean_ci(values)
    if metric.endswith("_acc"):
        sd = "" if interval.sd is None else f" ± {100 * interval.sd:.2f}"
        return f"{name} {100 * interval.mean:.2f}{sd}% (n {len(values)})"
    sd = "" if interval.sd is None else f" ± {interval.sd:.4f}"
    return f"{name} {interval.mean:.4f}{sd} (n {len(values)})"


def describe_comparison(result: GroupComparison, a: str = "A", b: str = "B") -> str:
    """One line: the effect b - a with its interval, p and the test, or why there is none."""
    name = METRIC_NAMES.get(result.metric, result.metric)
    effect = result.effect
    if effect is None:
        return f"{b} − {a}, {name}: no test (it needs 2 runs or more in each group)"
    percent = result.metric.endswith("_acc")
    scale, unit = (100, " pp") if percent else (1, "")
    width = 2 if percent else 4
    test = ("corrected paired t-test over the folds" if result.test == "corrected-paired"
            else "Welch's t-test")
    verdict = "differ" if effect.p < 1 - effect.confidence else "not shown to differ"
    return (f"{b} − {a}, {name}: {scale * effect.diff:+.{width}f}{unit}, "
            f"{round(100 * effect.confidence)}% CI [{scale * effect.low:+.{width}f}, "
            f"{scale * effect.high:+.{width}f}], p = {effect.p:.3g} ({test}, "
            f"{result.a.n if result.a else 0} vs {result.b.n if result.b else 0} runs): {verdict}")


__all__ = ["GroupComparison", "GroupCurve", "compare_groups", "describe_comparison",
           "describe_group", "group_curve", "group_key", "group_label", "group_labels", "run_value",
           "seed_groups"]
