"""Compare runs: a metrics table with the differences, and the diff of two architectures.

Pure functions over `RunRecord`s and `Architecture`s (stdlib + spec), so the Compare screen,
a test or a script read the same answer.

`metrics_table(records)` gives one row per figure, in three sections: the results
(architecture, parameters, accuracies, losses, time, memory, speed), the whole training
configuration (every setting any compared run recorded, not a fixed subset: a setting one run
lacks shows `—`) and the data it saw (train/validation/test images). Each row holds every
run's value and its difference from the first run (accuracies in percentage points, times,
counts and bytes as signed numbers, settings as "≠" when they differ); `differs` says whether
the runs disagree, for a "differences only" view.

`arch_diff(old, new)` lines up the analysed rows of two architectures with
`difflib.SequenceMatcher` over (depth, layer type), so a conv whose filters changed is one
"changed" row, not a removal and an addition; rows only in `old` are "removed", only in `new`
"added". Each row carries both shapes and the parameter delta (from `spec.analysis.analyze`).
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.analysis import LayerInfo, analyze
from cnn_tui.spec.fmt import fmt_bytes, fmt_duration, percent, shape_text
from cnn_tui.spec.model import Architecture
from cnn_tui.spec.summary import describe_layer


# ---------------------------------------------------------------------------- metrics

RESULTS, CONFIG, DATA = "results", "configuration", "data"
SECTIONS = (RESULTS, CONFIG, DATA)


@dataclass(frozen=True)
class MetricRow:
    label: str
    values: list[Any]  # raw, one per run (None: unknown)
    cells: list[str]  # each value as shown
    deltas: list[str]  # difference from the first run ("" for the first, or when unknown)
    section: str = RESULTS

    @property
    def differs(self) -> bool:
        return any(v != self.values[0] for v in self.values[1:])


def _config(record, key: str):
    return (record.config or {}).get(key)


def _duration(record) -> float | None:
    if record.started and record.ended:
        return max(0.0, record.ended - record.started)
    return None


def _last(record, key: str):
    for epoch in reversed(record.epochs or []):
        value = epoch.get(key)
        if value is not None:
            return value
    return None


def _test_loss(record):
    return (record.evaluation or {}).get("test_loss")


def _num(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, separators=(", ", ": "))
    return str(v)


def _pp(d: float) -> str:
    return f"{100 * d:+.2f} pp"


def _signed(d: float) -> str:
    return f"{d:+,}" if isinstance(d, int) else f"{d:+.4g}"


def _time_delta(d: float) -> str:
    if round(abs(d)) == 0:
        return ""  # under half a second: the clocks show the same time
    return ("+" if d >= 0 else "-") + fmt_duration(abs(d))


def _bytes_delta(d: float) -> str:
    return ("+" if d >= 0 else "-") + fmt_bytes(abs(d))


def _bytes(v) -> str:
    return "—" if v is None else fmt_bytes(v)


# label, value(record), cell(value), delta(new - old) or None for settings (shown as "≠")
_RESULTS: list[tuple[str, Callable, Callable[[Any], str], Callable[[Any], str] | None]] = [
    ("architecture", lambda r: r.arch_name, str, None),
    ("parameters", lambda r: r.params, _num, _signed),
    ("epochs done", lambda r: len(r.epochs or []), _num, _signed),
    ("best val acc", lambda r: r.best_val_acc, percent, _pp),
    ("last val acc", lambda r: _last(r, "val_acc"), percent, _pp),
    ("test acc", lambda r: r.test_acc, percent, _pp),
    ("last train loss", lambda r: _last(r, "train_loss"), _num, _signed),
    ("last val loss", lambda r: _last(r, "val_loss"), _num, _signed),
    ("test loss", _test_loss, _num, _signed),
    ("time", _duration, fmt_duration, _time_delta),
    ("peak memory", lambda r: getattr(r, "peak_memory_bytes", None), _bytes, _bytes_delta),
    ("images/s", lambda r: getattr(r, "images_per_s", None), _num, _signed),
    ("device", lambda r: r.device, _num, None),
    ("status", lambda r: r.status, str, None),
]
# how a setting of the training configuration is labelled (else its key, "_" read as " ")
_CONFIG_LABELS = {"epochs": "epochs planned", "val_size": "validation size",
                  "device": "device asked"}
_DATA = (("train images", "train"), ("validation images", "val"), ("test images", "test"))


def config_keys(records: list) -> list[str]:
    """Every setting any of the runs recorded, in the order the first run that has it lists it."""
    keys: list[str] = []
    for record in records:
        for key in record.config or {}:
            if key not in keys:
                keys.append(key)
    return keys


def config_label(key: str) -> str:
    return _CONFIG_LABELS.get(key, key.replace("_", " "))


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _row(label: str, values: list, cell, delta, section: str) -> MetricRow:
    deltas = [""]
    base = values[0]
    for v in values[1:]:
        if delta is None:
            deltas.append("" if v == base else "≠")
        elif _finite(v) and _finite(base):
            deltas.append("" if v == base else delta(v - base))
        else:
            deltas.append("" if v == base else "≠")
    return MetricRow(label, values, [cell(v) for v in values], deltas, section)


def metrics_table(records: list) -> list[MetricRow]:
    """One row per figure (results, then every setting, then the data sizes); `deltas[i]` is
    run i against run 0."""
    rows = [_row(label, [get(r) for r in records], cell, delta, RESULTS)
            for label, get, cell, delta in _RESULTS]
    rows += [_row(config_label(key), [_config(r, key) for r in records], _num, None, CONFIG)
             for key in config_keys(records)]
    sizes = [getattr(r, "sizes", None) or {} for r in records]
    if any(sizes):
        rows += [_row(label, [s.get(key) for s in sizes], _num, _signed, DATA)
                 for label, key in _DATA]
    return rows


def curves(record, key: str) -> tuple[list[float], list[float]]:
    """(epochs, values) of one per-epoch metric (`val_acc`, `val_loss`, `train_loss`, ...)."""
    xs, ys = [], []
    for epoch in record.epochs or []:
        value = epoch.get(key)
        if _finite(value):
            xs.append(float(epoch.get("epoch", len(xs) + 1)))
            ys.append(float(value))
    return xs, ys


# ---------------------------------------------------------------------------- architectures

@dataclass(frozen=True)
class Side:
    """One row of one architecture in the diff."""

    number: int  # 1-based, as the summary table shows it
    depth: int
    label: str  # "Conv2D 8 3x3"
    shape: tuple | None
    params: int

    @classmethod
    def of(cls, info: LayerInfo) -> "Side":
        return cls(info.number, info.depth, describe_layer(info.layer), info.out_shape,
                   info.params)


@dataclass(frozen=True)
class DiffRow:
    op: str  # "same" | "changed" | "added" | "removed"
    old: Side | None
    new: Side | None
    changes: tuple[str, ...] = ()  # "filters 8 → 16"

    @property
    def param_delta(self) -> int:
        return (self.new.params if self.new else 0) - (self.old.params if self.old else 0)

    @property
    def shape_changed(self) -> bool:
        return bool(self.old and self.new and self.old.shape != self.new.shape)

    @property
    def mark(self) -> str:
        return {"same": " ", "changed": "~", "added": "+", "removed": "-"}[self.op]

    def text(self) -> str:
        """One line: mark, row numbers, layer, shape (old → new) and parameter delta."""
        side = self.new or self.old
        nums = f"{self.old.number if self.old else '':>3} {self.new.number if self.new else '':>3}"
        label = "  " * side.depth + (self.new or self.old).label
        if self.op == "changed" or self.shape_changed:
            shape = f"{shape_text(self.old.shape)} → {shape_text(self.new.shape)}"
        else:
            shape = shape_text(side.shape)
        delta = f"{self.param_delta:+,} params" if self.param_delta else ""
        extra = f"  ({', '.join(self.changes)})" if self.changes else ""
        return f"{self.mark} {nums}  {label:<24} {shape:<28} {delta}{extra}".rstrip()


@dataclass
class ArchDiff:
    old_name: str
    new_name: str
    rows: list[DiffRow] = field(default_factory=list)
    old_params: int = 0
    new_params: int = 0

    def count(self, op: str) -> int:
        return sum(1 for r in self.rows if r.op == op)

    @property
    def identical(self) -> bool:
        return all(r.op == "same" and not r.shape_changed for r in self.rows)

    def headline(self) -> str:
        if self.identical:
            return f"{self.new_name} has the same layers as {self.old_name}"
        d = self.new_params - self.old_params
        return (f"{self.old_name} → {self.new_name}: {self.count('added')} added, "
                f"{self.count('removed')} removed, {self.count('changed')} changed; "
                f"parameters {self.old_params:,} → {self.new_params:,} ({d:+,})")

    def lines(self, include_same: bool = True) -> list[str]:
        return [self.headline()] + [r.text() for r in self.rows
                                    if include_same or r.op != "same" or r.shape_changed]


def _own(info: LayerInfo) -> dict:
    return dict(info.layer.params)


def _changes(old: LayerInfo, new: LayerInfo) -> tuple[str, ...]:
    a, b = _own(old), _own(new)
    out = []
    for key in list(a) + [k for k in b if k not in a]:
        if a.get(key) != b.get(key):
            out.append(f"{key} {_num(a.get(key)) if a.get(key) is not None else '—'} → "
                       f"{_num(b.get(key)) if b.get(key) is not None else '—'}")
    if old.projection != new.projection:
        out.append("projection " + ("added" if new.projection else "removed"))
    return tuple(out)


def arch_diff(old: Architecture, new: Architecture) -> ArchDiff:
    """How `new` differs from `old`, row by row (nested residual rows included)."""
    a, b = analyze(old), analyze(new)
    ka = [(r.depth, r.layer.type) for r in a.rows]
    kb = [(r.depth, r.layer.type) for r in b.rows]
    diff = ArchDiff(old.name, new.name, old_params=a.total_params, new_params=b.total_params)
    matcher = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for ra, rb in zip(a.rows[i1:i2], b.rows[j1:j2], strict=True):
                changes = _changes(ra, rb)
                diff.rows.append(DiffRow("changed" if changes else "same", Side.of(ra),
                                         Side.of(rb), changes))
            continue
        diff.rows += [DiffRow("removed", Side.of(r), None) for r in a.rows[i1:i2]]
        diff.rows += [DiffRow("added", None, Side.of(r)) for r in b.rows[j1:j2]]
    return diff


def run_arch_diff(old_record, new_record) -> ArchDiff:
    """The diff of two runs' architectures; CnnTuiError when a record's is unreadable."""
    try:
        return arch_diff(Architecture.from_dict(old_record.arch),
                         Architecture.from_dict(new_record.arch))
    except CnnTuiError as err:
        raise CnnTuiError(f"cannot compare the architectures: {err}") from None


__all__ = ["ArchDiff", "CONFIG", "DATA", "DiffRow", "MetricRow", "RESULTS", "SECTIONS", "Side",
           "arch_diff", "config_keys", "config_label", "curves", "metrics_table", "run_arch_diff"]
