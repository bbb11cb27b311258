"""Step back through the kept versions of the architecture being edited (Build screen, `H`).

Lists the versions the history holds for it (same name or file, and its parent chain), newest
first, with when and how each was kept; choosing one makes it the document through
`document.apply`, so `u` undoes the step like any edit.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.text import printable
from cnn_tui.tui.common.option_picker import OptionPicker, picker_bindings


def version_line(version, current: str | None) -> Text:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(version.created))
    params = "?" if version.params is None else f"{version.params:,}"
    text = Text()
    text.append("● " if version.hash == current else "  ", style="bold")
    text.append(f"{when}  {version.short}  ", style="bold" if version.hash == current else "")
    text.append(f"{printable(version.name)[:24]:<24} {version.layers:>3} layers {params:>10} params  "
                f"{version.source}")
    if version.path:
        text.append(f"  {printable(version.path)}", style="dim")
    return text


class VersionPicker(OptionPicker):
    """Choose a version (arrows/j/k + enter); dismisses with its hash or None."""

    BINDINGS = picker_bindings("versions")
    OPTIONS_ID = "version-options"
    DEFAULT_CSS = """
    VersionPicker > Vertical { width: 95%; max-width: 130; }
    """

    def __init__(self, versions: list, current: str | None) -> None:
        super().__init__()
        self.versions = versions
        self.current = current

    def compose_title(self) -> Text:
        return Text("Versions of this architecture, newest first (● is the one shown; "
                    "enter loads, u undoes)", style="bold")

    def compose_options(self):
        return (Option(version_line(v, self.current), id=v.hash) for v in self.versions)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        ids = [v.hash for v in self.versions]
        if self.current in ids and ids.index(self.current) + 1 < len(ids):
            options.highlighted = ids.index(self.current) + 1  # the one before the current
        else:
            options.highlighted = 0



def pick_version(screen) -> None:
    """Open the picker for `screen.app.document`; the chosen version becomes the document."""
    from cnn_tui.runs.history import History, arch_hash

    document = screen.app.document
    history = History(screen.app.settings.runs_dir)
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
