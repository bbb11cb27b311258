"""Compare runs: curves overlaid, a table of results and of the whole training configuration
with the differences, the architecture diff. Pushed over the Runs screen (escape goes back).

The chart draws one per-epoch metric of every run (`v` cycles: validation accuracy, validation
loss, training loss, training accuracy), each run with its own marker and colour, so the lines
stay apart in monochrome too. The table has a column per run, each value followed by its
difference from the first run (the pinned baseline when there is one, marked ⚑): results,
every setting any of the runs recorded, the data sizes. The diff compares the first run's
architecture with another's (`]` / `[` pick which). `d` shows the differences only (the
default) or every row, in both; `z` gives the focused table, or the chart (tab reaches it),
the whole screen. Below 160 columns the table and the diff are stacked, each as wide as the
screen, so no header is cut.

Seed groups: runs of one experiment (`--seeds N` / `--folds K`) or of one sweep trial, two or
more of them among the compared runs, are drawn as one group (A, B, …): its mean curve and a
dotted ± sd band above and below, the runs outside any group as themselves; `g` switches to
every run on its own and back. The line under the title gives each group's mean ± sd test
accuracy and tests the first group against each other one (Welch's t-test, or the corrected
paired t-test when both are k-fold runs over the same folds): the difference with its 95%
interval and p. `Runs` → `/` (a tag such as `experiment:`) → `M` marks every run shown.
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
from cnn_tui.experiments import seed_groups as sg
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


def group_letter(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"G{index + 1}"


class CompareChart(PlotextPlot):
    """One per-epoch metric of several runs on one chart (seed groups as mean ± sd). It takes
    the focus (tab), so `z` can give it the whole screen: at 80x24 it is 8 rows high."""

    can_focus = True

    def __init__(self, records: list, groups: dict[str, list] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.records = records
        self.groups = groups or {}
        self.grouped = bool(self.groups)
        self.metric = 0

    def _plot_groups(self, plt, metric: str, percent: bool) -> set[str]:
        """Each group's mean (its marker) and its ± sd band (dotted, same colour); returns
        the ids of the runs drawn that way."""
        scale = 100 if percent else 1
        drawn: set[str] = set()
        for g, runs in enumerate(self.groups.values()):
            curve = sg.group_curve(runs, metric)
            if not curve.epochs:
                continue
            color = COLORS[g % len(COLORS)]
            low, high = curve.band()
            label = f"{group_letter(g)} mean ± sd"  # its name is in the lines above the chart
            if any(sd is not None for sd in curve.sd):  # the band first: the mean drawn over it
                for band in (low, high):
                    plt.plot(curve.epochs, [scale * y for y in band], marker="·", color=color)
            plt.plot(curve.epochs, [scale * y for y in curve.mean], marker=MARKERS[g % len(MARKERS)],
                     color=color, label=label)
            drawn.update(r.id for r in runs)
        return drawn

    def render(self):
        key, title, percent = METRICS[self.metric]
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        plt.xlabel("epoch")
        in_groups = self._plot_groups(plt, key, percent) if self.grouped else set()
        drawn = len(in_groups)
        alone = [r for r in self.records if r.id not in in_groups]
        for record in alone:
            xs, ys = curves(record, key)
            if not xs:
                continue
            # in groups, a run on its own takes a marker after the groups' (as the title lists)
            i = self.records.index(record) if not in_groups else \
                len(self.groups) + alone.index(record)
            ys = [100 * y for y in ys] if percent else ys
            # colours always (plotext's "default" colour garbles lines); the markers are what
            # keeps runs apart where colours are lost
            plt.plot(xs, ys, marker=MARKERS[i % len(MARKERS)], color=COLORS[i % len(COLORS)],
                     label=run_label(self.records.index(record), record))
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
            "default) or every row, in the table and the diff; tab moves between them and the "
            "chart, `z` gives the focused one the whole screen; escape goes back to Runs. Seed "
            "groups (the runs of one experiment or sweep trial) are drawn as their mean ± sd and tested "
            "against the first group under the title; `g` shows every run on its own instead.")
    BINDINGS = [
        Binding("escape", "back", "Back", id="runs.compare_back"),
        Binding("v", "cycle_metric", "Metric", id="runs.compare_metric"),
        Binding("d,a", "toggle_same", "Diffs/all", id="runs.compare_all", key_display="d"),
        Binding("right_square_bracket", "diff_with(1)", "Next diff", key_display="]",
                id="runs.compare_next"),
        Binding("left_square_bracket", "diff_with(-1)", "Prev diff", show=False,
                key_display="[", id="runs.compare_prev"),
        Binding("z", "zoom", "Zoom", id="runs.compare_zoom"),
        Binding("g", "toggle_groups", "Groups/runs", id="runs.compare_groups"),
    ]

    def __init__(self, records: list) -> None:
        super().__init__()
        if len(records) < 2:
            raise CnnTuiError("compare needs two or more runs")
        self.records = records
        self.groups = sg.seed_groups(records)  # label -> runs, 2 runs or more each
        self.other = 1  # the run diffed against records[0]
        self.show_same = False
        self.monochrome = False

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Static(self.title_text(bool(self.groups)), id="compare-title")
        groups = Static(self.groups_text(), id="compare-groups")
        groups.display = bool(self.groups)
        yield groups
        yield CompareChart(self.records, self.groups, id="compare-chart")
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

    def title_text(self, grouped: bool) -> Text:
        """Which runs are compared, each with its marker; in groups: how many, and the key."""
        if grouped:
            grouped_ids = {r.id for runs in self.groups.values() for r in runs}
            alone = [r for r in self.records if r.id not in grouped_ids]
            n = len(self.groups)
            rest = ""
            if alone:
                names = ", ".join(f"{run_label(self.records.index(r), r)} "
                                  f"({MARKERS[(n + k) % len(MARKERS)]})" for k, r in enumerate(alone))
                rest = f" and {len(alone)} run{'s' if len(alone) != 1 else ''}: {names}"
            return Text(printable(f"comparing {len(self.records)} runs: {n} seed group"
                                  f"{'s' if n != 1 else ''}{rest} (g: every run on its own)"))
        names = ", ".join(f"{run_label(i, r)} ({MARKERS[i % len(MARKERS)]})"
                          for i, r in enumerate(self.records))
        return Text(printable(f"comparing {len(self.records)} runs against the first: {names}"))

    def groups_text(self) -> Text:
        """Each seed group's mean ± sd test accuracy, then the first group against each other
        one (see `seed_groups.describe_comparison`)."""
        if not self.groups:
            return Text("")
        groups = list(self.groups.values())
        labels = sg.group_labels(self.groups)
        lines = [Text.assemble((f"{group_letter(g)} ({MARKERS[g % len(MARKERS)]}) ", "bold"),
                               printable(f"{labels[key]}: {sg.describe_group(runs)}"))
                 for g, (key, runs) in enumerate(self.groups.items())]
        for g in range(1, len(groups)):
            result = sg.compare_groups(groups[0], groups[g], "test_acc")
            lines.append(Text(printable(sg.describe_comparison(result, "A", group_letter(g)))))
        return Text("\n").join(lines)

    def action_toggle_groups(self) -> None:
        chart = self.query_one(CompareChart)
        if not self.groups:
            self.notify("no seed groups among these runs (runs of one experiment or sweep "
                        "trial, 2 or more)", severity="warning")
            return
        chart.grouped = not chart.grouped
        chart.refresh()
        self.query_one("#compare-title", Static).update(self.title_text(chart.grouped))
        self.notify("each group as its mean ± sd" if chart.grouped else "every run on its own",
                    timeout=2)

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
        """The focused table or chart takes the whole screen, or gives it back."""
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused, container=False)
