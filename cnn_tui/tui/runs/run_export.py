"""Export a stored run from the Runs screen: every format of the export registry, plus every
run's metrics at once for the formats that can (csv, json).

Reuses the app's `ExportDialog` (a list of formats, digits or arrows + enter; a format whose
optional package is missing is greyed with the extra that installs it); the writing itself is
`cnn_tui.export.export_to` / `export_runs` (atomic, one-line errors), called from a thread by
the screen since the model formats import torch.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from cnn_tui.export.formats import FORMATS
from cnn_tui.spec.text import printable
from cnn_tui.tui.common.export import ExportDialog, ExportFormat

ALL_PREFIX = "all-"
SHARE_LABEL = "Share code as a text file (x shows it)"


def export_formats() -> list[ExportFormat]:
    """The run's formats from the registry: its metrics (csv, json, then the same for every
    run, then the other metrics formats), its model, its architecture."""
    metrics = [f for f in FORMATS.values() if f.needs == "metrics"]
    whole = [f for f in metrics if f.all_runs]
    ordered = [*(ExportFormat(f.name, f.label, f.suffix) for f in whole),
               *(ExportFormat(ALL_PREFIX + f.name, f.all_runs_label, f.suffix, f.name)
                 for f in whole),
               *(ExportFormat(f.name, f.label, f.suffix) for f in metrics if not f.all_runs)]
    for needs in ("weights", "arch"):
        ordered += [ExportFormat(f.name, SHARE_LABEL if f.name == "share" else f.label,
                                 f.suffix) for f in FORMATS.values() if f.needs == needs]
    return ordered


def default_path(fmt: ExportFormat, record, folder: Path) -> Path:
    from cnn_tui.export import slug

    if fmt.key.startswith(ALL_PREFIX):
        return folder / f"runs{fmt.suffix}"
    spec = fmt.spec
    return folder / f"{slug(record.arch_name or 'model')}-{record.id}{spec.name_tag}{spec.suffix}"


def write_run_export(fmt: ExportFormat, run_id: str, path: Path, root: Path) -> Path:
    """Write one format for the run `run_id` of the store at `root` (or all its runs)."""
    from cnn_tui.export import check_available, export_runs, export_to, resolve

    check_available(fmt.spec.name)
    if fmt.key.startswith(ALL_PREFIX):
        return export_runs(fmt.spec.name, path, runs_dir=root)
    return export_to(resolve(run_id, runs_dir=root, need_run=True), fmt.spec.name, path)


class RunExportDialog(ExportDialog):
    """The export dialog, titled for the run it exports."""

    def __init__(self, formats: list[ExportFormat], record) -> None:
        super().__init__(formats)
        self.record = record

    def on_mount(self) -> None:
        r = self.record
        self.query_one(".dialog-title", Static).update(
            Text(printable(f"Export run {r.name or r.id} ({r.arch_name})")))
