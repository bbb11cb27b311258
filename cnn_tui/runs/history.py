"""Architecture history: every version that was saved or trained, kept content-addressed.

A version is the canonical text of an architecture (`spec.io.dumps`), keyed by its sha256, so
saving the same architecture twice keeps one version and a run links to the exact version it
trained by hashing its stored architecture (`run_hash`): no link table to fall out of step. Each
version remembers when it was first and last seen, its name, the file it was saved to, what
recorded it (save, train, or run: a run trained elsewhere, filled in when listed) and its parent,
the version it was edited from (the newest earlier version of the same file, else of the same
name), so the editor can step back through them.

The versions live in their own table of the run store's SQLite file (`<root>/runs.db`), written
through this module's own connection (WAL, busy timeout), so a TUI, a detached run and a CLI
can record at once. Stdlib and spec only.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnn_tui.errors import CnnTuiError, RunStoreError
from cnn_tui.runs.db import describe, rollback
from cnn_tui.spec import io as spec_io
from cnn_tui.spec.model import Architecture

SOURCES = ("save", "train", "run")

SCHEMA = """
CREATE TABLE IF NOT EXISTS arch_versions (
    hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    json TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL,
    source TEXT NOT NULL,
    path TEXT,
    parent TEXT,
    layers INTEGER,
    params INTEGER
);
CREATE INDEX IF NOT EXISTS arch_versions_name ON arch_versions(name);
CREATE INDEX IF NOT EXISTS arch_versions_path ON arch_versions(path);
"""


def arch_hash(arch: Architecture) -> str:
    """The sha256 (hex) of the architecture's canonical text: its version id."""
    return hashlib.sha256(spec_io.dumps(arch).encode("utf-8")).hexdigest()


def run_hash(record: Any) -> str | None:
    """The version id of the architecture a run trained (None when its record is unreadable)."""
    if getattr(record, "version", None):
        return record.version
    try:
        return arch_hash(Architecture.from_dict(record.arch))
    except CnnTuiError:
        return None


@dataclass(frozen=True)
class Version:
    hash: str
    name: str
    text: str  # the canonical JSON
    created: float
    last_seen: float
    source: str
    path: str | None
    parent: str | None
    layers: int
    params: int | None

    @property
    def short(self) -> str:
        return self.hash[:10]

    @property
    def arch(self) -> Architecture:
        return Architecture.from_dict(json.loads(self.text))


def _version(row: tuple) -> Version:
    return Version(*row)


_COLUMNS = "hash, name, json, created, last_seen, source, path, parent, layers, params"


def _params(arch: Architecture) -> int | None:
    from cnn_tui.spec.analysis import analyze

    try:
        return analyze(arch).total_params
    except CnnTuiError:
        return None


