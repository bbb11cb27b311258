"""Terminal escape injection (issue 13.1): control characters are refused in every label users
give (file, share code, run name, tag) with the field path, and whatever was never checked
(paths, old stores, echoed input) is shown with visible escapes in the CLI, the app, generated
code and Markdown."""

from __future__ import annotations

import base64
import json
import sqlite3
import zlib

import pytest

from cnn_tui.cli import main
from cnn_tui.errors import CnnTuiError, SpecError
from cnn_tui.runs.store import RunStore
from cnn_tui.spec import sharecode
from cnn_tui.spec.io import parse_json_text
from cnn_tui.spec.templates import get_template
from cnn_tui.spec.text import (
    check_label,
    docstring_safe,
    markdown_safe,
    markup_safe,
    printable,
)

ESC_TITLE = "\x1b]0;pwned\x07"      # OSC 0: retitles the window
CLEAR = "\x1b[2J"                   # clears the screen
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: writes the clipboard
HOSTILE = [ESC_TITLE, CLEAR, CLIPBOARD, "a\x00b", "a\rb", "a\nb", "a\tb", "a\x7fb",
           "a\x9bb", "a\u202eb", "a\u2066b", "a\u2028b"]
RAW = ("\x1b", "\x07", "\x00", "\r", "\x7f", "\x9b", "\u202e", "\u2066", "\u2028")


def _clean(text: str) -> bool:
    return not any(c in text for c in RAW)


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- the module

@pytest.mark.parametrize("bad", HOSTILE)
def test_check_label_refuses_control_characters_naming_the_field(bad):
    with pytest.raises(SpecError, match=r"^layers\[2\]\.padding: (control character|bidirectional"
                                        r" control|line separator) U\+[0-9A-F]{4} not allowed$"):
        check_label(bad, "layers[2].padding")
    assert check_label("LeNet-5 (v2) ünïcode 数字 ✓", "name") == "LeNet-5 (v2) ünïcode 数字 ✓"


def test_printable_and_friends_leave_no_control_character():
    assert printable(ESC_TITLE) == "\\x1b]0;pwned\\x07"
    assert printable("a\u202eb\u2028") == "a\\u202eb\\u2028"
    for bad in HOSTILE:
        for safe in (printable(bad), markup_safe(bad), markdown_safe(bad), docstring_safe(bad)):
            assert _clean(safe), repr(safe)
    assert markdown_safe("my_net <b>*x*</b> | [a](b)") == \
        "my\\_net \\<b\\>\\*x\\*\\</b\\> \\| \\[a\\](b)"
    assert '"' not in docstring_safe('a"""b"') and "\\" not in docstring_safe("a\\b")


def test_markup_safe_shows_markup_as_written_in_textual():
    from textual.content import Content

    for name in ("[b]bold[/b]", "[/b]", "[$accent]x", "[@click=app.quit]q", "x\\", "a\\[b]c"):
        shown = Content.from_markup(f"[b]{markup_safe(name)}[/b]").plain.replace("\u200b", "")
        assert shown == name


# ---------------------------------------------------------------- reading refuses them

def _file(tmp_path, obj) -> str:
    path = tmp_path / "net.json"
    path.write_text(json.dumps(obj))
    return str(path)


def _native(**changes):
    obj = get_template("beginner").to_dict()
    obj.update(changes)
    return obj


@pytest.mark.parametrize("bad", HOSTILE)
def test_validate_calls_a_name_with_control_characters_unreadable(tmp_path, capsys, bad):
    path = _file(tmp_path, _native(name=f"net{bad}"))
    code, out, err = _run(capsys, "validate", path)
    assert code == 2 and out == ""
    assert err.startswith(f"cnn-tui: error: {path}: name: ") and "not allowed" in err
    assert _clean(err)


@pytest.mark.parametrize("where, change", [
    ("layers[0].padding", lambda o: o["layers"][0].update(padding="valid\x1b[2J")),
    ("layers[0].type", lambda o: o["layers"][0].update(type="conv2d\x1b")),
    ("training.optimizer", lambda o: o["training"].update(optimizer="adam\x00")),
    ("format", lambda o: o.update(format="cnn-tui/architecture\r")),
])
def test_every_string_field_refuses_them_with_its_path(tmp_path, where, change):
    obj = _native()
    change(obj)
    with pytest.raises(SpecError) as err:
        parse_json_text(json.dumps(obj), "net.json")
    assert str(err.value).startswith(f"net.json: {where}: control character U+00")


