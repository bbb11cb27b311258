"""The Build screen's layer table: one row per layer, rebuilt from an Analysis in one frame.

The row text is made by plain functions (`layer_row`, `settings_text`, ...) so the benchmark and
the diagram can reuse them without a running app. The widget is a DataTable in row-cursor mode:
it renders only the visible rows and keeps the cursor across rebuilds (`show(analysis, row)`).
Rule markers carry their meaning in the symbol itself (x error, ! warning, ? hint), so they read
the same in the monochrome theme; colour themes add the theme's error/warning/accent colour.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.color import Color, ColorParseError
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from cnn_tui.spec.analysis import Analysis, LayerInfo
from cnn_tui.spec.fmt import fmt_count, shape_cell
from cnn_tui.spec.layers import KEY_PARAMS, LAYER_TYPES
from cnn_tui.spec.model import Layer

MARKERS = {"error": "✗", "warning": "!", "hint": "?"}
SEVERITY_ORDER = ("error", "warning", "hint")
COLUMNS = ("", "#", "layer", "settings", "output", "params")


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def settings_text(layer: Layer) -> str:
    """The key parameters of a layer, short: '16 3x3 s1 valid +relu', '2x2 s2', '0.25'."""
    p = layer.params
    if layer.type == "conv2d":
        k = p.get("kernel_size")
        text = f"{p.get('filters')} {k}x{k} s{p.get('stride')} {p.get('padding')}"
    elif layer.type in ("maxpool2d", "avgpool2d"):
        k = p.get("pool_size")
        stride = p.get("stride") or k
        text = f"{k}x{k} s{stride} {p.get('padding')}"
    elif layer.type == "dense":
        text = str(p.get("units"))
    elif layer.type == "residual":
        n = len(layer.layers or ())
        text = f"{n} inner layer{'s' if n != 1 else ''} + shortcut"
    else:
        names = KEY_PARAMS.get(layer.type, ())
        text = " ".join(_num(p.get(n)) for n in names if p.get(n) is not None)
    act = p.get("activation")
    if act:
        text += f" +{act}"
    lr = p.get("lr_mult")
    if lr is not None and lr != 1.0:
        text += " frozen" if lr == 0 else f" lr x{lr:g}"
    return text


def worst_severity(analysis: Analysis, row: int) -> str | None:
    found = {i.severity for i in analysis.issues_for(row)}
    for severity in SEVERITY_ORDER:
        if severity in found:
            return severity
    return None


def layer_row(info: LayerInfo, severity: str | None) -> tuple[str, str, str, str, str, str]:
    """The six cells of one row as plain text (marker, number, type, settings, output, params)."""
    title = LAYER_TYPES[info.layer.type].title
    indent = "  " * info.depth
    return (
        MARKERS.get(severity or "", " "),
        str(info.number),
        f"{indent}{'└ ' if info.depth else ''}{title}",
        settings_text(info.layer),
        shape_cell(info.out_shape),
        fmt_count(info.params) if info.params else "-",
    )


def table_rows(analysis: Analysis) -> list[tuple[str, str, str, str, str, str]]:
    """Every row's cells as plain text (what the benchmark times besides the widget)."""
    return [layer_row(info, worst_severity(analysis, info.row)) for info in analysis.rows]


class LayerList(DataTable):
    """The layer table; `show()` replaces all rows and puts the cursor back on `row`."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="build.down"),
        Binding("k", "cursor_up", "Up", show=False, id="build.up"),
        Binding("g,home", "scroll_top", "First layer", show=False, id="build.first"),
        Binding("G,shift+g,end", "scroll_bottom", "Last layer", show=False, id="build.last"),
        # the table's own enter ("Select") is the editor's Edit: named so in the footer and the
        # help, and rebound with the screen's build.edit
        Binding("enter", "select_cursor", "Edit", id="build.edit"),
    ]

    DEFAULT_CSS = """
    LayerList { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._shown: list[tuple] = []  # (severity, row texts, broken) as last shown
        self._analysis: Analysis | None = None

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.add_column(label, key=label or "marker")
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self) -> None:
        """Marker colours come from the theme: redraw every row in the new one."""
        if self._analysis is not None:
            self.show(self._analysis, self.current_row, rebuild=True)

    def _severity_style(self, severity: str | None) -> Style | str:
        if severity is None:
            return ""
        variables = self.app.theme_variables
        colour = {"error": variables.get("error"), "warning": variables.get("warning"),
                  "hint": variables.get("accent")}[severity]
        if not colour:
            return "bold"
        try:  # through Textual's parser: ansi-dark/ansi-light give `ansi_red`, not a Rich name
            return Style(bold=True, color=Color.parse(colour).rich_color)
        except ColorParseError:
            return "bold"

    def show(self, analysis: Analysis, row: int | None, rebuild: bool = False) -> None:
        """Show `analysis`'s rows and keep the cursor on `row` (clamped).

        With as many rows as before (a form preview, an edited value) only the cells whose
        text changed are replaced: a DataTable row insert costs far more than a cell update,
        and most edits change a handful of cells. `rebuild=True` forces the full path.
        """
        self._analysis = analysis
        texts = []
        for info in analysis.rows:
            severity = worst_severity(analysis, info.row)
            texts.append((severity, layer_row(info, severity), info.out_shape is None))
        if not rebuild and len(texts) == len(self._shown) and self.row_count == len(texts):
            for r, (new, old) in enumerate(zip(texts, self._shown)):
                if new == old:
                    continue
                cells = self._cells(*new)
                for c, (value, a, b) in enumerate(zip(cells, new[1], old[1])):
                    if a != b or (c == 0 and new[0] != old[0]) or (c == 4 and new[2] != old[2]):
                        self.update_cell_at(Coordinate(r, c), value, update_width=True)
        else:
            self.clear()
            self.add_rows(self._cells(*t) for t in texts)
        self._shown = texts
        if texts:
            target = 0 if row is None else max(0, min(row, len(texts) - 1))
            if target != self.cursor_row:
                self.move_cursor(row=target, animate=False, scroll=True)

    def _cells(self, severity: str | None, text: tuple[str, ...], broken: bool) -> tuple:
        return (Text(text[0], style=self._severity_style(severity)), text[1], Text(text[2]),
                Text(text[3]), Text(text[4], style="bold" if broken else ""),
                Text(text[5], justify="right"))

    @property
    def current_row(self) -> int | None:
        """The cursor's row, or None when the list is empty."""
        return self.cursor_row if self.row_count else None
