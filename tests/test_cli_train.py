"""`cnn-tui train --json` and `cnn-tui runs ...` end to end (in-process through cli.main)."""

from __future__ import annotations

import csv
import json

import pytest

pytest.importorskip("torch")

from cnn_tui.cli import main  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """Tests check behaviour, not speed: one CPU thread is robust on a shared, busy machine."""
    monkeypatch.setenv("CNN_TUI_THREADS", "1")


def test_train_json_shape_then_runs_list_show_export_delete(mnist_root, tmp_path, capsys):
    runs = str(tmp_path / "runs")
    code = main(["train", "template:beginner", "--epochs", "2", "--limit-train", "640",
                 "--limit-test", "200", "--val-size", "100", "--batch-size", "64", "--lr", "0.003",
                 "--seed", "7", "--augment", "--name", "cli run", "--data-dir", str(mnist_root),
                 "--runs-dir", runs, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)  # stdout is exactly one JSON object
    for key in ("run_id", "device", "epochs", "test_acc", "test_loss", "images_per_s",
                "confusion_matrix", "per_class"):
        assert key in out
    assert out["device"] in ("cpu", "cuda", "mps") and out["status"] == "finished"
    assert [e["epoch"] for e in out["epochs"]] == [1, 2]
    for e in out["epochs"]:
        assert {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"} <= set(e)
    assert len(out["confusion_matrix"]) == 10 and sum(map(sum, out["confusion_matrix"])) == 200
    assert [c["class"] for c in out["per_class"]] == list(range(10))
    assert out["config"]["augment"] is True and out["config"]["learning_rate"] == 0.003
    assert "epoch 2/2" in captured.err  # progress went to stderr, not into the JSON
    run_id = out["run_id"]

    assert main(["runs", "list", "--runs-dir", runs, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [run_id] and listed[0]["name"] == "cli run"
    assert listed[0]["status"] == "finished" and listed[0]["epochs_done"] == 2

    assert main(["runs", "list", "--runs-dir", runs]) == 0
    assert run_id in capsys.readouterr().out

    assert main(["runs", "show", run_id[:18], "--runs-dir", runs, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == run_id and shown["evaluation"]["test_acc"] == out["test_acc"]
    assert shown["epochs"] == out["epochs"] and shown["arch"]["name"] == "Beginner"

    assert main(["runs", "show", run_id, "--runs-dir", runs]) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "Beginner" in text

    target = tmp_path / "epochs.csv"
    assert main(["runs", "export", run_id, "--csv", "-o", str(target), "--runs-dir", runs]) == 0
    rows = list(csv.DictReader(target.open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["val_acc"]) == out["epochs"][1]["val_acc"]
    assert main(["runs", "export", run_id, "--json", "--runs-dir", runs]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == run_id

    assert main(["runs", "delete", run_id, "--runs-dir", runs]) == 2  # stdin is not a terminal
    assert "--yes" in capsys.readouterr().err
    assert main(["runs", "delete", run_id, "--yes", "--runs-dir", runs]) == 0
    capsys.readouterr()
    assert main(["runs", "list", "--runs-dir", runs, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs"),
    (["--optimizer", "lbfgs"], "--optimizer"),
    (["--device", "tpu"], "device 'tpu'"),
])
def test_bad_flags_are_one_line_errors(mnist_root, tmp_path, capsys, argv, message):
    code = main(["train", "template:beginner", "--data-dir", str(mnist_root),
                 "--runs-dir", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_mnist_names_the_fix(tmp_path, capsys):
    code = main(["train", "template:beginner", "--data-dir", str(tmp_path / "empty"),
                 "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "cnn-tui data" in err
