"""Compare runs: curves overlaid, a table of results and of the whole training configuration
with the differences, the architecture diff. Pushed over the Runs screen (escape goes back).

The chart draws one per-epoch metric of every run (`v` cycles: validation accuracy, validation
loss, training loss, training accuracy), each run with its own marker and colour, so the lines
stay apart in monochrome too. The table has a column per run, each value followed by its
difference from the first run (the pinned baseline when there is one, marked ⚑): results,
every setting any of the runs recorded, the data sizes. The diff compares the first run's
architecture with another's (`]` / `[` pick which). `d` shows the differences only (the
default) or every row, in both; `z` gives the focused table the whole screen. Below 160
columns the table and the diff are stacked, each as wide as the screen, so no header is cut.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from cnn_tui.errors import CnnTuiError
from cnn_tui.runs.compare import SECTIONS, curves, metrics_table, run_arch_diff
from cnn_tui.spec.fmt import shape_text
from cnn_tui.spec.text import printable
from cnn_tui.tui.common.footer import KeyBar
from cnn_tui.tui.common.topbar import TopBar

MARKERS = ("o", "x", "+", "*", "#", "@", "%", "&")
COLORS = ("cyan", "orange", "green", "magenta", "red", "blue", "yellow", "white")
WIDE = 160  # from this many columns the table and the diff sit side by side
PIN = "⚑"
METRICS = (("val_acc", "validation accuracy %", True), ("val_loss", "validation loss", False),
           ("train_loss", "training loss", False), ("train_acc", "training accuracy %", True))


def run_label(index: int, record) -> str:
    pin = f"{PIN} " if getattr(record, "pinned", False) else ""
    return printable(f"{index + 1} {pin}{record.name or record.id}")


class CompareChart(PlotextPlot):
    """One per-epoch metric of several runs on one chart."""

    def __init__(self, records: list, **kwargs) -> None:
        super().__init__(**kwargs)
        self.records = records
        self.metric = 0

    def render(self):
        key, title, percent = METRICS[self.metric]
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        plt.xlabel("epoch")
        drawn = 0
        for i, record in enumerate(self.records):
            xs, ys = curves(record, key)
            if not xs:
                continue
            ys = [100 * y for y in ys] if percent else ys
            # colours always (plotext's "default" colour garbles lines); the markers are what
            # keeps runs apart where colours are lost
            plt.plot(xs, ys, marker=MARKERS[i % len(MARKERS)], color=COLORS[i % len(COLORS)],
                     label=run_label(i, record))
            drawn += 1
        if drawn:
            plt.xticks(sorted({x for r in self.records for x in curves(r, key)[0]}))
        return super().render()


class CompareScreen(Screen):
    CSS_PATH = Path(__file__).with_name("runs.tcss")
    HELP = ("Compare: the first run (the pinned baseline, ⚑, when there is one) is the one the "
            "others are measured against. `v` cycles the charted metric (validation accuracy "
            "and loss, training loss and accuracy); the table lists the results, every setting "
            "of the training configuration and the data sizes; `]`/`[` choose which run's "
            "architecture is diffed against the first; `d` shows only the differences (the "
            "default) or every row, in the table and the diff; tab moves between them, `z` "
            "gives the focused one the whole screen; escape goes back to Runs.")
    BINDINGS = [
        Binding("escape", "back", "Back", id="runs.compare_back"),
        Binding("v", "cycle_metric", "Metric", id="runs.compare_metric"),
        Binding("d,a", "toggle_same", "Diffs/all", id="runs.compare_all", key_display="d"),
        Binding("right_square_bracket", "diff_with(1)", "Next diff", key_display="]",
                id="runs.compare_next"),
        Binding("left_square_bracket", "diff_with(-1)", "Prev diff", show=False,
                key_display="[", id="runs.compare_prev"),
        Binding("z", "zoom", "Zoom", id="runs.compare_zoom"),
    ]

    def __init__(self, records: list) -> None:
        super().__init__()
        if len(records) < 2:
            raise CnnTuiError("compare needs two or more runs")
        self.records = records
        self.other = 1  # the run diffed against records[0]
        self.show_same = False
        self.monochrome = False

    def compose(self) -> ComposeResult:
        yield TopBar()
        names = ", ".join(f"{run_label(i, r)} ({MARKERS[i % len(MARKERS)]})"
                          for i, r in enumerate(self.records))
        yield Static(Text(f"comparing {len(self.records)} runs against the first: {names}"),
                     id="compare-title")
        yield CompareChart(self.records, id="compare-chart")
        with Container(id="compare-bottom"):
            yield DataTable(id="compare-metrics", cursor_type="row", zebra_stripes=True)
            with Vertical(id="compare-diff-side"):
                yield Static("", id="compare-diff-title")
                yield DataTable(id="compare-diff", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        from cnn_tui.tui.common.heatmap import prefers_monochrome

        self.monochrome = prefers_monochrome(self.app)
        self._fit(self.app.size.width)
        self.query_one("#compare-diff", DataTable).add_columns("", "old", "new", "layer", "shape",
                                                               "params", "what changed")
        table = self.query_one("#compare-metrics", DataTable)
        table.add_column("figure", key="figure")
        for i, record in enumerate(self.records):
            table.add_column(Text(run_label(i, record)), key=f"run{i}")
        self._fill_metrics()
        self._show_diff()
        table.focus()

    def on_resize(self, event) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        self.set_class(width >= WIDE, "wide")

    def _fill_metrics(self) -> None:
        """The results, the training configuration and the data sizes, one row per figure;
        with differences only, the rows where every run agrees are left out and counted in
        their section's heading (kept short: it sets the first column's width)."""
        table = self.query_one("#compare-metrics", DataTable)
        cursor = table.cursor_row
        table.clear()
        rows = metrics_table(self.records)
        for section in SECTIONS:
            in_section = [r for r in rows if r.section == section]
            if not in_section:
                continue
            shown = [r for r in in_section if self.show_same or r.differs]
            same = len(in_section) - len(shown)
            heading = section if not same else f"{section} ({same} same)"
            table.add_row(Text(heading, style="bold underline"),
                          *(Text("") for _ in self.records), key=f"section-{section}")
            for row in shown:
                cells = [Text(printable(row.cells[0]))]
                for cell, delta in zip(row.cells[1:], row.deltas[1:], strict=True):
                    cells.append(Text(printable(f"{cell} ({delta})" if delta else cell),
                                      style="bold" if delta else ""))
                table.add_row(Text(row.label, style="bold" if row.differs else "dim"), *cells,
                              key=f"{section}/{row.label}")
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)

    def diff(self):
        """The diff of the first run's architecture with the chosen other run's (None: unreadable)."""
        try:
            return run_arch_diff(self.records[0], self.records[self.other]), None
        except CnnTuiError as err:
            return None, str(err)

    def _show_diff(self) -> None:
        a, b = self.records[0], self.records[self.other]
        diff, error = self.diff()
        head = f"architecture {run_label(0, a)} → {run_label(self.other, b)}: "
        head += error or diff.headline().split(": ", 1)[-1]
        self.query_one("#compare-diff-title", Static).update(Text(printable(head), style="bold"))
        table = self.query_one("#compare-diff", DataTable)
        table.clear()
        box = self.query_one("#compare-diff-side")
        if diff is None:
            box.set_class(True, "empty")
            return
        colours = {"added": "green", "removed": "red", "changed": "yellow", "same": ""}
        for k, row in enumerate(diff.rows):
            if not (self.show_same or row.op != "same" or row.shape_changed or row.param_delta):
                continue
            style = "" if self.monochrome else colours[row.op]
            side = row.new or row.old
            if row.op == "changed" or row.shape_changed:
                shape = f"{shape_text(row.old.shape)} → {shape_text(row.new.shape)}"
            else:
                shape = shape_text(side.shape)
            table.add_row(Text(row.mark, style="bold"),
                          str(row.old.number) if row.old else "",
                          str(row.new.number) if row.new else "",
                          Text("  " * side.depth + side.label, style=style), shape,
                          f"{row.param_delta:+,}" if row.param_delta else "",
                          Text(", ".join(row.changes), style=style), key=str(k))
        box.set_class(table.row_count == 0, "empty")  # the headline says it all: room for the rest

    def action_back(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        self.app.pop_screen()

    def action_cycle_metric(self) -> None:
        chart = self.query_one(CompareChart)
        chart.metric = (chart.metric + 1) % len(METRICS)
        chart.refresh()

    def action_diff_with(self, step: int) -> None:
        n = len(self.records)
        self.other = (self.other - 1 + step) % (n - 1) + 1  # 1..n-1
        self._show_diff()

    def action_toggle_same(self) -> None:
        self.show_same = not self.show_same
        self._fill_metrics()
        self._show_diff()

    def action_zoom(self) -> None:
        """The focused table takes the whole screen, or gives it back."""
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused, container=False)
