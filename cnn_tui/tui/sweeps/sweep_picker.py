"""A picker of the sweeps in the storage: name, kind, progress, running, best; the running
ones first. Enter picks the sweep's name, escape cancels."""

from __future__ import annotations

from typing import Iterable

from rich.text import Text
from textual.widgets.option_list import Option

from cnn_tui.spec.text import printable
from cnn_tui.tui.common.option_picker import OptionPicker, picker_bindings


def sweep_line(row) -> str:
    if row.error:
        return f"{row.name[:28]:<28} ({row.error})"
    best = "-" if row.best is None else f"{row.best:.4f}"
    state = "running" if row.active else "stopped" if row.stopped else \
        "done" if row.done >= row.target else "idle"
    return (f"{row.name[:28]:<28} {row.kind:<8} {row.done:>4}/{row.target:<4} {state:<8} "
            f"{row.running:>2} running  best {row.metric} {best}")


class SweepPicker(OptionPicker):
    BINDINGS = picker_bindings("sweep_picker")

    def __init__(self, title: str, rows: list) -> None:
        super().__init__()
        self.title_text = title
        self.rows = list(rows)

    def compose_title(self) -> Text:
        return Text(printable(self.title_text), style="bold")

    def compose_options(self) -> Iterable[Option]:
        for row in self.rows:
            yield Option(Text(printable(sweep_line(row))), id=row.name)
