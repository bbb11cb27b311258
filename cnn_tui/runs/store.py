"""The run store: SQLite (WAL) in `<root>/runs.db`, one folder per run for its checkpoints.

Stdlib only. Each call opens a short transaction; WAL plus a busy timeout lets several
processes (a TUI, a detached run, a CLI run in tmux) read and write at once without corrupting
anything. A run recorded as "running" whose process is gone is reported as "interrupted" (the
row itself is left alone: the run can still be resumed from its last checkpoint).

Run ids sort by start time: `YYYYMMDD-HHMMSS-xxxx` (UTC, 4 random hex digits). Every method
taking an id also accepts a unique prefix of one, like git.

Besides the run and its epochs, the store keeps everything a run measured: thinned batch points
(epoch, step, loss, accuracy, learning rate), per-layer gradient norms, peak memory, throughput,
the run's diagnosis and the architecture version it trained (`version`, the sha256 of its
canonical text, also kept in the history table). The schema is versioned (`PRAGMA
user_version`); a store written by an older cnn-tui is migrated in place when first opened for
writing, without losing a run (`_migrate`).
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

STATUSES = ("running", "finished", "stopped", "failed", "interrupted", "pruned")
SCHEMA_VERSION = 1

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
CREATE TABLE IF NOT EXISTS batch_points (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    step INTEGER NOT NULL,
    steps INTEGER,
    loss REAL,
    acc REAL,
    lr REAL,
    images_per_s REAL,
    wall REAL,
    PRIMARY KEY (run_id, epoch, step)
);
CREATE TABLE IF NOT EXISTS grad_norms (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    step INTEGER NOT NULL,
    layers TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch, step)
);
"""