def test_odd_keys_are_quoted_and_escaped(tmp_path):
    obj = _native()
    obj["layers"][3][""] = 1
    with pytest.raises(SpecError, match=r'^net\.json: layers\[3\]: unknown field "" \(allowed:'):
        parse_json_text(json.dumps(obj), "net.json")
    obj = _native()
    obj["x\x1b[2J"] = 1
    with pytest.raises(SpecError) as err:
        parse_json_text(json.dumps(obj), "net.json")
    assert str(err.value).startswith('net.json: unknown field "x\\u001b[2J"') and _clean(str(err.value))


def test_browser_exports_refuse_them_too():
    obj = {"layers": ["Flatten", {"type": "Dense", "units": 10}],
           "metadata": {"label": f"mine{ESC_TITLE}"}}
    with pytest.raises(SpecError, match=r"^x: metadata\.label: control character U\+001B"):
        parse_json_text(json.dumps(obj), "x")
    obj = {"layers": ["Flatten\x1b", {"type": "Dense", "units": 10}], "metadata": {}}
    with pytest.raises(SpecError, match=r"^x: layers\[0\]: control character U\+001B"):
        parse_json_text(json.dumps(obj), "x")


def _code(payload) -> str:
    data = zlib.compress(json.dumps(payload).encode())
    return sharecode.PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_share_code_with_an_escape_in_its_name_is_refused(capsys):
    code = _code([f"net{CLIPBOARD}", ["f", ["d", 10]]])
    with pytest.raises(SpecError, match=r"^share code: name: control character U\+001B not allowed$"):
        sharecode.decode(code)
    status, out, err = _run(capsys, "summary", code)
    assert status == 2 and out == "" and _clean(err)
    with pytest.raises(SpecError, match=r"^share code: layers\[0\]\.padding: control character"):
        sharecode.decode(_code(["n", [["m", 2, 2, "same\x1b"]]]))


def test_new_name_is_checked(tmp_path, capsys):
    code, out, err = _run(capsys, "new", "-t", "beginner", "--name", f"x{CLEAR}")
    assert code == 2 and out == "" and "--name: control character U+001B not allowed" in err


# ---------------------------------------------------------------- run names and tags

def test_run_names_and_tags_are_checked_by_the_store(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run(get_template("beginner").to_dict(), {}, "cpu", name="ok")
    with pytest.raises(CnnTuiError, match=r"^run name: control character U\+001B not allowed$"):
        store.rename(run_id, f"x{ESC_TITLE}")
    with pytest.raises(CnnTuiError, match=r"^tag: bidirectional control U\+202E not allowed$"):
        store.set_tags(run_id, ["fine", "evil\u202etxt.exe"])
    store.rename(run_id, "renamed")
    store.set_tags(run_id, ["a", "b"])
    record = store.get(run_id)
    assert record.name == "renamed" and record.tags == ["a", "b"]


@pytest.fixture
def old_store(tmp_path):
    """A store written before names were checked: a run whose name, architecture name, message
    and device hold escapes (put there with SQL, as an older cnn-tui or another tool could)."""
    store = RunStore(tmp_path / "runs")
    arch = get_template("beginner").to_dict()
    run_id = store.create_run(arch, {"optimizer": "adam\x1b[2J"}, "cpu", name="placeholder")
    store.finish(run_id, "failed", None, message=f"boom{CLEAR}")
    arch["name"] = f"arch{ESC_TITLE}"
    with sqlite3.connect(tmp_path / "runs" / "runs.db") as conn:
        conn.execute("UPDATE runs SET name=?, arch=?, device_name=? WHERE id=?",
                     (f"run{CLIPBOARD}", json.dumps(arch), f"gpu{CLEAR}", run_id))
    return tmp_path / "runs", run_id


def test_runs_list_and_show_escape_what_an_old_store_holds(capsys, old_store):
    root, run_id = old_store
    code, out, err = _run(capsys, "runs", "--runs-dir", root, "list")
    assert code == 0 and _clean(out) and "run\\x1b]52" in out
    code, out, _ = _run(capsys, "runs", "--runs-dir", root, "show", run_id)
    assert code == 0 and _clean(out)
    assert "arch\\x1b]0;pwned\\x07" in out and "boom\\x1b[2J" in out and "gpu\\x1b[2J" in out


def test_errors_echoing_user_input_are_escaped(tmp_path, capsys):
    path = tmp_path / f"evil{ESC_TITLE}.json"
    code, out, err = _run(capsys, "validate", path)
    assert code == 2 and _clean(err) and "evil\\x1b]0;pwned\\x07.json: no such file" in err
    path.write_text(json.dumps(get_template("beginner").to_dict()))
    code, out, err = _run(capsys, "validate", path)
    assert code == 0 and _clean(out) and "evil\\x1b" in out


# ---------------------------------------------------------------- generated code and Markdown

INJECTION = '""+__import__("os").system("echo pwned")#' + "\x00" + ESC_TITLE + '\\"""'


@pytest.mark.parametrize("fmt", ["pytorch", "keras"])
def test_generated_code_is_valid_python_whatever_the_name(fmt):
    """A name a reader would refuse (set in memory) must still give a script that compiles, with
    nothing of the name outside its docstrings and no control character in the file."""
    import ast

    from cnn_tui.export.keras_code import keras_script
    from cnn_tui.export.pytorch_code import pytorch_script

    arch = get_template("beginner")
    arch.name = INJECTION
    code = (pytorch_script if fmt == "pytorch" else keras_script)(arch)
    tree = ast.parse(code)  # no SyntaxError: the docstring was not ended early
    assert _clean(code)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "attr", None) == "system"]
    assert calls == []  # the name stayed text


