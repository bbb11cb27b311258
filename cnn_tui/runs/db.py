"""Opening `runs.db`, shared by the run store and the architecture history.

Both keep their tables in the same SQLite file, so both open it the same way: WAL (readers
never block the one writer, so two trainings and an app can share it), a 30 s busy timeout,
autocommit (each statement is its own transaction unless the caller begins one), and their own
schema applied idempotently. Failures are one-line `RunStoreError`s naming the file.

A store whose folder cannot be written (a read-only mount, a folder of someone else's) is still
readable: `open_db(..., readonly=True)` opens it with `mode=ro`, or, when SQLite cannot create
the WAL's shared-memory file there and no write-ahead log is pending, as `immutable`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from cnn_tui.errors import RunStoreError


def describe(exc: sqlite3.Error) -> str:
    """SQLite's message, led by what it means for the user where SQLite's own words are vague."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return f"no space left on the device ({text})"
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return f"read-only ({text})"
    return text


def rollback(conn: sqlite3.Connection) -> None:
    """End a failed transaction without hiding why it failed: SQLite rolls back by itself on
    some errors (a full disk, an I/O error), and a ROLLBACK that fails is not the news."""
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def writable(folder: Path) -> bool:
    """Whether files can be created in `folder` (False on a read-only mount, even for root)."""
    return os.access(folder, os.W_OK | os.X_OK)


def open_db(db: Path, schema: str, what: str, readonly: bool = False) -> sqlite3.Connection:
    """Connect to `db` (its folder is created), apply the pragmas and `schema`; `readonly`:
    open an existing `db` for reading only (no folder, pragmas or schema written)."""
    if readonly:
        return _open_readonly(db, what)
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
            raise RunStoreError(f"{what} {db}: {describe(exc)}") from None
        except sqlite3.Error as exc:
            raise RunStoreError(f"{what} {db}: {describe(exc)}") from None


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


def _connect_uri(db: Path, query: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db.absolute().as_uri() + "?" + query, uri=True, timeout=30.0,
                           isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the file for real
    except BaseException:
        conn.close()
        raise
    return conn


def _open_readonly(db: Path, what: str) -> sqlite3.Connection:
    if not os.access(db, os.R_OK):
        raise RunStoreError(f"{what} {db}: not readable (permission denied)")
    try:
        # Reads the write-ahead log too; needs the -shm file to exist or be creatable.
        return _connect_uri(db, "mode=ro")
    except sqlite3.Error as exc:
        first = exc
    wal = db.with_name(db.name + "-wal")
    try:
        pending = wal.stat().st_size > 0
    except OSError:
        pending = False
    if writable(db.parent):
        raise RunStoreError(f"{what} {db}: cannot open read-only: {describe(first)}") from None
    if pending:
        # Opening it immutable would silently skip the newest writes in the log.
        raise RunStoreError(
            f"{what} {db}: cannot open read-only: the folder {db.parent} is read-only and the "
            f"write-ahead log {wal.name} has changes that need {db.name}-shm, which cannot be "
            f"created there ({describe(first)}); open the store once where it is writable"
        ) from None
    try:
        # Nothing pending and the folder read-only: the file alone is the whole database.
        return _connect_uri(db, "immutable=1")
    except sqlite3.Error as exc:
        raise RunStoreError(f"{what} {db}: cannot open read-only: the folder {db.parent} is "
                            f"read-only ({describe(exc)})") from None
