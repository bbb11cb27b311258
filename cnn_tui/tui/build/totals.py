"""The lines around the layer table: the input above, the model's totals and score below.

`input_text` and `totals_text` are plain functions of an Analysis (and the score), so tests and
screenshots read the same words the widget shows.
"""

from __future__ import annotations

from textual.widgets import Static

from cnn_tui.spec.analysis import Analysis
from cnn_tui.spec.fmt import fmt_bytes, fmt_count, shape_cell, short_count


def input_text(analysis: Analysis) -> str:
    arch = analysis.arch
    n = len(analysis.rows)
    return (f"{arch.name} | input {shape_cell(arch.input)} -> "
            f"{shape_cell(analysis.output_shape)} | {n} layer{'s' if n != 1 else ''}")


def issue_counts(analysis: Analysis) -> str:
    counts = {"error": 0, "warning": 0, "hint": 0}
    for issue in analysis.issues:
        counts[issue.severity] = counts.get(issue.severity, 0) + 1
    return f"rules ✗{counts['error']} !{counts['warning']} ?{counts['hint']}"


def totals_text(analysis: Analysis, score: int | None) -> str:
    """Two lines: sizes, then receptive field, score and the rule counts."""
    frozen = analysis.total_params - analysis.trainable_params
    params = f"params {fmt_count(analysis.total_params)}"
    if frozen:
        params += f" ({fmt_count(frozen)} frozen)"
    if analysis.total_buffers:
        params += f" + {fmt_count(analysis.total_buffers)} buffers"
    rf = analysis.receptive_field
    first = (f"{params} | mult-adds {short_count(analysis.total_macs)} | "
             f"memory {fmt_bytes(analysis.total_memory_bytes)}/image")
    second = (f"receptive field {'-' if rf is None else f'{rf}x{rf}'} | "
              f"score {'-' if score is None else f'{score}/100'} | {issue_counts(analysis)}")
    return f"{first}\n{second}"


class Totals(Static):
    DEFAULT_CSS = """
    Totals { height: auto; padding: 0 1; }
    """

    def show(self, analysis: Analysis, score: int | None) -> None:
        self.update(totals_text(analysis, score))
