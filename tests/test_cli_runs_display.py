"""`runs list` / `runs show` say when a run saw only a subset of MNIST (--limit-train,
--limit-test, recorded in the run's config by the engine), on a real store."""

from __future__ import annotations

from cnn_tui.cli import main
from cnn_tui.runs.store import RunStore

ARCH = {"format": "cnn-tui/architecture", "version": 1, "name": "Tiny", "layers": []}


def _store_with_runs(folder):
    store = RunStore(folder)
    full = store.create_run(ARCH, {"epochs": 1, "val_size": 5000, "limit_train": None,
                                   "limit_test": None}, "cpu", name="full")
    part = store.create_run(ARCH, {"epochs": 1, "val_size": 100, "limit_train": 640,
                                   "limit_test": 200}, "cpu", name="part")
    train_only = store.create_run(ARCH, {"epochs": 1, "limit_train": 3000}, "cpu",
                                  name="train-only")
    for run_id in (full, part, train_only):
        store.finish(run_id, "finished", {"test_acc": 0.9})
    return full, part, train_only


def test_runs_list_has_a_data_column(tmp_path, capsys):
    full, part, train_only = _store_with_runs(tmp_path / "runs")
    assert main(["runs", "list", "--runs-dir", str(tmp_path / "runs")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "DATA" in lines[0].split()
    column = lines[0].index("DATA")
    data = {line.split()[0]: line[column:].split()[0] for line in lines[1:]}
    assert data == {full: "all", part: "640/200", train_only: "3000/all"}


def test_runs_show_says_which_subset(tmp_path, capsys):
    full, part, train_only = _store_with_runs(tmp_path / "runs")
    shown = {}
    for run_id in (full, part, train_only):
        assert main(["runs", "show", run_id, "--runs-dir", str(tmp_path / "runs")]) == 0
        shown[run_id] = next(line for line in capsys.readouterr().out.splitlines()
                             if line.startswith("data "))
    assert shown[full].endswith("all of MNIST: 55,000 training, 5,000 validation, "
                                "10,000 test images")
    assert shown[part].endswith("a subset: 640 of 59,900 training images, 200 of 10,000 test "
                                "images (100 validation images)")
    assert "3,000 of 55,000 training images, all 10,000 test images" in shown[train_only]
