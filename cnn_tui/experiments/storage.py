"""Where a sweep's study lives: the `--storage` value, read and checked before Optuna is loaded.

- nothing: the journal file `sweeps.journal` beside the run store (no server; many processes on
  one box, or on a shared file system, append to it under a lock);
- a path (or `journal:PATH`): another journal file, e.g. on a file system several boxes mount;
- `postgresql://USER:PASSWORD@HOST:PORT/DB`: a PostgreSQL server, for several machines
  (`pip install 'cnn-tui[postgres]'` for its driver);
- `sqlite:///PATH`: one worker only. SQLite locks the whole database on every write; Optuna's
  own advice is "We would never recommend SQLite3 for parallel optimization" (optuna/optuna#820:
  `database is locked` with parallel workers), so more than one worker is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cnn_tui.errors import CnnTuiError

JOURNAL_NAME = "sweeps.journal"
SQLITE_REASON = ("SQLite locks the whole database on every write, and Optuna advises against it "
                 "for parallel optimization ('database is locked' errors): use the default journal "
                 "file or a postgresql:// URL for more than one worker")
_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]*@")


def shown(url: str) -> str:
    """A storage URL fit to print: its password replaced by ***."""
    return _PASSWORD.sub(r"\1***@", str(url))


@dataclass(frozen=True)
class StorageRef:
    kind: str  # journal, postgresql, sqlite
    target: str  # the journal file's absolute path, or the database URL
    given: str  # what the user wrote ("" for the default)

    @property
    def shown(self) -> str:
        return self.target if self.kind == "journal" else shown(self.given or self.target)

    @property
    def argument(self) -> str:
        """What a worker process is given as --storage."""
        return self.target if self.kind != "journal" else f"journal:{self.target}"


def parse_storage(value: str | None, runs_dir: Path, workers: int = 1) -> StorageRef:
    """The storage `value` names (None: the journal beside the run store at `runs_dir`);
    CnnTuiError for an unknown scheme, or SQLite with more than one worker."""
    if value is None or not str(value).strip():
        return StorageRef("journal", str((Path(runs_dir) / JOURNAL_NAME).resolve()), "")
    text = str(value).strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        # SQLAlchemy 2.1's default PostgreSQL driver is psycopg 3; the postgres extra installs
        # psycopg2-binary: name it, unless the URL names a driver itself
        url = "postgresql+psycopg2" + text[len(scheme):] if "+" not in scheme else text
        return StorageRef("postgresql", url, text)
    if scheme == "sqlite":
        if workers > 1:
            raise CnnTuiError(f"--storage {shown(text)}: not for {workers} workers: {SQLITE_REASON}")
        return StorageRef("sqlite", text, text)
    if scheme:
        raise CnnTuiError(f"--storage {shown(text)}: unknown scheme {scheme!r} (a journal file path, "
                          "journal:PATH, postgresql://USER@HOST/DB or sqlite:///PATH)")
    path = text.removeprefix("journal:")
    path = Path(path).expanduser()
    if path.is_dir():
        raise CnnTuiError(f"--storage {text}: is a folder; give the journal file's path "
                          f"(e.g. {path / JOURNAL_NAME})")
    return StorageRef("journal", str(path.resolve()), text)


__all__ = ["JOURNAL_NAME", "SQLITE_REASON", "StorageRef", "parse_storage", "shown"]
