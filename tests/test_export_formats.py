"""The one export-format registry: the CLI's `-f` choices and both Export dialogs list it
(driven through the real app with a Textual pilot); a format whose package is missing is greyed
in the dialogs with the extra that installs it, and refused by the CLI in one line; `export`
without `-o` prints text formats and names where a file went."""

from __future__ import annotations

import sys
import time

import pytest

from cnn_tui.cli import main
from cnn_tui.export.formats import ARCH, FORMATS

# Every format cnn-tui exports. Removing one from the registry must be a decision: this list
# changes with it (and the README's export table).
EXPECTED = ["architecture", "share", "pytorch", "keras", "markdown", "pt", "safetensors",
            "export", "torchscript", "onnx", "tfjs", "csv", "json", "tensorboard", "hdf5"]


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_registry_and_the_cli_agree(capsys):
    assert list(FORMATS) == EXPECTED
    for f in FORMATS.values():
        assert f.needs in ("arch", "weights", "metrics") and f.output in ("text", "binary", "folder")
        assert f.help and f.label and f.suffix
        assert not f.extra or f.modules  # an extra installs a package
        assert f.folder == bool(f.files)  # a folder format knows which files are its own
    assert FORMATS["onnx"].extra == "onnx" and FORMATS["hdf5"].extra == "hdf5"
    assert FORMATS["onnx"].install_hint == "pip install 'cnn-tui[onnx]'"
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    out = capsys.readouterr().out
    for name, f in FORMATS.items():  # every format in the help, with what installs it
        assert f"  {name} " in out, name
        if f.extra:
            assert f"cnn-tui[{f.extra}]" in out
    assert "deprecated by PyTorch" in out  # torchscript says so
    with pytest.raises(SystemExit) as exited:
        main(["export", "template:beginner", "-f", "nonesuch"])
    assert exited.value.code == 2 and "invalid choice: 'nonesuch'" in capsys.readouterr().err


def test_a_missing_package_is_named_with_its_extra(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "h5py", None)  # as if h5py were not installed
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert FORMATS["hdf5"].unavailable() == \
        "needs the h5py package (pip install 'cnn-tui[hdf5]')"
    code, out, err = cli(capsys, "export", "nonesuch-run", "-f", "onnx", "--runs-dir", tmp_path)
    assert code == 2 and out == ""
    assert err == "cnn-tui: error: onnx export needs the onnx package " \
                  "(pip install 'cnn-tui[onnx]')\n"
    assert FORMATS["tensorboard"].unavailable() is None  # our own writer: always there