# Columns added to `runs` since the first release (schema 0), with their SQL types: a store
# written before gets them in `_migrate`.
ADDED_COLUMNS = {
    "version": "TEXT",  # sha256 of the architecture's canonical text (the history's key)
    "peak_memory_bytes": "INTEGER",  # CUDA allocator peak, or the process's peak resident set
    "images_per_s": "REAL",  # training throughput over the whole run
    "diagnosis": "TEXT DEFAULT '[]'",  # [{kind, severity, epoch, message, advice}]
    "control": "TEXT",  # pause / resume / stop, asked by another process (the app)
    "paused": "INTEGER DEFAULT 0",  # the training process is paused now
    "pinned": "INTEGER DEFAULT 0",  # a baseline run the user pinned
    "sizes": "TEXT",  # {train, val, test, steps, batch_size, start_epoch} of its latest start
}


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
    version: str | None = None  # the architecture version's hash
    peak_memory_bytes: int | None = None
    images_per_s: float | None = None
    diagnosis: list[dict] = field(default_factory=list)
    control: str | None = None  # pause / resume / stop asked by another process, not yet done
    paused: bool = False
    pinned: bool = False
    heartbeat: float | None = None
    sizes: dict = field(default_factory=dict)  # train/val/test images, steps, batch_size, ...
    # loaded on request (`RunStore.get(..., points=True)`): None when not loaded
    batch_points: list[dict] | None = None
    grad_norms: list[dict] | None = None

    @property
    def arch_name(self) -> str:
        return str(self.arch.get("name", "")) if isinstance(self.arch, dict) else ""

    @property
    def live(self) -> bool:
        """Recorded as running by a process that is alive (on this host, or another host's
        whose liveness cannot be checked from here)."""
        return self.status == "running"

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in (
            "id", "name", "status", "message", "device", "device_name", "started", "ended",
            "params", "best_val_acc", "test_acc", "tags", "versions", "version", "config", "arch",
            "epochs", "evaluation", "peak_memory_bytes", "images_per_s", "diagnosis", "pinned",
            "sizes")}
        if self.batch_points is not None:
            out["batch_points"] = self.batch_points
        if self.grad_norms is not None:
            out["grad_norms"] = self.grad_norms
        return out


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
        if not readonly:
            try:
                _migrate(conn, self.root)
            except sqlite3.Error as exc:
                from cnn_tui.runs.db import describe
                conn.close()
                raise RunStoreError(f"run store {db}: cannot bring it up to date: {describe(exc)}") from None
            except RunStoreError:
                conn.close()
                raise
        self._conn, self._readonly = conn, readonly
        return conn

    def upgrade(self) -> str | None:
        """Bring an existing store written by an older cnn-tui up to date now (reading alone
        does not); returns None, or why it could not (a read-only store is read as it is)."""
        if not self._db_exists():
            return None
        try:
            with self._lock:
                self._connect(write=True)
        except RunStoreError as exc:
            return str(exc)
        return None

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

    def _read(self, sql: str, args: tuple = ()) -> list[dict]:
        from cnn_tui.runs.db import describe
        with self._lock:
            conn = self._connect(write=False)
            try:
                cur = conn.execute(sql, args)
                cols = [d[0] for d in cur.description]
                return [dict(zip(cols, row)) for row in cur.fetchall()]
            except sqlite3.Error as exc:
                if self._readonly and "no such table" in str(exc):
                    return []  # an older store, read-only here: it has none of those rows
                raise RunStoreError(f"run store {self.root / 'runs.db'}: {describe(exc)}") from None

    def _write_many(self, sql: str, rows: list[tuple]) -> None:
        from cnn_tui.runs.db import describe, rollback
        if not rows:
            return
        with self._lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(sql, rows)
                    conn.execute("COMMIT")
                except BaseException:
                    rollback(conn)
                    raise
            except sqlite3.Error as exc:
                raise RunStoreError(f"run store {self.root / 'runs.db'}: {describe(exc)}") from None

    # ---------------------------------------------------------------- writing
    def create_run(self, arch_dict: dict, config: dict, device: str, name: str | None = None,
                   device_name: str = "", params: int | None = None, run_id: str | None = None,
                   version: str | None = None, tags: list[str] | None = None) -> str:
        """A new run with status "running", owned by this process; returns its id (`run_id`
        when given: the app allocates it before the training process starts)."""
        self.ensure_writable()
        for _ in range(20):
            chosen = run_id or new_run_id()
            try:
                self._write(
                    "INSERT INTO runs (id, name, arch, config, device, device_name, versions, "
                    "started, status, message, pid, host, heartbeat, params, tags, version) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', '', ?, ?, ?, ?, ?, ?)",
                    (chosen, name, json.dumps(arch_dict), json.dumps(config), device, device_name,
                     json.dumps(versions()), time.time(), os.getpid(), socket.gethostname(),
                     time.time(), params, json.dumps(list(tags or [])), version))
            except RunStoreError as exc:
                if "UNIQUE" in str(exc):
                    if run_id is not None:
                        raise RunStoreError(f"run store {self.root}: a run {run_id} exists already") from None
                    continue
                raise
            self.run_dir(chosen).mkdir(parents=True, exist_ok=True)
            return chosen
        raise RunStoreError("could not allocate a unique run id")

    def mark_running(self, run_id: str, device: str | None = None, device_name: str | None = None,
                     config: dict | None = None) -> None:
        """A resumed run: owned by this process again; `config`, the settings it resumes with
        (a resume may add epochs or change the learning rate), replaces the recorded one."""
        run_id = self.resolve(run_id)
        self._write("UPDATE runs SET status='running', message='', ended=NULL, pid=?, host=?, "
                    "heartbeat=?, device=COALESCE(?, device), device_name=COALESCE(?, device_name), "
                    "versions=?, config=COALESCE(?, config), control=NULL, paused=0 WHERE id=?",
                    (os.getpid(), socket.gethostname(), time.time(), device, device_name,
                     json.dumps(versions()), None if config is None else json.dumps(config),
                     run_id))

    def set_status(self, run_id: str, status: str, message: str = "") -> None:
        if status not in STATUSES:
            raise RunStoreError(f"unknown run status {status!r}")
        run_id = self.resolve(run_id)
        ended = None if status == "running" else time.time()
        self._write("UPDATE runs SET status=?, message=?, ended=?, control=NULL, paused=0 "
                    "WHERE id=?", (status, message, ended, run_id))

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

    def finish(self, run_id: str, status: str, evaluation: dict | None, message: str = "",
               peak_memory_bytes: int | None = None, images_per_s: float | None = None) -> None:
        """The run's end: status, message, evaluation (kept when None: a resume that trained
        nothing must not erase it), the figures it measured over the whole run."""
        if status not in STATUSES:
            raise RunStoreError(f"unknown run status {status!r}")
        run_id = self.resolve(run_id)
        test_acc = evaluation.get("test_acc", evaluation.get("accuracy")) if evaluation else None
        self._write("UPDATE runs SET status=?, message=?, ended=?, "
                    "evaluation=COALESCE(?, evaluation), test_acc=COALESCE(?, test_acc), "
                    "peak_memory_bytes=COALESCE(?, peak_memory_bytes), "
                    "images_per_s=COALESCE(?, images_per_s), control=NULL, paused=0 WHERE id=?",
                    (status, message, time.time(), json.dumps(evaluation) if evaluation else None,
                     test_acc, peak_memory_bytes, images_per_s, run_id))

    def set_figures(self, run_id: str, peak_memory_bytes: int | None = None,
                    images_per_s: float | None = None) -> None:
        """What the run measured so far (written at each epoch's end) and a heartbeat."""
        self._write("UPDATE runs SET heartbeat=?, "
                    "peak_memory_bytes=MAX(COALESCE(peak_memory_bytes, 0), COALESCE(?, 0)), "
                    "images_per_s=COALESCE(?, images_per_s) WHERE id=?",
                    (time.time(), peak_memory_bytes, images_per_s, run_id))

    def set_sizes(self, run_id: str, sizes: dict) -> None:
        self._write("UPDATE runs SET sizes=? WHERE id=?", (json.dumps(sizes), run_id))

    def add_batch_points(self, run_id: str, points: list[dict]) -> None:
        """Batch points: {epoch, step, steps, loss, acc, lr, images_per_s, wall} (`wall`: the
        Unix time it was measured; a resumed epoch's points replace the ones it had)."""
        self._write_many(
            "INSERT OR REPLACE INTO batch_points (run_id, epoch, step, steps, loss, acc, lr, "
            "images_per_s, wall) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, int(p["epoch"]), int(p["step"]), p.get("steps"), p.get("loss"), p.get("acc"),
              p.get("lr"), p.get("images_per_s"), p.get("wall")) for p in points])

    def add_grad_norms(self, run_id: str, rows: list[dict]) -> None:
        """Gradient norms: {epoch, step, layers: {layer label: L2 norm}}."""
        self._write_many(
            "INSERT OR REPLACE INTO grad_norms (run_id, epoch, step, layers) VALUES (?, ?, ?, ?)",
            [(run_id, int(r["epoch"]), int(r["step"]), json.dumps(r["layers"])) for r in rows])

    def add_diagnosis(self, run_id: str, item: dict) -> None:
        """One finding of the run's diagnosis (kept in order, a repeat of the same kind replaced)."""
        record = self.get(run_id)
        found = [d for d in record.diagnosis if d.get("kind") != item.get("kind")] + [dict(item)]
        self._write("UPDATE runs SET diagnosis=? WHERE id=?", (json.dumps(found), record.id))

    def request(self, run_id: str, action: str | None) -> None:
        """Ask the process training `run_id` to pause, resume or stop (it polls the store)."""
        if action not in ("pause", "resume", "stop", None):
            raise RunStoreError(f"unknown run control {action!r}")
        self._write("UPDATE runs SET control=? WHERE id=? AND status='running'",
                    (action, self.resolve(run_id)))

    def control_of(self, run_id: str) -> str | None:
        rows = self._read("SELECT control FROM runs WHERE id=?", (run_id,))
        return rows[0].get("control") if rows else None

    def set_paused(self, run_id: str, paused: bool) -> None:
        """The training process says it paused or went on (and takes the request as done)."""
        self._write("UPDATE runs SET paused=?, control=NULL, heartbeat=? WHERE id=?",
                    (1 if paused else 0, time.time(), run_id))

    def set_pinned(self, run_id: str, pinned: bool) -> None:
        self._write("UPDATE runs SET pinned=? WHERE id=?", (1 if pinned else 0, self.resolve(run_id)))

    def truncate_points(self, run_id: str, epoch: int, step: int) -> None:
        """Forget batch points and gradient norms after (epoch, step): a resume re-runs them."""
        for table in ("batch_points", "grad_norms"):
            self._write(f"DELETE FROM {table} WHERE run_id=? AND (epoch>? OR (epoch=? AND step>?))",
                        (run_id, int(epoch), int(epoch), int(step)))

    def rename(self, run_id: str, name: str | None) -> None:
        name = None if name is None else check_label(name, "run name")
        self._write("UPDATE runs SET name=? WHERE id=?", (name, self.resolve(run_id)))

    def set_tags(self, run_id: str, tags: list[str]) -> None:
        tags = [check_label(tag, "tag") for tag in tags]
        self._write("UPDATE runs SET tags=? WHERE id=?", (json.dumps(list(tags)), self.resolve(run_id)))

    def delete(self, run_id: str) -> None:
        run_id = self.resolve(run_id)
        for table in ("epochs", "batch_points", "grad_norms"):
            self._write(f"DELETE FROM {table} WHERE run_id=?", (run_id,))
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
            params=row["params"], tags=json.loads(row["tags"] or "[]"), host=row.get("host"),
            version=row.get("version"), peak_memory_bytes=row.get("peak_memory_bytes"),
            images_per_s=row.get("images_per_s"),
            diagnosis=json.loads(row.get("diagnosis") or "[]"),
            control=row.get("control") if status == "running" else None,
            paused=bool(row.get("paused")) and status == "running", pinned=bool(row.get("pinned")),
            heartbeat=row.get("heartbeat"), sizes=json.loads(row.get("sizes") or "{}"))

    def get(self, run_id: str, points: bool = False) -> RunRecord:
        """The run (`points`: with its batch points and gradient norms loaded)."""
        run_id = self.resolve(run_id)
        rows = self._read("SELECT * FROM runs WHERE id=?", (run_id,))
        if not rows:
            raise RunStoreError(f"no run {run_id!r}")
        epochs = [json.loads(r["data"]) for r in
                  self._read("SELECT data FROM epochs WHERE run_id=? ORDER BY epoch", (run_id,))]
        record = self._record(rows[0], epochs)
        if points:
            record.batch_points = self.batch_points(run_id)
            record.grad_norms = self.grad_norms(run_id)
        return record

    def batch_points(self, run_id: str, after: tuple[int, int] = (0, 0)) -> list[dict]:
        """The run's batch points after (epoch, step), in order."""
        epoch, step = after
        return self._read(
            "SELECT epoch, step, steps, loss, acc, lr, images_per_s, wall FROM batch_points "
            "WHERE run_id=? AND (epoch>? OR (epoch=? AND step>?)) ORDER BY epoch, step",
            (run_id, int(epoch), int(epoch), int(step)))

    def grad_norms(self, run_id: str, after: tuple[int, int] = (0, 0)) -> list[dict]:
        """The run's gradient norms after (epoch, step): {epoch, step, layers}."""
        epoch, step = after
        rows = self._read(
            "SELECT epoch, step, layers FROM grad_norms "
            "WHERE run_id=? AND (epoch>? OR (epoch=? AND step>?)) ORDER BY epoch, step",
            (run_id, int(epoch), int(epoch), int(step)))
        return [{"epoch": r["epoch"], "step": r["step"], "layers": json.loads(r["layers"])}
                for r in rows]

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


