"""Settings: where things are, read once from the flags and the environment, then passed down.

`Settings.from_env(data_dir=..., runs_dir=...)` is built once by a front end (the app from its
flags, a CLI command from its own) and handed down (to the session, to `runs.training`, which
pass the paths on explicitly, to a training process too, as flags): nothing writes `os.environ`
to reach code further down. Stdlib only (with `locations`), so every layer may take it.

`data_dir`: MNIST's root when the user named one (then only there is looked); None: the
product's own order (`CNN_TUI_DATA_DIR`, then the user cache; see `cnn_tui.data.mnist`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cnn_tui import locations


@dataclass(frozen=True)
class Settings:
    runs_dir: Path
    state_dir: Path
    config_dir: Path
    cache_dir: Path
    data_dir: Path | None = None

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None,
                 runs_dir: str | Path | None = None) -> "Settings":
        def path(value):
            return Path(value).expanduser().resolve() if value else None

        return cls(runs_dir=path(runs_dir) or locations.runs_dir(),
                   state_dir=locations.state_dir(), config_dir=locations.config_dir(),
                   cache_dir=locations.cache_dir(), data_dir=path(data_dir))
