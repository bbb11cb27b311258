"""The Predictions view: the test images in a table (label, prediction, confidence, a mark on
mistakes), the selected one large with its class probabilities as bars, and a row of the
digits around it.

The table takes the keys as soon as the view shows (`down`/`j`, `up`/`k`, `g`/`G`, page keys);
`w` keeps the mistakes only (the most confident first). The detail panel always shows the
table's selected row. Moving here selects that image for Feature maps too (`SelectImage`); an
image chosen there moves this table's cursor when the table lists it. Where the view is short
(80x24) the row of digits gives way and the selected digit is drawn at half size, so its
probabilities fit beside the table.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist

from cnn_tui.tui.analyze.metrics import RowTable
from cnn_tui.tui.analyze.view import AnalyzeView, KeyLine, key_line
from cnn_tui.tui.common.heatmap import Heatmap, prefers_monochrome, scale_values, tile
from cnn_tui.tui.common.probabilities import probability_bars

MAX_PRED_ROWS = 2000  # rows in the predictions table (the CSV export has them all)
COMPACT_BELOW = 28  # view rows: below this the row of digits goes and the digit is half size


class PredictionsView(AnalyzeView):
    NAME, TITLE, FOCUS = "preds", "Predictions", "#preds-table"
    HELP = ("Predictions: `down`/`j` and `up`/`k` move through the test images (page keys, "
            "`g`/`G` first/last), the selected one is shown with its class probabilities; "
            "`w` shows the mistakes only, the most confident first. `e` exports every "
            "prediction with its probabilities as CSV.")
    BINDINGS = [Binding("w", "toggle_wrong", "Mistakes only", id="analyze.wrong")]
    DEFAULT_CSS = """
    PredictionsView #preds-grid { height: auto; }
    PredictionsView #preds-body { height: 1fr; }
    PredictionsView #preds-table { width: 1fr; height: 1fr; }
    PredictionsView #preds-side { width: 40; padding-left: 1; }
    PredictionsView #preds-bars { height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.mistakes_only = False
        self.selected: int | None = None  # the test image of the table's cursor row

    def compose(self) -> ComposeResult:
        yield KeyLine(key_line(("↓ ↑ j k", "move"), ("g G", "first/last"),
                               ("w", "mistakes only")), id="preds-keys")
        yield Static("", id="preds-grid")
        with Horizontal(id="preds-body"):
            yield RowTable(id="preds-table")
            with VerticalScroll(id="preds-side", can_focus=False):  # keys stay on the table
                yield Heatmap(ramp="gray", id="preds-digit")
                yield Static("", id="preds-bars")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("index", "label", "pred", "confidence", "")

    # -- the table -----------------------------------------------------------------------
    def indices(self) -> list[int]:
        d = self.analysis
        if self.mistakes_only:
            return d.mistakes()
        return list(range(min(len(d.labels), MAX_PRED_ROWS)))

    def loaded(self) -> None:
        self.selected = None
        self._fill()

    def _fill(self) -> None:
        """The rows; the cursor stays on the subject's image where the table lists it."""
        table = self.query_one(DataTable)
        table.clear()
        d = self.analysis
        preds, conf = d.preds, d.confidence
        order = self.indices()
        for i in order:
            ok = preds[i] == d.labels[i]
            table.add_row(str(i), str(int(d.labels[i])), str(int(preds[i])),
                          f"{100 * float(conf[i]):.1f}%", "" if ok else "✗", key=str(i))
        want = self.selected if self.selected in order else self.subject.image
        row = order.index(want) if want in order else 0
        if order:
            table.move_cursor(row=row, animate=False)
            self._select(order[row])

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if self.analysis is None or event.row_key is None or event.row_key.value is None:
            return
        if event.cursor_row != event.data_table.cursor_row:
            return  # the cursor has moved on since (keys faster than messages)
        self._select(int(event.row_key.value))

    def _select(self, index: int) -> None:
        if index == self.selected:
            return
        self.selected = index
        self.redraw_when_shown()
        if self.subject.drawing is not None or index != self.subject.image:
            self.select_image(index)

    def subject_changed(self) -> None:
        """Another view chose an image: move the cursor there if the table lists it."""
        if self.analysis is None or self.subject.drawing is not None:
            return
        table = self.query_one(DataTable)
        key = str(self.subject.image)
        try:
            row = table.get_row_index(key)
        except RowDoesNotExist:  # not listed (mistakes only, or past the first rows): stay
            return
        if row != table.cursor_row:
            table.move_cursor(row=row, animate=False)

    def action_toggle_wrong(self) -> None:
        if self.analysis is None:
            return
        self.mistakes_only = not self.mistakes_only
        self._fill()
        self.notify("mistakes only, the most confident first" if self.mistakes_only
                    else "every test image", timeout=2)

    # -- drawing -------------------------------------------------------------------------
    @property
    def compact(self) -> bool:
        """Too short for everything (80x24): no row of digits, the selected one at half size,
        so its probabilities fit beside the table."""
        return 0 < self.size.height < COMPACT_BELOW

    def redraw(self) -> None:
        from cnn_tui.tui.analyze.data_browser import half_size
        d, i = self.analysis, self.selected
        if d is None or i is None:
            return
        compact = self.compact
        digit = half_size(d.images[i]) if compact else scale_values(d.images[i], 0, 255)
        self.query_one("#preds-digit", Heatmap).set_values(
            digit, f"#{i} label {int(d.labels[i])} pred {int(d.preds[i])}")
        bars = probability_bars([float(p) for p in d.probs[i]], 20, int(d.labels[i]))
        self.query_one("#preds-bars", Static).update(bars)
        grid = self.query_one("#preds-grid", Static)
        grid.display = not compact
        if not compact:
            self._show_grid()

    def _show_grid(self) -> None:
        """A row of half-size digits around the selected one: `label→pred confidence`."""
        from cnn_tui.tui.analyze.data_browser import half_size
        d = self.analysis
        order = self.indices()
        shown = self.query_one("#preds-grid").size.width
        per_row = max(1, ((shown if shown > 0 else self.app.size.width - 4) + 1) // 15)
        pos = order.index(self.selected) if self.selected in order else 0
        start = (pos // per_row) * per_row
        page = order[start:start + per_row]
        captions = []
        for i in page:
            label, pred = int(d.labels[i]), int(d.preds[i])
            mark = "" if label == pred else "✗"
            captions.append(f"{label}→{pred} {100 * float(d.confidence[i]):.0f}%{mark}")
        grids = [half_size(d.images[i]) for i in page]
        selected = page.index(self.selected) if self.selected in page else None
        self.query_one("#preds-grid", Static).update(
            tile(grids, captions, per_row * 15, prefers_monochrome(self.app), "gray", selected))

    # -- export --------------------------------------------------------------------------
    def export(self) -> tuple[str, str]:
        import csv
        import io
        d = self.require_run()
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        k = d.probs.shape[1]
        w.writerow(["index", "label", "pred", "confidence", *(f"p{c}" for c in range(k))])
        for i in range(len(d.labels)):
            w.writerow([i, int(d.labels[i]), int(d.preds[i]), f"{float(d.confidence[i]):.6f}",
                        *(f"{float(p):.6f}" for p in d.probs[i])])
        return f"{d.record.id}-predictions.csv", out.getvalue()
