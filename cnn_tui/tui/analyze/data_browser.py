"""Browse the MNIST training set by class: a page of digits drawn as half blocks.

Needs no run: it reads MNIST itself (from the app's data folder, in a thread, the first time it
is shown). Keys when focused: `c` / `C` next / previous class, `n` / `p` (or right / left) next /
previous page. Digits are shown at half size (14x14 pixels, 7 rows and a caption), as many rows
of them as the view has room for, so a page at 120x40 holds dozens and one at 80x24 still fits.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from cnn_tui.errors import CnnTuiError
from cnn_tui.tui.analyze.view import AnalyzeView, NothingToExport
from cnn_tui.tui.common.heatmap import prefers_monochrome, tile, to_plain_text

TILE_ROWS = 8  # a half-size digit: 7 rows of half blocks and its caption


def half_size(image_u8) -> list[list[float]]:
    """28x28 uint8 -> 14x14 floats 0..1 (the mean of each 2x2 block)."""
    rows = image_u8.tolist() if hasattr(image_u8, "tolist") else image_u8
    out = []
    for y in range(0, len(rows) - 1, 2):
        top, bottom = rows[y], rows[y + 1]
        out.append([(top[x] + top[x + 1] + bottom[x] + bottom[x + 1]) / (4 * 255.0)
                    for x in range(0, len(top) - 1, 2)])
    return out


class DataBrowser(Widget, can_focus=True):
    DEFAULT_CSS = """
    DataBrowser { height: 1fr; width: 1fr; }
    """
    BINDINGS = [
        Binding("c", "cls(1)", "Next class", id="analyze.data_class_next"),
        Binding("C", "cls(-1)", "Prev class", show=False, id="analyze.data_class_prev"),
        Binding("n,right", "page(1)", "Next page", id="analyze.data_page_next"),
        Binding("p,left", "page(-1)", "Prev page", show=False, id="analyze.data_page_prev"),
    ]

    digit_class: reactive[int] = reactive(0)
    page: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.images = None  # uint8 [N,28,28] training images
        self.labels = None
        self.error: str | None = None
        self._by_class: dict[int, list[int]] = {}

    def load(self) -> None:
        """Read MNIST in a thread (once)."""
        if self.images is None and self.error is None:
            self._load()

    @work(thread=True, exclusive=True, group="data-browser", exit_on_error=False)
    def _load(self):
        from cnn_tui.data import load_arrays
        arrays = load_arrays(self.app.settings.data_dir)  # type: ignore[attr-defined]
        return arrays.train_images, arrays.train_labels

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "data-browser":
            return
        event.stop()
        if event.state == WorkerState.SUCCESS:
            self.images, self.labels = event.worker.result
            for i, label in enumerate(self.labels.tolist()):
                self._by_class.setdefault(int(label), []).append(i)
        elif event.state == WorkerState.ERROR:
            err = event.worker.error
            self.error = str(err) if isinstance(err, CnnTuiError) else f"{type(err).__name__}: {err}"
        self.refresh(layout=True)

    # -- paging ----------------------------------------------------------------------
    @property
    def per_page(self) -> int:
        """Digits on a page: as many rows of them as fit under the heading (at least one)."""
        per_row = max(1, (max(self.size.width, 15) + 1) // 15)
        rows = max(1, (self.size.height - 1) // TILE_ROWS) if self.size.height else 4
        return per_row * rows

    def page_indices(self) -> list[int]:
        members = self._by_class.get(self.digit_class, [])
        start = self.page * self.per_page
        return members[start:start + self.per_page]

    def pages(self) -> int:
        return max(1, -(-len(self._by_class.get(self.digit_class, [])) // self.per_page))

    def action_cls(self, delta: int) -> None:
        classes = sorted(self._by_class) or [0]
        self.digit_class = classes[(classes.index(self.digit_class) + delta) % len(classes)] \
            if self.digit_class in classes else classes[0]
        self.page = 0

    def action_page(self, delta: int) -> None:
        self.page = (self.page + delta) % self.pages()

    def watch_digit_class(self) -> None:
        self.refresh(layout=True)

    def watch_page(self) -> None:
        self.refresh(layout=True)

    def on_resize(self) -> None:
        self.page = min(self.page, self.pages() - 1)  # fewer pages when more fit on one

    # -- drawing ---------------------------------------------------------------------
    def heading(self) -> str:
        count = len(self._by_class.get(self.digit_class, []))
        return (f"training set · class {self.digit_class} · {count:,} images · page "
                f"{self.page + 1}/{self.pages()} · c/C class · n/p page")

    def render(self) -> Text:
        if self.error:
            return Text(self.error)
        if self.images is None:
            return Text("loading MNIST…")
        idx = self.page_indices()
        grids = [half_size(self.images[i]) for i in idx]
        out = Text(self.heading() + "\n", style="bold")
        out.append_text(tile(grids, [f"#{i}" for i in idx], self.size.width or 120,
                             prefers_monochrome(self.app), "gray"))
        return out

    def export_text(self) -> str:
        """The page as plain text: the heading, then each digit in shade characters."""
        if self.images is None:
            return ""
        blocks = [self.heading()]
        for i in self.page_indices():
            blocks.append(to_plain_text(half_size(self.images[i]), f"#{i} label {self.digit_class}"))
        return "\n".join(blocks)


class DataView(AnalyzeView):
    """The training set by class: needs no run."""

    NAME, TITLE, FOCUS = "data", "Data", "#data-browser"
    HELP = ("Data: the MNIST training set by class, no run needed. `c`/`C` next/previous class, "
            "`n`/`p` (or right/left) next/previous page. `e` exports the page as text.")

    def compose(self) -> ComposeResult:
        yield DataBrowser(id="data-browser")

    def activated(self) -> None:
        self.query_one(DataBrowser).load()
        super().activated()

    def export(self) -> tuple[str, str]:
        browser = self.query_one(DataBrowser)
        content = browser.export_text()
        if not content:
            raise NothingToExport(browser.error or "MNIST is still loading")
        return f"mnist-train-class{browser.digit_class}.txt", content
