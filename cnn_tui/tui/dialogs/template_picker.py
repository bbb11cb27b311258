"""Choose a template (a ready-made starting architecture); dismisses with its name or None."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from cnn_tui.spec.templates import TEMPLATE_INFO, TEMPLATES, get_template


class TemplatePicker(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="templates.cancel"),
        Binding("j", "cursor_down", show=False, id="templates.down"),
        Binding("k", "cursor_up", show=False, id="templates.up"),
    ]

    DEFAULT_CSS = """
    TemplatePicker { align: center middle; }
    TemplatePicker > Vertical {
        width: 90%; max-width: 96; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    TemplatePicker OptionList { height: auto; max-height: 30; border: none; }
    """

    def compose(self) -> ComposeResult:
        options = []
        for name in TEMPLATES:
            arch = get_template(name)
            prompt = Text()
            prompt.append(f"{arch.name:<14}", style="bold")
            prompt.append(f" {len(list(arch.walk()))} layers\n    {TEMPLATE_INFO.get(name, '')}")
            options.append(Option(prompt, id=name))
        with Vertical():
            yield Label(Text("Load a template (replaces the model; u undoes)", style="bold"))
            yield OptionList(*options, id="template-options")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_id)

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)
