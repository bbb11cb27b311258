"""The Metrics view: per-class precision, recall, F1 and support, then the macro and weighted
averages, in a table that takes the keys as soon as the view shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from cnn_tui.tui.analyze.confusion import METRIC_HEADER, metric_rows, metrics_csv
from cnn_tui.tui.analyze.view import AnalyzeView


class RowTable(DataTable):
    """A row-cursor table that also moves with j/k and g/G, as lists do elsewhere in the app."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="analyze.row_down"),
        Binding("k", "cursor_up", "Up", show=False, id="analyze.row_up"),
        Binding("g", "first_row", "First row", show=False, id="analyze.row_first"),
        Binding("G", "last_row", "Last row", show=False, id="analyze.row_last"),
    ]

    def action_first_row(self) -> None:
        self.action_scroll_top()

    def action_last_row(self) -> None:
        self.action_scroll_bottom()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")


class MetricsView(AnalyzeView):
    NAME, TITLE, FOCUS = "metrics", "Metrics", "#metrics-table"
    HELP = ("Metrics: precision, recall, F1 and support of each class, then the macro and "
            "weighted averages. `e` exports them as CSV.")
    DEFAULT_CSS = "MetricsView #metrics-table { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield RowTable(id="metrics-table")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*METRIC_HEADER)

    def loaded(self) -> None:
        ev = self.analysis.evaluation
        table = self.query_one(DataTable)
        table.clear()
        for row in metric_rows(ev["per_class"], ev["macro"], ev["weighted"]):
            table.add_row(*row)

    def export(self) -> tuple[str, str]:
        d = self.require_run()
        ev = d.evaluation
        return (f"{d.record.id}-metrics.csv",
                metrics_csv(ev["per_class"], ev["macro"], ev["weighted"]))
