"""Shared fixtures. Every test runs with its own CNN_TUI_HOME, so nothing touches user folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _mnist_root() -> Path | None:
    for candidate in (os.environ.get("CNN_TUI_DATA_DIR"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "MNIST" / "raw").is_dir():
            return Path(candidate)
    return None


MNIST_ROOT = _mnist_root()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """A fresh CNN_TUI_HOME per test; CNN_TUI_DATA_DIR is removed so tests choose explicitly."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CNN_TUI_HOME", str(home))
    for var in ("CNN_TUI_DATA_DIR", "CNN_TUI_DATA_DIR_STRICT", "CNN_TUI_RUNS_DIR",
                "CNN_TUI_CONFIG_DIR", "CNN_TUI_CACHE_DIR", "CNN_TUI_STATE_DIR"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def mnist_root() -> Path:
    """The real MNIST copy (../shared/data or CNN_TUI_DATA_DIR as CI sets it)."""
    if MNIST_ROOT is None:
        pytest.fail("MNIST not found: set CNN_TUI_DATA_DIR to a folder holding MNIST/raw")
    return MNIST_ROOT
