"""`cnn-tui [FILE | SHARECODE]`: read what to open, then start the app.

A file or share code that cannot be read stops here, before the screen is taken over: the
caller (`cnn_tui.cli.main`) prints the one-line `SpecError` and exits 2. `--data-dir` and
`--runs-dir` go into the app's `Settings` (read once), which hands them on explicitly, to the
training processes it starts too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cnn_tui.errors import CnnTuiError


def _source(text: str | None) -> tuple[Any, Path | None]:
    """(architecture, path to save back to) for what the user named; (None, None) for nothing."""
    if not text:
        return None, None
    from cnn_tui.spec.io import load_source

    expanded = os.path.expanduser(text)
    arch = load_source(expanded)
    path = Path(expanded)
    if path.is_file():
        from cnn_tui.tui.app import _is_native_file

        return arch, (path if _is_native_file(path) else None)  # imports save as a new file
    return arch, None


def launch(args: Any) -> int:
    """Start the app for parsed `args` (source, no_mouse, theme, data_dir, runs_dir)."""
    from cnn_tui.settings import Settings

    settings = Settings.from_env(data_dir=getattr(args, "data_dir", None),
                                 runs_dir=getattr(args, "runs_dir", None))
    arch, path = _source(getattr(args, "source", None))
    from cnn_tui.tui import themes
    from cnn_tui.tui.app import CnnTuiApp

    theme = getattr(args, "theme", None)
    app = CnnTuiApp(arch, path, theme=theme, settings=settings)
    if theme and themes.resolve_name(theme) not in app.theme_names:
        raise CnnTuiError(f"--theme: unknown theme {theme[:40]!r} "
                          f"(known: {', '.join(app.theme_names)})")
    app.run(mouse=not getattr(args, "no_mouse", False))
    return int(app.return_code or 0)
