"""The Python API's data errors name the API's own argument (`data_dir`), never a CLI flag a
script cannot pass; the command line keeps saying --data-dir."""

from __future__ import annotations

import pytest

from cnn_tui import api
from cnn_tui.data import find_mnist
from cnn_tui.errors import DataError


def test_train_with_a_missing_data_dir_names_the_argument(tmp_path):
    where = tmp_path / "mnist"
    with pytest.raises(DataError) as err:
        api.train("template:beginner", epochs=1, data_dir=str(where), runs_dir=tmp_path / "r")
    message = str(err.value)
    assert message.startswith(f"MNIST not found in data_dir {where} (does not exist)")
    assert "--data-dir" not in message and message.endswith("or pass data_dir")
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("*.pt"))


def test_train_expands_the_users_home_in_data_dir(tmp_path, monkeypatch, mnist_root):
    monkeypatch.setenv("HOME", str(mnist_root.parent))
    assert find_mnist(f"~/{mnist_root.name}", option="data_dir") == mnist_root


def test_evaluate_with_a_missing_data_dir_names_the_argument(tmp_path):
    model = api.build("template:beginner")
    with pytest.raises(DataError) as err:
        api.evaluate(model, data_dir=tmp_path / "nowhere", limit=10, device="cpu")
    assert "data_dir" in str(err.value) and "--data-dir" not in str(err.value)


def test_the_command_line_still_names_its_flag(tmp_path, capsys):
    from cnn_tui.cli import main

    code = main(["train", "template:beginner", "--data-dir", str(tmp_path / "x"),
                 "--runs-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "MNIST not found in --data-dir" in err and "pass --data-dir" in err
