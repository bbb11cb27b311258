"""The Runs screen's keys on a real run store (runs recorded through RunStore, no training): the
cursor stays on the same run across filters, sorts and refreshes (so `d` asks about the run
under the cursor), j/k/g/G/home/end, pinned baselines on top and in every comparison, the
columns fitted to the width with the run id always shown, tags shown."""

from __future__ import annotations

import pytest

from cnn_tui.runs.store import RunStore
from cnn_tui.spec.templates import get_template
from cnn_tui.tui.app import CnnTuiApp
from cnn_tui.tui.runs.runs_table import (COLUMN_KEYS, COLUMNS, NAME_MIN, PAD, PIN, fit_columns,
                                         sort_records)

# name, template, test accuracy, tags (oldest first: the table shows them newest first)
RUNS = (("one", "beginner", 0.91, ["keep"]), ("two", "intermediate", 0.97, []),
        ("three", "lenet5", 0.95, ["keep", "lenet"]), ("four", "beginner", 0.93, []),
        ("five", "beginner", 0.90, ["keep"]))


@pytest.fixture
def runs(tmp_path):
    """Five finished runs in a real store; the app's settings point at it."""
    store = RunStore(tmp_path / "runs")
    ids = {}
    for name, template, acc, tags in RUNS:
        arch = get_template(template)
        run_id = store.create_run(arch.to_dict(), arch.training_config(), "cpu", name=name,
                                  tags=tags, params=1000)
        store.finish(run_id, "finished", {"test_acc": acc, "test_loss": 1 - acc})
        ids[name] = run_id
    return store, ids


def _app(store: RunStore) -> CnnTuiApp:
    from cnn_tui.settings import Settings

    return CnnTuiApp(offer_autosave=False, settings=Settings.from_env(runs_dir=store.root))


async def _runs(pilot):
    await pilot.press("4")
    await pilot.pause()
    return pilot.app.screen


def _names(table) -> list[str]:
    return [r.name for r in table.shown]


async def test_d_asks_about_the_run_under_the_cursor_after_a_filter(runs):
    """The issue's reproduction: 4, cursor on row 3, / keep escape, j j, d."""
    store, ids = runs
    app = _app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs(pilot)
        table = screen.table
        assert _names(table) == ["five", "four", "three", "two", "one"]
        await pilot.press("down", "down")
        assert table.current_id == ids["three"]
        await pilot.press("slash", *"keep")
        assert _names(table) == ["five", "three", "one"]
        assert table.current_id == ids["three"]  # still on it, now row 2
        await pilot.press("escape")
        assert table.row_count == 5 and table.current_id == ids["three"]
        await pilot.press("j", "j")
        assert table.current_id == ids["one"] and table.cursor_row == 4
        await pilot.press("d")
        dialog = app.screen
        assert type(dialog).__name__ == "ChoiceDialog"
        assert f"'one' ({ids['one']})" in str(dialog.query_one(".dialog-body").render())
        await pilot.press("y")
        await pilot.pause()
        assert ids["one"] not in {r.id for r in store.list_runs()}
        assert len(store.list_runs()) == 4


async def test_a_filter_typed_in_one_burst_goes_to_the_filter(runs):
    """`/keep` arriving at once (a paste, keys batched by a slow ssh link): every key after
    `/` is the filter's, none sorts or exports behind it."""
    from textual import events

    store, ids = runs
    app = _app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs(pilot)
        table = screen.table
        sort = table.sort_column
        for key, char in (("slash", "/"), ("k", "k"), ("e", "e"), ("e", "e"), ("p", "p")):
            app.post_message(events.Key(key, char))  # no pause between them
        await pilot.pause(0.3)
        assert screen.query_one("#runs-filter").value == "keep"
        assert _names(table) == ["five", "three", "one"]
        assert table.sort_column == sort and type(app.screen).__name__ == "RunsScreen"


async def test_a_hidden_run_gets_the_cursor_back_and_sorts_and_refreshes_keep_it(runs):
    store, ids = runs
    app = _app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs(pilot)
        table = screen.table
        await pilot.press("k", "j", "j", "j")  # k at the top stays there
        assert table.current_id == ids["two"]
        await pilot.press("slash", *"keep", "enter")  # "two" has no tag: hidden
        assert table.current_id == ids["one"]  # as near its row as the filter allows
        await pilot.press("escape")
        assert table.current_id == ids["two"]  # back on the run the user chose
        await pilot.press("S")  # oldest first: "two" moves from row 3 to row 1
        assert _names(table)[1] == "two" and table.current_id == ids["two"]
        await pilot.press("s")  # another column
        assert table.current_id == ids["two"]
        arch = get_template("lenet5")
        new = store.create_run(arch.to_dict(), arch.training_config(), "cpu", name="six")
        store.finish(new, "finished", {"test_acc": 0.5})
        await pilot.press("r")  # a new run above it in the table
        assert table.row_count == 6 and table.current_id == ids["two"]
        # a user's move while the chosen run was hidden makes the new one the run to keep
        await pilot.press("slash", *"keep", "enter")
        await pilot.press("j")
        chosen = table.current_id
        assert chosen != ids["two"]
        await pilot.press("escape")
        assert table.current_id == chosen


async def test_g_G_home_end_go_to_the_first_and_last_run(runs):
    store, ids = runs
    app = _app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _runs(pilot)
        table = screen.table
        await pilot.press("G")
        assert table.current_id == ids["one"]
        await pilot.press("g")
        assert table.current_id == ids["five"]
        await pilot.press("end")
        assert table.cursor_row == 4
        await pilot.press("home")
        assert table.cursor_row == 0


