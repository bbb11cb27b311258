"""Screens whose issue has not landed yet (today: Runs). They say plainly that they are not
built yet, what they will do, and the command that does the job today."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class PlaceholderScreen(Screen):
    """A screen that is not built yet; subclasses fill in the three texts."""

    TITLE_TEXT = ""
    WILL_DO = ""
    TODAY = ""  # the CLI command(s) that do it now
    DEFAULT_CLASSES = "placeholder"

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(classes="placeholder-body"):
            yield Static(f"{self.TITLE_TEXT}: not built yet", classes="placeholder-title")
            yield Static(self.WILL_DO, classes="placeholder-text")
            yield Static("Today, from a shell:", classes="placeholder-heading")
            yield Static(self.TODAY, classes="placeholder-command")
        yield Footer()


class RunsScreen(PlaceholderScreen):
    TITLE_TEXT = "Runs"
    HELP = "Runs: not built yet (issue 6)."
    WILL_DO = ("This screen will list every stored run (sortable, filterable), open one in "
               "Analyze, rename, tag and delete runs, and compare marked runs: curves "
               "overlaid, metrics side by side, and an architecture diff.")
    TODAY = ("  cnn-tui runs list            every stored run\n"
             "  cnn-tui runs show RUN        one run in detail\n"
             "  cnn-tui export ...           code, weights, ONNX, metrics")
