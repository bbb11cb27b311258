"""Files through the app with real files: save/open via the path prompt, bad files,
export, share code, autosave written and offered back, and `launch` refusing a bad file."""

from __future__ import annotations

import argparse
import json

import pytest

from cnn_tui import locations
from cnn_tui.errors import SpecError
from cnn_tui.spec import io as spec_io
from cnn_tui.spec.templates import get_template
from cnn_tui.tui.app import CnnTuiApp
from cnn_tui.tui.common.autosave import autosave_path, read_autosave
from cnn_tui.tui.common.confirm import ChoiceDialog
from cnn_tui.tui.common.export import ExportDialog, ShareCodeDialog
from cnn_tui.tui.common.path_prompt import PathPrompt


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _type_path(pilot, text: str) -> None:
    from textual.widgets import Input

    assert isinstance(pilot.app.screen, PathPrompt)
    entry = pilot.app.screen.query_one(Input)
    entry.value = text
    await pilot.press("enter")
    await pilot.pause()


async def test_save_then_open_round_trip(tmp_path):
    target = tmp_path / "mine.json"
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.document.apply(get_template("lenet5"), "change")
        await pilot.press("ctrl+s")  # no path yet: asks
        await _type_path(pilot, str(target))
        assert app.document.path == target and not app.document.dirty
        assert spec_io.read_file(target).to_dict() == get_template("lenet5").to_dict()

        app.document.apply(get_template("advanced"), "another change")
        await pilot.press("ctrl+s")  # has a path now: saves without asking
        await pilot.pause()
        assert not isinstance(app.screen, PathPrompt)
        assert spec_io.read_file(target).name == get_template("advanced").name

        other = tmp_path / "other.json"
        spec_io.write_file(get_template("residual"), other)
        await pilot.press("ctrl+o")
        await _type_path(pilot, str(other))
        assert app.document.path == other and not app.document.dirty
        assert app.document.arch.to_dict() == get_template("residual").to_dict()


async def test_tab_completes_in_the_path_prompt(tmp_path, monkeypatch):
    (tmp_path / "network-one.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        from textual.widgets import Input

        entry = app.screen.query_one(Input)
        await pilot.press("n", "e", "tab")
        assert entry.value == "network-one.json"


async def test_open_bad_file_notifies_and_keeps_document(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"layers": [{"type": "conv2d", "kernel_size": 0}]}))
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.document.arch
        app.document.apply(get_template("lenet5"), "unsaved work")
        await pilot.press("ctrl+o")
        await _type_path(pilot, str(bad))
        assert app.document.arch == get_template("lenet5")  # untouched
        assert any(str(bad) in n and "kernel_size" in n for n in _notes(app))
        assert before is not app.document.arch


async def test_save_to_missing_folder_notifies_and_stays_dirty(tmp_path):
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.document.apply(get_template("lenet5"), "change")
        await pilot.press("ctrl+s")
        await _type_path(pilot, str(tmp_path / "no" / "such" / "x.json"))
        assert app.document.dirty and app.document.path is None
        assert any("does not exist" in n for n in _notes(app))


async def test_quit_save_writes_the_file_then_exits(tmp_path):
    target = tmp_path / "saved-on-quit.json"
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.document.apply(get_template("intermediate"), "change")
        await pilot.press("q")
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("s")
        await _type_path(pilot, str(target))
    assert app.return_code == 0
    assert spec_io.read_file(target).to_dict() == get_template("intermediate").to_dict()


async def test_export_json_and_share_code(tmp_path):
    from cnn_tui.spec import sharecode

    out = tmp_path / "exported.json"
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        assert isinstance(app.screen, ExportDialog)
        await pilot.press("1")  # native JSON
        await _type_path(pilot, str(out))
        await app.workers.wait_for_complete()
        assert spec_io.read_file(out).to_dict() == app.document.arch.to_dict()
        await pilot.press("e", "2")  # share code
        await pilot.pause()
        assert isinstance(app.screen, ShareCodeDialog)
        assert sharecode.decode(app.screen.code).to_dict() == app.document.arch.to_dict()
        assert app.clipboard == app.screen.code


async def test_export_asks_before_replacing_an_existing_file(tmp_path):
    out = tmp_path / "exported.json"
    out.write_text("precious")
    dangling = tmp_path / "link.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e", "1")  # native JSON, onto a file that exists
        await _type_path(pilot, str(out))
        assert isinstance(app.screen, ChoiceDialog) and "exists" in app.screen.question
        await pilot.press("n")  # keep it
        await app.workers.wait_for_complete()
        assert out.read_text() == "precious"
        await pilot.press("e", "1")  # a link pointing nowhere is asked about too
        await _type_path(pilot, str(dangling))
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("n")
        assert not (tmp_path / "nowhere.json").exists()
        await pilot.press("e", "1")
        await _type_path(pilot, str(out))
        await pilot.press("y")  # replace
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert spec_io.read_file(out).to_dict() == app.document.arch.to_dict()
        assert any(str(n.message).startswith("exporting") for n in app._notifications)


async def test_export_code_formats_that_exist(tmp_path):
    from cnn_tui.tui.common.export import CODE_FORMATS, available_formats

    # the PyTorch generator imports torch (seconds); its output is tested beside it
    present = [f for f in available_formats() if f in CODE_FORMATS and f.key != "pytorch"]
    if not present:
        pytest.skip("no code generators in cnn_tui.export yet")
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for fmt in present:
            index = available_formats().index(fmt) + 1
            out = tmp_path / f"model-{fmt.key}{fmt.suffix}"
            await pilot.press("e", str(index))
            await _type_path(pilot, str(out))
            await app.workers.wait_for_complete()
            assert out.is_file() and out.stat().st_size > 0, fmt.key
            if fmt.suffix == ".py":
                compile(out.read_text(), str(out), "exec")


