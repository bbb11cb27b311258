"""`cnn-tui history list|show|restore|diff` on a real runs.db in the test's own CNN_TUI_HOME:
versions recorded through History.record, runs through RunStore, the CLI through main()."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cnn_tui import locations
from cnn_tui.cli import main
from cnn_tui.runs.history import History, arch_hash
from cnn_tui.runs.store import RunStore
from cnn_tui.spec.io import read_file, write_file
from cnn_tui.spec.model import Architecture
from cnn_tui.spec.templates import get_template

T0 = 1_780_000_000.0  # a fixed "when" so versions sort as recorded


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv) -> str:
    """Run a command that must fail: exit 2, nothing on stdout, one `cnn-tui: error:` line."""
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, ""), (code, out, err)
    assert err.startswith("cnn-tui: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def wider(arch: Architecture) -> Architecture:
    changed = arch.to_dict()
    changed["layers"][0]["filters"] *= 2
    return Architecture.from_dict(changed)


@pytest.fixture
def kept(tmp_path):
    """net.json saved (v1), widened and trained (v2, with a finished run), and a LeNet-5 run
    trained from the command line (no version kept for it yet)."""
    path = tmp_path / "net.json"
    history = History()
    a = get_template("beginner")
    v1 = history.record(a, "save", path, when=T0)
    b = wider(a)
    v2 = history.record(b, "train", path, when=T0 + 60)
    history.close()
    write_file(b, path)
    store = RunStore()
    trained = store.create_run(b.to_dict(), {"epochs": 1}, "cpu", name="wide")
    store.log_epoch(trained, {"epoch": 1, "train_loss": 0.4, "train_acc": 0.9, "val_acc": 0.95})
    store.finish(trained, "finished", {"test_acc": 0.96})
    cli_run = store.create_run(get_template("lenet5").to_dict(), {"epochs": 1}, "cpu")
    store.finish(cli_run, "finished", None)
    store.close()
    # as a store of cnn-tui before version links (schema 0): its command-line runs had none
    import sqlite3
    conn = sqlite3.connect(locations.runs_dir() / "runs.db")
    conn.execute("PRAGMA user_version = 0")
    conn.close()
    return {"path": path, "v1": v1, "v2": v2, "run": trained, "cli_run": cli_run}


def test_an_empty_history_says_how_it_fills(capsys):
    for argv in (["history"], ["history", "list"]):
        code, out, err = run(capsys, *argv)
        assert code == 0 and err == ""
        assert out.startswith("no architecture versions kept yet") and "ctrl+s" in out
    assert run(capsys, "history", "--json") == (0, "[]\n", "")
    assert not (locations.runs_dir() / "runs.db").exists()  # listing created nothing


def test_list_newest_first_with_runs_and_cli_runs_linked(capsys, kept):
    code, out, err = run(capsys, "history")
    assert code == 0 and err == ""
    header, *rows = out.splitlines()
    assert header.split() == ["HASH", "CREATED", "SOURCE", "NAME", "LAYERS", "PARAMS", "RUNS",
                              "PARENT", "PATH"]
    # the old store's command-line run got its version when the store was brought up to date
    # (listing the history does that once): the newest, source "run"
    assert rows[0].split()[0] == arch_hash(get_template("lenet5"))[:10]
    assert " run " in rows[0] and "LeNet-5" in rows[0]
    v1, v2 = kept["v1"], kept["v2"]
    assert rows[1].split()[0] == v2.short and rows[2].split()[0] == v1.short
    fields = rows[1].split()
    assert fields[3:5] == ["train", "Beginner"]
    assert fields[5:9] == [str(v2.layers), f"{v2.params:,}", "1", v1.short]
    assert fields[9] == str(kept["path"].resolve())
    assert rows[2].split()[7:9] == ["0", "-"]  # no runs, no parent
    assert len(rows) == 3

    data = json.loads(run(capsys, "history", "list", "--json")[1])
    assert [d["hash"] for d in data][1:] == [v2.hash, v1.hash]
    assert data[1]["runs"] == [kept["run"]] and data[1]["parent"] == v1.hash
    assert data[0]["runs"] == [kept["cli_run"]] and data[0]["source"] == "run"

    # --name and -n filter; the options work before or after the action word
    out = run(capsys, "history", "--name", "Beginner")[1]
    assert [r.split()[0] for r in out.splitlines()[1:]] == [v2.short, v1.short]
    out = run(capsys, "history", "list", "--name", "Beginner", "-n", "1")[1]
    assert [r.split()[0] for r in out.splitlines()[1:]] == [v2.short]
    code, out, _ = run(capsys, "history", "list", "--name", "VGG")
    assert code == 0 and out.startswith("no versions named 'VGG'")


def test_list_of_a_file_marks_the_version_it_holds(capsys, kept, tmp_path):
    path = kept["path"]
    for argv in (["history", "list", str(path)],):
        code, out, err = run(capsys, *argv)
        assert code == 0 and err == ""
        rows = out.splitlines()[1:]
        assert [r[:12] for r in rows] == [f"* {kept['v2'].short}", f"  {kept['v1'].short}"]
    data = json.loads(run(capsys, "history", "list", "--json", str(path))[1])
    assert [(d["short"], d["current"]) for d in data] == [(kept["v2"].short, True),
                                                         (kept["v1"].short, False)]
    # a file whose content is not kept yet: its relatives, and a note saying so
    fresh = tmp_path / "fresh.json"
    write_file(wider(wider(get_template("beginner"))), fresh)
    out = run(capsys, "history", "list", str(fresh))[1]
    assert f"({fresh} holds a version not kept yet: " in out
    assert one_line_error(capsys, "history", "list", str(path), "--name", "x").endswith(
        "give FILE or --name, not both\n")
    assert one_line_error(capsys, "history", "list", str(tmp_path / "gone.json")) == (
        f"cnn-tui: error: {tmp_path / 'gone.json'}: no such file\n")


def test_show_gives_layers_lineage_children_and_runs(capsys, kept):
    v1, v2 = kept["v1"], kept["v2"]
    code, out, err = run(capsys, "history", "show", v2.hash[:6])
    assert code == 0 and err == ""
    assert out.startswith(f"version   {v2.hash}\nname      Beginner\n")
    assert "Conv2D 16 3x3" in out  # the widened first conv, in the layer table
    parents = out.split("parents (newest first)\n")[1].split("\n\n")[0]
    assert parents.split()[0] == v1.short
    runs = out.split("runs that trained it\n")[1]
    assert kept["run"] in runs and "finished" in runs and "95.00%" in runs and "96.00%" in runs
    assert kept["cli_run"] not in runs

    out = run(capsys, "history", "show", v1.short)[1]
    assert "none: the first version" in out
    assert out.split("edited into\n")[1].split()[0] == v2.short
    assert out.rstrip().endswith("runs that trained it\n  none")


def test_show_json_is_the_architecture_file_exactly(capsys, kept, tmp_path):
    v2 = kept["v2"]
    code, out, err = run(capsys, "history", "show", v2.short, "--json")
    assert code == 0 and err == ""
    assert out == v2.text == kept["path"].read_text()
    piped = tmp_path / "piped.json"
    piped.write_text(out)
    assert arch_hash(read_file(piped)) == v2.hash


def test_restore_writes_refuses_to_overwrite_and_becomes_the_parent(capsys, kept, tmp_path):
    v1, v2, path = kept["v1"], kept["v2"], kept["path"]
    before = path.read_text()
    err = one_line_error(capsys, "history", "restore", v1.short, "-o", str(path))
    assert err == f"cnn-tui: error: {path}: already exists (use --force to overwrite it)\n"
    assert path.read_text() == before

    out_path = tmp_path / "old.json"
    code, out, err = run(capsys, "history", "restore", v1.short, "-o", str(out_path))
    assert code == 0 and err == ""
    assert out == (f"wrote {out_path}: version {v1.short} of 'Beginner' "
                   f"({v1.layers} layers, {v1.params:,} parameters)\n")
    assert out_path.read_text() == v1.text and arch_hash(read_file(out_path)) == v1.hash

    # over the file with --force: the file holds v1 again, so the next save's parent is v1
    assert run(capsys, "history", "restore", v1.hash, "-o", str(path), "--force")[0] == 0
    assert read_file(path) == get_template("beginner")
    history = History()
    edited = get_template("beginner")
    edited.layers[-2].params["units"] = 12
    assert history.record(edited, "save", path, when=T0 + 3600).parent == v1.hash
    history.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    assert run(capsys, "history", "restore", v2.short, "-o", "-") == (0, v2.text, "")


def test_restore_to_an_unwritable_place_is_one_line(capsys, kept, tmp_path):
    target = tmp_path / "no-such-folder" / "x.json"
    err = one_line_error(capsys, "history", "restore", kept["v1"].short, "-o", str(target))
    assert str(target) in err and "does not exist" in err
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    err = one_line_error(capsys, "history", "restore", kept["v1"].short, "-o",
                         str(blocker / "x.json"))
    assert str(blocker) in err
    assert blocker.read_text() == "x"


def test_diff_reuses_the_compare_layer_diff(capsys, kept):
    from cnn_tui.runs.compare import arch_diff

    v1, v2 = kept["v1"], kept["v2"]
    code, out, err = run(capsys, "history", "diff", v1.short, v2.short)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"--- {v1.short} Beginner (save ")
    assert lines[1].startswith(f"+++ {v2.short} Beginner (train ")
    assert lines[2:] == arch_diff(v1.arch, v2.arch).lines()
    assert "filters 8 → 16" in out

    out = run(capsys, "history", "diff", "-c", v1.short, v2.short)[1]
    assert out.splitlines()[2:] == arch_diff(v1.arch, v2.arch).lines(include_same=False)
    assert len(out.splitlines()) < len(lines)

    # --exit-code as git diff; a file, share code or template:NAME on either side
    assert run(capsys, "history", "diff", "--exit-code", v1.short, v2.short)[0] == 1
    code, out, _ = run(capsys, "history", "diff", "--exit-code", v2.short, str(kept["path"]))
    assert code == 0 and "has the same layers as" in out

    data = json.loads(run(capsys, "history", "diff", "--json", v1.short, "template:lenet5")[1])
    assert data["identical"] is False and data["new"] == "template:lenet5"
    assert data["old_params"] == v1.params and data["new_params"] == 61_706
    first = data["rows"][0]
    assert first["op"] == "changed" and first["old"]["shape"] == [8, 26, 26]
    assert "filters 8 → 6" in first["changes"]


def _two_sharing_a_prefix() -> tuple[Architecture, Architecture, str]:
    """Two architectures whose hashes share their first 4 hex digits (found by trying names)."""
    seen: dict[str, Architecture] = {}
    base = get_template("beginner")
    for i in range(20_000):
        base.name = f"net {i}"
        digest = arch_hash(base)
        if digest[:4] in seen:
            return seen[digest[:4]], Architecture.from_dict(base.to_dict()), digest[:4]
        seen[digest[:4]] = Architecture.from_dict(base.to_dict())
    raise AssertionError("no shared prefix found")


def test_bad_hashes_are_one_line_errors(capsys, kept):
    a, b, prefix = _two_sharing_a_prefix()
    history = History()
    history.record(a, "save", when=T0 + 1)
    history.record(b, "save", when=T0 + 2)
    history.close()
    err = one_line_error(capsys, "history", "show", prefix)
    assert f"architecture version {prefix!r} is ambiguous: " in err
    assert arch_hash(a)[:10] in err and arch_hash(b)[:10] in err
    assert run(capsys, "history", "show", arch_hash(a)[:12])[0] == 0  # longer: unique again

    err = one_line_error(capsys, "history", "show", "0000000000")
    db = locations.runs_dir() / "runs.db"
    assert err == (f"cnn-tui: error: no architecture version '0000000000' in {db} "
                   "(see `cnn-tui history list`)\n")
    assert "is not a version hash" in one_line_error(capsys, "history", "restore", "xyz", "-o",
                                                     "out.json")
    assert "neither a version hash nor an architecture file" in one_line_error(
        capsys, "history", "diff", "zz", kept["v1"].short)
    assert "no architecture version '0000000000'" in one_line_error(
        capsys, "history", "diff", kept["v1"].short, "0000000000")


def test_a_missing_or_corrupt_runs_db(capsys, tmp_path):
    elsewhere = tmp_path / "empty-store"
    err = one_line_error(capsys, "history", "show", "abcd", "--runs-dir", str(elsewhere))
    assert "the history in" in err and str(elsewhere) in err
    assert not elsewhere.exists()

    db = locations.runs_dir() / "runs.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(os.urandom(4096))
    for argv in (["history"], ["history", "show", "abcd"],
                 ["history", "restore", "abcd", "-o", str(tmp_path / "x.json")],
                 ["history", "diff", "abcd", "template:beginner"]):
        err = one_line_error(capsys, *argv)
        assert str(db) in err and "not a database" in err, err
    assert not (tmp_path / "x.json").exists()


def test_an_unknown_action_is_named(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["history", "shwo", "abcd"])
    assert exc.value.code == 2
    assert "invalid choice: 'shwo'" in capsys.readouterr().err


def test_show_json_through_a_real_process(kept, tmp_path):
    """The installed entry point, piping a version to a file as a user would."""
    target = tmp_path / "piped.json"
    with open(target, "w") as fh:
        proc = subprocess.run([sys.executable, "-m", "cnn_tui", "history", "show",
                               kept["v1"].short, "--json"], stdout=fh, stderr=subprocess.PIPE,
                              text=True, timeout=60, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    assert target.read_text() == kept["v1"].text
    proc = subprocess.run([sys.executable, "-m", "cnn_tui", "history", "show", "ffff"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("cnn-tui: error: no architecture version 'ffff'")
    assert proc.stderr.count("\n") == 1
