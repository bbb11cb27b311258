"""The confusion matrix and the per-class metrics, as text tables, and their CSV exports.

Rows are the true class, columns the prediction. Each count is shaded by its share of its row
(a background tint in colour, and always a shade character ` ░▒▓█` after the number, so the
shading survives a monochrome terminal); the diagonal is bracketed and bold so it stands out
without colour. Where the full table is wider than the view (80 columns), the cells drop their
brackets (the diagonal is then bold and underlined) so the `total` column stays.
"""

from __future__ import annotations

import csv
import io

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer
from textual.widgets import Static

from cnn_tui.tui.analyze.view import AnalyzeView
from cnn_tui.tui.common.heatmap import prefers_monochrome, ramp_color, shade_char


def row_shares(confusion: list[list[int]]) -> list[list[float]]:
    return [[(v / sum(row)) if sum(row) else 0.0 for v in row] for row in confusion]


def cell_text(count: int, share: float, diagonal: bool, width: int, compact: bool = False) -> str:
    """A count, right-aligned in `width`, then its shade character. The diagonal is
    bracketed; `compact` drops the brackets (the diagonal is then bold and underlined)."""
    if compact:
        return f" {count:>{width}}" + shade_char(share)
    body = f"[{count:>{width}}]" if diagonal else f" {count:>{width}} "
    return body + shade_char(share)


def _count_width(confusion: list[list[int]]) -> int:
    return max(3, max((len(str(v)) for row in confusion for v in row), default=1))


def table_width(confusion: list[list[int]], compact: bool = False) -> int:
    """Columns the table takes: `true`, one per class, `total`."""
    width = _count_width(confusion)
    total = sum(map(sum, confusion))
    cell = width + (2 if compact else 3)
    return len("total") + len(confusion) * cell + max(len("  total"), 2 + len(str(total)))


def confusion_table(confusion: list[list[int]], monochrome: bool = False,
                    max_width: int | None = None) -> Table:
    """The matrix as a table with a `total` column and row; narrower than `max_width` when it
    can be: cells shrink (no brackets) before anything is dropped."""
    k = len(confusion)
    width = _count_width(confusion)
    compact = max_width is not None and table_width(confusion) > max_width
    table = Table(title="confusion matrix (rows: true, columns: predicted)", box=None,
                  pad_edge=False, padding=(0, 0), title_justify="left")
    table.add_column("true", justify="right", style="bold")
    for c in range(k):
        table.add_column(f"{c} " if compact else f"{c:>{width + 2}}", justify="right")
    table.add_column("  total", justify="right")
    shares = row_shares(confusion)
    for r, row in enumerate(confusion):
        cells = []
        for c, v in enumerate(row):
            diag = r == c
            style = Style(bold=diag, underline=diag and compact)
            if not monochrome and v:
                tint = ramp_color(0.15 + 0.6 * shares[r][c], "viridis")
                style += Style(bgcolor="rgb({},{},{})".format(*tint))
            cells.append(Text(cell_text(v, shares[r][c], diag, width, compact), style=style))
        table.add_row(str(r), *cells, f"  {sum(row)}")
    totals = [sum(confusion[r][c] for r in range(k)) for c in range(k)]
    pad = " " if compact else "  "
    table.add_row("total", *(f" {t:>{width}}{pad}" for t in totals), f"  {sum(totals)}")
    return table


def confusion_csv(confusion: list[list[int]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    k = len(confusion)
    w.writerow(["true\\pred", *range(k), "total"])
    for r, row in enumerate(confusion):
        w.writerow([r, *row, sum(row)])
    return out.getvalue()


def metric_rows(per_class: list[dict], macro: dict, weighted: dict) -> list[list[str]]:
    """Display rows: class, precision, recall, F1, support; then macro and weighted averages."""
    rows = [[str(p["class"]), f"{p['precision']:.4f}", f"{p['recall']:.4f}", f"{p['f1']:.4f}",
             str(p["support"])] for p in per_class]
    total = sum(p["support"] for p in per_class)
    for name, avg in (("macro avg", macro), ("weighted avg", weighted)):
        rows.append([name, f"{avg['precision']:.4f}", f"{avg['recall']:.4f}", f"{avg['f1']:.4f}",
                     str(total)])
    return rows


METRIC_HEADER = ["class", "precision", "recall", "f1", "support"]


def metrics_csv(per_class: list[dict], macro: dict, weighted: dict) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(METRIC_HEADER)
    w.writerows(metric_rows(per_class, macro, weighted))
    return out.getvalue()


class ConfusionMatrix(Static):
    """Shows one confusion matrix; `set_matrix` replaces it (fitted to `max_width`)."""

    DEFAULT_CSS = """
    ConfusionMatrix { width: auto; height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("no evaluation yet", id=id, classes=classes)
        self.matrix: list[list[int]] | None = None

    def set_matrix(self, confusion: list[list[int]] | None, max_width: int | None = None) -> None:
        self.matrix = confusion
        if not confusion:
            self.update("no evaluation yet")
            return
        self.update(confusion_table(confusion, prefers_monochrome(self.app), max_width))

    @property
    def total(self) -> int:
        return sum(sum(r) for r in self.matrix or [])


class ConfusionView(AnalyzeView):
    """The confusion matrix of the run's test set; `e` writes it as CSV."""

    NAME, TITLE, FOCUS = "confusion", "Confusion", "#confusion-scroll"
    HELP = ("Confusion: rows are the true class, columns the prediction; each count is shaded "
            "by its share of its row and the diagonal is marked. Arrows scroll; `e` exports "
            "it as CSV.")

    def compose(self) -> ComposeResult:
        with ScrollableContainer(id="confusion-scroll"):
            yield ConfusionMatrix(id="confusion")

    def redraw(self) -> None:
        room = self.query_one("#confusion-scroll").scrollable_content_region.width
        matrix = self.analysis.evaluation["confusion_matrix"] if self.analysis else None
        self.query_one(ConfusionMatrix).set_matrix(matrix, room or None)

    def export(self) -> tuple[str, str]:
        d = self.require_run()
        return f"{d.record.id}-confusion.csv", confusion_csv(d.evaluation["confusion_matrix"])
