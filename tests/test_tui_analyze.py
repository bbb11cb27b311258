"""The Analyze screen on real runs: one trained and one stopped early, both on MNIST subsets."""

from __future__ import annotations

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
        screen.query_one("#analyze-tabs").active = "tab-preds"
        await pilot.pause()
        table = screen.query_one("#preds-table")
        assert table.row_count == LIMIT_TEST
        await pilot.press("w")
        assert table.row_count == len(screen.data.mistakes())
        table.focus()
        await pilot.press("down")
        await pilot.pause()
        second = screen.data.mistakes()[1]
        assert screen.image == second
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
        layers = screen.data.layers
        assert [l.label for l in layers][:2] == ["0:conv2d", "1:relu"]
        assert screen.layer.shape == (8, 26, 26)
        await pilot.press("full_stop", "full_stop")
        assert screen.channel == 2
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        assert screen.layer.label == "3:conv2d" and screen.layer.shape == (16, 11, 11)
        assert screen.channel == 0
        await pilot.press("n", "n")
        assert screen.image == 2
        await pilot.press("m")  # the most confident mistake
        d = screen.data
        assert screen.image == d.mistakes()[0] and d.preds[screen.image] != d.labels[screen.image]
        await pilot.press("c")
        assert d.labels[screen.image] == (d.labels[d.mistakes()[0]] + 1) % 10
        info = str(screen.query_one("#maps-info").render())
        assert "layer 3:conv2d" in info and "channel 1/16" in info
        await export_to(pilot, tmp_path / "maps.txt")
        text = (tmp_path / "maps.txt").read_text()
        assert text.startswith("input\n")
        assert text.count("\nchannel ") == 16
        block = text.split("channel 0 ")[1].splitlines()[1:7]  # an 11x11 map: 6 lines of 11 cells
        assert all(len(line) == 11 and set(line) <= set(" ░▒▓█") for line in block)
        screen.query_one("#analyze-tabs").active = "tab-draw"
        await pilot.pause()
        screen.query_one(DrawCanvas).focus()
        assert "draw a digit" in str(screen.query_one("#draw-bars").render())
        await pilot.press("up", "up", "up", "up", *(["space", "down"] * 9))  # a vertical stroke
        await pilot.pause()
        probs = screen._probs_drawn
        assert probs is not None and abs(sum(probs) - 1.0) < 1e-4
        assert "prediction:" in str(screen.query_one("#draw-bars").render())
        await export_to(pilot, tmp_path / "drawing.txt")
        text = (tmp_path / "drawing.txt").read_text()
        assert text.startswith("drawing\n") and "█" in text and text.count("%") == 10
        await pilot.press("w")  # the drawing's feature maps
        assert screen.use_drawing and screen.query_one("#analyze-tabs").active == "tab-maps"
        assert "the drawing" in str(screen.query_one("#maps-info").render())

        screen.query_one("#analyze-tabs").active = "tab-profile"  # measured on this machine
        deadline = time.monotonic() + 60
        while screen.profile is None:
            assert time.monotonic() < deadline, "profile did not finish"
            await pilot.pause(0.05)
        await pilot.pause()
        rows = screen.profile
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
        assert per_page % 4 == 0 and per_page >= 24  # 15 columns a digit, 4 rows a page
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
