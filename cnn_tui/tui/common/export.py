"""Export dialogs: pick a format from the export registry, then a path (or see the share code).

The formats are `cnn_tui.export.formats.FORMATS`, the same list `cnn-tui export -f` takes: the
architecture dialog offers those that start from an architecture, the Runs screen's dialog
(`run_export.py`) every format. A format whose optional package is missing is listed greyed,
with the package and the extra that installs it; it cannot be chosen. Nothing here imports a
writer (or torch) until a format is chosen and written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cnn_tui.errors import CnnTuiError, ExportError
from cnn_tui.export.formats import ARCH, FORMATS, Format
from cnn_tui.spec.model import Architecture
from cnn_tui.tui.common.footer import KeyBar


@dataclass(frozen=True)
class ExportFormat:
    """One line of an export dialog: a registry format (or a variant of one, like "every run's
    metrics"), under the key the dialog answers with."""

    key: str
    label: str
    suffix: str  # "" for what is not a file (the share code, shown in a dialog)
    format: str = ""  # the registry name; the key when empty

    @property
    def spec(self) -> Format:
        return FORMATS[self.format or self.key]

    def unavailable(self) -> str | None:
        return self.spec.unavailable()


def _item(f: Format, suffix: str | None = None) -> ExportFormat:
    """The dialog line of `f`; its suffix is one `Path.with_suffix` takes (`_keras.py` -> `.py`)."""
    if suffix is None:
        suffix = "." + f.suffix.rsplit(".", 1)[-1] if "." in f.suffix else f.suffix
    return ExportFormat(f.name, f.label, suffix)


NATIVE = _item(FORMATS["architecture"])
SHARE = _item(FORMATS["share"], "")
CODE_FORMATS = tuple(_item(f) for f in FORMATS.values()
                     if f.needs == ARCH and f.name not in ("architecture", "share"))


def architecture_formats() -> list[ExportFormat]:
    """Every registry format that starts from an architecture, in registry order."""
    return [{"architecture": NATIVE, "share": SHARE}.get(f.name) or _item(f)
            for f in FORMATS.values() if f.needs == ARCH]


def available_formats() -> list[ExportFormat]:
    """The architecture dialog's list (unavailable ones included: the dialog greys them)."""
    return architecture_formats()


def write_export(fmt: ExportFormat, arch: Architecture, path: Path) -> Path:
    """Write `arch` in `fmt` to `path` atomically; CnnTuiError naming the path on failure."""
    if fmt.key == "architecture":
        from cnn_tui.spec import io as spec_io

        spec_io.write_file(arch, path)
        return path
    from cnn_tui.export import Source, check_available, text_for
    from cnn_tui.export.atomic import write_text

    check_available(fmt.spec.name)
    try:
        text = text_for(Source(arch, arch.name), fmt.spec.name, filename=path.name)
    except CnnTuiError:
        raise
    except Exception as exc:  # a generator bug must not take the editor (and the work) down
        raise ExportError(f"{fmt.label}: could not generate ({type(exc).__name__}: {exc})") from None
    return write_text(path, text)


class ExportDialog(ModalScreen["ExportFormat | None"]):
    """Choose a format (arrows + enter, or the number of one of the first nine); dismisses
    with it or None. Unavailable formats are shown greyed with what installs them."""

    DEFAULT_CLASSES = "dialog"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    TITLE_TEXT = "Export the architecture"

    def __init__(self, formats: list[ExportFormat]) -> None:
        super().__init__()
        self.formats = formats

    def option(self, index: int, fmt: ExportFormat) -> Option:
        number = f"{index}  " if index <= 9 else "   "
        why = fmt.unavailable()
        if why:
            return Option(Text(f"{number}{fmt.label}: {why}", style="dim"), id=fmt.key,
                          disabled=True)
        return Option(f"{number}{fmt.label}", id=fmt.key)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(self.TITLE_TEXT, classes="dialog-title")
            yield OptionList(*(self.option(i, f) for i, f in enumerate(self.formats, 1)),
                             id="export-formats")
            yield Static("enter: choose · 1-9: choose · escape: cancel", classes="dialog-hint")
        yield KeyBar()  # a dialog shows its own keys, not the screen's behind it

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit():
            index = int(event.character) - 1
            if 0 <= index < min(len(self.formats), 9):
                event.stop()
                self.choose(self.formats[index])

    def choose(self, fmt: ExportFormat) -> None:
        why = fmt.unavailable()
        if why:
            self.notify(f"{fmt.label}: {why}", severity="warning", timeout=6)
            return
        self.dismiss(fmt)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.choose(next(f for f in self.formats if f.key == event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ShareCodeDialog(ModalScreen[None]):
    """The whole share code, folded over as many lines as it needs (a one-line field showed only
    its tail at 80 columns), said to be on the clipboard too."""

    DEFAULT_CLASSES = "dialog"
    BINDINGS = [Binding("escape,enter", "close", "Close")]

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static("Share code", classes="dialog-title")
            yield Static(Text(self.code, overflow="fold", no_wrap=False), id="share-code")
            yield Static("Copied to the clipboard where the terminal allows it (OSC 52; in tmux: "
                         "set -g set-clipboard on). The lines are one code: `cnn-tui share FILE` "
                         "prints it on one line. Open it with: cnn-tui CODE  ·  enter/escape: "
                         "close", classes="dialog-hint")
        yield KeyBar()  # a dialog shows its own keys, not the screen's behind it

    def action_close(self) -> None:
        self.dismiss(None)
