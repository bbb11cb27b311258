"""Export a stored run from the Runs screen: its metrics, code, weights, or every run's metrics.

Reuses the app's `ExportDialog` (a list of formats, digits or arrows + enter) with the formats
of `cnn_tui.export` that apply to a run; the writing itself is `cnn_tui.export.export_to` /
`export_runs` (atomic, one-line errors), called from a thread by the screen since the weight
formats import torch.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from cnn_tui.spec.text import printable
from cnn_tui.tui.common.export import ExportDialog, ExportFormat

ALL_RUNS = {"all-csv": "csv", "all-json": "json"}

FORMATS = (
    ExportFormat("csv", "This run's metrics per epoch (CSV)", ".csv"),
    ExportFormat("json", "This run's record: settings, metrics, evaluation (JSON)", ".json"),
    ExportFormat("all-csv", "Every run's metrics per epoch (CSV)", ".csv"),
    ExportFormat("all-json", "Every run's record (JSON)", ".json"),
    ExportFormat("pytorch", "PyTorch training script of its architecture (.py)", ".py"),
    ExportFormat("keras", "Keras 3 script of its architecture (.py)", "_keras.py"),
    ExportFormat("markdown", "Architecture summary (Markdown)", ".md"),
    ExportFormat("pt", "Trained weights: state_dict (.pt)", ".pt"),
    ExportFormat("safetensors", "Trained weights: safetensors", ".safetensors"),
    ExportFormat("onnx", "Trained model: ONNX", ".onnx"),
    ExportFormat("torchscript", "Trained model: TorchScript", ".torchscript.pt"),
)


def export_formats() -> list[ExportFormat]:
    return list(FORMATS)


def default_path(fmt: ExportFormat, record, folder: Path) -> Path:
    from cnn_tui.export import slug

    if fmt.key in ALL_RUNS:
        return folder / f"runs{fmt.suffix}"
    return folder / f"{slug(record.arch_name or 'model')}-{record.id}{fmt.suffix}"


def write_run_export(fmt: ExportFormat, run_id: str, path: Path, root: Path) -> Path:
    """Write one format for the run `run_id` of the store at `root` (or all its runs)."""
    from cnn_tui.export import export_runs, export_to, resolve

    if fmt.key in ALL_RUNS:
        return export_runs(ALL_RUNS[fmt.key], path, runs_dir=root)
    return export_to(resolve(run_id, runs_dir=root, need_run=True), fmt.key, path)


class RunExportDialog(ExportDialog):
    """The export dialog, titled for the run it exports."""

    def __init__(self, formats: list[ExportFormat], record) -> None:
        super().__init__(formats)
        self.record = record

    def on_mount(self) -> None:
        r = self.record
        self.query_one(".dialog-title", Static).update(
            Text(printable(f"Export run {r.name or r.id} ({r.arch_name})")))
