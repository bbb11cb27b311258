"""Reading and writing native architecture files: round trips, every kind of bad file, atomic writes."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from cnn_tui.errors import CnnTuiError, SpecError
from cnn_tui.spec import sharecode
from cnn_tui.spec.io import (MAX_FILE_BYTES, dumps, load_source, parse_json_text, read_file,
                             write_file)
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.templates import TEMPLATES, get_template

DESIGN_EXAMPLE = """{"format": "cnn-tui/architecture", "version": 1, "name": "Beginner",
 "input": [1, 28, 28], "classes": 10,
 "layers": [
  {"type": "conv2d", "filters": 8, "kernel_size": 3, "stride": 1, "padding": "valid"},
  {"type": "relu"},
  {"type": "maxpool2d", "pool_size": 2, "stride": 2, "padding": "valid"},
  {"type": "flatten"},
  {"type": "dense", "units": 64},
  {"type": "relu"},
  {"type": "dropout", "rate": 0.25},
  {"type": "dense", "units": 10},
  {"type": "softmax"}],
 "training": {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 64, "epochs": 10}}"""


def _native(**changes) -> dict:
    obj = json.loads(DESIGN_EXAMPLE)
    obj.update(changes)
    return obj


def _err(path, content: str | bytes) -> str:
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode) as fh:
        fh.write(content)
    with pytest.raises(SpecError) as info:
        read_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ": "), message
    return message[len(str(path)) + 2:]


# ---------------------------------------------------------------- round trips

def test_the_design_example_reads():
    arch = parse_json_text(DESIGN_EXAMPLE, "example")
    assert arch.name == "Beginner" and len(arch.layers) == 9
    assert arch.layers[2].params["stride"] == 2
    assert arch.training["batch_size"] == 64


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_round_trip_is_exact_through_a_file(tmp_path, name):
    arch = get_template(name)
    path = tmp_path / "a.json"
    write_file(arch, path)
    text = path.read_text(encoding="utf-8")
    assert text == dumps(arch) and text.endswith("}\n")
    again = read_file(path)
    assert again == arch
    assert dumps(again) == text


def test_dumps_is_pretty_and_one_layer_per_line():
    text = dumps(get_template("residual"))
    lines = text.splitlines()
    assert lines[0] == "{" and lines[1] == '  "format": "cnn-tui/architecture",'
    assert '    {"type": "residual", "layers": [' in lines
    assert json.loads(text)["layers"][3]["layers"][0]["type"] == "conv2d"


def test_dumps_of_a_long_training_section_and_empty_blocks_stays_valid_json():
    arch = Architecture(
        [Layer.make("residual", layers=[]), Layer.make("residual", lr_mult=0.5, layers=[
            Layer.make("residual", layers=[Layer.make("relu")])])],
        name="Zoë — nested", training={"optimizer": "sgd", "momentum": 0.95, "nesterov": True,
                                       "schedule": "step", "step_size": 3, "gamma": 0.5,
                                       "early_stopping": None, "augment": True})
    text = dumps(arch)
    assert "Zoë — nested" in text  # written as UTF-8, not \\u escapes
    assert json.loads(text)["training"]["early_stopping"] is None
    assert parse_json_text(text, "x") == arch
    assert dumps(parse_json_text(text.encode("utf-8"), "x")) == text


def test_minimal_file_gets_defaults_and_no_training():
    arch = parse_json_text('{"layers": []}', "m")
    assert arch == Architecture()
    assert "training" not in json.loads(dumps(arch))


def test_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + DESIGN_EXAMPLE.encode())
    assert read_file(path).name == "Beginner"
    assert parse_json_text("\ufeff" + DESIGN_EXAMPLE, "s").name == "Beginner"


# ---------------------------------------------------------------- bad files

def test_field_errors_name_the_file_then_the_field(tmp_path):
    obj = _native()
    obj["layers"][0]["kernel_size"] = 0
    assert _err(tmp_path / "net.json", json.dumps(obj)) == "layers[0].kernel_size: must be 1..11, got 0"


def test_unknown_version_and_field(tmp_path):
    message = _err(tmp_path / "v.json", json.dumps(_native(version=2)))
    assert message.startswith("version: unsupported version 2")
    msg = _err(tmp_path / "f.json", json.dumps(_native(colour="red")))
    assert msg.startswith("colour: unknown field")
    obj = _native()
    obj["layers"][4]["bias"] = False
    assert _err(tmp_path / "l.json", json.dumps(obj)).startswith("layers[4].bias: unknown field")
    obj = _native()
    obj["training"]["optimiser"] = "adam"
    assert _err(tmp_path / "t.json", json.dumps(obj)).startswith("training.optimiser: unknown field")


def test_malformed_json_gives_line_and_column(tmp_path):
    msg = _err(tmp_path / "bad.json", '{\n  "layers": [\n    {"type": "relu"}\n    {"type": "relu"}\n  ]\n}')
    assert msg.startswith("invalid JSON at line 4 column 5")


def test_empty_and_whitespace_files(tmp_path):
    assert "empty file" in _err(tmp_path / "e.json", "")
    assert "empty file" in _err(tmp_path / "w.json", "  \n\t")


def test_not_an_object(tmp_path):
    assert "must be a JSON object, got a list" in _err(tmp_path / "l.json", "[1, 2]")
    assert "got null" in _err(tmp_path / "n.json", "null")


def test_missing_file_folder_and_permissions(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(SpecError, match=r"nope\.json: no such file$"):
        read_file(missing)
    with pytest.raises(SpecError, match="is a folder"):
        read_file(tmp_path)
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.json"
        locked.write_text(DESIGN_EXAMPLE)
        locked.chmod(0)
        with pytest.raises(SpecError, match="permission denied"):
            read_file(locked)


def test_binary_and_non_utf8(tmp_path):
    assert _err(tmp_path / "b.bin", bytes(range(256)) * 4) == "binary data, not a JSON architecture file"
    msg = _err(tmp_path / "latin1.json", '{"name": "caf\xe9", "layers": []}'.encode("latin-1"))
    assert msg == "not UTF-8 text (byte 0xe9 at offset 13)"


def test_too_large(tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.write(b" " * (MAX_FILE_BYTES + 10))
    assert "too large" in _err(big, b" " * (MAX_FILE_BYTES + 10))
    with pytest.raises(SpecError, match="too large"):
        parse_json_text(" " * (MAX_FILE_BYTES + 1), "s")


def test_device_files_are_read_only_up_to_the_limit():
    if os.path.exists("/dev/zero"):
        with pytest.raises(SpecError, match="too large"):
            read_file("/dev/zero")


def test_deep_nesting(tmp_path):
    assert _err(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000) == \
        "invalid JSON at line 1 column 101: nested too deeply (over 100 levels)"
    obj_deep = '{"layers": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001
    assert _err(tmp_path / "deep2.json", obj_deep) == \
        f"invalid JSON at line 1 column {11 + 6 * 99 + 1}: nested too deeply (over 100 levels)"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(tmp_path, literal):
    text = DESIGN_EXAMPLE.replace('"learning_rate": 0.001', f'"learning_rate": {literal}')
    assert "is not allowed" in _err(tmp_path / "nan.json", text)


def test_huge_numbers_are_refused(tmp_path):
    text = DESIGN_EXAMPLE.replace('"learning_rate": 0.001', '"learning_rate": 1e999')
    assert "out of range" in _err(tmp_path / "inf.json", text)
    text = DESIGN_EXAMPLE.replace('"filters": 8', '"filters": ' + "9" * 400)
    assert "too large" in _err(tmp_path / "int.json", text)
    text = DESIGN_EXAMPLE.replace('"filters": 8', '"filters": 1e300')
    assert _err(tmp_path / "f.json", text).startswith("layers[0].filters: must be 1..1024")


def test_duplicate_keys_are_refused(tmp_path):
    text = DESIGN_EXAMPLE.replace('"filters": 8', '"filters": 8, "filters": 16')
    assert _err(tmp_path / "dup.json", text) == "layers[0].filters: given twice in one object"


def test_lone_surrogates_are_refused(tmp_path):
    text = DESIGN_EXAMPLE.replace('"Beginner"', '"Be\\ud800ginner"')
    assert "surrogate" in _err(tmp_path / "s.json", text)
    with pytest.raises(SpecError, match="not valid Unicode"):
        parse_json_text('{"name": "\ud800", "layers": []}', "s")
    # a proper pair is fine
    ok = parse_json_text(DESIGN_EXAMPLE.replace('"Beginner"', '"\\ud83d\\ude00"'), "s")
    assert ok.name == "\U0001F600"


# ---------------------------------------------------------------- writing

def test_write_is_atomic_and_keeps_the_mode(tmp_path):
    path = tmp_path / "net.json"
    path.write_text("old")
    path.chmod(0o640)
    write_file(get_template("lenet5"), path)
    assert read_file(path).name == "LeNet-5"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]  # no temp file left


def test_writing_through_a_symlink_keeps_the_link(tmp_path):
    target = tmp_path / "real.json"
    write_file(get_template("beginner"), target)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_file(get_template("advanced"), link)
    assert link.is_symlink()
    assert read_file(target).name == "Advanced"


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_file(get_template("beginner"), tmp_path / "n.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "n.json").stat().st_mode) == 0o644


def test_write_errors_are_one_line(tmp_path):
    with pytest.raises(CnnTuiError, match="does not exist"):
        write_file(get_template("beginner"), tmp_path / "no" / "such" / "x.json")
    with pytest.raises(CnnTuiError, match="is a folder"):
        write_file(get_template("beginner"), tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(CnnTuiError, match="is not a folder"):
        write_file(get_template("beginner"), tmp_path / "file" / "x.json")
    if os.path.isdir("/proc/self"):  # not writable even for root
        with pytest.raises(CnnTuiError, match=r"^cannot write /proc/self/x\.json: "):
            write_file(get_template("beginner"), "/proc/self/x.json")
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        (ro / "x.json").write_text("precious")
        ro.chmod(0o500)
        try:
            with pytest.raises(CnnTuiError, match="permission denied"):
                write_file(get_template("beginner"), ro / "x.json")
            assert (ro / "x.json").read_text() == "precious"
        finally:
            ro.chmod(0o700)


def test_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "keep.json"
    write_file(get_template("beginner"), path)
    before = path.read_bytes()
    bad = get_template("beginner")
    bad.name = "bad \udc80 name"
    with pytest.raises(SpecError):
        write_file(bad, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.json"]


# ---------------------------------------------------------------- load_source

def test_load_source_kinds(tmp_path):
    path = tmp_path / "a.json"
    write_file(get_template("intermediate"), path)
    assert load_source(str(path)) == get_template("intermediate")
    assert load_source("template:Advanced") == get_template("advanced")
    code = sharecode.encode(get_template("lenet5"))
    assert load_source(f"  {code}\n") == get_template("lenet5")
    with pytest.raises(SpecError, match="unknown template"):
        load_source("template:nope")
    with pytest.raises(SpecError, match="no such file"):
        load_source(str(tmp_path / "missing.json"))


def test_stdin_dash(tmp_path, monkeypatch):
    import io as stdio

    class FakeStdin:
        buffer = stdio.BytesIO(DESIGN_EXAMPLE.encode())

    monkeypatch.setattr(sys, "stdin", FakeStdin)
    assert read_file("-").name == "Beginner"


def test_a_bare_word_is_told_what_else_it_could_be(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match=r"^zzzz: no such file, nor a share code \(those start "
                                        r"with 'cnn1:'\) or template:NAME$"):
        load_source("zzzz")
    (tmp_path / "zzzz").write_text(DESIGN_EXAMPLE)  # a file of that name is still read
    assert load_source("zzzz").layers
