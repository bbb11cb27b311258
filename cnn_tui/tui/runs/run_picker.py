"""A picker of runs: one line each (id, status, name or architecture, epochs, accuracy),
newest first; enter picks the run id, escape cancels."""

from __future__ import annotations

from typing import Iterable

from rich.text import Text
from textual.widgets.option_list import Option

from cnn_tui.tui.common.option_picker import OptionPicker, picker_bindings


def run_line(record) -> str:
    epochs = int(record.config.get("epochs") or 0)
    acc = record.test_acc if record.test_acc is not None else record.best_val_acc
    shown = f"{100 * acc:.2f}%" if acc is not None else "-"
    name = record.name or record.arch_name
    return (f"{record.id}  {record.status:<11} {name[:24]:<24} epoch {len(record.epochs)}/{epochs}"
            f"  {shown}")


class RunPicker(OptionPicker):
    BINDINGS = picker_bindings("run_picker")

    def __init__(self, title: str, records: list) -> None:
        super().__init__()
        self.title_text = title
        self.records = list(records)

    def compose_title(self) -> Text:
        return Text(self.title_text, style="bold")

    def compose_options(self) -> Iterable[Option]:
        for record in self.records:
            yield Option(Text(run_line(record)), id=record.id)
