"""Type a path (or a share code) on the keyboard; `tab` completes file and folder names.

Dismisses with the text typed (stripped; `~` expanded by the caller's choice) or None on escape.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from cnn_tui.spec.text import printable
from cnn_tui.tui.common.field_input import FieldInput
from cnn_tui.tui.common.footer import KeyBar

MAX_LISTED = 2000  # a huge folder must not stall the UI on one tab press


def complete_path(text: str, cwd: Path | None = None) -> tuple[str, list[str]]:
    """Complete `text` to the longest common prefix of matching entries.

    Returns the new text and the matching names (folders end with '/').
    """
    cwd = cwd or Path.cwd()
    cut = text.rfind("/") + 1
    head, tail = text[:cut], text[cut:]
    folder = Path(os.path.expanduser(head)) if head else cwd
    if not folder.is_absolute():
        folder = cwd / folder
    names = []
    try:
        with os.scandir(folder) as entries:
            for i, entry in enumerate(entries):
                if i >= MAX_LISTED:
                    break
                hidden = entry.name.startswith(".") and not tail.startswith(".")
                if entry.name.startswith(tail) and not hidden:
                    names.append(entry.name + ("/" if entry.is_dir() else ""))
    except OSError:
        return text, []
    names.sort()
    common = os.path.commonprefix(names) if names else ""
    if len(common) <= len(tail):
        return text, names
    return head + common, names


class PathPrompt(ModalScreen["str | None"]):
    DEFAULT_CLASSES = "dialog"
    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("tab", "complete", "Complete", priority=True)]

    def __init__(self, title: str, value: str = "", hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.initial = value
        self.hint = hint or "enter: accept · tab: complete · escape: cancel"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            # plain text: titles name runs and files, completions list the folder's names
            yield Static(printable(self.title_text), classes="dialog-title", markup=False)
            yield FieldInput(self.initial, id="path-input", select_on_focus=False)
            yield Static(printable(self.hint), id="path-hint", classes="dialog-hint", markup=False)
        yield KeyBar()  # a dialog shows its own keys, not the screen's behind it

    def on_mount(self) -> None:
        entry = self.query_one(Input)
        entry.focus()
        entry.cursor_position = len(entry.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_complete(self) -> None:
        entry = self.query_one(Input)
        new, names = complete_path(entry.value)
        hint = self.query_one("#path-hint", Static)
        if new != entry.value:
            entry.value = new
            entry.cursor_position = len(new)
            hint.update(printable(self.hint))
        elif len(names) > 1:
            shown = "  ".join(names[:12]) + ("  …" if len(names) > 12 else "")
            hint.update(printable(shown))
        else:
            hint.update("no match" if not names else printable(self.hint))
