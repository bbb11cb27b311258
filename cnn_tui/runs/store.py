"""The run store: SQLite (WAL) in `<root>/runs.db`, one folder per run for its checkpoints.

Stdlib only. Each call opens a short transaction; WAL plus a busy timeout lets several
processes (a TUI, a detached run, a CLI run in tmux) read and write at once without corrupting
anything. A run recorded as "running" whose process is gone is reported as "interrupted" (the
row itself is left alone: the run can still be resumed from its last checkpoint).

Run ids sort by start time: `YYYYMMDD-HHMMSS-xxxx` (UTC, 4 random hex digits). Every method
taking an id also accepts a unique prefix of one, like git.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnn_tui.errors import RunStoreError
from cnn_tui.spec.text import check_label

STATUSES = ("running", "finished", "stopped", "failed", "interrupted")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT,
    arch TEXT NOT NULL,
    config TEXT NOT NULL,
    device TEXT,
    device_name TEXT,
    versions TEXT,
    started REAL,
    ended REAL,
    status TEXT NOT NULL,
    message TEXT DEFAULT '',
    evaluation TEXT,
    pid INTEGER,
    host TEXT,
    heartbeat REAL,
    best_val_acc REAL,
    test_acc REAL,
    params INTEGER,
    tags TEXT DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
"""


@dataclass
class RunRecord:
    id: str
    name: str | None
    arch: dict
    config: dict
    device: str | None
    device_name: str | None
    versions: dict
    started: float | None
    ended: float | None
    status: str
    message: str
    epochs: list[dict] = field(default_factory=list)
    evaluation: dict | None = None
    pid: int | None = None
    best_val_acc: float | None = None
    test_acc: float | None = None
    params: int | None = None
    tags: list[str] = field(default_factory=list)
    host: str | None = None

    @property
    def arch_name(self) -> str:
        return str(self.arch.get("name", "")) if isinstance(self.arch, dict) else ""

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in (
            "id", "name", "status", "message", "device", "device_name", "started", "ended",
            "params", "best_val_acc", "test_acc", "tags", "versions", "config", "arch",
            "epochs", "evaluation")}


def versions() -> dict:
    out = {"python": platform.python_version()}
    try:
        from cnn_tui import __version__
        out["cnn_tui"] = __version__
    except ImportError:
        pass
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = torch.__version__
    return out


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:
        return False
    return True


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


