"""What a sweep found: its trials, the best one, and for an ablation or a comparison the
statistics of each variant against the reference.

`TrialView` is a trial as the rest of cnn-tui sees it (plain data, built by the Optuna backend).
`comparison(sweep, trials)` is the ablation / compare report: for each variant, its objective
and test accuracy (mean with a 95% Student-t interval over its seeds and folds) and its effect
against the reference (the base):

- seeds only: Welch's t-test (the runs of two variants are independent samples);
- k folds (x seeds): the Nadeau-Bengio corrected paired t-test over the (seed, fold) pairs,
  test/train ratio 1/(k - 1): fold scores share training data, so the plain tests are too
  confident;

and the p-values Holm-adjusted across the variants. Numbers come from `stats` (numpy only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cnn_tui.experiments import stats

STATES = ("complete", "pruned", "failed", "invalid", "running", "waiting")


@dataclass
class TrialView:
    number: int
    state: str  # one of STATES
    value: float | None = None
    params: dict = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)  # {run_id, seed, fold, status, value, test_acc}
    worker: str = ""  # host:pid
    gpu: str | None = None  # the worker's CUDA_VISIBLE_DEVICES
    message: str = ""
    diverged: bool = False
    started: float | None = None
    ended: float | None = None
    intermediate: dict = field(default_factory=dict)  # epoch -> objective (first run)
    counted: bool = True  # False: a surplus ask, or an attempt whose worker died (re-queued)
    retry_of: int | None = None  # this trial re-runs trial N (its worker died)
    requeued_as: int | None = None
    heartbeat: float | None = None
    queued: bool = False  # enqueued up front (or a re-queued attempt), not sampled
    surplus: bool = False  # asked beyond the number wanted (workers racing): never trained

    @property
    def run_id(self) -> str | None:
        return self.runs[0]["run_id"] if self.runs else None

    @property
    def test_acc(self) -> float | None:
        accs = [r["test_acc"] for r in self.runs if r.get("test_acc") is not None]
        return sum(accs) / len(accs) if accs else None

    def to_dict(self) -> dict:
        return {"number": self.number, "state": self.state, "params": self.params,
                "value": _finite(self.value), "run_id": self.run_id, "worker": self.worker,
                "gpu": self.gpu,
                "runs": [{**r, "value": _finite(r.get("value"))} for r in self.runs],
                "message": self.message, "diverged": self.diverged,
                "test_acc": self.test_acc, "retry_of": self.retry_of}


def _finite(value):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def counted(trials: list[TrialView]) -> list[TrialView]:
    return [t for t in trials if t.counted]


def best_trial(sweep, trials: list[TrialView]) -> TrialView | None:
    """The complete trial with the best objective (diverged trials score the worst value)."""
    done = [t for t in counted(trials) if t.state == "complete" and t.value is not None
            and not math.isnan(t.value)]
    if not done:
        return None
    if sweep.direction == "maximize":
        return max(done, key=lambda t: (t.value, -t.number))  # the earliest of equals
    return min(done, key=lambda t: (t.value, t.number))


def summary_counts(trials: list[TrialView]) -> dict[str, int]:
    out = {state: 0 for state in STATES}
    for t in counted(trials):
        out[t.state] = out.get(t.state, 0) + 1
    return out


def params_text(params: dict, width: int | None = None) -> str:
    parts = []
    for key, value in params.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        parts.append(f"{key}={value}")
    text = " ".join(parts)
    if width is not None and len(text) > width:
        text = text[: max(0, width - 1)] + "…"
    return text


# ---------------------------------------------------------------- ablation / compare

def comparison(sweep, trials: list[TrialView], confidence: float = 0.95) -> dict:
    """The report of an ablation or a comparison (see the module docstring)."""
    names = list(sweep.variant_archs())
    reference = sweep.reference
    by_variant: dict[str, dict[tuple, TrialView]] = {n: {} for n in names}
    for t in counted(trials):
        name = t.params.get("variant")
        if name in by_variant and t.state == "complete" and t.value is not None:
            by_variant[name][(t.params.get("seed"), t.params.get("fold"))] = t
    ratio = 1.0 / (sweep.folds - 1) if sweep.folds > 1 else None
    rows = []
    for name in names:
        runs = by_variant[name]
        values = [t.value for t in runs.values()]
        accs = [t.test_acc for t in runs.values() if t.test_acc is not None]
        row: dict[str, Any] = {
            "variant": name, "reference": name == reference, "runs": len(values),
            "expected_runs": sweep.seeds * sweep.folds,
            "objective": stats.mean_ci(values, confidence).to_dict() if values else None,
            "test_acc": stats.mean_ci(accs, confidence).to_dict() if accs else None,
            "diverged": sum(1 for t in runs.values() if t.diverged),
        }
        if name != reference:
            row["effect"] = _effect(by_variant[reference], runs, ratio, "value", confidence)
            row["test_acc_effect"] = _effect(by_variant[reference], runs, ratio, "test_acc",
                                             confidence)
        rows.append(row)
    for key in ("effect", "test_acc_effect"):
        tested = [r for r in rows if r.get(key)]
        for row, adjusted in zip(tested, stats.holm([r[key]["p"] for r in tested])):
            row[key]["p_holm"] = adjusted
    return {"metric": sweep.metric, "direction": sweep.direction, "reference": reference,
            "confidence": confidence, "folds": sweep.folds, "seeds": sweep.seeds,
            "test": "corrected-paired (Nadeau-Bengio)" if ratio is not None else "welch",
            "variants": rows}


def _effect(base: dict, variant: dict, ratio: float | None, what: str,
            confidence: float) -> dict | None:
    def value(t: TrialView):
        return t.value if what == "value" else t.test_acc

    if ratio is not None:  # k folds: paired by (seed, fold)
        keys = sorted(k for k in set(base) & set(variant)
                      if value(base[k]) is not None and value(variant[k]) is not None)
        result = stats.corrected_paired_test([value(variant[k]) for k in keys],
                                             [value(base[k]) for k in keys], ratio, confidence)
    else:
        a = [value(t) for t in variant.values() if value(t) is not None]
        b = [value(t) for t in base.values() if value(t) is not None]
        result = stats.welch_test(a, b, confidence)
    return result.to_dict() if result is not None else None


def comparison_lines(report: dict) -> list[str]:
    """The comparison as text lines (a table)."""
    metric = report["metric"]
    head = (f"{'variant':<40} {'runs':>4}  {metric + ' mean ± CI':<20} {'effect':>9} "
            f"{'p (Holm)':>9}  {'test acc':<18} {'effect':>8} {'p (Holm)':>9}")
    lines = [head]
    for row in report["variants"]:
        obj, acc = row["objective"], row["test_acc"]
        effect, acc_effect = row.get("effect"), row.get("test_acc_effect")
        lines.append(
            f"{row['variant'][:40]:<40} {row['runs']:>4}  {_ci(obj):<20} "
            f"{_signed(effect):>9} {_p(effect):>9}  {_ci(acc):<18} {_signed(acc_effect):>8} "
            f"{_p(acc_effect):>9}")
    lines.append(f"{int(report['confidence'] * 100)}% intervals (Student t); effects against "
                 f"{report['reference']!r}: {report['test']} t-test, p Holm-adjusted across variants")
    return lines


def _ci(interval: dict | None) -> str:
    if not interval:
        return "-"
    if interval["low"] is None:
        return f"{interval['mean']:.4f} (n=1)"
    return f"{interval['mean']:.4f} ± {interval['high'] - interval['mean']:.4f}"


def _signed(effect: dict | None) -> str:
    if effect is None:
        return "-"
    return f"{effect['diff']:+.4f}"


def _p(effect: dict | None) -> str:
    if effect is None:
        return "-"
    p = effect.get("p_holm", effect["p"])
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


__all__ = ["STATES", "TrialView", "best_trial", "comparison", "comparison_lines", "counted",
           "params_text", "summary_counts"]
