"""The one exception family users see: a one-line message naming what and where.

Everything that reaches a user (CLI, TUI notification) is a `CnnTuiError` or a subclass;
the CLI prints `cnn-tui: error: <message>` and exits with `exit_code`, never a traceback.
"""

from __future__ import annotations


class CnnTuiError(Exception):
    """A user-facing error; `str(err)` is a single line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        message = " ".join(str(message).split())  # one line, always
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SpecError(CnnTuiError):
    """An architecture file or share code that cannot be read: names the field path."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class DataError(CnnTuiError):
    """MNIST missing, corrupt or unreadable; says which file and which command fixes it."""


class TrainingError(CnnTuiError):
    """A run that could not start or had to stop (NaN loss, unwritable run directory, ...)."""

    exit_code = 1


class RunStoreError(CnnTuiError):
    """The run store or a run in it cannot be read or written."""


class ExportError(CnnTuiError):
    """An export that could not be written; nothing half-written is left behind."""
