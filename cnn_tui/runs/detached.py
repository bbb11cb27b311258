"""Detached runs: training in a child process that outlives the app, followed through the store.

`spawn` writes the architecture with the form's settings as its `training` section to a file
under the state folder and starts `python -m cnn_tui train FILE` in a new session (so neither
quitting the app nor a dropped ssh connection stops it; its output goes to a log beside the
file). The child records the run in the run store like any CLI run, with its own pid; the app
(this one, or one started later) finds it there and follows its epochs and status. Stopping it
sends SIGINT, which the CLI turns into a clean stop with a checkpoint (resumable).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cnn_tui.errors import CnnTuiError, TrainingError


def spawn(arch, config: dict, limits: dict) -> tuple[subprocess.Popen, Path]:
    """Start the child on `arch` with `config` as its training section; returns it and its log.
    TrainingError when it cannot start."""
    from cnn_tui.spec.io import write_file
    from cnn_tui.spec.model import Architecture

    spec, log = _paths()
    with_settings = Architecture(arch.layers, arch.name, arch.input, arch.classes, dict(config))
    try:
        write_file(with_settings, spec)
    except CnnTuiError as exc:
        raise TrainingError(f"cannot start a detached run: {exc}") from None
    args = [str(spec)]
    for name in ("limit_train", "limit_test"):
        if limits.get(name):
            args += [f"--{name.replace('_', '-')}", str(int(limits[name]))]
    return start(args, log), log


def _paths() -> tuple[Path, Path]:
    from cnn_tui import locations
    folder = locations.state_dir() / "detached"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainingError(f"cannot start a detached run: {folder}: "
                            f"{exc.strerror or exc}") from None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{os.getpid()}"
    return folder / f"{stamp}.json", folder / f"{stamp}.log"


def start(train_args: list[str], log: Path | None = None) -> subprocess.Popen:
    """`cnn-tui train *train_args` in a new session (outlives this process and the terminal),
    its output appended to `log` (a fresh file under the state folder when None)."""
    if log is None:
        log = _paths()[1]
    cmd = [sys.executable, "-m", "cnn_tui", "train", *train_args]
    try:
        with open(log, "ab") as out:
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=True, cwd=os.getcwd())
    except OSError as exc:
        raise TrainingError(f"cannot start a detached run: {exc.strerror or exc}") from None


def wait_for_run(proc: subprocess.Popen, timeout: float = 60.0):
    """The run record the child creates, once it exists; None if the child exited first or
    `timeout` passed (its log says why)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = find_by_pid(proc.pid)
        if found is not None:
            return found
        if proc.poll() is not None:
            return None
        time.sleep(0.2)
    return None


def find_by_pid(pid: int):
    """The run the child `pid` recorded (None until it has created it)."""
    from cnn_tui.runs.store import RunStore
    for record in RunStore().list_runs(with_epochs=False):
        if record.pid == pid:
            return record
    return None


def running(exclude_pid: int | None = None) -> list:
    """Runs recorded as running by a live process other than this one, newest first."""
    from cnn_tui.runs.store import RunStore
    own = os.getpid() if exclude_pid is None else exclude_pid
    return [r for r in RunStore().list_runs(status="running", with_epochs=False) if r.pid != own]


def record(run_id: str):
    from cnn_tui.runs.store import RunStore
    return RunStore().get(run_id)


def stop(pid: int) -> bool:
    """Ask the child to stop cleanly (SIGINT: it saves a checkpoint); False if it is gone."""
    try:
        os.kill(int(pid), signal.SIGINT)
    except (ProcessLookupError, PermissionError, OSError):
        return False
    return True
