"""Everything that leaves cnn-tui as a file: code, models, metrics, summaries, share codes.

`formats.FORMATS` is the one list of formats (the CLI and the app's Export dialogs both read
it); `export_to(source, fmt, path)` is the one entry point that writes any of them. Each
format's writer lives in its own module (`pytorch_code`, `keras_code`, `markdown`, `weights`,
`tfjs`, `tensorboard`, `hdf5`, `metrics`) and every file or folder is written atomically
(`atomic`). Architecture formats work from a file, a share code or a run; model formats need a
run with saved weights; metrics formats a run (csv/json also every run at once).
Heavy imports (torch, onnx, h5py) happen inside the writers, never at import time.
"""

from __future__ import annotations

from pathlib import Path

from cnn_tui.errors import ExportError
from cnn_tui.export.atomic import check_bare_name, write_text
from cnn_tui.export.formats import (
    ARCH,
    FOLDER,
    FORMATS,
    METRICS,
    TEXT_FORMATS,
    WEIGHTS,
    Format,
    formats_for,
    slug,
)
from cnn_tui.export.source import Source, load_trained, open_store, resolve


def default_name(source: Source | None, fmt: str, all_runs: bool = False) -> str:
    """`lenet-5.py`, `beginner-<run id>.onnx`, `beginner-<run id>-tensorboard`, `runs.csv`."""
    f = FORMATS[fmt]
    if all_runs or source is None:
        return f"runs{f.suffix}"
    stem = slug(source.arch.name)
    if source.is_run:
        stem = f"{stem}-{source.record.id}"
    return f"{stem}{f.name_tag}{f.suffix}"


def text_for(source: Source, fmt: str, filename: str = "model.py", summary: bool = False) -> str:
    """The text of an architecture or metrics format for one source."""
    from cnn_tui.export import metrics

    if fmt == "architecture":
        from cnn_tui.spec.io import dumps

        return dumps(source.arch)
    if fmt == "pytorch":
        from cnn_tui.export.pytorch_code import pytorch_script

        return pytorch_script(source.arch, filename=filename)
    if fmt == "keras":
        from cnn_tui.export.keras_code import keras_script

        return keras_script(source.arch, filename=filename)
    if fmt == "markdown":
        from cnn_tui.export.markdown import architecture_markdown

        return architecture_markdown(source.arch)
    if fmt == "share":
        from cnn_tui.spec.sharecode import encode

        return encode(source.arch) + "\n"
    if fmt in ("csv", "json"):
        if not source.is_run:
            raise ExportError(f"{source.label}: {fmt} exports a run's metrics; give a run id "
                              "(or --all-runs)")
        if fmt == "csv":
            return (metrics.summary_csv if summary else metrics.epochs_csv)([source.record])
        return metrics.runs_json([run_with_points(source)], single=True)
    raise ExportError(f"format {fmt!r} is not a text format")


def all_runs_text(fmt: str, runs_dir: str | Path | None = None, summary: bool = False) -> str:
    from cnn_tui.export import metrics

    records = open_store(runs_dir).list_runs()
    if fmt == "csv":
        return (metrics.summary_csv if summary else metrics.epochs_csv)(records)
    if fmt == "json":
        return metrics.runs_json(records)
    raise ExportError(f"--all-runs works with csv and json, not {fmt}")


def check_available(fmt: str) -> Format:
    """The format, or ExportError saying which package it needs and how to install it."""
    f = FORMATS.get(fmt)
    if f is None:
        raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    why = f.unavailable()
    if why:
        raise ExportError(f"{fmt} export {why}")
    return f


def run_with_points(source: Source):
    """The source's RunRecord with its batch points and gradient norms loaded."""
    record = source.record
    if record.batch_points is None or record.grad_norms is None:
        record = source.store.get(record.id, points=True)
    return record


def write_model(source: Source, fmt: str, path: str | Path, force: bool = False) -> Path:
    """A trained run's model in one of the WEIGHTS formats."""
    from cnn_tui.export import weights

    model = load_trained(source)
    shape = tuple(source.arch.input)
    arch = source.arch.to_dict()
    run = {"run_id": source.record.id}
    if fmt == "pt":
        return weights.save_state_dict(model, path)
    if fmt == "safetensors":
        return weights.save_safetensors(model, path, arch, run)
    if fmt == "export":
        return weights.save_exported(model, path, shape, arch)
    if fmt == "torchscript":
        return weights.save_torchscript(model, path, shape)
    if fmt == "onnx":
        return weights.save_onnx(model, path, shape, arch=arch, extra=run)
    if fmt == "tfjs":
        from cnn_tui.export.tfjs import write_tfjs

        return write_tfjs(source.arch, model.state_dict(), path, force, run)
    raise ExportError(f"format {fmt!r} is not a model format")


write_weights = write_model  # the older name


def write_metrics(source: Source, fmt: str, path: str | Path, force: bool = False,
                  summary: bool = False) -> Path:
    """A run's measurements in one of the METRICS formats."""
    if not source.is_run:
        raise ExportError(f"{source.label}: {fmt} exports a run's metrics; give a run id")
    if fmt == "tensorboard":
        from cnn_tui.export.tensorboard import write_tensorboard

        return write_tensorboard(run_with_points(source), path, force)
    if fmt == "hdf5":
        from cnn_tui.export.hdf5 import write_hdf5

        return write_hdf5(run_with_points(source), path)
    return write_text(path, text_for(source, fmt, summary=summary))


def output_path(out: str | None, name: str | None, default: str) -> Path:
    """Where to write: `-o PATH` (a folder gets the default or `--name` inside it), else
    `--name` (a bare name, no folders) or the default name in the current folder."""
    if name is not None:
        check_bare_name(name, "--name")
    if out is None:
        return Path(name or default)
    target = Path(out).expanduser()
    if target.is_dir() or out.endswith(("/", "\\")):
        return target / (name or default)
    if name is not None:
        raise ExportError("give either -o FILE or --name NAME (with -o naming a folder), not both")
    return target


def export_to(source: Source, fmt: str, path: str | Path, summary: bool = False,
              force: bool = False) -> Path:
    """Write `source` in format `fmt` to `path` atomically; returns the path written. A folder
    format replaces an existing non-empty folder only with `force` (and only a previous export
    of the same format); the caller checks whether an existing file may be replaced."""
    f = check_available(fmt)
    path = Path(path)
    if f.needs == WEIGHTS:
        return write_model(source, fmt, path, force)
    if f.needs == METRICS:
        return write_metrics(source, fmt, path, force, summary)
    return write_text(path, text_for(source, fmt, filename=path.name, summary=summary))


def export_runs(fmt: str, path: str | Path, runs_dir: str | Path | None = None,
                summary: bool = False) -> Path:
    return write_text(path, all_runs_text(fmt, runs_dir, summary))


__all__ = [
    "ARCH",
    "FOLDER",
    "FORMATS",
    "METRICS",
    "TEXT_FORMATS",
    "WEIGHTS",
    "Format",
    "Source",
    "all_runs_text",
    "check_available",
    "default_name",
    "export_runs",
    "export_to",
    "formats_for",
    "load_trained",
    "output_path",
    "resolve",
    "run_with_points",
    "slug",
    "text_for",
    "write_metrics",
    "write_model",
    "write_weights",
]
