"""Export the working architecture: pick a format, then a path (or see the share code).

The formats come from what is installed: the native JSON file and the share code always; the
code generators of `cnn_tui.export` (PyTorch script, Keras script, Markdown summary) when their
module and function exist. Generation runs only when chosen, so none of it slows the start.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cnn_tui.errors import CnnTuiError, ExportError
from cnn_tui.spec.model import Architecture


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    suffix: str  # "" for formats that are not files (share code)
    module: str = ""
    functions: tuple[str, ...] = ()  # first one present is used: fn(arch[, filename=...]) -> str

    def generator(self) -> Callable[..., str] | None:
        if not self.module:
            return None
        try:
            if importlib.util.find_spec(self.module) is None:
                return None
            module = importlib.import_module(self.module)
        except ImportError:
            return None
        for name in self.functions:
            fn = getattr(module, name, None)
            if callable(fn):
                return fn
        return None

    def render(self, arch: Architecture, path: Path) -> str:
        fn = self.generator()
        if fn is None:
            raise ExportError(f"{self.label}: not available in this install")
        if "filename" in inspect.signature(fn).parameters:
            return fn(arch, filename=path.name)
        return fn(arch)


NATIVE = ExportFormat("json", "Architecture file (native JSON)", ".json")
SHARE = ExportFormat("share", "Share code (shown and copied to the clipboard)", "")
CODE_FORMATS = (
    ExportFormat("pytorch", "PyTorch training script (.py)", ".py", "cnn_tui.export.pytorch_code",
                 ("pytorch_script", "render_script", "generate")),
    ExportFormat("keras", "Keras 3 script (.py)", ".py", "cnn_tui.export.keras_code",
                 ("keras_script", "generate")),
    ExportFormat("markdown", "Markdown summary (.md)", ".md", "cnn_tui.export.markdown",
                 ("architecture_markdown", "generate")),
)


def available_formats() -> list[ExportFormat]:
    return [NATIVE, SHARE, *(f for f in CODE_FORMATS if f.generator() is not None)]


def write_export(fmt: ExportFormat, arch: Architecture, path: Path) -> Path:
    """Write `arch` in `fmt` to `path` atomically; CnnTuiError naming the path on failure."""
    if fmt.key == "json":
        from cnn_tui.spec import io as spec_io

        spec_io.write_file(arch, path)
        return path
    from cnn_tui.export.atomic import write_text

    try:
        text = fmt.render(arch, path)
    except CnnTuiError:
        raise
    except Exception as exc:  # a generator bug must not take the editor (and the work) down
        raise ExportError(f"{fmt.label}: could not generate ({type(exc).__name__}: {exc})") from None
    return write_text(path, text)


class ExportDialog(ModalScreen["ExportFormat | None"]):
    """Choose a format (arrows + enter, or its number); dismisses with it or None."""

    DEFAULT_CLASSES = "dialog"
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, formats: list[ExportFormat]) -> None:
        super().__init__()
        self.formats = formats

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static("Export the architecture", classes="dialog-title")
            yield OptionList(*(Option(f"{i}  {f.label}", id=f.key)
                               for i, f in enumerate(self.formats, 1)), id="export-formats")
            yield Static("enter: choose · 1-9: choose · escape: cancel", classes="dialog-hint")

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit():
            index = int(event.character) - 1
            if 0 <= index < len(self.formats):
                event.stop()
                self.dismiss(self.formats[index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(next(f for f in self.formats if f.key == event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ShareCodeDialog(ModalScreen[None]):
    """The whole share code, folded over as many lines as it needs (a one-line field showed only
    its tail at 80 columns), said to be on the clipboard too."""

    DEFAULT_CLASSES = "dialog"
    BINDINGS = [Binding("escape,enter", "close", "Close", show=False)]

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

    def action_close(self) -> None:
        self.dismiss(None)
