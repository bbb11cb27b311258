"""Training processes: a run trained by `cnn-tui train` in a child process of its own session.

The app trains every run this way (it keeps the app's event loop and the trainer's threads
apart: no GIL or OpenMP contention, measured in benchmarks/tui_throughput.py), and so does
`cnn-tui train --detach`. The child outlives the app and a dropped ssh session (a new session,
SIGHUP ignored); its output goes to a log under the state folder; it records its run in the
store under an id chosen here, so the parent can follow it (`cnn_tui.runs.follow`) from the
first moment. Stopping it is asking through the store (or SIGTERM / SIGINT, which it takes as
a clean stop: a checkpoint is saved and the run stays resumable).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cnn_tui.errors import CnnTuiError, TrainingError
from cnn_tui.settings import Settings


def _folder(settings: Settings) -> Path:
    folder = settings.state_dir / "runs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainingError(f"cannot start a training process: {folder}: "
                            f"{exc.strerror or exc}") from None
    return folder



ERROR_PREFIX = "cnn-tui: error: "


def log_line(log, prefix: str = "") -> str:
    """The last non-empty line of the log file `log` (its last 8 KiB) that starts with
    `prefix`, stripped; '' when there is none or the log cannot be read."""
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        line = line.strip()
        if line and line.startswith(prefix):
            return line
    return ""


def log_error_line(log) -> str:
    """Why a process of ours ended early: its `cnn-tui: error: ...` line (the message only),
    else its log's last line."""
    line = log_line(log, ERROR_PREFIX)
    return line[len(ERROR_PREFIX):] if line else log_line(log)

@dataclass
class Child:
    """A training process started here: its pid, log file and the run id it records."""

    proc: subprocess.Popen
    log: Path
    run_id: str
    settings: Settings

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        """Its exit status once it ended (reaping it, so its pid reads as gone), else None."""
        return self.proc.poll()

    def last_line(self, prefix: str = "") -> str:
        """The last line of its log (starting with `prefix`), '' when none."""
        return log_line(self.log, prefix)

    def error_line(self) -> str:
        """Why it ended early: its `cnn-tui: error: ...` line, else its log's last line."""
        return log_error_line(self.log)

    def wait_for_record(self, timeout: float = 120.0):
        """The run record once the child created it; None if it exited first or `timeout`
        passed (its log says why)."""
        from cnn_tui.runs.store import RunStore
        store = RunStore(self.settings.runs_dir)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    return store.get(self.run_id)
                except CnnTuiError:
                    pass
                if self.poll() is not None:
                    return None
                time.sleep(0.1)
        finally:
            store.close()
        return None


def start_child(settings: Settings, train_args: list[str], run_id: str | None = None) -> Child:
    """`cnn-tui train *train_args --run-id ID` in a new session, its output in a log file."""
    if run_id is None:
        from cnn_tui.runs.store import new_run_id
        run_id = new_run_id()
    log = _folder(settings) / f"{run_id}.log"
    args = list(train_args)
    if "--resume" not in args:
        args += ["--run-id", run_id]
    cmd = [sys.executable, "-m", "cnn_tui", "train", *args]
    try:
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=True, cwd=os.getcwd())
    except OSError as exc:
        raise TrainingError(f"cannot start a training process: {exc.strerror or exc}") from None
    return Child(proc, log, run_id, settings)


def spawn(settings: Settings, arch, config: dict, limits: dict, name: str | None = None,
          source_path: Path | None = None, resume: str | None = None) -> Child:
    """Train `arch` with `config` over its own training settings (or continue run `resume`)
    in a child process. TrainingError when it cannot start."""
    from cnn_tui.runs.store import new_run_id
    args: list[str] = []
    run_id = resume or new_run_id()
    if resume is None:
        import json

        from cnn_tui.spec.io import write_file
        spec = _folder(settings) / f"{run_id}.json"
        try:  # the architecture as it is (its version is the document's), the settings apart
            write_file(arch, spec)
        except CnnTuiError as exc:
            raise TrainingError(f"cannot start a training process: {exc}") from None
        args += [str(spec), "--overrides", json.dumps(config)]
        if source_path is not None:
            args += ["--source-path", str(source_path)]
    else:
        args += ["--resume", resume]
    args += ["--runs-dir", str(settings.runs_dir), "--stages"]
    if settings.data_dir is not None:
        args += ["--data-dir", str(settings.data_dir)]
    for key in ("limit_train", "limit_test"):
        if limits.get(key):
            args += [f"--{key.replace('_', '-')}", str(int(limits[key]))]
    if name:
        args += ["--name", name]
    return start_child(settings, args, run_id=run_id)
