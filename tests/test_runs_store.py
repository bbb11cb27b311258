"""The run store on real SQLite: ids and prefixes, records, interrupted runs, two writers at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from cnn_tui.errors import RunStoreError
from cnn_tui.runs.store import RunStore

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCH = {"format": "cnn-tui/architecture", "version": 1, "name": "T", "layers": []}


def test_create_get_log_finish_and_prefixes(tmp_path):
    store = RunStore(tmp_path / "runs")
    a = store.create_run(ARCH, {"epochs": 2}, "cpu", name="first", device_name="cpu (2 threads)",
                         params=10)
    b = store.create_run(ARCH, {"epochs": 3}, "cuda")
    assert a != b and len(a) == len("20261126-142501-3f2a") and a[8] == "-"
    assert store.run_dir(a).is_dir()
    store.log_epoch(a, {"epoch": 1, "train_loss": 1.0, "val_acc": 0.5})
    store.log_epoch(a, {"epoch": 2, "train_loss": 0.5, "val_acc": 0.7})
    store.log_epoch(a, {"epoch": 2, "train_loss": 0.4, "val_acc": 0.6})  # re-run after a resume
    rec = store.get(a)
    assert rec.status == "running"  # this process is alive
    assert [e["train_loss"] for e in rec.epochs] == [1.0, 0.4]
    assert rec.best_val_acc == 0.7 and rec.name == "first" and rec.params == 10
    assert rec.versions["python"] and rec.pid == os.getpid()
    store.finish(a, "finished", {"test_acc": 0.91, "confusion_matrix": [[1]]})
    rec = store.get(a)
    assert rec.status == "finished" and rec.test_acc == 0.91 and rec.ended >= rec.started
    assert rec.evaluation["confusion_matrix"] == [[1]]
    # prefixes, ambiguity, names
    prefix = next(a[:n] for n in range(len(a)) if not b.startswith(a[:n]))
    assert store.get(prefix).id == a  # the shortest unique prefix
    with pytest.raises(RunStoreError, match="ambiguous"):
        store.resolve(a[:4])
    with pytest.raises(RunStoreError, match="no run 'zzz'"):
        store.get("zzz")
    assert store.resolve("first") == a
    store.rename(a, "renamed")
    store.set_tags(a, ["best", "cpu"])
    rec = store.get(a)
    assert rec.name == "renamed" and rec.tags == ["best", "cpu"]
    assert [r.id for r in store.list_runs()] == sorted([a, b], reverse=True)
    assert [r.id for r in store.list_runs(status="finished")] == [a]
    store.truncate_epochs(a, 1)
    assert len(store.get(a).epochs) == 1
    store.delete(a)
    assert not store.run_dir(a).exists()
    assert [r.id for r in store.list_runs()] == [b]
    with pytest.raises(RunStoreError):
        store.set_status(b, "exploded")


def test_empty_store_lists_nothing_and_unknown_ids_are_clear(tmp_path):
    store = RunStore(tmp_path / "nowhere")
    assert store.list_runs() == []
    with pytest.raises(RunStoreError, match="no run 'abc'"):
        store.get("abc")


def test_a_running_run_whose_process_died_is_interrupted(tmp_path):
    code = textwrap.dedent(f"""
        from cnn_tui.runs.store import RunStore
        print(RunStore({str(tmp_path)!r}).create_run({ARCH!r}, {{}}, "cpu"))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    run_id = out.stdout.strip()
    store = RunStore(tmp_path)
    assert store.get(run_id).status == "interrupted"
    assert [r.id for r in store.list_runs(status="interrupted")] == [run_id]
    store.mark_running(run_id)  # resumed by this (live) process
    assert store.get(run_id).status == "running"


WRITER = textwrap.dedent("""
    import sys
    from cnn_tui.runs.store import RunStore
    store = RunStore(sys.argv[1])
    for r in range(int(sys.argv[2])):
        run = store.create_run({"name": "w"}, {"epochs": 30}, "cpu", name=sys.argv[3])
        for e in range(1, 31):
            store.log_epoch(run, {"epoch": e, "train_loss": 1.0 / e, "val_acc": e / 30})
        store.finish(run, "finished", {"test_acc": 0.9})
    print("ok")
""")


def test_two_processes_writing_at_once_do_not_corrupt_the_store(tmp_path):
    root = tmp_path / "shared"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), "25", f"p{i}"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    store = RunStore(root)
    runs = store.list_runs()
    assert len(runs) == 50 and len({r.id for r in runs}) == 50
    assert sorted({r.name for r in runs}) == ["p0", "p1"]
    assert all(r.status == "finished" and len(r.epochs) == 30 and r.best_val_acc == 1.0
               for r in runs)
    with sqlite3.connect(root / "runs.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_where_the_store_should_be_is_a_clear_error(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(RunStoreError, match="not a folder|cannot create"):
        RunStore(tmp_path / "f").ensure_writable()