def _migrate(conn: sqlite3.Connection, root: Path) -> None:
    """Bring a store written by an older cnn-tui up to SCHEMA_VERSION, in one transaction:
    the columns added since (`ADDED_COLUMNS`), the version link of every run (its
    architecture's hash) and that version kept in the history table. Every run stays. A store
    of a newer cnn-tui is refused for writing (reading it still works)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise RunStoreError(f"run store {root / 'runs.db'}: written by a newer cnn-tui (schema "
                            f"{version}, this one knows {SCHEMA_VERSION}); upgrade cnn-tui to "
                            "record runs here")
    from cnn_tui.runs.db import rollback
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            conn.execute("ROLLBACK")  # another process migrated it while we waited
            return
        have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        for column, sql_type in ADDED_COLUMNS.items():
            if column not in have:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {sql_type}")
        _link_versions(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


def _link_versions(conn: sqlite3.Connection) -> None:
    """Each run without a version link gets its architecture's hash, and that version goes into
    the history (source "run", first seen when the run started) unless it is there already."""
    from cnn_tui.errors import CnnTuiError
    import cnn_tui.runs.history as history
    from cnn_tui.spec.model import Architecture
    for statement in history.SCHEMA.strip().split(";"):  # the history's table, if not yet made
        if statement.strip():
            conn.execute(statement)
    rows = conn.execute("SELECT id, arch, started FROM runs WHERE version IS NULL").fetchall()
    for run_id, arch_json, started in rows:
        try:
            arch = Architecture.from_dict(json.loads(arch_json))
        except (CnnTuiError, ValueError, TypeError):
            continue  # an unreadable architecture has no version; the run itself stays
        digest = history.arch_hash(arch)
        conn.execute("UPDATE runs SET version=? WHERE id=?", (digest, run_id))
        history.insert_version(conn, arch, "run", None, started or time.time(), guess_parent=False)
