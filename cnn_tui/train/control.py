"""Pause / resume / stop a training run from another thread (the TUI, a signal handler).

The loop polls `stop_requested` between steps (a plain attribute read, no lock, no device sync)
and calls `wait_if_paused()` there; `stop()` also wakes a paused loop so it can save and return.
"""

from __future__ import annotations

import threading


class Control:
    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        """Ask the loop to finish its current step, save a checkpoint and return "stopped"."""
        self._stop.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_if_paused(self, poll: float = 0.2) -> None:
        """Block while paused; returns at once when running or when a stop is requested."""
        while not self._running.is_set() and not self._stop.is_set():
            self._running.wait(poll)
