"""The architecture being edited, with an unbounded undo history for the session.

One `Document` lives on the app (`app.document`); every screen reads it and every change goes
through `apply` / `load`, so undo, the dirty flag and autosave see the same history. Listeners
(`subscribe`) are called with no arguments after every change, undo, redo and load. States are
whole Architectures: the edits in `cnn_tui.spec.edit` return new ones, so keeping the old one is
free and undo can never be corrupted by a later edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cnn_tui.spec.model import Architecture


@dataclass(frozen=True)
class _State:
    arch: Architecture
    path: Path | None
    label: str  # what the change that led here did ("add Conv2D")


class Document:
    def __init__(self, arch: Architecture, path: Path | None = None) -> None:
        self._states: list[_State] = [_State(arch, path, "start")]
        self._index = 0
        self._saved: tuple[Architecture, Path | None] = (arch, path)
        self._listeners: list[Callable[[], None]] = []
        self.version = 0  # bumps on every change: a cheap "did anything change" check

    # -- reading -------------------------------------------------------------------------
    @property
    def arch(self) -> Architecture:
        return self._states[self._index].arch

    @property
    def path(self) -> Path | None:
        return self._states[self._index].path

    @property
    def dirty(self) -> bool:
        """True when the architecture differs from what was last opened or saved."""
        saved_arch, _ = self._saved
        return self.arch != saved_arch

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._states) - 1

    # -- changing ------------------------------------------------------------------------
    def apply(self, arch: Architecture, label: str) -> None:
        """Make `arch` the current state (undoable). Do not mutate it afterwards."""
        self._push(_State(arch, self.path, label))

    def load(self, arch: Architecture, path: Path | None = None) -> None:
        """Replace the whole document (open, template, import); undoable like any edit."""
        label = f"open {path.name}" if path is not None else f"load {arch.name}"
        if path is not None:
            self._saved = (arch, path)
        self._push(_State(arch, path, label))

    def mark_saved(self, path: Path) -> None:
        """The current architecture was written to `path`."""
        current = self._states[self._index]
        self._states[self._index] = _State(current.arch, path, current.label)
        self._saved = (current.arch, path)
        self._notify()

    def undo(self) -> str | None:
        """Step back one change; returns its label, or None when there is nothing to undo."""
        if not self.can_undo:
            return None
        label = self._states[self._index].label
        self._index -= 1
        self._notify()
        return label

    def redo(self) -> str | None:
        """Step forward again; returns the label of the change redone, or None."""
        if not self.can_redo:
            return None
        self._index += 1
        self._notify()
        return self._states[self._index].label

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` after every change; returns a function that unsubscribes it."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def _push(self, state: _State) -> None:
        del self._states[self._index + 1:]  # a new change forgets the redo branch
        self._states.append(state)
        self._index += 1
        self._notify()

    def _notify(self) -> None:
        self.version += 1
        for callback in list(self._listeners):
            callback()
