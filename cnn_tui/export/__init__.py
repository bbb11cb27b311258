"""Everything that leaves cnn-tui as a file: code, weights, metrics, summaries, share codes.

`export_to(source, fmt, path)` is the one entry point the CLI and the TUI share; each format's
writer lives in its own module (`pytorch_code`, `keras_code`, `weights`, `metrics`, `markdown`)
and every file is written atomically (`atomic`). Architecture formats (pytorch, keras, markdown,
share) work from a file, a share code or a run; weight formats (pt, safetensors, torchscript,
onnx) need a run with saved weights; csv/json are a run's metrics (or all runs').
Heavy imports (torch) happen inside the writers, never at import time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cnn_tui.errors import ExportError
from cnn_tui.export.atomic import check_bare_name, write_text
from cnn_tui.export.source import Source, load_trained, open_store, resolve


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    kind: str  # "arch", "weights", "metrics"
    binary: bool
    help: str


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("pytorch", ".py", "arch", False, "runnable PyTorch script: model, MNIST loading, training loop"),
    Format("keras", "_keras.py", "arch", False, "Keras 3 script (Sequential, functional API for residual blocks)"),
    Format("markdown", ".md", "arch", False, "architecture summary table as Markdown"),
    Format("share", ".txt", "arch", False, "share code (printed unless -o is given)"),
    Format("pt", ".pt", "weights", True, "trained state_dict (torch.load(..., weights_only=True))"),
    Format("safetensors", ".safetensors", "weights", True, "trained weights as safetensors (+ architecture metadata)"),
    Format("torchscript", ".torchscript.pt", "weights", True, "TorchScript archive (torch.jit.load)"),
    Format("onnx", ".onnx", "weights", True, "ONNX graph, dynamic batch axis, checked with onnx.checker"),
    Format("csv", ".csv", "metrics", False, "per-epoch metrics (one row per run and epoch)"),
    Format("json", ".json", "metrics", False, "the run's record: config, architecture, epochs, evaluation"),
)}


def slug(text: str) -> str:
    """A file-name-safe form of an architecture name: `LeNet-5` -> `lenet-5`."""
    return re.sub(r"[^a-z0-9._-]+", "_", str(text).lower()).strip("._-")[:60] or "model"


def default_name(source: Source | None, fmt: str, all_runs: bool = False) -> str:
    suffix = FORMATS[fmt].suffix
    if all_runs or source is None:
        return f"runs{suffix}"
    if source.is_run:
        return f"{slug(source.arch.name)}-{source.record.id}{suffix}"
    return f"{slug(source.arch.name)}{suffix}"


def text_for(source: Source, fmt: str, filename: str = "model.py", summary: bool = False) -> str:
    """The text of an architecture or metrics format for one source."""
    from cnn_tui.export import metrics

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
        return metrics.runs_json([source.record], single=True)
    raise ExportError(f"format {fmt!r} is not a text format")


def all_runs_text(fmt: str, runs_dir: str | Path | None = None, summary: bool = False) -> str:
    from cnn_tui.export import metrics

    records = open_store(runs_dir).list_runs()
    if fmt == "csv":
        return (metrics.summary_csv if summary else metrics.epochs_csv)(records)
    if fmt == "json":
        return metrics.runs_json(records)
    raise ExportError(f"--all-runs works with csv and json, not {fmt}")


def write_weights(source: Source, fmt: str, path: str | Path) -> Path:
    from cnn_tui.export import weights

    model = load_trained(source)
    shape = tuple(source.arch.input)
    if fmt == "pt":
        return weights.save_state_dict(model, path)
    if fmt == "safetensors":
        return weights.save_safetensors(model, path, source.arch.to_dict(),
                                        {"run_id": source.record.id})
    if fmt == "torchscript":
        return weights.save_torchscript(model, path, shape)
    if fmt == "onnx":
        return weights.save_onnx(model, path, shape)
    raise ExportError(f"format {fmt!r} is not a weights format")


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


def export_to(source: Source, fmt: str, path: str | Path, summary: bool = False) -> Path:
    """Write `source` in format `fmt` to `path` atomically; returns the path written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    path = Path(path)
    if FORMATS[fmt].kind == "weights":
        return write_weights(source, fmt, path)
    return write_text(path, text_for(source, fmt, filename=path.name, summary=summary))


def export_runs(fmt: str, path: str | Path, runs_dir: str | Path | None = None,
                summary: bool = False) -> Path:
    return write_text(path, all_runs_text(fmt, runs_dir, summary))


__all__ = ["FORMATS", "Format", "Source", "all_runs_text", "default_name", "export_runs",
           "export_to", "load_trained", "output_path", "resolve", "slug", "text_for",
           "write_weights"]
