"""The modal list every picker is: a title line over an OptionList; arrows or j/k move, enter
picks, escape cancels (dismissing with None).

A subclass gives its title and options in `compose_title()` / `compose_options()`, turns the
chosen option id into its result in `result()`, and takes its BINDINGS from
`picker_bindings(prefix)`, so each picker keeps key ids of its own that users can rebind.
"""

from __future__ import annotations

from typing import Any, Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option
from cnn_tui.tui.common.footer import KeyBar


def picker_bindings(prefix: str) -> list[Binding]:
    return [
        Binding("escape", "cancel", "Cancel", id=f"{prefix}.cancel"),
        Binding("j", "cursor_down", show=False, id=f"{prefix}.down"),
        Binding("k", "cursor_up", show=False, id=f"{prefix}.up"),
    ]


class OptionPicker(ModalScreen[Any]):
    DEFAULT_CSS = """
    OptionPicker { align: center middle; }
    OptionPicker > Vertical {
        width: 90%; max-width: 96; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    OptionPicker OptionList { height: auto; max-height: 30; border: none; }
    """
    OPTIONS_ID = "picker-options"

    def compose_title(self) -> Text:
        raise NotImplementedError

    def compose_options(self) -> Iterable[Option | None]:
        raise NotImplementedError

    def result(self, option_id: str | None) -> Any:
        return option_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.compose_title())
            yield OptionList(*self.compose_options(), id=self.OPTIONS_ID)
        yield KeyBar()  # a dialog shows its own keys, not the screen's behind it

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.result(event.option_id))

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)