def test_without_output_text_prints_and_files_say_where(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "export", "template:lenet5", "-f", "markdown")
    assert code == 0 and out.startswith("# LeNet-5") and err == ""
    code, out, err = cli(capsys, "export", "template:lenet5", "-f", "architecture")
    assert code == 0 and '"format": "cnn-tui/architecture"' in out
    code, out, err = cli(capsys, "export", "template:lenet5", "-f", "keras", "--name", "k.py")
    assert code == 0 and out == "" and err.startswith("wrote k.py (keras, ")
    assert (tmp_path / "k.py").is_file()
    code, out, err = cli(capsys, "export", "template:lenet5", "-f", "architecture", "-o", ".")
    assert code == 0 and (tmp_path / "lenet-5-architecture.json").is_file()
    code, _, err = cli(capsys, "export", "template:lenet5", "-f", "architecture", "-o", ".")
    assert code == 2 and "already exists (use --force to overwrite it)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.py", "lenet-5-architecture.json"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One finished Beginner run (1 epoch, 500 real images)."""
    from conftest import MNIST_ROOT

    from cnn_tui import api

    if MNIST_ROOT is None:
        pytest.fail("MNIST not found: set CNN_TUI_DATA_DIR to a folder holding MNIST/raw")
    runs = tmp_path_factory.mktemp("runs")
    result = api.train("template:beginner", epochs=1, limit_train=500, limit_test=100,
                       val_size=100, data_dir=MNIST_ROOT, runs_dir=runs, name="exp")
    return runs, result.run_id


def test_binary_without_output_goes_to_its_default_name(tmp_path, capsys, monkeypatch, store):
    runs, run_id = store
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "export", run_id, "-f", "pt", "--runs-dir", runs)
    name = f"beginner-{run_id}.pt"
    assert code == 0 and out == ""
    assert err == f"wrote {name} (pt, {(tmp_path / name).stat().st_size:,} bytes)\n"
    code, out, err = cli(capsys, "export", run_id, "-f", "csv", "--runs-dir", runs)
    assert code == 0 and out.startswith("run_id,run_name,architecture,epoch") and err == ""
    code, out, err = cli(capsys, "export", run_id, "-f", "tensorboard", "--runs-dir", runs)
    assert code == 0 and out == "" and (tmp_path / f"beginner-{run_id}-tensorboard").is_dir()
    assert err.startswith(f"wrote beginner-{run_id}-tensorboard (tensorboard, 1 file, ")
    code, _, err = cli(capsys, "export", run_id, "-f", "pt", "--runs-dir", runs)
    assert code == 2 and "exists (use --force" in err


# ----------------------------------------------------------------------------- the dialogs

async def _until(pilot, condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def _options(screen):
    from textual.widgets import OptionList

    options = screen.query_one("#export-formats", OptionList)
    return [options.get_option_at_index(i) for i in range(options.option_count)]


async def test_the_architecture_dialog_lists_every_architecture_format(tmp_path):
    from cnn_tui.tui.app import CnnTuiApp
    from cnn_tui.tui.common.export import ExportDialog

    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("e")
        assert isinstance(app.screen, ExportDialog)
        ids = [o.id for o in _options(app.screen)]
        assert ids == [n for n in EXPECTED if FORMATS[n].needs == ARCH]
        assert all(not o.disabled for o in _options(app.screen))
        await pilot.press("5")  # markdown, the fifth
        await pilot.pause()
        from textual.widgets import Input
        app.screen.query_one(Input).value = str(tmp_path / "net.md")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await _until(pilot, lambda: (tmp_path / "net.md").exists(), what="net.md")
    assert (tmp_path / "net.md").read_text().startswith("# Beginner")


async def test_the_run_dialog_lists_every_format_and_greys_missing_ones(
        tmp_path, monkeypatch, store):
    from textual.widgets import Input

    from cnn_tui.tui.app import CnnTuiApp
    from cnn_tui.tui.runs.run_export import RunExportDialog

    runs, _ = store
    monkeypatch.setenv("CNN_TUI_RUNS_DIR", str(runs))
    monkeypatch.setitem(sys.modules, "h5py", None)  # as if h5py were not installed
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RunExportDialog)
        options = _options(dialog)
        ids = [o.id for o in options]
        # every registry format, and every run's csv/json
        assert set(ids) == set(EXPECTED) | {"all-csv", "all-json"} and len(ids) == len(set(ids))
        hdf5 = options[ids.index("hdf5")]
        assert hdf5.disabled and "pip install 'cnn-tui[hdf5]'" in str(hdf5.prompt)
        assert [o.id for o in options if o.disabled] == ["hdf5"]
        await pilot.press(str(ids.index("hdf5") + 1))  # its digit: refused, said why
        await pilot.pause()
        assert app.screen is dialog
        assert any("cnn-tui[hdf5]" in str(n.message) for n in app._notifications)
        await pilot.press(str(ids.index("tensorboard") + 1))
        await pilot.pause()
        target = tmp_path / "tb"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await _until(pilot, lambda: target.is_dir() and any(target.iterdir()),
                     timeout=60, what="the TensorBoard folder")
        await app.workers.wait_for_complete()
    (event_file,) = target.iterdir()
    assert event_file.name.startswith("events.out.tfevents.")
