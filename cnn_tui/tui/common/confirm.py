"""A question with a few answers, each on a button and on a single key (no mouse needed)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from cnn_tui.spec.text import printable
from cnn_tui.tui.common.footer import KeyBar


class ChoiceDialog(ModalScreen[str]):
    """Ask `question`; dismisses with the chosen answer's value (`cancel` on escape).

    `choices` are (key, label, value); the key is also shown on the button: "Save (s)".
    """

    DEFAULT_CLASSES = "dialog"
    BINDINGS = [Binding("escape", "answer('cancel')", "Cancel"),
                Binding("left", "app.focus_previous", show=False),
                Binding("right", "app.focus_next", show=False)]

    def __init__(self, title: str, question: str, choices: list[tuple[str, str, str]],
                 cancel: str = "cancel") -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.choices = choices
        self.cancel_value = cancel

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            # plain text: questions name files and runs, never markup or control codes
            yield Static(printable(self.title_text), classes="dialog-title", markup=False)
            yield Static(printable(self.question), classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                for key, label, value in self.choices:
                    shown = "esc" if key == "escape" else key
                    yield Button(Text(f"{label} ({shown})"), id=f"answer-{value}", compact=True)
        yield KeyBar()  # a dialog shows its own keys, not the screen's behind it

    def on_key(self, event) -> None:
        for key, _label, value in self.choices:
            if event.key == key or event.character == key:
                event.stop()
                self.dismiss(value)
                return

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(str(event.button.id).removeprefix("answer-"))

    def action_answer(self, value: str) -> None:
        self.dismiss(self.cancel_value if value == "cancel" else value)
