"""A store written by cnn-tui before the schema was versioned opens with every run intact.

`tests/data/store-v0/runs.db` was written by the code of commit 70630bc (schema 0, no
`PRAGMA user_version`): two finished runs trained with `cnn-tui train` (one named and tagged),
one run left "running" by a process that is gone, and the model file of the first.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from cnn_tui.cli import main
from cnn_tui.runs.history import History, arch_hash
from cnn_tui.runs.store import SCHEMA_VERSION, RunStore
from cnn_tui.spec.model import Architecture

OLD = Path(__file__).parent / "data" / "store-v0"
FIRST, LENET, KILLED = "20261130-102203-0ef2", "20261130-102212-fb72", "20261130-102216-6b01"


@pytest.fixture
def old_store(tmp_path) -> Path:
    root = tmp_path / "runs"
    shutil.copytree(OLD, root)
    return root


def _raw(root: Path, sql: str):
    conn = sqlite3.connect(root / "runs.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_the_old_store_is_what_it_claims(old_store):
    assert _raw(old_store, "PRAGMA user_version") == [(0,)]
    columns = {row[1] for row in _raw(old_store, "PRAGMA table_info(runs)")}
    assert "version" not in columns and "peak_memory_bytes" not in columns


def test_an_old_store_is_migrated_in_place_with_every_run_intact(old_store):
    before = _raw(old_store, "SELECT id, name, status, config, arch, evaluation, test_acc, tags "
                             "FROM runs ORDER BY id")
    epochs_before = _raw(old_store, "SELECT run_id, epoch, data FROM epochs ORDER BY run_id, epoch")
    store = RunStore(old_store)
    assert store.upgrade() is None
    assert _raw(old_store, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    after = _raw(old_store, "SELECT id, name, status, config, arch, evaluation, test_acc, tags "
                            "FROM runs ORDER BY id")
    assert after == before  # nothing of a run changed
    assert _raw(old_store, "SELECT run_id, epoch, data FROM epochs ORDER BY run_id, epoch") == epochs_before
    runs = {r.id: r for r in store.list_runs()}
    assert set(runs) == {FIRST, LENET, KILLED}
    assert runs[FIRST].name == "first run" and runs[FIRST].tags == ["keep", "baseline"]
    assert runs[FIRST].status == "finished" and len(runs[FIRST].epochs) == 2
    assert runs[KILLED].status == "interrupted"  # "running", its process long gone
    # each run now links to its architecture's version, kept in the history
    history = History(old_store)
    for record in runs.values():
        assert record.version == arch_hash(Architecture.from_dict(record.arch))
        assert history.get(record.version).source in ("run", "train")
    history.close()
    # what a run measured is empty for old runs, not missing
    full = store.get(FIRST, points=True)
    assert full.batch_points == [] and full.grad_norms == [] and full.peak_memory_bytes is None
    # and the migration happens once: a second open changes nothing
    store.close()
    assert RunStore(old_store).upgrade() is None


def test_old_runs_show_and_load_after_the_migration(old_store, capsys):
    assert main(["runs", "show", FIRST[:15], "--json", "--runs-dir", str(old_store)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == FIRST and shown["batch_points"] == [] and shown["grad_norms"] == []
    assert shown["peak_memory_bytes"] is None and shown["test_acc"] == pytest.approx(0.75)
    pytest.importorskip("torch")
    from cnn_tui import api
    run = api.load_run(FIRST, runs_dir=old_store)
    assert sum(p.numel() for p in run.model.parameters()) == 27562


def test_a_read_only_old_store_is_still_read(old_store):
    (old_store / "runs.db").chmod(0o444)
    old_store.chmod(0o555)
    try:
        store = RunStore(old_store)
        if store.upgrade() is None:
            pytest.skip("running as root: the store stays writable")
        assert {r.id for r in store.list_runs()} == {FIRST, LENET, KILLED}
        assert store.get(FIRST, points=True).batch_points == []
    finally:
        old_store.chmod(0o755)
        (old_store / "runs.db").chmod(0o644)


def test_a_store_of_a_newer_cnn_tui_is_not_written(tmp_path):
    store = RunStore(tmp_path)
    store.ensure_writable()
    store.close()
    conn = sqlite3.connect(tmp_path / "runs.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    problem = RunStore(tmp_path).upgrade()
    assert problem and "written by a newer cnn-tui" in problem