async def test_a_pinned_baseline_stays_on_top_and_is_in_every_comparison(runs):
    store, ids = runs
    app = _app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs(pilot)
        table = screen.table
        await pilot.press("j", "j", "j")  # "two"
        await pilot.press("b")
        await pilot.pause()
        assert store.get(ids["two"]).pinned
        assert _names(table)[0] == "two" and table.current_id == ids["two"]
        assert table.get_row(ids["two"])[0].plain.startswith(PIN)
        assert f"{PIN} 1 baseline" in str(screen.query_one("#runs-status").render())
        for _ in COLUMN_KEYS:  # whatever the sort, either way
            await pilot.press("s")
            assert _names(table)[0] == "two"
            await pilot.press("S")
            assert _names(table)[0] == "two"
        # c without marks: the baseline against the run under the cursor
        await pilot.press("G")
        under = table.current_id
        await pilot.press("c")
        await pilot.pause()
        compare = app.screen
        assert type(compare).__name__ == "CompareScreen"
        assert [r.id for r in compare.records] == [ids["two"], under]
        headers = [str(c.label) for c in compare.query_one("#compare-metrics").columns.values()]
        assert headers[1] == f"1 {PIN} two"
        await pilot.press("escape")
        # marked runs: the baseline first though it is not marked
        await pilot.press("g", "j", "m", "m")
        marked = list(table.marked)
        assert ids["two"] not in marked and len(marked) == 2
        await pilot.press("c")
        await pilot.pause()
        assert [r.id for r in app.screen.records] == [ids["two"], *marked]
        await pilot.press("escape")
        await pilot.press("g", "b")  # unpin
        await pilot.pause()
        assert not store.get(ids["two"]).pinned
        assert PIN not in str(screen.query_one("#runs-status").render())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_columns_fit_the_width_and_the_run_id_is_always_shown(runs, size):
    store, ids = runs
    store.rename(ids["three"], "three, trained again with a much longer name than fits")
    app = _app(store)
    async with app.run_test(size=size) as pilot:
        screen = await _runs(pilot)
        table = screen.table
        drawn = [str(k.value) for k in table.columns]
        assert drawn[:6] == ["mark", "name", "status", "test", "best_val", "epochs"]
        # nothing cut: no horizontal scroll, every header whole
        assert table.max_scroll_x == 0
        for column in table.columns.values():
            assert column.get_render_width(table) >= len(column.label.plain) + PAD
        if size[0] >= 120:
            assert "tags" in drawn and str(table.get_cell(ids["three"], "tags")) == "keep, lenet"
        await pilot.press("j", "j")
        assert table.current_id == ids["three"]
        detail = str(screen.query_one("#runs-detail").render())
        assert f"run id {ids['three']}" in detail  # what --resume takes, after the rename
        assert "a much longer name than fits" in detail  # the name the column cuts
        for key in table.hidden:  # each column left out is in the detail line
            column = next(c for c in COLUMNS if c.key == key)
            if key != "id" and column.cell(table.record(ids["three"])) not in ("", "—"):
                assert f"{column.label} " in detail


def test_fit_columns_keeps_order_and_gives_the_rest_to_the_name():
    widths = {c.key: 8 for c in COLUMNS} | {"name": 30}
    fitted = fit_columns(widths, 70)
    assert list(fitted) == [k for k in COLUMN_KEYS if k in fitted]
    assert sum(w + PAD for w in fitted.values()) <= 70
    assert fitted["name"] >= NAME_MIN and list(fitted)[:3] == ["name", "status", "test"]
    roomy = fit_columns(widths, 1000)
    assert list(roomy) == list(COLUMN_KEYS) and roomy["name"] == 30


def test_pinned_runs_sort_first_either_way(runs):
    store, ids = runs
    store.set_pinned(ids["one"], True)
    records = store.list_runs()
    for key in COLUMN_KEYS:
        for reverse in (False, True):
            assert sort_records(records, key, reverse)[0].id == ids["one"]


async def test_compare_diff_gives_its_room_away_when_the_layers_are_the_same(runs):
    store, ids = runs
    app = _app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await _runs(pilot)
        await pilot.press("m", "m", "m", "c")  # five, four (both Beginner), three (LeNet-5)
        await pilot.pause()
        compare = app.screen
        side = compare.query_one("#compare-diff-side")
        assert "same layers" in str(compare.query_one("#compare-diff-title").render())
        assert side.has_class("empty")
        await pilot.press("right_square_bracket")  # five against three
        assert compare.other == 2 and not side.has_class("empty")
        assert compare.query_one("#compare-diff").row_count > 0
        await pilot.press("right_square_bracket")  # back to four
        assert compare.other == 1 and side.has_class("empty")


async def test_compare_chart_can_have_the_whole_screen_at_80x24(runs):
    """At 80x24 the chart is 8 rows high: tab reaches it and `z` gives it the whole screen."""
    from cnn_tui.tui.runs.compare import CompareChart
    store, _ = runs
    app = _app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await _runs(pilot)
        await pilot.press("m", "m", "c")
        await pilot.pause()
        compare = app.screen
        chart = compare.query_one(CompareChart)
        small = chart.size.height
        for _ in range(4):
            if compare.focused is chart:
                break
            await pilot.press("tab")
        assert compare.focused is chart
        await pilot.press("z")
        await pilot.pause()
        assert compare.maximized is chart and chart.size.height > 2 * small
        await pilot.press("z")
        await pilot.pause()
        assert compare.maximized is None and chart.size.height == small
        await pilot.press("z", "escape")  # escape first gives the screen back, then leaves
        await pilot.pause()
        assert app.screen is compare and compare.maximized is None
