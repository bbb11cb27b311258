"""Train, Analyze and Runs until their issues land: they say plainly that they are not built
yet, what they will do, and the command that does the job today."""

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


class TrainScreen(PlaceholderScreen):
    TITLE_TEXT = "Train"
    HELP = "Train: not built yet. Training from the app lands with issue 5."
    WILL_DO = ("This screen will train the architecture from Build with PyTorch on the best "
               "device present: a form for the training settings, start / pause / stop, live "
               "loss and accuracy charts, progress with images/s and ETA, device memory, and "
               "detached runs that survive a dropped ssh session.")
    TODAY = ("  cnn-tui train FILE           train an architecture file\n"
             "  ctrl+s (or ctrl+p → Save)    save the architecture from Build first")


class AnalyzeScreen(PlaceholderScreen):
    TITLE_TEXT = "Analyze"
    HELP = "Analyze: not built yet (issue 5)."
    WILL_DO = ("This screen will show what a trained run learned: the confusion matrix, "
               "per-class precision / recall / F1, feature maps of any test digit, the most "
               "confident mistakes, weight histograms and gradient flow, and a canvas to draw "
               "a digit and see it classified.")
    TODAY = ("  cnn-tui runs list            the stored runs\n"
             "  cnn-tui runs show RUN        one run's metrics")


class RunsScreen(PlaceholderScreen):
    TITLE_TEXT = "Runs"
    HELP = "Runs: not built yet (issue 6)."
    WILL_DO = ("This screen will list every stored run (sortable, filterable), open one in "
               "Analyze, rename, tag and delete runs, and compare marked runs: curves "
               "overlaid, metrics side by side, and an architecture diff.")
    TODAY = ("  cnn-tui runs list            every stored run\n"
             "  cnn-tui runs show RUN        one run in detail\n"
             "  cnn-tui export ...           code, weights, ONNX, metrics")


class BuildStandIn(PlaceholderScreen):
    """Used only when the Build screen module cannot be imported (a broken install)."""

    TITLE_TEXT = "Build"
    HELP = "Build: the editor could not be loaded."
    WILL_DO = "The architecture editor could not be loaded in this install."
    TODAY = "  cnn-tui summary FILE         the layer table of an architecture"

    def action_add_layer_type(self, type_name: str) -> None:
        self.notify("the editor is not available", severity="error")

    def action_load_template(self, name: str) -> None:
        self.notify("the editor is not available", severity="error")
