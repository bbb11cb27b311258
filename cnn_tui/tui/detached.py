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

from cnn_tui.errors import TrainingError


def spawn(arch, config: dict, limits: dict) -> tuple[subprocess.Popen, Path]:
    """Start the child; returns it and its log file. TrainingError when it cannot start."""
    import json

    from cnn_tui import locations
    from cnn_tui.spec.model import Architecture
    from cnn_tui.tui.export_file import write_text_atomic

    folder = locations.state_dir() / "detached"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with_settings = Architecture(arch.layers, arch.name, arch.input, arch.classes,
                                     dict(config)).to_dict()
        spec = write_text_atomic(folder / f"{stamp}.json", json.dumps(with_settings, indent=1))
        log = folder / f"{stamp}.log"
        cmd = [sys.executable, "-m", "cnn_tui", "train", str(spec)]
        for name in ("limit_train", "limit_test"):
            if limits.get(name):
                cmd += [f"--{name.replace('_', '-')}", str(int(limits[name]))]
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=True, cwd=os.getcwd())
    except OSError as exc:
        raise TrainingError(f"cannot start a detached run: {exc.strerror or exc}") from None
    return proc, log


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
