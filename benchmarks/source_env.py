"""The environment for a child process that runs cnn-tui from this source tree: the repository
first on PYTHONPATH, and whatever PYTHONPATH already held after it (on a device machine, the
folder the carried wheels were installed into: optuna and its needs)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def source_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
    return {**os.environ, "PYTHONPATH": path, **extra}
