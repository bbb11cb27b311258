"""Every path the product uses, in one place (XDG / platformdirs), each overridable.

Environment variables, most specific first:
- `CNN_TUI_DATA_DIR`   where MNIST is looked for first (torchvision layout: <root>/MNIST/raw)
- `CNN_TUI_RUNS_DIR`   the run store (SQLite + checkpoint files)
- `CNN_TUI_CONFIG_DIR` config.toml (key bindings, theme) and the user's themes/
- `CNN_TUI_HOME`       one folder for all of the above plus cache (tests, CI, portable installs)

Stdlib only: platformdirs is used when present, else the XDG defaults.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "cnn-tui"


def _home() -> Path | None:
    value = os.environ.get("CNN_TUI_HOME")
    return Path(value).expanduser() if value else None


def _platform_dir(kind: str) -> Path:
    try:
        import platformdirs
    except ImportError:  # the engine also runs from a bare source tree
        platformdirs = None
    if platformdirs is not None:
        return Path(getattr(platformdirs, f"user_{kind}_dir")(APP, appauthor=False))
    base = {
        "data": os.environ.get("XDG_DATA_HOME", "~/.local/share"),
        "cache": os.environ.get("XDG_CACHE_HOME", "~/.cache"),
        "config": os.environ.get("XDG_CONFIG_HOME", "~/.config"),
    }[kind]
    if sys.platform == "darwin":
        base = {"data": "~/Library/Application Support", "cache": "~/Library/Caches",
                "config": "~/Library/Application Support"}[kind]
    return Path(base).expanduser() / APP


def _dir(env: str, kind: str, sub: str = "") -> Path:
    value = os.environ.get(env)
    if value:
        return Path(value).expanduser()
    home = _home()
    if home is not None:
        return home / (sub or kind)
    path = _platform_dir(kind)
    return path / sub if sub else path


def data_dir_override() -> Path | None:
    """The data directory named by `CNN_TUI_DATA_DIR`, if any (searched before the cache)."""
    value = os.environ.get("CNN_TUI_DATA_DIR")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Where `cnn-tui data fetch` puts MNIST: <cache>/MNIST/raw."""
    return _dir("CNN_TUI_CACHE_DIR", "cache")


def runs_dir() -> Path:
    return _dir("CNN_TUI_RUNS_DIR", "data", "runs")


def config_dir() -> Path:
    return _dir("CNN_TUI_CONFIG_DIR", "config")


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def config_file() -> Path:
    return config_dir() / "config.toml"


def state_dir() -> Path:
    """Autosave of the working architecture and other small state."""
    return _dir("CNN_TUI_STATE_DIR", "data", "state")


def bundled_themes_dir() -> Path:
    """The theme files shipped inside the package (`cnn_tui/themes/`, in a checkout and a wheel
    alike): never a folder beside the package, which any other distribution may own."""
    return Path(__file__).resolve().parent / "themes"