class History:
    """The versions kept in `<root>/runs.db` (root: the run store's folder by default)."""

    def __init__(self, root: Path | str | None = None) -> None:
        if root is None:
            from cnn_tui.locations import runs_dir

            root = runs_dir()
        self.root = Path(root).expanduser()
        self.db = self.root / "runs.db"
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._readonly = False  # the connection was opened for reading only

    # ---------------------------------------------------------------- connection
    def _connect(self, create: bool) -> sqlite3.Connection | None:
        """`create`: for writing (the file is made); else for reading, None without a file and
        a read-only connection where the store cannot be written (a read-only mount)."""
        from cnn_tui.runs.db import open_db, writable
        if self._conn is not None:
            if not (create and self._readonly):
                return self._conn
            self._conn.close()  # opened for reading; maybe writable now
            self._conn = None
        if not create and not self.db.is_file():
            return None
        if create and self.root.is_dir() and not writable(self.root):
            raise RunStoreError(f"architecture history {self.root}: not writable")
        readonly = not create and not (writable(self.root) and os.access(self.db, os.W_OK))
        conn = open_db(self.db, SCHEMA, "architecture history", readonly=readonly)
        self._conn, self._readonly = conn, readonly
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            conn = self._connect(create=False)
            if conn is None:
                return []
            try:
                return conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                if self._readonly and "no such table" in str(exc):
                    return []  # a store written before the history existed, read-only here
                raise RunStoreError(f"architecture history {self.db}: {describe(exc)}") from None

    # ---------------------------------------------------------------- writing
    def record(self, arch: Architecture, source: str, path: Path | str | None = None,
               guess_parent: bool = True, when: float | None = None) -> Version:
        """Keep `arch` as a version (or note that an existing one was seen again); returns it.

        The parent of a new version is the newest other version saved to the same `path`, or,
        without a path, of the same name (`guess_parent=False`: none).
        """
        if source not in SOURCES:
            raise RunStoreError(f"architecture history: unknown source {source!r}")
        now = time.time() if when is None else when
        with self._lock:
            conn = self._connect(create=True)
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    row = insert_version(conn, arch, source, path, now, guess_parent)
                    conn.execute("COMMIT")
                except BaseException:
                    rollback(conn)  # never hides the error that got us here
                    raise
            except sqlite3.Error as exc:
                raise RunStoreError(f"architecture history {self.db}: {describe(exc)}") from None
        return _version(row)

    # ---------------------------------------------------------------- reading
    def get(self, digest: str, missing_ok: bool = False) -> Version | None:
        """The version with this hash or a unique prefix of one (at least 4 characters)."""
        digest = str(digest).strip().lower()
        if len(digest) < 4 or any(c not in "0123456789abcdef" for c in digest):
            raise RunStoreError(f"architecture version {digest[:70]!r}: not a version hash")
        rows = self._query(f"SELECT {_COLUMNS} FROM arch_versions WHERE hash LIKE ? LIMIT 2",
                           (digest + "%",))
        if len(rows) == 1:
            return _version(rows[0])
        if missing_ok:
            return None
        what = "is ambiguous" if rows else "is not in the history"
        raise RunStoreError(f"architecture version {digest!r} {what} ({self.db})")

    def versions(self, name: str | None = None, path: Path | str | None = None,
                 limit: int = 500) -> list[Version]:
        """Versions, newest first; with `name` / `path`, those of that name or saved there."""
        where, args = [], []
        if name is not None:
            where.append("name=?")
            args.append(name)
        if path is not None:
            where.append("path=?")
            args.append(str(Path(path).expanduser().resolve()))
        sql = f"SELECT {_COLUMNS} FROM arch_versions"
        if where:
            sql += " WHERE " + " OR ".join(where)
        sql += " ORDER BY created DESC, hash LIMIT ?"
        return [_version(r) for r in self._query(sql, (*args, int(limit)))]

    def lineage(self, digest: str) -> list[Version]:
        """The version and its ancestors through the parent links, newest first."""
        out: list[Version] = []
        seen: set[str] = set()
        current = self.get(digest, missing_ok=True)
        while current is not None and current.hash not in seen:
            out.append(current)
            seen.add(current.hash)
            current = self.get(current.parent, missing_ok=True) if current.parent else None
        return out

    def related(self, arch: Architecture, path: Path | str | None = None) -> list[Version]:
        """Versions of the architecture being edited: its own lineage and every version of
        the same name or file, newest first."""
        by_hash = {v.hash: v for v in self.versions(name=arch.name, path=path)}
        for v in self.lineage(arch_hash(arch)):
            by_hash.setdefault(v.hash, v)
        return sorted(by_hash.values(), key=lambda v: (-v.created, v.hash))

    def for_run(self, record: Any) -> Version | None:
        """The exact version a run trained, when the history has it."""
        digest = run_hash(record)
        return self.get(digest, missing_ok=True) if digest else None


def insert_version(conn: sqlite3.Connection, arch: Architecture, source: str,
                   path: Path | str | None, when: float, guess_parent: bool = True) -> tuple:
    """Keep `arch` as a version inside the caller's transaction (or note that an existing one
    was seen again at `when`); returns its row. The parent of a new version is the newest other
    version saved to the same `path`, or, without a path, of the same name."""
    text = spec_io.dumps(arch)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    shown = str(Path(path).expanduser().resolve()) if path is not None else None
    known = conn.execute("SELECT hash FROM arch_versions WHERE hash=?", (digest,)).fetchone()
    if known:
        conn.execute("UPDATE arch_versions SET last_seen=MAX(last_seen, ?), "
                     "path=COALESCE(path, ?) WHERE hash=?", (when, shown, digest))
    else:
        parent = _guess_parent(conn, arch.name, shown) if guess_parent else None
        conn.execute(f"INSERT INTO arch_versions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (digest, arch.name, text, when, when, source, shown, parent,
                      sum(1 for _ in arch.walk()), _params(arch)))
    return conn.execute(f"SELECT {_COLUMNS} FROM arch_versions WHERE hash=?", (digest,)).fetchone()


def _guess_parent(conn: sqlite3.Connection, name: str, path: str | None) -> str | None:
    if path is not None:
        row = conn.execute("SELECT hash FROM arch_versions WHERE path=? "
                           "ORDER BY last_seen DESC LIMIT 1", (path,)).fetchone()
        if row:
            return row[0]
    row = conn.execute("SELECT hash FROM arch_versions WHERE name=? "
                       "ORDER BY last_seen DESC LIMIT 1", (name,)).fetchone()
    return row[0] if row else None


def remember(arch: Architecture, source: str, path: Path | str | None = None,
             root: Path | str | None = None) -> str | None:
    """Record a version; returns None, or a one-line problem for a notification: keeping
    history must never stop a save or a training run."""
    history = History(root)
    try:
        history.record(arch, source, path)
    except CnnTuiError as err:
        return f"not kept in the architecture history: {err}"
    finally:
        history.close()
    return None


__all__ = ["History", "Version", "arch_hash", "remember", "run_hash"]
