"""`cnn-tui new`, `templates`, `share`, `convert` through the real argparse entry point."""

from __future__ import annotations

import json

import pytest

from cnn_tui.cli import main
from cnn_tui.spec.io import parse_json_text, read_file
from cnn_tui.spec.sharecode import decode
from cnn_tui.spec.templates import TEMPLATES, get_template

EXPORT = {
    "layers": [
        {"type": "Conv2D", "filters": 8, "kernelSize": 3, "strides": 1, "padding": "valid"},
        {"type": "ReLU"},
        {"type": "MaxPooling2D", "poolSize": 2, "kernelSize": 2, "strides": 2, "padding": "valid"},
        "Flatten",
        {"type": "Dense", "units": 10},
        "Softmax",
    ],
    "trainingSettings": {"epochs": 5, "batchSize": 32, "learningRate": 0.001, "optimizer": "adam"},
    "metadata": {"label": "My first CNN", "timestamp": "2025-03-01T10:00:00.000Z"},
}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_new_prints_the_template(capsys):
    code, out, err = run(capsys, "new", "--template", "intermediate")
    assert code == 0 and err == ""
    assert parse_json_text(out, "stdout") == get_template("intermediate")


def test_new_writes_and_refuses_to_overwrite(capsys, tmp_path):
    path = tmp_path / "mine.json"
    assert run(capsys, "new", "-t", "lenet5", "-o", str(path))[0] == 0
    assert read_file(path) == get_template("lenet5")
    path.write_text("my precious work")
    code, out, err = run(capsys, "new", "-t", "advanced", "-o", str(path))
    assert code == 2
    assert err == f"cnn-tui: error: {path}: already exists (use --force to overwrite it)\n"
    assert path.read_text() == "my precious work"
    code, _, _ = run(capsys, "new", "-t", "advanced", "-o", str(path), "--force", "--name", "Mine")
    assert code == 0
    arch = read_file(path)
    assert arch.name == "Mine" and arch.layers == get_template("advanced").layers


def test_new_unknown_template(capsys):
    code, out, err = run(capsys, "new", "--template", "vgg")
    assert code == 2 and out == ""
    assert err.startswith("cnn-tui: error: template: unknown template 'vgg' (known: beginner,")
    assert err.count("\n") == 1


def test_new_into_a_missing_folder(capsys, tmp_path):
    code, _, err = run(capsys, "new", "-o", str(tmp_path / "no" / "x.json"))
    assert code == 2 and "does not exist" in err


def test_templates_table(capsys):
    code, out, err = run(capsys, "templates")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "LAYERS", "PARAMS"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert list(rows) == list(TEMPLATES)
    assert rows["beginner"][1:3] == ["12", "27,562"]
    assert rows["advanced"][1:3] == ["33", "452,842"]


def test_share_file_template_and_code(capsys, tmp_path):
    path = tmp_path / "a.json"
    run(capsys, "new", "-t", "residual", "-o", str(path))
    code, out, _ = run(capsys, "share", str(path))
    assert code == 0
    share = out.strip()
    assert share.startswith("cnn1:") and decode(share) == get_template("residual")
    assert run(capsys, "share", "template:residual")[1].strip() == share
    assert run(capsys, "share", share)[1].strip() == share


def test_share_bad_inputs(capsys, tmp_path):
    code, out, err = run(capsys, "share", str(tmp_path / "missing.json"))
    assert code == 2 and out == "" and err.endswith("missing.json: no such file\n")
    code, _, err = run(capsys, "share", "cnn1:@@@")
    assert code == 2 and err.startswith("cnn-tui: error: share code: unexpected character '@'")


def test_convert_browser_export(capsys, tmp_path):
    src = tmp_path / "export.json"
    src.write_text(json.dumps(EXPORT))
    dst = tmp_path / "native.json"
    code, out, err = run(capsys, "convert", str(src), "-o", str(dst))
    assert code == 0 and out == ""
    native = json.loads(dst.read_text())
    assert native["format"] == "cnn-tui/architecture" and native["name"] == "My first CNN"
    assert native["layers"][0] == {"type": "conv2d", "filters": 8, "kernel_size": 3, "stride": 1,
                                   "padding": "valid"}
    assert native["training"] == {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 32,
                                  "epochs": 5}
    # without -o it prints; an existing OUT is kept unless --force
    code, out, _ = run(capsys, "convert", str(src))
    assert code == 0 and json.loads(out) == native
    assert run(capsys, "convert", str(src), "-o", str(dst))[0] == 2
    assert run(capsys, "convert", str(src), "-o", str(dst), "--force")[0] == 0


@pytest.mark.parametrize("content", [b"\x00\x01garbage", b"{not json",
                                     b'{"layers": [{"type": "Conv9D"}], "metadata": {}}'])
def test_convert_unreadable_input_exits_2(capsys, tmp_path, content):
    src = tmp_path / "in.json"
    src.write_bytes(content)
    dst = tmp_path / "out.json"
    code, out, err = run(capsys, "convert", str(src), "-o", str(dst))
    assert code == 2 and out == ""
    assert err.startswith(f"cnn-tui: error: {src}: ") and err.count("\n") == 1
    assert not dst.exists()


def test_command_names_match_the_parser():
    """`main` tells a command from a file to open by COMMAND_NAMES, without building the
    parser; a command module that registers a new name must be listed there too."""
    from cnn_tui.cli import COMMAND_NAMES, build_parser

    parser = build_parser()
    assert set(parser._subparsers._group_actions[0].choices) == COMMAND_NAMES
