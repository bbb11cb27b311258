"""The one atomic-write helper (`cnn_tui.atomic`) and the one overwrite rule of every `-o`.

Real files, real symlinks, a real killed process: a failed write leaves the old file whole and
no temporary file; an existing path (a dangling symlink too) is kept unless `--force`.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from stored_runs import finished_run

from cnn_tui import atomic
from cnn_tui.cli import main
from cnn_tui.errors import CnnTuiError, TrainingError
from cnn_tui.spec.io import read_file, write_file
from cnn_tui.spec.templates import get_template

REPO = Path(__file__).resolve().parent.parent


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------- the helper

def test_write_text_puts_the_whole_file_in_place_with_the_usual_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic.write_text(tmp_path / "a.txt", "héllo\n")
    finally:
        os.umask(old)
    assert path.read_bytes() == "héllo\n".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert _temps(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_whole_and_no_temp_file(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("the user's work")
    path.chmod(0o600)

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise ValueError("writer broke\nsecond line")

    with pytest.raises(CnnTuiError, match=r"^save to .*keep\.txt failed: writer broke$"):
        atomic.write_with(path, half_then_fail, "save")
    assert path.read_text() == "the user's work"
    assert _temps(tmp_path) == []
    atomic.write_text(path, "new")  # an existing file keeps its permission bits
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_text_that_cannot_be_utf8_is_one_line_and_writes_nothing(tmp_path):
    with pytest.raises(CnnTuiError, match="cannot be saved as UTF-8"):
        atomic.write_text(tmp_path / "x.txt", "bad \udc80")
    assert list(tmp_path.iterdir()) == []


def test_without_overwrite_an_existing_path_is_refused_even_one_that_appears_meanwhile(tmp_path):
    path = tmp_path / "out.txt"

    def someone_else_writes_first(tmp: Path) -> None:
        tmp.write_text("mine")
        path.write_text("theirs")  # between the early check and the rename

    with pytest.raises(CnnTuiError, match="already exists"):
        atomic.write_with(path, someone_else_writes_first, overwrite=False)
    assert path.read_text() == "theirs" and _temps(tmp_path) == []
    atomic.write_text(tmp_path / "new.txt", "fresh", overwrite=False)
    assert (tmp_path / "new.txt").read_text() == "fresh"


def test_the_overwrite_rule(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "folder").mkdir()
    for name in ("file", "dangling"):
        with pytest.raises(CnnTuiError, match=r"already exists \(.*use --force"):
            atomic.check_overwrite(tmp_path / name, force=False)
        atomic.check_overwrite(tmp_path / name, force=True)
    with pytest.raises(CnnTuiError, match="is a folder"):
        atomic.check_overwrite(tmp_path / "folder", force=True)
    atomic.check_overwrite(tmp_path / "new", force=False)


def test_a_symlink_is_written_through_and_kept(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    atomic.write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_remove_stale_temps_removes_only_leftovers_of_that_file(tmp_path):
    names = [".checkpoint.pt.0a1b2c3d.tmp", "checkpoint.pt.k2j4_x.tmp", "checkpoint.pt",
             ".best.pt.0a1b2c3d.tmp", "notes.tmp", "checkpoint.pt.tmp.keep"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    removed = atomic.remove_stale_temps(tmp_path, "checkpoint.pt")
    assert sorted(p.name for p in removed) == [".checkpoint.pt.0a1b2c3d.tmp",
                                               "checkpoint.pt.k2j4_x.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".best.pt.0a1b2c3d.tmp", "checkpoint.pt", "checkpoint.pt.tmp.keep", "notes.tmp"])
    assert atomic.remove_stale_temps(tmp_path / "missing", "checkpoint.pt") == []


def test_a_checkpoint_write_killed_midway_leaves_a_temp_that_remove_stale_temps_finds(tmp_path):
    """kill -9 in the middle of torch.save: the old checkpoint stays whole and what is left
    behind is exactly what the run's start/resume cleanup removes."""
    from cnn_tui.train import checkpoint as ckpt

    path = tmp_path / "checkpoint.pt"
    ckpt.save(path, {"epoch": 1})
    code = textwrap.dedent(f"""
        import os, sys, torch
        from cnn_tui.train import checkpoint as ckpt
        def killed(state, f, *a, **k):
            with open(f, "wb") as fh:
                fh.write(b"PK half a zip")
                fh.flush()
            os.kill(os.getpid(), 9)
        torch.save = killed
        ckpt.save({str(path)!r}, {{"epoch": 2}})
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
                          check=False)
    assert proc.returncode == -9, proc.stderr.decode()[-500:]
    assert ckpt.load(path)["epoch"] == 1
    left = _temps(tmp_path)
    assert len(left) == 1 and left[0].startswith(".checkpoint.pt.")
    assert [p.name for p in atomic.remove_stale_temps(tmp_path, "checkpoint.pt")] == left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_checkpoint_errors_keep_their_wording(tmp_path):
    from cnn_tui.train import checkpoint as ckpt

    with pytest.raises(TrainingError, match=r"^cannot write checkpoint .*missing.*does not exist"):
        ckpt.save(tmp_path / "missing" / "c.pt", {"epoch": 1})


def test_the_theme_note_is_written_through_the_helper(tmp_path, monkeypatch):
    from cnn_tui.tui import themes

    monkeypatch.setattr(themes, "last_theme_file", lambda: tmp_path / "state" / "theme.json")
    themes.remember_theme("cnn-light")
    assert json.loads((tmp_path / "state" / "theme.json").read_text()) == {"theme": "cnn-light"}
    assert themes.read_last_theme() == "cnn-light"
    assert _temps(tmp_path / "state") == []


def test_no_module_writes_files_its_own_way():
    """One helper: nothing else in the package makes temp files or renames them into place."""
    offenders = []
    for path in (REPO / "cnn_tui").rglob("*.py"):
        if path.name == "atomic.py" and path.parent.name == "cnn_tui":
            continue
        text = path.read_text()
        for needle in ("mkstemp", "os.replace(", ".replace(tmp", "NamedTemporaryFile"):
            if needle in text:
                offenders.append(f"{path.relative_to(REPO)}: {needle}")
    assert offenders == []


# ---------------------------------------------------------------- every -o of the CLI

def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def a_run(tmp_path):
    return finished_run(tmp_path / "runs")


def _history_version(tmp_path) -> str:
    from cnn_tui.runs.history import History, remember

    src = tmp_path / "src.json"
    write_file(get_template("beginner"), src)
    remember(read_file(src), "save", src)
    history = History()
    try:
        return history.versions()[0].hash
    finally:
        history.close()


def _browser_export(tmp_path) -> Path:
    path = tmp_path / "browser.json"
    path.write_text(json.dumps({"layers": [{"type": "Flatten"}, {"type": "Dense", "units": 10},
                                           "Softmax"], "trainingSettings": {"epochs": 2}}))
    return path


COMMANDS = {
    "new": lambda tmp, run: ["new", "-t", "beginner"],
    "convert": lambda tmp, run: ["convert", _browser_export(tmp)],
    "export": lambda tmp, run: ["export", "template:beginner", "-f", "markdown"],
    "runs export": lambda tmp, run: ["runs", "--runs-dir", run[0], "export", run[1], "--json"],
    "history restore": lambda tmp, run: ["history", "restore", _history_version(tmp)],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_output_path_is_kept_unless_force(command, tmp_path, capsys, a_run):
    argv = COMMANDS[command](tmp_path, a_run)
    mine = tmp_path / "mine.out"
    mine.write_text("precious")
    code, _, err = _run(capsys, *argv, "-o", mine)
    assert code == 2 and "already exists" in err and "--force" in err
    assert mine.read_text() == "precious"

    # a dangling symlink is a path that exists: kept, and nothing created where it points
    link = tmp_path / "link.out"
    link.symlink_to(tmp_path / "nowhere.out")
    code, _, err = _run(capsys, *argv, "-o", link)
    assert code == 2 and "already exists" in err, err
    assert link.is_symlink() and not (tmp_path / "nowhere.out").exists()

    code, _, err = _run(capsys, *argv, "-o", mine, "--force")
    assert code == 0, err
    assert mine.read_text() != "precious" and mine.stat().st_size > 0
    assert _temps(tmp_path) == []


async def test_save_as_onto_a_dangling_symlink_asks_first(tmp_path):
    """The app's --force is a question: a symlink pointing nowhere is a path that exists."""
    from textual.widgets import Input

    from cnn_tui.tui.app import CnnTuiApp
    from cnn_tui.tui.common.confirm import ChoiceDialog

    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "nowhere.json")
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.document.apply(get_template("lenet5"), "change")
        await pilot.press("f2")
        await pilot.pause()
        app.screen.query_one(Input).value = str(link)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("n")
        await pilot.pause()
        assert app.document.dirty and app.document.path is None
    assert link.is_symlink() and not (tmp_path / "nowhere.json").exists()
