"""What every Analyze view is, and the messages the views and the screen exchange.

A view is one widget (one module each: confusion, metrics, maps, predictions, draw, weights,
profile, data_browser) that owns its keys (BINDINGS with `analyze.*` ids, so `config.toml` can
rebind them and F1 lists them) and takes the loaded run from the screen through `show`.
The screen keeps the loading, the status line, the view switching and `e`; it asks the current
view for `export()` and, when a view is shown, calls `activated()`, which gives the keyboard to
the view's own widget at once (the tab strip never takes the focus).

Shared state: the *subject* of Feature maps and Predictions (the selected test image, or the
drawing) lives in the screen. A view that wants another image applies it to itself at once
(`select_image`) and posts `SelectImage` (Draw posts `ShowDrawing`); the screen then tells every
other view with `SubjectChanged`. A view ignores the news it caused itself, so keys pressed
faster than the messages travel are never undone by a late echo. Views never reach into each
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static


@dataclass(frozen=True)
class Subject:
    """What Feature maps show: test image `image`, or the drawing when `drawing` is set."""

    image: int = 0
    drawing: tuple | None = None  # the canvas pixels (rows of floats 0..1)


class SelectImage(Message):
    """View `origin` made test image `index` the subject (bubbles to the screen)."""

    def __init__(self, index: int, origin: AnalyzeView | None = None) -> None:
        super().__init__()
        self.index = index
        self.origin = origin


class ShowDrawing(Message):
    """Draw asks for its drawing to be the subject, shown in Feature maps."""

    def __init__(self, pixels) -> None:
        super().__init__()
        self.pixels = pixels


class SubjectChanged(Message, bubble=False):
    """The screen tells a view that the subject changed (at the request of `origin`)."""

    def __init__(self, subject: Subject, origin: AnalyzeView | None = None) -> None:
        super().__init__()
        self.subject = subject
        self.origin = origin


class NothingToExport(Exception):
    """`export()` of a view with nothing to write; the message says why."""


def key_line(*pairs: tuple[str, str]) -> Text:
    """`[ ] layer · , . channel`: a view's keys, the keys bold, for a line at its top."""
    out = Text(no_wrap=False, end="")
    for n, (keys, what) in enumerate(pairs):
        if n:
            out.append(" · ", style="dim")
        out.append(keys, style="bold")
        out.append(f" {what}")
    return out


class KeyLine(Static):
    """The one-line key reminder at the top of a view."""

    DEFAULT_CSS = "KeyLine { height: auto; color: $text-muted; }"


class AnalyzeView(Widget):
    """Base of the views: `show(analysis)`, `activated()`, `export()`, `subject`."""

    DEFAULT_CSS = "AnalyzeView { height: 1fr; width: 1fr; }"
    NAME: ClassVar[str] = ""  # "maps": the key of `AnalyzeScreen.view(name)` and of its tab
    TITLE: ClassVar[str] = ""  # the tab's label
    FOCUS: ClassVar[str | None] = None  # selector of the widget that takes the keys

    def __init__(self) -> None:
        super().__init__(id=f"view-{self.NAME}")
        self.analysis = None  # RunAnalysis once loaded
        self.subject = Subject()
        self._stale = False  # something changed while hidden: redraw when shown

    # -- what the screen calls ----------------------------------------------------------
    def show(self, analysis) -> None:
        """A run was loaded: show it (the subject starts again at test image 0)."""
        self.analysis = analysis
        self.subject = Subject()
        self.loaded()
        self.redraw_when_shown()

    def activated(self) -> None:
        """This view is now the one shown: its widget takes the keys; stale content redraws
        once laid out (pictures wrap at the width shown)."""
        target = self.focus_target()
        if target is not None:
            target.focus()
        if self._stale:
            self.call_after_refresh(self._redraw_if_stale)

    def focus_target(self) -> Widget | None:
        return self.query_one(self.FOCUS) if self.FOCUS else None

    def export(self) -> tuple[str, str]:
        """(suggested file name, content) of what the view shows; NothingToExport if none."""
        raise NothingToExport("this view has nothing to export")

    # -- for subclasses -----------------------------------------------------------------
    def loaded(self) -> None:
        """A new run was loaded: reset per-run state, fill tables (shown or not)."""

    def redraw(self) -> None:
        """Draw the pictures from `analysis` and `subject` (called while shown: they fit the
        width on screen)."""

    def subject_changed(self) -> None:
        """`self.subject` changed; by default a redraw when shown."""
        self.redraw_when_shown()

    # -- plumbing -----------------------------------------------------------------------
    @property
    def shown(self) -> bool:
        """Whether this view is the one on screen (its tab pane is the active one)."""
        node = self
        while node is not None and node is not self.screen:
            if not node.display:
                return False
            node = node.parent
        return self.is_mounted

    def redraw_when_shown(self) -> None:
        if self.shown:
            self._stale = False
            self.redraw()
        else:
            self._stale = True

    def _redraw_if_stale(self) -> None:
        if self._stale and self.shown:
            self._stale = False
            self.redraw()

    def select_image(self, index: int) -> None:
        """Make test image `index` the subject: here at once, then for the other views."""
        self.subject = Subject(image=index)
        self.subject_changed()
        self.post_message(SelectImage(index, origin=self))

    def on_subject_changed(self, message: SubjectChanged) -> None:
        if message.origin is self:
            return  # applied when asked; a later key may have moved on since
        if message.subject != self.subject:
            self.subject = message.subject
            self.subject_changed()

    def on_resize(self) -> None:
        if self.analysis is not None:
            self.redraw_when_shown()

    def require_run(self):
        """The loaded analysis; NothingToExport when no run is loaded."""
        if self.analysis is None:
            raise NothingToExport("nothing loaded yet")
        return self.analysis
