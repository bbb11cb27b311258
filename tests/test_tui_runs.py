"""The Runs and Compare screens on a real run store holding real runs (trained once per module
on a small real MNIST subset), driven by key presses: sort, filter, mark, compare, rename, tag,
delete (confirmed), share, export, open in Analyze; and the architecture history from the app
(save, train) and the Build screen's version picker."""

from __future__ import annotations

import shutil
import time

import pytest

from cnn_tui.runs.compare import config_label
from cnn_tui.runs.history import History, arch_hash
from cnn_tui.runs.store import RunStore
from cnn_tui.spec.templates import get_template
from cnn_tui.tui.runs.runs_table import COLUMN_KEYS

NAMES = ("alpha", "beta", "gamma")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Three finished runs: Beginner/adam, Intermediate/adam, Beginner/sgd (500 images, 1 epoch)."""
    from conftest import require_mnist
    from cnn_tui import api

    mnist_root = require_mnist()
    runs = tmp_path_factory.mktemp("runs")
    common = dict(data_dir=str(mnist_root), runs_dir=str(runs), limit_train=500, limit_test=200,
                  epochs=1, val_size=100)
    ids = []
    for name, template, extra in (("alpha", "beginner", {}), ("beta", "intermediate", {}),
                                  ("gamma", "beginner", {"optimizer": "sgd",
                                                         "learning_rate": 0.05})):
        result = api.train(f"template:{template}", name=name, **common, **extra)
        assert result.status == "finished"
        ids.append(result.run_id)
    return runs, dict(zip(NAMES, ids))


@pytest.fixture
def store(trained, tmp_path, monkeypatch, mnist_root):
    """A private copy of the trained store (tests delete and rename), set as the user's."""
    source, ids = trained
    root = tmp_path / "runs"
    shutil.copytree(source, root)
    monkeypatch.setenv("CNN_TUI_RUNS_DIR", str(root))
    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(mnist_root))
    return RunStore(root), ids


def _app():
    from cnn_tui.tui.app import CnnTuiApp

    return CnnTuiApp(offer_autosave=False)


def _names(screen) -> list[str]:
    return [r.name for r in screen.table.shown]


async def _runs(pilot):
    await pilot.press("4")
    await pilot.pause()
    return pilot.app.screen


async def _sort_by(pilot, table, key: str) -> None:
    """Press s until the table is sorted by column `key` (s cycles through the columns)."""
    for _ in range(len(COLUMN_KEYS)):
        if table.sort_column == key:
            return
        await pilot.press("s")
    assert table.sort_column == key


