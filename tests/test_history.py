"""Architecture history on a real SQLite file: versions kept on save and train, deduplicated by
content hash, linked to their parents, and a run linked to the exact version it trained."""

from __future__ import annotations

import sqlite3

import pytest

from cnn_tui import locations
from cnn_tui.errors import RunStoreError
from cnn_tui.runs.history import History, arch_hash, remember, run_hash
from cnn_tui.runs.store import RunStore
from cnn_tui.spec import edit
from cnn_tui.spec import io as spec_io
from cnn_tui.spec.model import Layer
from cnn_tui.spec.templates import get_template


def _wider(arch):
    """The same architecture with the first conv's filters doubled (a real edit)."""
    changed = arch.to_dict()
    changed["layers"][0]["filters"] *= 2
    from cnn_tui.spec.model import Architecture
    return Architecture.from_dict(changed)


def test_hash_is_sha256_of_the_canonical_text():
    import hashlib

    arch = get_template("beginner")
    assert arch_hash(arch) == hashlib.sha256(spec_io.dumps(arch).encode()).hexdigest()
    assert arch_hash(arch) != arch_hash(_wider(arch))


def test_versions_dedup_by_hash_and_link_parents(tmp_path):
    history = History(tmp_path)
    path = tmp_path / "net.json"
    a = get_template("beginner")
    v1 = history.record(a, "save", path, when=1000.0)
    b = _wider(a)
    v2 = history.record(b, "train", path, when=2000.0)
    again = history.record(a, "save", path, when=3000.0)  # same content: no new version
    assert again.hash == v1.hash and again.created == 1000.0 and again.last_seen == 3000.0
    assert v1.parent is None and v2.parent == v1.hash
    assert [v.hash for v in history.versions(path=path)] == [v2.hash, v1.hash]
    assert [v.hash for v in history.lineage(v2.hash)] == [v2.hash, v1.hash]
    assert history.get(v2.hash[:8]).arch == b  # a prefix finds it, the text round-trips
    from cnn_tui.spec.analysis import analyze
    assert v2.params == analyze(b).total_params and v2.layers == len(list(b.walk()))
    rows = sqlite3.connect(tmp_path / "runs.db").execute(
        "SELECT count(*) FROM arch_versions").fetchone()
    assert rows == (2,)
    # the next edit's parent is the version of that file seen last (a, saved again at 3000)
    c = history.record(edit.insert_after(b, 0, Layer.make("relu")).arch, "save", path, when=4000.0)
    assert c.parent == v1.hash
    history.close()


def test_parent_by_name_without_a_path_and_related(tmp_path):
    history = History(tmp_path)
    a = get_template("beginner")
    v1 = history.record(a, "train", when=1.0)
    v2 = history.record(_wider(a), "train", when=2.0)
    other = history.record(get_template("lenet5"), "train", when=3.0)
    assert v2.parent == v1.hash and other.parent is None
    assert [v.hash for v in history.related(_wider(a))] == [v2.hash, v1.hash]
    history.close()


def test_a_run_links_to_its_exact_version(tmp_path):
    store = RunStore(tmp_path)
    arch = _wider(get_template("beginner"))
    history = History(tmp_path)
    kept = history.record(arch, "train")
    run_id = store.create_run(arch.to_dict(), {"epochs": 1}, "cpu", params=1)
    record = store.get(run_id)
    assert run_hash(record) == kept.hash
    assert history.for_run(record).hash == kept.hash
    # a run recorded with its version (as every run is now) links without the history
    other = store.create_run(get_template("lenet5").to_dict(), {"epochs": 1}, "cpu",
                             version=arch_hash(get_template("lenet5")))
    assert run_hash(store.get(other)) == arch_hash(get_template("lenet5"))
    assert history.for_run(store.get(other)) is None  # not kept: nothing recorded it
    # the run store's own tables are untouched and still work beside the history's
    assert {r.id for r in store.list_runs()} == {other, run_id}
    history.close()
    store.close()


def test_remember_uses_the_run_store_folder_and_reports_problems(tmp_path):
    assert remember(get_template("beginner"), "save", tmp_path / "x.json") is None
    assert History().versions()[0].name == "Beginner"
    assert (locations.runs_dir() / "runs.db").is_file()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    problem = remember(get_template("beginner"), "save", root=blocked)
    assert problem and "architecture history" in problem and str(blocked) in problem


def test_bad_lookups_are_one_line_errors(tmp_path):
    history = History(tmp_path)
    history.record(get_template("beginner"), "save")
    with pytest.raises(RunStoreError, match="not a version hash"):
        history.get("zz")
    with pytest.raises(RunStoreError, match="not in the history"):
        history.get("0000000000")
    with pytest.raises(RunStoreError, match="unknown source"):
        history.record(get_template("beginner"), "oops")
    assert History(tmp_path / "none").versions() == []  # nothing there: empty, nothing created
    assert not (tmp_path / "none").exists()
