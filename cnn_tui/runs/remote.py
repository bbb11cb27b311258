"""Control of a run from another process, through the store (the app pausing a CLI run in tmux,
or the training process the app started).

Another process asks with `RunStore.request(run_id, "pause" | "resume" | "stop")`; the training
process's `RemoteControl` callback watches the run's row from a small thread (one read every
`POLL_SECONDS`) and applies the request to the loop's own `Control`, then says what it did
(`paused` set or cleared, the request taken). The loop itself never touches the store.
"""

from __future__ import annotations

import threading

from cnn_tui.errors import CnnTuiError
from cnn_tui.train.callbacks import Callback

POLL_SECONDS = 0.3


class RemoteControl(Callback):
    def __init__(self, store, poll: float = POLL_SECONDS) -> None:
        self.store = store
        self.poll = poll
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def on_run_start(self, trainer, event) -> None:
        run_id, control = trainer.run_id, trainer.control
        if not run_id:
            return

        def watch() -> None:
            while not self._done.wait(self.poll):
                try:
                    asked = self.store.control_of(run_id)
                    if asked == "pause" and not control.stop_requested:
                        control.pause()
                        self.store.set_paused(run_id, True)
                    elif asked == "resume":
                        control.resume()
                        self.store.set_paused(run_id, False)
                    elif asked == "stop":
                        control.stop()
                        self.store.set_paused(run_id, False)
                except CnnTuiError:
                    continue  # a busy or vanished store: try again at the next poll

        self._thread = threading.Thread(target=watch, name=f"remote-control-{run_id}", daemon=True)
        self._thread.start()

    def _finish(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def on_train_end(self, trainer, outcome) -> None:
        self._finish()

    def on_exception(self, trainer, exc) -> None:
        self._finish()
