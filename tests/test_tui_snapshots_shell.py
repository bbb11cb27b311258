"""SVG snapshots of the shell's own screens and dialogs (the editor's are in test_tui_build).

Regenerate after a deliberate change: pytest tests/test_tui_snapshots_shell.py --snapshot-update
"""

from __future__ import annotations

import shutil

import pytest

from cnn_tui.tui.app import CnnTuiApp

FIXED_RUNS = "/tmp/cnn-tui-snapshots/runs"  # the Runs screen shows its folder: keep it stable


pytestmark = pytest.mark.usefixtures("with_mnist")  # no start-up note about MNIST


@pytest.fixture(autouse=True)
def fixed_runs_dir(monkeypatch):
    shutil.rmtree(FIXED_RUNS, ignore_errors=True)
    monkeypatch.setenv("CNN_TUI_RUNS_DIR", FIXED_RUNS)
    yield
    shutil.rmtree(FIXED_RUNS, ignore_errors=True)


def _app(theme: str | None = None) -> CnnTuiApp:
    return CnnTuiApp(theme=theme, offer_autosave=False)


def test_runs_empty_80x24(snap_compare):
    assert snap_compare(_app(), press=["4"], terminal_size=(80, 24))


def test_runs_empty_120x40_mono(snap_compare):
    assert snap_compare(_app("cnn-mono"), press=["4"], terminal_size=(120, 40))


def test_help_on_runs_80x24(snap_compare):
    assert snap_compare(_app(), press=["4", "f1"], terminal_size=(80, 24))


def test_help_on_runs_80x24_high_contrast(snap_compare):
    assert snap_compare(_app("cnn-high-contrast"), press=["4", "f1"], terminal_size=(80, 24))


def test_export_dialog_80x24(snap_compare):
    async def open_dialog(pilot) -> None:  # fixed formats: the snapshot must not depend on
        from cnn_tui.tui.common.export import CODE_FORMATS, NATIVE, SHARE, ExportDialog

        await pilot.press("4")  # which code generators happen to be installed
        await pilot.app.push_screen(ExportDialog([NATIVE, SHARE, *CODE_FORMATS]))
        await pilot.pause()

    assert snap_compare(_app(), run_before=open_dialog, terminal_size=(80, 24))


def test_quit_dialog_80x24(snap_compare):
    async def change(pilot) -> None:
        from cnn_tui.spec.templates import get_template

        pilot.app.document.apply(get_template("lenet5"), "change")
        await pilot.press("4", "q")

    assert snap_compare(_app(), run_before=change, terminal_size=(80, 24))
