"""`cnn-tui summary` and `cnn-tui validate` end to end: output, JSON shape and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from cnn_tui.cli import main
from cnn_tui.spec.io import write_file
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.templates import get_template

L = Layer.make


def test_summary_table_of_the_beginner_template(tmp_path, capsys):
    path = tmp_path / "beginner.json"
    write_file(get_template("beginner"), path)
    assert main(["summary", str(path), "--width", "100"]) == 0
    out = capsys.readouterr().out
    assert "Conv2D 8 3x3" in out and "[8, 26, 26]" in out
    assert "Total params: 27,562" in out and "Trainable params: 27,562" in out
    assert "Output shape: [10]" in out and "Valid: yes" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_summary_json_has_the_documented_fields(capsys):
    assert main(["summary", "template:residual", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("layers", "total_params", "trainable_params", "output_shape", "valid", "issues",
                "total_macs", "memory_bytes", "receptive_field", "score"):
        assert key in data
    assert data["output_shape"] == [10] and data["valid"] is True
    first = data["layers"][0]
    assert {"index", "type", "output_shape", "params", "macs"} <= set(first)
    assert first["index"] == 1 and first["output_shape"] == [16, 28, 28] and first["params"] == 160
    assert data["total_params"] == sum(layer["params"] for layer in data["layers"])
    assert any(layer["projection"] for layer in data["layers"])
    assert 0 <= data["score"]["value"] <= 100


def test_summary_reads_a_share_code_and_reports_issues_as_json(capsys):
    from cnn_tui.spec.sharecode import encode

    arch = Architecture([L("conv2d", filters=4, kernel_size=3), L("dense", units=10)])
    assert main(["summary", encode(arch), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is False
    issue = next(i for i in data["issues"] if i["rule"] == "dense-before-flatten")
    assert issue["severity"] == "error" and issue["layer"] == 2
    assert issue["message"].startswith("layer 2 (dense)")


def test_validate_exit_codes(tmp_path, capsys):
    good = tmp_path / "good.json"
    write_file(get_template("lenet5"), good)
    assert main(["validate", str(good)]) == 0
    assert "valid" in capsys.readouterr().out

    bad = tmp_path / "bad.json"
    write_file(Architecture([L("conv2d", filters=8, kernel_size=11), L("maxpool2d", pool_size=7),
                             L("maxpool2d", pool_size=4), L("flatten"), L("dense", units=10)]),
               bad)
    assert main(["validate", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "error: layer 3 (maxpool2d): the 4x4 window does not fit a 2x2 map (short by 2)" \
        in captured.out
    assert "[spatial-collapse]" in captured.out and "invalid: 1 error(s)" in captured.err

    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xff not json")
    assert main(["validate", str(garbage)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnn-tui: error:") and "Traceback" not in err
    assert main(["validate", str(tmp_path / "missing.json")]) == 2


def test_validate_strict_and_quiet(tmp_path, capsys):
    path = tmp_path / "warn.json"
    write_file(Architecture([L("conv2d", filters=8, kernel_size=3), L("conv2d", filters=8),
                             L("relu"), L("flatten"), L("dense", units=10)]), path)
    assert main(["validate", str(path)]) == 0
    assert "warning" in capsys.readouterr().out
    assert main(["validate", "--strict", str(path)]) == 1
    capsys.readouterr()
    assert main(["validate", "-q", str(path)]) == 0
    assert capsys.readouterr().out == ""


def test_python_dash_m_in_a_subprocess(tmp_path):
    path = tmp_path / "a.json"
    write_file(get_template("beginner"), path)
    proc = subprocess.run([sys.executable, "-m", "cnn_tui", "validate", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-c",
                           "import sys, cnn_tui.spec.analysis, cnn_tui.spec.suggest, "
                           "cnn_tui.spec.summary, cnn_tui.commands.analysis_cmds; "
                           "assert 'torch' not in sys.modules, 'torch imported'"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