class RunStore:
    def __init__(self, root: Path | str | None = None) -> None:
        if root is None:
            from cnn_tui.locations import runs_dir
            root = runs_dir()
        self.root = Path(root).expanduser()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._readonly = False  # the connection was opened for reading only

    # ---------------------------------------------------------------- connection
    def ensure_writable(self) -> None:
        """Create the store folder and database; RunStoreError naming the path when impossible."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise RunStoreError(f"run store {self.root}: exists and is not a folder") from None
        except OSError as exc:
            raise RunStoreError(f"run store {self.root}: cannot create ({exc.strerror or exc})") from None
        if not self.root.is_dir():
            raise RunStoreError(f"run store {self.root}: exists and is not a folder")
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise RunStoreError(f"run store {self.root}: not writable")
        self._connect()

    def _connect(self, write: bool = True) -> sqlite3.Connection:
        """The connection; a reader gets a read-only one where the store cannot be written
        (a read-only mount), a writer the clear 'not writable' there."""
        from cnn_tui.runs.db import open_db, writable
        db = self.root / "runs.db"
        if self._conn is not None:
            if not (write and self._readonly):
                return self._conn
            self._conn.close()  # opened for reading; maybe writable now
            self._conn = None
        if write:
            if self.root.is_dir() and not writable(self.root):
                raise RunStoreError(f"run store {self.root}: not writable")
            if db.is_file() and not os.access(db, os.W_OK):
                raise RunStoreError(f"run store {db}: not writable")
            readonly = False
        else:
            readonly = db.is_file() and not (writable(self.root) and os.access(db, os.W_OK))
        conn = open_db(db, SCHEMA, "run store", readonly=readonly)
        self._conn, self._readonly = conn, readonly
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        from cnn_tui.runs.db import describe, rollback
        with self._lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    cur = conn.execute(sql, args)
                    conn.execute("COMMIT")
                except BaseException:
                    rollback(conn)  # never hides the error that got us here
                    raise
                return cur
            except sqlite3.Error as exc:
                raise RunStoreError(f"run store {self.root / 'runs.db'}: {describe(exc)}") from None

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        from cnn_tui.runs.db import describe
        with self._lock:
            conn = self._connect(write=False)
            try:
                cur = conn.execute(sql, args)
                cols = [d[0] for d in cur.description]
                return [dict(zip(cols, row)) for row in cur.fetchall()]
            except sqlite3.Error as exc:
                raise RunStoreError(f"run store {self.root / 'runs.db'}: {describe(exc)}") from None

    # ---------------------------------------------------------------- writing
    def create_run(self, arch_dict: dict, config: dict, device: str, name: str | None = None,
                   device_name: str = "", params: int | None = None) -> str:
        """A new run with status "running", owned by this process; returns its id."""
        self.ensure_writable()
        for _ in range(20):
            run_id = new_run_id()
            try:
                self._write(
                    "INSERT INTO runs (id, name, arch, config, device, device_name, versions, "
                    "started, status, message, pid, host, heartbeat, params, tags) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', '', ?, ?, ?, ?, '[]')",
                    (run_id, name, json.dumps(arch_dict), json.dumps(config), device, device_name,
                     json.dumps(versions()), time.time(), os.getpid(), socket.gethostname(),
                     time.time(), params))
            except RunStoreError as exc:
                if "UNIQUE" in str(exc):
                    continue
                raise
            self.run_dir(run_id).mkdir(parents=True, exist_ok=True)
            return run_id
        raise RunStoreError("could not allocate a unique run id")

    def mark_running(self, run_id: str, device: str | None = None, device_name: str | None = None,
                     config: dict | None = None) -> None:
        """A resumed run: owned by this process again; `config`, the settings it resumes with
        (a resume may add epochs or change the learning rate), replaces the recorded one."""
        run_id = self.resolve(run_id)
        self._write("UPDATE runs SET status='running', message='', ended=NULL, pid=?, host=?, "
                    "heartbeat=?, device=COALESCE(?, device), device_name=COALESCE(?, device_name), "
                    "versions=?, config=COALESCE(?, config) WHERE id=?",
                    (os.getpid(), socket.gethostname(), time.time(), device, device_name,
                     json.dumps(versions()), None if config is None else json.dumps(config),
                     run_id))

    def set_status(self, run_id: str, status: str, message: str = "") -> None:
        if status not in STATUSES:
            raise RunStoreError(f"unknown run status {status!r}")
        run_id = self.resolve(run_id)
        ended = None if status == "running" else time.time()
        self._write("UPDATE runs SET status=?, message=?, ended=? WHERE id=?",
                    (status, message, ended, run_id))

    def heartbeat(self, run_id: str) -> None:
        self._write("UPDATE runs SET heartbeat=? WHERE id=?", (time.time(), run_id))

    def log_epoch(self, run_id: str, epoch_dict: dict) -> None:
        """Record one epoch's metrics (replacing that epoch if it was logged before a resume)."""
        epoch = int(epoch_dict["epoch"])
        val = epoch_dict.get("val_acc")
        self._write("INSERT OR REPLACE INTO epochs (run_id, epoch, data) VALUES (?, ?, ?)",
                    (run_id, epoch, json.dumps(epoch_dict)))
        if val is not None:
            self._write("UPDATE runs SET heartbeat=?, best_val_acc=MAX(COALESCE(best_val_acc, ?), ?) "
                        "WHERE id=?", (time.time(), val, val, run_id))
        else:
            self.heartbeat(run_id)

    def truncate_epochs(self, run_id: str, keep: int) -> None:
        """Forget epochs after `keep` (a resumed run re-runs them)."""
        self._write("DELETE FROM epochs WHERE run_id=? AND epoch>?", (run_id, int(keep)))

    def finish(self, run_id: str, status: str, evaluation: dict | None, message: str = "") -> None:
        run_id = self.resolve(run_id)
        test_acc = evaluation.get("test_acc", evaluation.get("accuracy")) if evaluation else None
        self._write("UPDATE runs SET status=?, message=?, ended=?, evaluation=?, "
                    "test_acc=COALESCE(?, test_acc) WHERE id=?",
                    (status, message, time.time(), json.dumps(evaluation) if evaluation else None,
                     test_acc, run_id))

    def rename(self, run_id: str, name: str | None) -> None:
        name = None if name is None else check_label(name, "run name")
        self._write("UPDATE runs SET name=? WHERE id=?", (name, self.resolve(run_id)))

    def set_tags(self, run_id: str, tags: list[str]) -> None:
        tags = [check_label(tag, "tag") for tag in tags]
        self._write("UPDATE runs SET tags=? WHERE id=?", (json.dumps(list(tags)), self.resolve(run_id)))

    def delete(self, run_id: str) -> None:
        run_id = self.resolve(run_id)
        self._write("DELETE FROM epochs WHERE run_id=?", (run_id,))
        self._write("DELETE FROM runs WHERE id=?", (run_id,))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    # ---------------------------------------------------------------- reading
    def _db_exists(self) -> bool:
        return (self.root / "runs.db").is_file()

    def resolve(self, run_id: str) -> str:
        """The full id for `run_id` or a unique prefix of one (or an exact run name)."""
        run_id = str(run_id).strip()
        if not run_id:
            raise RunStoreError("empty run id")
        if not self._db_exists():
            raise RunStoreError(f"no run {run_id!r} (the run store {self.root} is empty)")
        escaped = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._read("SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY id",
                          (escaped + "%",))
        ids = [r["id"] for r in rows]
        if run_id in ids:
            return run_id
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
            raise RunStoreError(f"run id {run_id!r} is ambiguous: {shown}")
        named = self._read("SELECT id FROM runs WHERE name=? ORDER BY id", (run_id,))
        if len(named) == 1:
            return named[0]["id"]
        raise RunStoreError(f"no run {run_id!r} in {self.root} (see `cnn-tui runs list`)")

    def _record(self, row: dict, epochs: list[dict]) -> RunRecord:
        status = row["status"]
        if status == "running" and row.get("host") in (None, socket.gethostname()) \
                and not pid_alive(row.get("pid")):
            status = "interrupted"
        return RunRecord(
            id=row["id"], name=row["name"], arch=json.loads(row["arch"]),
            config=json.loads(row["config"]), device=row["device"], device_name=row["device_name"],
            versions=json.loads(row["versions"] or "{}"), started=row["started"], ended=row["ended"],
            status=status, message=row["message"] or "", epochs=epochs,
            evaluation=json.loads(row["evaluation"]) if row["evaluation"] else None,
            pid=row["pid"], best_val_acc=row["best_val_acc"], test_acc=row["test_acc"],
            params=row["params"], tags=json.loads(row["tags"] or "[]"), host=row.get("host"))

    def get(self, run_id: str) -> RunRecord:
        run_id = self.resolve(run_id)
        rows = self._read("SELECT * FROM runs WHERE id=?", (run_id,))
        if not rows:
            raise RunStoreError(f"no run {run_id!r}")
        epochs = [json.loads(r["data"]) for r in
                  self._read("SELECT data FROM epochs WHERE run_id=? ORDER BY epoch", (run_id,))]
        return self._record(rows[0], epochs)

    def list_runs(self, status: str | None = None, with_epochs: bool = True) -> list[RunRecord]:
        """All runs, newest first; `status` filters on the reported status (interrupted included)."""
        if not self._db_exists():
            return []
        rows = self._read("SELECT * FROM runs ORDER BY id DESC")
        epochs: dict[str, list[dict]] = {}
        if with_epochs:
            for r in self._read("SELECT run_id, data FROM epochs ORDER BY run_id, epoch"):
                epochs.setdefault(r["run_id"], []).append(json.loads(r["data"]))
        records = [self._record(r, epochs.get(r["id"], [])) for r in rows]
        if status is not None:
            records = [r for r in records if r.status == status]
        return records

    # ---------------------------------------------------------------- files
    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def checkpoint_path(self, run_id: str) -> Path:
        """The latest checkpoint (written after every epoch, and when a run is stopped)."""
        return self.run_dir(run_id) / "checkpoint.pt"

    def best_path(self, run_id: str) -> Path:
        """The weights of the best epoch so far (early stopping restores them)."""
        return self.run_dir(run_id) / "best.pt"

    def model_path(self, run_id: str) -> Path:
        """The final weights (a state_dict): what `load_run` and the exporters read."""
        return self.run_dir(run_id) / "model.pt"