def test_markdown_heading_escapes_the_name():
    from cnn_tui.export.markdown import architecture_markdown

    arch = get_template("beginner")
    arch.name = f"<script>x</script> *bold* [link](http://x){ESC_TITLE}"
    heading = architecture_markdown(arch).splitlines()[0]
    assert heading == ("# \\<script\\>x\\</script\\> \\*bold\\* \\[link\\](http://x)"
                       "\\\\x1b\\]0;pwned\\\\x07")


# ---------------------------------------------------------------- the app

async def test_the_app_draws_hostile_names_as_plain_text(old_store, monkeypatch):
    from cnn_tui.tui.app import CnnTuiApp

    root, _ = old_store
    monkeypatch.setenv("CNN_TUI_RUNS_DIR", str(root))
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("4")
        await pilot.pause()
        table = app.screen.table
        cells = [str(c) for c in table.get_row_at(0)]
        assert any("run\\x1b]52" in c for c in cells) and all(_clean(c) for c in cells)
        app.notify(f"[b]saved[/b] {ESC_TITLE}")
        await pilot.pause()
        note = list(app._notifications)[-1]
        assert note.markup is False and note.message == "[b]saved[/b] \\x1b]0;pwned\\x07"


def test_runs_rename_and_tag_from_the_command_line(tmp_path, capsys):
    store = RunStore(tmp_path / "runs")
    run_id = store.create_run(get_template("beginner").to_dict(), {}, "cpu", name="first")
    root = tmp_path / "runs"
    code, out, err = _run(capsys, "runs", "--runs-dir", root, "rename", run_id, f"x{ESC_TITLE}")
    assert code == 2 and out == "" and _clean(err)
    assert err == "cnn-tui: error: run name: control character U+001B not allowed\n"
    code, _, err = _run(capsys, "runs", "--runs-dir", root, "tag", run_id, "ok", "a\rb")
    assert code == 2 and "tag: control character U+000D not allowed" in err
    assert store.get(run_id).name == "first" and store.get(run_id).tags == []
    assert _run(capsys, "runs", "--runs-dir", root, "rename", run_id, "best so far")[0] == 0
    assert _run(capsys, "runs", "--runs-dir", root, "tag", run_id, "lr", "adam", "lr")[0] == 0
    record = store.get(run_id)
    assert record.name == "best so far" and record.tags == ["lr", "adam"]
    code, out, _ = _run(capsys, "runs", "--runs-dir", root, "tag", run_id)
    assert code == 0 and out == f"run {run_id}: tags removed\n" and store.get(run_id).tags == []
