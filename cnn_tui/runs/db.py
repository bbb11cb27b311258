"""Opening `runs.db`, shared by the run store and the architecture history.

Both keep their tables in the same SQLite file, so both open it the same way: WAL (readers
never block the one writer, so two trainings and an app can share it), a 30 s busy timeout,
autocommit (each statement is its own transaction unless the caller begins one), and their own
schema applied idempotently. Failures are one-line `RunStoreError`s naming the file.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from cnn_tui.errors import RunStoreError


def open_db(db: Path, schema: str, what: str) -> sqlite3.Connection:
    """Connect to `db` (its folder is created), apply the pragmas and `schema`."""
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunStoreError(f"{what} {db.parent}: cannot create ({exc.strerror or exc})") from None
    deadline = time.monotonic() + 30.0
    while True:
        try:
            return _setup(db, schema)
        except sqlite3.OperationalError as exc:
            # Two processes creating the file at once: switching a new database to WAL and
            # creating its tables take locks that SQLite's busy handler does not wait for.
            if "locked" in str(exc) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise RunStoreError(f"{what} {db}: {exc}") from None
        except sqlite3.Error as exc:
            raise RunStoreError(f"{what} {db}: {exc}") from None


def _setup(db: Path, schema: str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(db), timeout=30.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(schema)
    except BaseException:
        conn.close()
        raise
    return conn