async def _until(pilot, condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def test_table_sorts_and_filters(store):
    _, ids = store
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs(pilot)
        assert type(screen).__name__ == "RunsScreen"
        table = screen.table
        assert table.row_count == 3 and _names(screen) == ["gamma", "beta", "alpha"]  # newest first
        beta = table.record(ids["beta"])
        assert beta.arch_name == "Intermediate"
        assert beta.best_val_acc > 0.2 and beta.test_acc > 0.2  # above chance
        labels = [str(c.label) for c in table.columns.values()]
        # what tells runs apart first, so it shows at 80 columns
        assert labels[:5] == ["✓", "name", "status", "test acc", "best val"]
        cell = lambda run, key: str(table.get_cell(ids[run], key))  # Text, never markup
        assert cell("beta", "name") == "beta" and cell("beta", "status") == "finished"
        assert cell("beta", "params") == f"{beta.params:,}" and cell("beta", "epochs") == "1/1"
        assert cell("beta", "best_val") == f"{100 * beta.best_val_acc:.2f}%"
        assert cell("beta", "arch") == "Intermediate" and cell("beta", "tags") == ""
        assert table.max_scroll_x == 0  # every drawn column whole at 120 columns
        await _sort_by(pilot, table, "name")
        assert _names(screen) == ["gamma", "beta", "alpha"]
        await pilot.press("S")
        assert _names(screen) == ["alpha", "beta", "gamma"]
        assert "name ▲" in [str(c.label) for c in table.columns.values()]
        await _sort_by(pilot, table, "arch")  # ascending: Beginner x2 then Intermediate
        assert [r.arch_name for r in table.shown] == ["Beginner", "Beginner", "Intermediate"]
        await pilot.press("slash", *"sgd")
        assert _names(screen) == ["gamma"] and table.row_count == 1
        assert "1 match 'sgd'" in str(screen.query_one("#runs-status").render())
        await pilot.press("enter")  # keeps the filter, back to the table
        assert screen.focused is table and _names(screen) == ["gamma"]
        await pilot.press("escape")
        assert table.row_count == 3 and not screen.query_one("#runs-filter").display
        await pilot.press("slash", *"intermediate")
        assert _names(screen) == ["beta"]
        await pilot.press("escape")  # while typing: clears the filter too
        assert table.row_count == 3 and screen.focused is table


async def test_mark_and_compare(store):
    _, ids = store
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs(pilot)
        await pilot.press("c")
        assert type(app.screen).__name__ == "RunsScreen"  # fewer than two marked: refused
        await _sort_by(pilot, screen.table, "name")
        await pilot.press("S")  # by name ascending: alpha, beta, gamma
        await pilot.press("m", "m")  # marks alpha then beta (the cursor moves down)
        assert screen.table.marked == [ids["alpha"], ids["beta"]]
        assert screen.table.get_row(ids["beta"])[0].plain.strip() == "2"
        await pilot.press("c")
        await pilot.pause()
        compare = app.screen
        assert type(compare).__name__ == "CompareScreen"
        metrics = compare.query_one("#compare-metrics")
        params = metrics.get_row("results/parameters")
        alpha, beta = (screen.table.record(ids[n]) for n in ("alpha", "beta"))
        assert params[1].plain == f"{alpha.params:,}"
        assert params[2].plain == f"{beta.params:,} ({beta.params - alpha.params:+,})"
        assert "pp)" in metrics.get_row("results/best val acc")[2].plain
        title = str(compare.query_one("#compare-diff-title").render())
        assert "10 added, 0 removed, 4 changed" in title
        table = compare.query_one("#compare-diff")
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert rows[0][0].plain == "~" and rows[0][6].plain == "filters 8 → 16"
        assert rows[0][4] == "[8, 26, 26] → [16, 26, 26]" and rows[0][5] == "+80"
        assert sum(1 for r in rows if r[0].plain == "+") == 10
        chart = compare.query_one("#compare-chart")
        assert chart.metric == 0
        await pilot.press("v")
        assert chart.metric == 1
        labels = lambda: [table.get_row_at(i)[3].plain.strip() for i in range(table.row_count)]
        keys = lambda: [str(k.value) for k in metrics.rows]
        # differences only at first: the two runs trained with the same settings
        assert "Softmax" not in labels()
        assert not [k for k in keys() if k.startswith("configuration/")]
        heading = metrics.get_row("section-configuration")[0].plain
        assert heading == f"configuration ({len(alpha.config)} same)"
        await pilot.press("d")  # every row: each layer, and every setting of the runs
        assert "Softmax" in labels()
        for key in alpha.config:
            assert f"configuration/{config_label(key)}" in keys()
        assert metrics.get_row("configuration/learning rate")[1].plain == "0.001"
        assert metrics.get_row("data/train images")[1].plain == "500"
        # the headers whole at 120 columns: each run's column as wide as its label, no scroll
        for column in list(metrics.columns.values())[1:]:
            assert column.get_render_width(metrics) >= len(column.label.plain) + 2
        assert metrics.max_scroll_x == 0 and metrics.size.width == 120
        await pilot.press("a")  # the old key still toggles
        assert "Softmax" not in labels()
        await pilot.press("escape")
        assert app.screen is screen


async def test_rename_tag_and_delete_confirmed(store):
    runs, ids = store
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs(pilot)
        assert screen.table.current_id == ids["gamma"]
        await pilot.press("n")
        prompt = app.screen
        prompt.query_one("#path-input").value = "gamma sgd try"
        await pilot.press("enter")
        await pilot.pause()
        assert runs.get(ids["gamma"]).name == "gamma sgd try"
        assert str(screen.table.get_row(ids["gamma"])[1]) == "gamma sgd try"
        await pilot.press("t")
        app.screen.query_one("#path-input").value = "keep, sgd ,keep"
        await pilot.press("enter")
        await pilot.pause()
        assert runs.get(ids["gamma"]).tags == ["keep", "sgd"]
        await pilot.press("slash", *"keep", "enter")
        assert _names(screen) == ["gamma sgd try"]
        await pilot.press("escape", "down")  # the cursor on beta
        assert screen.table.current_id == ids["beta"]
        await pilot.press("d")
        assert type(app.screen).__name__ == "ChoiceDialog"
        await pilot.press("n")  # keep it
        await pilot.pause()
        assert len(runs.list_runs()) == 3
        await pilot.press("d", "y")
        await pilot.pause()
        assert {r.id for r in runs.list_runs()} == {ids["alpha"], ids["gamma"]}
        assert not runs.run_dir(ids["beta"]).exists()
        assert screen.table.row_count == 2


async def test_enter_opens_the_run_in_analyze(store):
    _, ids = store
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs(pilot)
        await pilot.press("down")  # beta, not the newest
        assert screen.table.current_id == ids["beta"]
        await pilot.press("enter")
        await _until(pilot, lambda: app.current_mode == "analyze", what="Analyze")
        analyze = app.screen
        await _until(pilot, lambda: analyze.data is not None
                     and analyze.data.record.id == ids["beta"] or analyze.error is not None,
                     timeout=60, what="the analysis")
        assert analyze.error is None and analyze.pinned == ids["beta"]


async def test_share_code_and_exports(store, tmp_path):
    _, ids = store
    from cnn_tui.spec import sharecode
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs(pilot)
        await pilot.press("x")
        dialog = app.screen
        assert type(dialog).__name__ == "ShareCodeDialog"
        decoded = sharecode.decode(dialog.code)
        assert decoded.layers == get_template("beginner").layers
        assert decoded.training["optimizer"] == "sgd"  # the run's own settings
        await pilot.press("escape")
        for key, name in (("1", "gamma.csv"), ("4", "all.json")):
            await pilot.press("e")
            assert "Export run gamma" in str(app.screen.query_one(".dialog-title").render())
            await pilot.press(key)
            await pilot.pause()
            app.screen.query_one("#path-input").value = str(tmp_path / name)
            await pilot.press("enter")
            await _until(pilot, lambda name=name: (tmp_path / name).exists(), what=name)
        await app.workers.wait_for_complete()
        lines = (tmp_path / "gamma.csv").read_text().splitlines()
        assert lines[0].startswith("run_id,run_name,architecture,epoch") and len(lines) == 2
        assert ids["gamma"] in lines[1]
        import json
        doc = json.loads((tmp_path / "all.json").read_text())
        assert {r["id"] for r in doc["runs"]} == set(ids.values())
        assert screen.table.row_count == 3


async def test_refresh_picks_up_new_runs_and_runs_link_their_versions(store):
    runs, ids = store
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs(pilot)
        history = History(runs.root)
        for run_id in ids.values():  # trained through the API: each recorded its version
            assert history.for_run(runs.get(run_id)).source == "train"
        new = runs.create_run(get_template("lenet5").to_dict(), {"optimizer": "adam",
                              "epochs": 3}, "cpu", name="fresh", params=61706)
        runs.set_status(new, "stopped", "stopped by test")
        await pilot.press("r")
        assert screen.table.row_count == 4 and "fresh" in _names(screen)
        history.close()


async def test_empty_store_says_so_without_creating_it(tmp_path, monkeypatch):
    root = tmp_path / "none"
    monkeypatch.setenv("CNN_TUI_RUNS_DIR", str(root))
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _runs(pilot)
        assert screen.query_one("#runs-empty").display
        assert "No runs yet" in str(screen.query_one("#runs-empty").render())
        await pilot.press("m", "d", "x", "c")  # nothing to act on: notes, no crash
        assert app.screen is screen
    assert not root.exists()


async def test_save_keeps_versions_and_build_steps_back(tmp_path):
    from cnn_tui.spec import edit
    from cnn_tui.spec.model import Layer

    app = _app()
    path = tmp_path / "net.json"
    async with app.run_test(size=(120, 40)) as pilot:
        first = app.document.arch
        assert app.save_to(path)
        changed = edit.insert_after(first, 0, Layer.make("batchnorm")).arch
        app.document.apply(changed, "add batchnorm")
        assert app.save_to(path)
        assert app.save_to(path)  # unchanged: no new version
        history = History()
        kept = history.versions(path=path)
        assert [v.hash for v in kept] == [arch_hash(changed), arch_hash(first)]
        assert kept[0].parent == kept[1].hash and kept[0].source == "save"
        history.close()
        await pilot.press("H")
        picker = app.screen
        assert type(picker).__name__ == "VersionPicker"
        assert picker.query_one("#version-options").option_count == 2
        await pilot.press("enter")  # the version before the current one is highlighted
        await pilot.pause()
        assert app.document.arch == first
        await pilot.press("u")
        assert app.document.arch == changed


async def test_training_from_the_app_keeps_the_version_the_run_links_to(monkeypatch, mnist_root):
    from cnn_tui.spec.model import Architecture
    from cnn_tui.tui.app import CnnTuiApp

    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(mnist_root))
    monkeypatch.setenv("CNN_TUI_LIMIT_TRAIN", "300")
    monkeypatch.setenv("CNN_TUI_LIMIT_TEST", "100")
    arch = get_template("beginner").to_dict()
    arch["training"]["epochs"] = 1
    arch["name"] = "Edited beginner"
    app = CnnTuiApp(Architecture.from_dict(arch), offer_autosave=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        train = app.screen
        await pilot.press("s")
        assert await train.wait_until_ended(120)
        assert train.run_id is not None
        record = RunStore().get(train.run_id)
        history = History()
        version = history.for_run(record)
        assert version is not None and version.source == "train"
        assert version.name == "Edited beginner" and version.hash == arch_hash(app.document.arch)
        history.close()
