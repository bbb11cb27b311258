"""Step back through the kept versions of the architecture being edited (Build screen, `H`).

Lists the versions the history holds for it (same name or file, and its parent chain), newest
first, with when and how each was kept; choosing one makes it the document through
`document.apply`, so `u` undoes the step like any edit.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from cnn_tui.errors import CnnTuiError


def version_line(version, current: str | None) -> Text:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(version.created))
    params = "?" if version.params is None else f"{version.params:,}"
    text = Text()
    text.append("● " if version.hash == current else "  ", style="bold")
    text.append(f"{when}  {version.short}  ", style="bold" if version.hash == current else "")
    text.append(f"{version.name[:24]:<24} {version.layers:>3} layers {params:>10} params  "
                f"{version.source}")
    if version.path:
        text.append(f"  {version.path}", style="dim")
    return text


class VersionPicker(ModalScreen["str | None"]):
    """Choose a version (arrows/j/k + enter); dismisses with its hash or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="versions.cancel"),
        Binding("j", "cursor_down", show=False, id="versions.down"),
        Binding("k", "cursor_up", show=False, id="versions.up"),
    ]
    DEFAULT_CSS = """
    VersionPicker { align: center middle; }
    VersionPicker > Vertical {
        width: 95%; max-width: 130; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    VersionPicker OptionList { height: auto; max-height: 30; border: none; }
    """

    def __init__(self, versions: list, current: str | None) -> None:
        super().__init__()
        self.versions = versions
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Versions of this architecture, newest first (● is the one shown; "
                             "enter loads, u undoes)", style="bold"))
            yield OptionList(*(Option(version_line(v, self.current), id=v.hash)
                               for v in self.versions), id="version-options")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        ids = [v.hash for v in self.versions]
        if self.current in ids and ids.index(self.current) + 1 < len(ids):
            options.highlighted = ids.index(self.current) + 1  # the one before the current
        else:
            options.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_id)

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)


def pick_version(screen) -> None:
    """Open the picker for `screen.app.document`; the chosen version becomes the document."""
    from cnn_tui.runs.history import History, arch_hash

    document = screen.app.document
    history = History()
    try:
        versions = history.related(document.arch, document.path)
    except CnnTuiError as err:
        screen.notify(str(err), severity="error", timeout=10)
        return
    finally:
        history.close()
    if not versions:
        screen.notify("no versions kept yet: saving (ctrl+s) or training keeps one",
                      severity="warning")
        return
    by_hash = {v.hash: v for v in versions}

    def chosen(digest: str | None) -> None:
        if not digest:
            return
        version = by_hash[digest]
        try:
            arch = version.arch
        except CnnTuiError as err:
            screen.notify(f"version {version.short}: {err}", severity="error", timeout=10)
            return
        if arch == document.arch:
            screen.notify("that version is the one shown")
            return
        document.apply(arch, f"version {version.short}")
        screen.notify(f"loaded version {version.short} of {version.name!r} (u undoes)")

    screen.app.push_screen(VersionPicker(versions, arch_hash(document.arch)), chosen)