async def test_autosave_written_and_offered_back(tmp_path):
    app = CnnTuiApp(autosave_delay=0.05, offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.document.apply(get_template("lenet5"), "change")
        await pilot.pause(0.3)
        assert read_autosave().to_dict() == get_template("lenet5").to_dict()
        # the session dies here without saving (no quit dialog, nothing cleared)

    second = CnnTuiApp()  # opens the Beginner template: differs from the autosave
    async with second.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(second.screen, ChoiceDialog)
        await pilot.press("r")
        assert second.document.arch.to_dict() == get_template("lenet5").to_dict()
        assert second.document.dirty  # restored work is not saved anywhere yet

    third = CnnTuiApp()  # escape: kept aside as a file, never overwritten by the next autosave
    async with third.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        assert not autosave_path().exists()
        kept = list(autosave_path().parent.glob("autosave-*.json"))
        assert len(kept) == 1
        assert spec_io.read_file(kept[0]).to_dict() == get_template("lenet5").to_dict()
        assert any(str(kept[0]) in n for n in _notes(third))
        third.document.apply(get_template("advanced"), "new work")
        await pilot.pause(0.8)
        assert read_autosave().name == get_template("advanced").name

    fourth = CnnTuiApp()
    async with fourth.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("d")  # discard
        assert not autosave_path().exists()
        assert fourth.document.arch.to_dict() == get_template("beginner").to_dict()


async def test_restored_autosave_goes_back_to_its_file_and_counts_inner_layers(tmp_path):
    from cnn_tui.spec import edit

    res = tmp_path / "res.json"
    spec_io.write_file(get_template("residual"), res)
    app = CnnTuiApp(spec_io.read_file(res), res, autosave_delay=0.05, offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.document.apply(edit.delete(app.document.arch, 0).arch, "delete")
        await pilot.pause(0.3)
        changed = app.document.arch
        # killed here: nothing saved, the autosave remembers res.json

    rows = len(list(changed.walk()))
    second = CnnTuiApp()  # started with no file
    async with second.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        dialog = second.screen
        assert isinstance(dialog, ChoiceDialog)
        text = " ".join(str(w.render()) for w in dialog.query("Static"))
        assert f"({rows} layers, from {res.resolve()})" in " ".join(text.split())
        assert rows > len(changed.layers)  # residual blocks' inner layers counted
        await pilot.press("r")
        assert second.document.arch.to_dict() == changed.to_dict()
        assert second.document.path == res.resolve() and second.document.dirty
        await pilot.press("ctrl+s")  # saves back to res.json, no path asked
        await pilot.pause()
        assert spec_io.read_file(res).to_dict() == changed.to_dict()
        assert not autosave_path().exists()


async def test_autosave_not_offered_when_equal_and_cleared_on_save(tmp_path):
    spec_io.write_file(get_template("lenet5"), tmp_path / "a.json")
    autosave_path().parent.mkdir(parents=True, exist_ok=True)
    spec_io.write_file(get_template("lenet5"), autosave_path())
    app = CnnTuiApp(get_template("lenet5"), tmp_path / "a.json", autosave_delay=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceDialog)
        app.document.apply(get_template("advanced"), "change")
        await pilot.pause(0.3)
        assert autosave_path().exists()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not autosave_path().exists()  # the work is safe in a.json


def test_launch_refuses_a_bad_file_before_the_app_starts(tmp_path, capsys):
    from cnn_tui.tui.launch import launch

    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    args = argparse.Namespace(source=str(bad), no_mouse=True, theme=None, data_dir=None,
                              runs_dir=None)
    with pytest.raises(SpecError) as err:
        launch(args)
    assert str(bad) in str(err.value) and err.value.exit_code == 2


def test_cli_prints_one_line_and_exits_2_for_a_bad_file(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "broken.json"
    bad.write_text('{"layers": 3}')
    out = subprocess.run([sys.executable, "-m", "cnn_tui", str(bad)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "layers" in lines[0]


def test_launch_hands_data_and_runs_dirs_to_the_app_without_touching_the_environment(
        tmp_path, monkeypatch, mnist_root):
    import os

    from cnn_tui.tui import launch as launch_mod

    seen = {}

    class Probe(CnnTuiApp):
        def run(self, **kw):  # the real app, not run: only its settings are checked here
            seen["data"] = self.settings.data_dir
            seen["runs"] = self.settings.runs_dir
            seen["mouse"] = kw.get("mouse")

    monkeypatch.setattr("cnn_tui.tui.app.CnnTuiApp", Probe)
    args = argparse.Namespace(source=None, no_mouse=True, theme=None,
                              data_dir=str(tmp_path / "d"), runs_dir=str(tmp_path / "r"))
    environ = dict(os.environ)
    assert launch_mod.launch(args) == 0
    assert seen == {"data": tmp_path / "d", "runs": tmp_path / "r", "mouse": False}
    assert dict(os.environ) == environ  # nothing reaches the engine through the environment
    # the app's --data-dir is the only place looked, as the command line's is (its training
    # processes get it as --data-dir): no fall back to the cache, and the error names it
    from cnn_tui.data import find_mnist
    from cnn_tui.errors import DataError

    locations.cache_dir().mkdir(parents=True)
    (locations.cache_dir() / "MNIST").symlink_to(mnist_root / "MNIST")  # a good cache copy
    assert find_mnist(locations.cache_dir()) == locations.cache_dir()
    with pytest.raises(DataError, match=r"MNIST not found in --data-dir .*[/\\]d"):
        find_mnist(seen["data"])
