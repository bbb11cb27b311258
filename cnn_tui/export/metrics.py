"""Run metrics as CSV or JSON, for one run or all of them: the data behind every chart.

CSV is "long": one row per (run, epoch) with the run's id, name and architecture first, so
several runs fit in one file and a spreadsheet or pandas `groupby("run_id")` plots them at once.
`summary_csv` is the other shape: one row per run (settings and final figures). JSON keeps
everything the store has (config, architecture, per-epoch metrics, final evaluation) under a
versioned envelope. Works on `RunRecord`s (anything with the same attributes); stdlib only.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from typing import Any

EPOCH_COLUMNS = ("run_id", "run_name", "architecture", "epoch", "train_loss", "train_acc",
                 "val_loss", "val_acc", "lr", "seconds", "images_per_s")
SUMMARY_COLUMNS = ("run_id", "run_name", "architecture", "status", "device", "params",
                   "optimizer", "learning_rate", "batch_size", "epochs_planned", "epochs_done",
                   "best_val_acc", "test_acc", "test_loss", "started", "ended", "seconds")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return value


def _oldest_first(records: Iterable[Any]) -> list[Any]:
    return sorted(records, key=lambda r: (getattr(r, "started", None) or 0.0, r.id))


def _arch_name(record: Any) -> str:
    arch = getattr(record, "arch", None)
    return str(arch.get("name", "")) if isinstance(arch, dict) else ""


def epoch_rows(record: Any) -> list[dict[str, Any]]:
    """One dict per logged epoch, the run's identity first."""
    head = {"run_id": record.id, "run_name": record.name or "", "architecture": _arch_name(record)}
    return [{**head, **{k: v for k, v in dict(e).items() if k not in head}}
            for e in (record.epochs or [])]


def _write_csv(rows: list[dict[str, Any]], columns: Iterable[str]) -> str:
    columns = list(columns)
    extra = sorted({k for r in rows for k in r} - set(columns))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns + extra, lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def epochs_csv(records: Iterable[Any]) -> str:
    """Per-epoch metrics of every record, oldest run first (header only when none)."""
    rows: list[dict[str, Any]] = []
    for record in _oldest_first(records):
        rows += epoch_rows(record)
    return _write_csv(rows, EPOCH_COLUMNS)


def summary_row(record: Any) -> dict[str, Any]:
    config = record.config or {}
    evaluation = record.evaluation or {}
    started, ended = getattr(record, "started", None), getattr(record, "ended", None)
    return {
        "run_id": record.id, "run_name": record.name or "", "architecture": _arch_name(record),
        "status": record.status, "device": record.device, "params": record.params,
        "optimizer": config.get("optimizer"), "learning_rate": config.get("learning_rate"),
        "batch_size": config.get("batch_size"), "epochs_planned": config.get("epochs"),
        "epochs_done": len(record.epochs or []), "best_val_acc": record.best_val_acc,
        "test_acc": record.test_acc, "test_loss": evaluation.get("test_loss"),
        "started": started, "ended": ended,
        "seconds": round(ended - started, 3) if started and ended else None,
    }


def summary_csv(records: Iterable[Any]) -> str:
    """One row per run: its settings and final figures, oldest first."""
    return _write_csv([summary_row(r) for r in _oldest_first(records)],
                      SUMMARY_COLUMNS)


def _jsonable(value: Any) -> Any:
    """NaN / inf are not JSON: they become null so every reader accepts the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def run_dict(record: Any) -> dict[str, Any]:
    return _jsonable(record.to_dict() if hasattr(record, "to_dict") else dict(vars(record)))


def runs_json(records: Iterable[Any], single: bool = False) -> str:
    """`{"format": "cnn-tui/runs", "version": 1, "runs": [...]}`; with `single`, that one run's
    object under `"run"` instead."""
    records = _oldest_first(records)
    if single:
        if len(records) != 1:
            raise ValueError("single=True needs exactly one run")
        doc = {"format": "cnn-tui/run", "version": 1, "run": run_dict(records[0])}
    else:
        doc = {"format": "cnn-tui/runs", "version": 1, "runs": [run_dict(r) for r in records]}
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


class StepAxis:
    """The global batch step of (epoch, step): the steps of the earlier epochs plus this one's
    (steps per epoch from the batch points, else the run's sizes). TensorBoard, W&B and the
    HDF5 export put every series on this one growing axis."""

    def __init__(self, record: Any) -> None:
        points = list(record.batch_points or [])
        per_epoch: dict[int, int] = {}
        for p in points:
            e = int(p["epoch"])
            per_epoch[e] = max(per_epoch.get(e, 0), int(p.get("steps") or 0), int(p["step"]))
        for g in record.grad_norms or []:
            e = int(g["epoch"])
            per_epoch[e] = max(per_epoch.get(e, 0), int(g["step"]))
        default = int((record.sizes or {}).get("steps") or 0) or max(per_epoch.values(), default=1)
        last = max([int(e["epoch"]) for e in record.epochs or []] + list(per_epoch) + [0])
        self.steps = {e: per_epoch.get(e) or default for e in range(1, last + 1)}
        self.offset, total = {}, 0
        for e in range(1, last + 1):
            self.offset[e] = total
            total += self.steps[e]

    def at(self, epoch: int, step: int) -> int:
        return self.offset.get(epoch, 0) + step

    def end_of(self, epoch: int) -> int:
        return self.offset.get(epoch, 0) + self.steps.get(epoch, 0)
