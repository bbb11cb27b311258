"""The Analyze screen on real runs: one trained and one stopped early, both on MNIST subsets."""

from __future__ import annotations

import io

import time

import pytest

from cnn_tui.tui.analyze.canvas import DrawCanvas
from cnn_tui.tui.analyze.confusion import ConfusionMatrix, confusion_csv

LIMIT_TEST = 200


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished run (600 training images, 1 epoch) and one stopped after its first steps."""
    from conftest import MNIST_ROOT as mnist_root
    from cnn_tui import api
    from cnn_tui.train.control import Control

    if mnist_root is None:
        pytest.fail("MNIST not found: set CNN_TUI_DATA_DIR to a folder holding MNIST/raw")
    runs = tmp_path_factory.mktemp("runs")
    common = dict(data_dir=str(mnist_root), runs_dir=str(runs), limit_train=600, epochs=1,
                  val_size=100, progress_every=2)
    control = Control()

    def stop_early(event):
        if type(event).__name__ == "BatchEnd":
            control.stop()

    stopped = api.train("template:beginner", callbacks=[stop_early], control=control,
                        limit_test=LIMIT_TEST, **common)
    finished = api.train("template:beginner", limit_test=LIMIT_TEST, **common)
    assert stopped.status == "stopped" and finished.status == "finished"
    return runs, finished, stopped


@pytest.fixture
def env(monkeypatch, trained, mnist_root):
    runs, finished, stopped = trained
    monkeypatch.setenv("CNN_TUI_RUNS_DIR", str(runs))
    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(mnist_root))
    return finished, stopped


def AnalyzeApp(run_id=None):
    """The real app; `loaded` presses 3 for Analyze (the newest run, or `run_id` when given)."""
    from cnn_tui.tui.app import CnnTuiApp
    app = CnnTuiApp(offer_autosave=False)
    app.analyze_run_id = run_id
    return app


async def loaded(pilot, timeout: float = 60.0):
    await pilot.press("3")
    screen = pilot.app.screen
    run_id = pilot.app.analyze_run_id
    if run_id is not None:
        screen.show_run(run_id)
    deadline = time.monotonic() + timeout
    while (screen.data is None or (run_id and screen.data.record.id != run_id)) \
            and screen.error is None:
        assert time.monotonic() < deadline, "analysis did not load"
        await pilot.pause(0.05)
    await pilot.pause()
    return screen


async def export_to(pilot, path) -> None:
    """Press `e`, replace the suggested path with `path`, accept."""
    await pilot.press("e")
    await pilot.pause()
    prompt = pilot.app.screen
    entry = prompt.query_one("#path-input")
    assert entry.value.endswith((".csv", ".txt"))  # a file name in the current folder is offered
    entry.value = str(path)
    await pilot.press("enter")
    await pilot.pause()


async def wait_for(pilot, condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not in {timeout} s"
        await pilot.pause(0.05)
    await pilot.pause()


async def test_confusion_metrics_predictions_and_csv_exports(env, tmp_path):
    finished, _ = env
    async with AnalyzeApp().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert screen.error is None and screen.record.id == finished.run_id  # the newest run
        matrix = screen.query_one(ConfusionMatrix)
        assert matrix.total == LIMIT_TEST
        assert matrix.matrix == finished.confusion_matrix
        assert screen.query_one("#metrics-table").row_count == 12  # 10 classes + 2 averages
        await export_to(pilot, tmp_path / "cm.csv")
        assert (tmp_path / "cm.csv").read_text() == confusion_csv(finished.confusion_matrix)
        await pilot.press("v")  # metrics view
        await export_to(pilot, tmp_path / "metrics.csv")
        lines = (tmp_path / "metrics.csv").read_text().splitlines()
        assert lines[0] == "class,precision,recall,f1,support" and len(lines) == 13
        assert lines[-1].startswith("weighted avg,") and lines[-1].endswith(f",{LIMIT_TEST}")
        await pilot.press("v", "v")  # Predictions: its table takes the keys at once
        await pilot.pause()
        preds = screen.view("preds")
        table = screen.query_one("#preds-table")
        assert pilot.app.focused is table
        assert table.row_count == LIMIT_TEST
        await pilot.press("w")
        await pilot.pause()
        assert table.row_count == len(screen.data.mistakes())
        await pilot.press("down")
        await pilot.pause()
        second = screen.data.mistakes()[1]
        assert preds.selected == second and screen.image == second
        bars = str(screen.query_one("#preds-bars").render())
        assert bars.count("%") == 10 and "<" in bars and "=" in bars
        grid = screen.query_one("#preds-grid").content.plain  # the digits around the selection
        d = screen.data
        assert f"{int(d.labels[second])}→{int(d.preds[second])} " in grid and "✗" in grid
        screen.query_one("#analyze-tabs").active = "tab-weights"
        await pilot.pause()
        await export_to(pilot, tmp_path / "weights.csv")
        rows = (tmp_path / "weights.csv").read_text().splitlines()
        assert rows[0] == "layer,bin_low,bin_high,count" and rows[1].startswith("0:conv2d,")
        # trained through the API, outside this app: its gradient norms were recorded too
        header = rows.index("epoch,step,layer,grad_norm")
        assert rows[header + 1].startswith("1,1,0:conv2d,")
        assert "gradient norm per layer" in str(screen.query_one("#weights-grads").render())


async def test_feature_maps_draw_canvas_and_text_exports(env, tmp_path):
    async with AnalyzeApp().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("v", "v")
        assert screen.query_one("#analyze-tabs").active == "tab-maps"
        maps = screen.view("maps")
        layers = screen.data.layers
        assert [l.label for l in layers][:2] == ["0:conv2d", "1:relu"]
        assert maps.current_layer.shape == (8, 26, 26)
        await pilot.press("full_stop", "full_stop")
        assert maps.channel == 2
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        assert maps.current_layer.label == "3:conv2d" and maps.current_layer.shape == (16, 11, 11)
        assert maps.channel == 0
        await pilot.press("n", "n")
        await pilot.pause()
        assert maps.image == 2 and screen.image == 2
        await pilot.press("m")  # the most confident mistake
        await pilot.pause()
        d = screen.data
        assert maps.image == d.mistakes()[0] and d.preds[maps.image] != d.labels[maps.image]
        await pilot.press("c")
        await pilot.pause()
        assert d.labels[maps.image] == (d.labels[d.mistakes()[0]] + 1) % 10
        info = str(screen.query_one("#maps-info").render())
        assert "layer 3:conv2d" in info and "channel 1/16" in info
        await export_to(pilot, tmp_path / "maps.txt")
        text = (tmp_path / "maps.txt").read_text()
        assert text.startswith("input\n")
        assert text.count("\nchannel ") == 16
        block = text.split("channel 0 ")[1].splitlines()[1:7]  # an 11x11 map: 6 lines of 11 cells
        assert all(len(line) == 11 and set(line) <= set(" ░▒▓█") for line in block)

        await pilot.press("v", "v")  # Draw: the canvas takes the keys at once
        await pilot.pause()
        draw = screen.view("draw")
        assert pilot.app.focused is screen.query_one(DrawCanvas)
        assert "draw a digit" in str(screen.query_one("#draw-bars").render())
        await pilot.press("up", "up", "up", "up", *(["space", "down"] * 9))  # a vertical stroke
        await pilot.pause()
        probs = draw.probs
        assert probs is not None and abs(sum(probs) - 1.0) < 1e-4
        assert "prediction:" in str(screen.query_one("#draw-bars").render())
        await export_to(pilot, tmp_path / "drawing.txt")
        text = (tmp_path / "drawing.txt").read_text()
        assert text.startswith("drawing\n") and "█" in text and text.count("%") == 10
        await pilot.press("w")  # the drawing's feature maps
        await pilot.pause()
        assert maps.use_drawing and screen.query_one("#analyze-tabs").active == "tab-maps"
        assert "the drawing" in str(screen.query_one("#maps-info").render())
        assert pilot.app.focused is screen.query_one("#maps-scroll")

        screen.query_one("#analyze-tabs").active = "tab-profile"  # measured on this machine
        await pilot.pause()
        profile = screen.view("profile")
        await wait_for(pilot, lambda: profile.profile is not None, "the profile")
        rows = profile.profile
        assert [r.label for r in rows][:3] == ["0:conv2d", "1:relu", "2:maxpool2d"]
        assert rows[0].shape == (8, 26, 26) and rows[0].macs == 8 * 26 * 26 * 10  # 9 + bias
        assert all(r.memory_bytes == r.estimate_bytes for r in rows)  # float32 on the CPU
        assert all(r.forward_ms >= 0 and r.backward_ms >= 0 for r in rows)
        assert "per-layer profile on cpu" in screen.query_one("#profile-table").content.title
        await export_to(pilot, tmp_path / "profile.csv")
        lines = (tmp_path / "profile.csv").read_text().splitlines()
        assert lines[0].startswith("layer,output_shape,forward_ms") and len(lines) == 1 + len(rows)


async def test_stopped_run_is_evaluated_from_its_checkpoint(env):
    _, stopped = env
    async with AnalyzeApp(stopped.run_id).run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert screen.error is None and screen.data.computed
        assert screen.query_one(ConfusionMatrix).total == LIMIT_TEST  # the run's own test subset
        status = str(screen.query_one("#analyze-status").render())
        assert "computed from its last checkpoint: the run stopped" in status


async def test_empty_store_says_what_to_do_and_the_data_view_still_works(monkeypatch, tmp_path,
                                                                         mnist_root):
    monkeypatch.setenv("CNN_TUI_RUNS_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(mnist_root))
    from cnn_tui.tui.analyze.data_browser import DataBrowser
    async with AnalyzeApp().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert screen.data is None and "no trained run yet" in screen.error
        await pilot.press("e")  # nothing to export: a notice, no crash
        await pilot.pause()
        assert screen is pilot.app.screen
        screen.query_one("#analyze-tabs").active = "tab-data"  # MNIST needs no run
        browser = screen.query_one(DataBrowser)
        deadline = time.monotonic() + 60
        while browser.images is None:
            assert time.monotonic() < deadline and browser.error is None, browser.error
            await pilot.pause(0.05)
        await pilot.pause()
        assert pilot.app.focused is browser
        assert "class 0 · 5,923 images · page 1/" in browser.heading()
        per_page = browser.per_page
        assert per_page == 7 * 4  # 15 columns a digit, 8 rows: 4 rows of 7 at 120x40
        await pilot.press("c", "n")
        assert "class 1 · 6,742 images · page 2/" in browser.heading()
        shown = browser.page_indices()
        assert all(int(browser.labels[i]) == 1 for i in shown) and len(shown) == per_page
        await export_to(pilot, tmp_path / "digits.txt")
        text = (tmp_path / "digits.txt").read_text()
        assert text.count(" label 1\n") == per_page and text.startswith("training set · class 1")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_analyze_screen_snapshot_without_runs(snap_compare, monkeypatch, tmp_path, size, with_mnist):
    """Analyze with an empty store: it says what to do. (A trained run's picture depends on
    run ids, times and CPU arithmetic, so the loaded views are checked by the tests above.)
    Regenerate after a deliberate change: pytest tests/test_tui_analyze.py --snapshot-update"""
    from cnn_tui.tui.app import CnnTuiApp
    monkeypatch.setenv("CNN_TUI_RUNS_DIR", str(tmp_path / "none"))

    async def open_analyze(pilot):
        await pilot.press("3")
        screen = pilot.app.screen
        while screen.error is None:
            await pilot.pause(0.05)
        await pilot.pause()

    assert snap_compare(CnnTuiApp(offer_autosave=False), run_before=open_analyze,
                        terminal_size=size)


# -- the views at once, at 80x24, the help, the picker, the overwrite question -----------------

async def test_each_view_takes_the_keys_at_once_even_pressed_fast(env):
    """`v` pressed faster than the views switch lands where it should, and the view shown
    has the focus: never the tab strip."""
    from textual.widgets import Tabs

    async with AnalyzeApp().run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("v", "v", "v", "v")  # no pause between: Draw
        await pilot.pause()
        assert screen.query_one("#analyze-tabs").active == "tab-draw"
        canvas = screen.query_one(DrawCanvas)
        assert pilot.app.focused is canvas
        await pilot.press("left", "space")  # paints at once, no tab needed
        assert canvas.pixels[14][13] == 1.0
        assert "▀" in canvas.render().plain or "▄" in canvas.render().plain  # the brush shows
        assert not any(isinstance(w, Tabs) for w in screen.focus_chain)
        await pilot.press("V")  # Predictions: down / j move the table at once
        await pilot.pause()
        table = screen.query_one("#preds-table")
        assert pilot.app.focused is table
        await pilot.press("j", "j", "down", "j")
        await pilot.pause()
        preds = screen.view("preds")
        assert table.cursor_row == 4 and preds.selected == 4 and screen.image == 4
        # the detail panel shows the selected prediction, and Feature maps follow it
        assert screen.query_one("#preds-digit").caption.startswith("#4 label ")
        await pilot.press("V")
        await pilot.pause()
        maps = screen.view("maps")
        assert maps.image == 4 and "test image #4 " in str(screen.query_one("#maps-info").render())
        await pilot.press("n", "n", "n")  # fast: each one counts, none undone by a late echo
        await pilot.pause()
        assert maps.image == 7 and screen.image == 7
        await pilot.press("v")  # the table went along, and its detail with it
        await pilot.pause()
        assert table.cursor_row == 7 and preds.selected == 7
        assert screen.query_one("#preds-digit").caption.startswith("#7 label ")


async def test_feature_maps_at_80x24_keep_the_channel_and_point_to_the_grid(env):
    async with AnalyzeApp().run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("v", "v")
        await pilot.pause()
        keys = str(screen.query_one("#maps-keys").render())
        for key in ("[ ]", ", .", "n p", "m", "c", "g"):
            assert key in keys
        info = str(screen.query_one("#maps-info").render())
        assert "channel 1/8" in info and "layer 0:conv2d" in info
        more = screen.query_one("#maps-more")
        assert more.display and "grid of all 8 channels is below" in str(more.render())
        scroll = screen.query_one("#maps-scroll")
        assert pilot.app.focused is scroll
        await pilot.press("end")  # the arrows and page keys scroll to it
        await pilot.pause(0.3)
        assert scroll.scroll_y > 0 and not more.display
        await pilot.press("full_stop")
        await pilot.pause()
        assert "channel 2/8" in str(screen.query_one("#maps-info").render())


async def test_the_confusion_matrix_keeps_its_total_column_at_80_columns(env):
    from rich.console import Console

    finished, _ = env
    async with AnalyzeApp().run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        await pilot.pause()
        matrix = screen.query_one(ConfusionMatrix)
        room = screen.query_one("#confusion-scroll").size.width
        assert 0 < matrix.outer_size.width <= room  # nothing to scroll to: all of it shows
        console = Console(width=matrix.size.width, record=True, color_system=None,
                          file=io.StringIO())  # not the terminal: the app holds sys.stdout
        console.print(matrix.content)
        lines = console.export_text().splitlines()
        header = next(line for line in lines if line.lstrip().startswith("true"))
        assert header.rstrip().endswith("total")
        for r, row in enumerate(finished.confusion_matrix):
            line = next(line for line in lines if line.split()[:1] == [str(r)])
            assert line.split()[-1] == str(sum(row))  # the row's total, whole
        assert lines[-1].split()[0] == "total" and lines[-1].split()[-1] == str(LIMIT_TEST)


async def test_help_renders_keys_and_texts_without_markup_or_backticks(env):
    from cnn_tui.tui.common.help import HelpScreen

    async with AnalyzeApp().run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("v", "v")  # Feature maps: keys `[` and `]`, a HELP text with backticks
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        shown = "\n".join(str(static.render()) for static in help_screen.query("Static"))
        assert "[/b]" not in shown and "[[" not in shown and "`" not in shown
        lines = [line.strip() for line in shown.splitlines()]
        layer_prev = next(line for line in lines if line.endswith("analyze.layer_prev"))
        assert layer_prev.split()[:2] == ["[", "Layer-"]
        assert any(line.split()[:2] == ["]", "Layer+"] for line in lines)
        assert "Feature maps: [/] layer, ,/. channel" in " ".join(lines)  # the view's own help
        assert "config.toml: [keys] then binding-id" in " ".join(lines)


def test_help_text_styles_backticked_keys_and_keeps_the_rest_plain():
    from cnn_tui.tui.common.help import help_text

    content = help_text("press `[`/`]` then [b]x[/b] and a lone ` stays")
    assert content.plain == "press [/] then [b]x[/b] and a lone ` stays"
    bold = [content.plain[s.start:s.end] for s in content.spans]
    assert bold == ["[", "]"]


def _picker_records():
    from cnn_tui.runs.store import RunStore
    store = RunStore()
    try:
        return store.list_runs()
    finally:
        store.close()


async def test_open_run_picker_filters_as_you_type_and_opens_the_choice(env):
    from cnn_tui.tui.runs.run_picker import RunPicker

    finished, stopped = env
    async with AnalyzeApp().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("o")
        await pilot.pause()
        picker = pilot.app.screen
        assert isinstance(picker, RunPicker)
        table = picker.query_one("#picker-table")
        labels = [str(c.label) for c in table.ordered_columns]
        assert labels[:6] == ["name", "status", "test acc", "best val", "epochs", "architecture"]
        assert [r.id for r in picker.shown] == [finished.run_id, stopped.run_id]  # newest first
        assert picker.selected == finished.run_id  # the run shown
        await pilot.press(*"stop")  # typing filters
        await pilot.pause()
        assert [r.id for r in picker.shown] == [stopped.run_id] and table.row_count == 1
        await pilot.press(*"zzz")
        await pilot.pause()
        assert picker.shown == [] and "no run matches 'stopzzz'" in str(
            picker.query_one("#picker-count").render())
        await pilot.press("enter")  # nothing to open: it stays
        assert pilot.app.screen is picker
        for _ in range(3):
            await pilot.press("backspace")
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.screen is screen
        await wait_for(pilot, lambda: screen.data is not None
                       and screen.data.record.id == stopped.run_id, "the chosen run")
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("escape")  # cancels: the run shown stays
        await pilot.pause()
        assert pilot.app.screen is screen and screen.pinned == stopped.run_id


async def test_export_asks_before_replacing_a_file(env, tmp_path):
    from cnn_tui.tui.common.confirm import ChoiceDialog

    target = tmp_path / "cm.csv"
    target.write_text("mine\n")
    async with AnalyzeApp().run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        await export_to(pilot, target)
        dialog = pilot.app.screen
        assert isinstance(dialog, ChoiceDialog) and str(target) in dialog.question
        await pilot.press("n")  # keep it: the prompt again, to change the name
        await pilot.pause()
        assert target.read_text() == "mine\n"
        prompt = pilot.app.screen
        assert prompt.query_one("#path-input").value == str(target)
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen and target.read_text() == "mine\n"
        await export_to(pilot, target)
        await pilot.press("y")  # replace
        await pilot.pause()
        assert pilot.app.screen is screen
        assert target.read_text() == confusion_csv(screen.data.evaluation["confusion_matrix"])


async def test_view_keys_can_be_rebound_in_the_config(env):
    from cnn_tui import locations

    folder = locations.config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text('[keys]\n"analyze.draw_paint" = "f7"\n'
                                        '"analyze.layer_next" = "l"\n', encoding="utf-8")
    async with AnalyzeApp().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert not pilot.app.startup_problems  # both ids are known, neither key clashes
        await pilot.press("v", "v", "l")
        await pilot.pause()
        assert screen.view("maps").layer_pos == 1
        await pilot.press("v", "v", "f7")
        await pilot.pause()
        assert screen.query_one(DrawCanvas).ink > 0


async def test_analyze_follows_a_run_started_from_train_and_loads_it_once_when_it_ends(
        env, monkeypatch):
    """`2` `s` `3` at once: the run is not in the store yet when Analyze shows again, so the
    run feed's news says a new run started; Analyze follows it, says it trains, and loads its
    results once when it ends (the 1 s store check does not restart a load in flight)."""
    from cnn_tui.tui.train.settings_form import TrainingForm

    monkeypatch.setenv("CNN_TUI_THREADS", "1")
    monkeypatch.setenv("CNN_TUI_LIMIT_TRAIN", "6000")  # a few seconds: long enough to be seen
    monkeypatch.setenv("CNN_TUI_LIMIT_TEST", str(LIMIT_TEST))
    finished, _ = env
    async with AnalyzeApp().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert screen.record.id == finished.run_id
        await pilot.press("2")
        await pilot.pause()
        form = pilot.app.screen.query_one(TrainingForm)
        form.set_field("epochs", "3")
        form.set_field("val_size", "200")
        await pilot.pause()
        await pilot.press("s", "3")
        assert pilot.app.screen is screen
        said: list[str] = []  # the status when Analyze took the new run up

        def following() -> bool:
            if screen.training_run in (None, finished.run_id):
                return False
            said.append(str(screen.query_one("#analyze-status").render()))
            return True

        await wait_for(pilot, following, "the new run followed", timeout=120)
        new_run = screen.training_run
        assert "training: epoch" in said[0] and f"below: run {finished.run_id}" in said[0]
        await wait_for(pilot, lambda: screen.data.record.id == new_run, "its results",
                       timeout=180)
        assert screen.training_run is None and screen.record.status == "finished"
        # a load in flight is not started again by the periodic check
        screen.training_run = new_run
        screen.reload()
        first = screen._load_worker
        screen._check_training_run()
        assert screen._load_worker is first
        await wait_for(pilot, lambda: not screen._loading, "the load")
