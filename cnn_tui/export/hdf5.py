"""A run's measurements as one HDF5 file (h5py; the `hdf5` extra), for numpy, pandas, MATLAB
or Julia users.

Layout (every table a group of equal-length 1-D columns, so `pandas.DataFrame({k: g[k][()]
for k in g})` rebuilds it; a missing value is NaN):
    /                 attrs: format "cnn-tui/run", version 1, run_id, name, status, device,
                      started, ended (Unix seconds), params, best_val_acc, test_acc,
                      peak_memory_bytes, images_per_s, architecture_version, and as JSON text:
                      config, architecture, sizes, diagnosis
    /epochs           epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds,
                      images_per_s, ... (every numeric field the store kept)
    /batch_points     epoch, step, global_step, steps, loss, acc, lr, images_per_s
    /grad_norms       epoch, step, global_step, norms [samples, layers]; attrs and dataset
                      `layers`: the layer names ("0:conv2d", ...), one per column of norms
    /evaluation       attrs: test_acc, test_loss, test_size; confusion_matrix [true, predicted];
                      per_class (class, precision, recall, f1, support); macro and weighted
                      (attrs precision, recall, f1); mistakes (index, label, pred, confidence)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cnn_tui.errors import ExportError
from cnn_tui.export.atomic import check_overwrite, write_with
from cnn_tui.export.metrics import StepAxis

FORMAT = "cnn-tui/run"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _column(values: list[Any]):
    """A numpy column: int64 when every value is an int, float64 (NaN for missing) when all
    are numbers or missing, else UTF-8 strings."""
    import numpy as np

    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return np.array([bool(v) for v in values])
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present) \
            and len(present) == len(values):
        return np.array(values, dtype=np.int64)
    if all(_is_number(v) for v in present):
        return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    import h5py

    return np.array(["" if v is None else (v if isinstance(v, str) else json.dumps(v))
                     for v in values], dtype=h5py.string_dtype())


def _table(group, rows: list[dict], first: tuple[str, ...] = ()) -> None:
    keys = list(first) + sorted({k for r in rows for k in r} - set(first))
    for key in keys:
        group.create_dataset(key, data=_column([r.get(key) for r in rows]))
    group.attrs["rows"] = len(rows)
    group.attrs["columns"] = json.dumps(keys)


def _attr(target, key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, (dict, list, tuple)):
        target.attrs[key] = json.dumps(value, separators=(",", ":"))
    elif isinstance(value, bool) or _is_number(value) or isinstance(value, str):
        target.attrs[key] = value
    else:
        target.attrs[key] = str(value)


def _write(h5, record: Any) -> None:
    import numpy as np

    for key, value in (("format", FORMAT), ("version", 1), ("run_id", record.id),
                       ("name", record.name), ("status", record.status),
                       ("device", record.device), ("started", record.started),
                       ("ended", record.ended), ("params", record.params),
                       ("best_val_acc", record.best_val_acc), ("test_acc", record.test_acc),
                       ("peak_memory_bytes", record.peak_memory_bytes),
                       ("images_per_s", record.images_per_s),
                       ("architecture_version", record.version)):
        _attr(h5, key, value)
    for key, value in (("config", record.config), ("architecture", record.arch),
                       ("sizes", record.sizes), ("diagnosis", record.diagnosis)):
        h5.attrs[key] = json.dumps(value if value is not None else {}, separators=(",", ":"))

    axis = StepAxis(record)
    epochs = sorted((dict(e) for e in record.epochs or []), key=lambda e: e["epoch"])
    _table(h5.create_group("epochs"), epochs, ("epoch",))
    points = [{**p, "global_step": axis.at(int(p["epoch"]), int(p["step"]))}
              for p in record.batch_points or []]
    _table(h5.create_group("batch_points"), points, ("epoch", "step", "global_step"))

    grads = h5.create_group("grad_norms")
    rows = list(record.grad_norms or [])
    layers = sorted({name for g in rows for name in (g.get("layers") or {})},
                    key=_layer_order)
    grads.create_dataset("epoch", data=np.array([g["epoch"] for g in rows], dtype=np.int64))
    grads.create_dataset("step", data=np.array([g["step"] for g in rows], dtype=np.int64))
    grads.create_dataset("global_step", data=np.array(
        [axis.at(int(g["epoch"]), int(g["step"])) for g in rows], dtype=np.int64))
    norms = np.full((len(rows), len(layers)), np.nan, dtype=np.float64)
    for i, g in enumerate(rows):
        for j, name in enumerate(layers):
            value = (g.get("layers") or {}).get(name)
            if _is_number(value):
                norms[i, j] = float(value)
    grads.create_dataset("norms", data=norms)
    import h5py

    grads.create_dataset("layers", data=np.array(layers, dtype=h5py.string_dtype()))
    grads.attrs["layers"] = json.dumps(layers)

    ev = h5.create_group("evaluation")
    evaluation = dict(record.evaluation or {})
    for key in ("test_acc", "test_loss", "test_size"):
        _attr(ev, key, evaluation.pop(key, None))
    matrix = evaluation.pop("confusion_matrix", None)
    if matrix is not None:
        ev.create_dataset("confusion_matrix", data=np.array(matrix, dtype=np.int64))
        ev["confusion_matrix"].attrs["axes"] = "[true class, predicted class]"
    for key in ("per_class", "mistakes"):
        rows = evaluation.pop(key, None)
        if isinstance(rows, list):
            _table(ev.create_group(key), [dict(r) for r in rows],
                   ("class",) if key == "per_class" else ("index",))
    for key, value in evaluation.items():  # macro, weighted, and anything newer
        if isinstance(value, dict):
            sub = ev.create_group(key)
            for k, v in value.items():
                _attr(sub, str(k), v)
        else:
            _attr(ev, key, value)


def _layer_order(name: str):
    head = name.split(":", 1)[0]
    return (int(head), name) if head.isdigit() else (1 << 30, name)


def write_hdf5(record: Any, path: str | Path) -> Path:
    """Write the run (a RunRecord loaded with its batch points and gradient norms)."""
    try:
        import h5py
    except ImportError:
        raise ExportError("HDF5 export needs the 'h5py' package "
                          "(pip install 'cnn-tui[hdf5]')") from None

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as h5:
            _write(h5, record)

    return write_with(path, write, "HDF5 export")




def export_run(store: Any, run_id: str, output: str | None, force: bool = False) -> Path:
    """`cnn-tui runs export ID --hdf5 [-o FILE]`: the run of `store` to FILE, or to its default
    name (`<architecture>-<run id>.h5`) in the current folder; an existing file is kept unless
    `force`. Returns the path written."""
    from cnn_tui.export.formats import slug

    record = store.get(run_id, points=True)
    path = Path(output).expanduser() if output else Path(
        f"{slug(record.arch_name or 'model')}-{record.id}.h5")
    if path.is_dir():
        path = path / f"{slug(record.arch_name or 'model')}-{record.id}.h5"
    check_overwrite(path, force)  # the one rule: an existing path (a symlink too) needs force
    return write_hdf5(record, path)


__all__ = ["FORMAT", "export_run", "write_hdf5"]
