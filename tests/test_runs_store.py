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


def _fill_up(conn: sqlite3.Connection) -> None:
    """A full disk, as SQLite sees one (SQLITE_FULL): this connection may not grow the file.
    CI cannot mount a tiny filesystem, so the page limit stands in for it."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_says_so_and_keeps_what_was_recorded(tmp_path):
    store = RunStore(tmp_path / "runs")
    run = store.create_run(ARCH, {"epochs": 3}, "cpu")
    store.log_epoch(run, {"epoch": 1, "train_loss": 1.0, "val_acc": 0.5})
    _fill_up(store._connect())  # the store's own connection: no other way to cap it
    big = {"epoch": 2, "train_loss": 0.5, "val_acc": 0.6, "note": "x" * 100_000}
    with pytest.raises(RunStoreError) as err:
        store.log_epoch(run, big)
    message = str(err.value)
    # SQLite rolled the transaction back itself; our ROLLBACK failing must not be the news
    assert "rollback" not in message and "no transaction" not in message
    assert message == (f"run store {tmp_path / 'runs' / 'runs.db'}: no space left on the device "
                       "(database or disk is full)")
    assert "\n" not in message
    with pytest.raises(RunStoreError) as err:  # here SQLite ends the whole transaction itself
        store.finish(run, "finished", {"test_acc": 0.9, "note": "x" * 100_000})
    assert str(err.value) == message
    # the store still answers, and what was written before is all there
    rec = store.get(run)
    assert [e["epoch"] for e in rec.epochs] == [1] and rec.best_val_acc == 0.5
    store.finish(run, "failed", None, "disk full")  # a write that needs no new page still works
    store.close()
    # space again (a new connection has no cap): the run carries on
    again = RunStore(tmp_path / "runs")
    again.log_epoch(run, big)
    assert [e["epoch"] for e in again.get(run).epochs] == [1, 2]
    assert again.get(run).status == "failed"
    with sqlite3.connect(tmp_path / "runs" / "runs.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_full_disk_in_the_architecture_history_says_so(tmp_path):
    from cnn_tui.runs.history import History
    from cnn_tui.spec.templates import get_template

    history = History(tmp_path)
    arch = get_template("advanced")
    history.record(arch, "save")
    _fill_up(history._connect(create=True))
    with pytest.raises(RunStoreError, match=r"^architecture history .*runs\.db: no space left on "
                                            r"the device \(database or disk is full\)$"):
        for i in range(20):  # new versions until one needs a page the file cannot have
            arch.name = f"advanced {i}"
            history.record(arch, "save")
    assert history.get(history.versions()[-1].hash).name == "Advanced"
    history.close()


needs_permissions = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root ignores folder permissions (verified by hand with a read-only bind mount)")


@needs_permissions
def test_a_read_only_store_can_still_be_read(tmp_path):
    root = tmp_path / "runs"
    writer = RunStore(root)
    done = writer.create_run(ARCH, {"epochs": 1}, "cpu", name="done")
    writer.log_epoch(done, {"epoch": 1, "train_loss": 1.0, "val_acc": 0.5})
    writer.finish(done, "finished", {"test_acc": 0.9})
    writer.close()  # a clean close: no write-ahead log is left, the folder holds runs.db alone
    os.chmod(root, 0o555)
    try:
        reader = RunStore(root)
        assert [r.id for r in reader.list_runs()] == [done]
        rec = reader.get("done")
        assert rec.status == "finished" and rec.test_acc == 0.9 and len(rec.epochs) == 1
        with pytest.raises(RunStoreError, match=f"^run store {root}: not writable$"):
            reader.rename(done, "other")
        with pytest.raises(RunStoreError, match=f"^run store {root}: not writable$"):
            reader.create_run(ARCH, {}, "cpu")
        reader.close()
        assert sorted(p.name for p in root.iterdir()) == sorted([done, "runs.db"])
    finally:
        os.chmod(root, 0o755)


@needs_permissions
def test_a_read_only_store_with_a_pending_log_reads_it_or_says_why_not(tmp_path):
    root, bare = tmp_path / "runs", tmp_path / "bare"
    writer = RunStore(root)
    first = writer.create_run(ARCH, {}, "cpu", name="first")
    last = writer.create_run(ARCH, {}, "cpu", name="last")  # in the log, not yet in runs.db
    bare.mkdir()
    for name in ("runs.db", "runs.db-wal"):  # a log without its -shm file
        (bare / name).write_bytes((root / name).read_bytes())
    os.chmod(root, 0o555)
    os.chmod(bare, 0o555)
    try:
        # the -wal and -shm files are there: the newest run is read, not skipped
        assert {r.id for r in RunStore(root).list_runs()} == {first, last}
        with pytest.raises(RunStoreError, match=r"cannot open read-only: the folder .*bare is "
                                                r"read-only and the write-ahead log runs\.db-wal"):
            RunStore(bare).list_runs()
    finally:
        os.chmod(root, 0o755)
        os.chmod(bare, 0o755)
        writer.close()
