"""The Train screen driven through a real Textual pilot, training on a real MNIST subset.

One test walks the whole path a user takes: start (with the form edited), pause, resume,
stop (confirmed), resume the stopped run with `r` to the end, then open Analyze on that run
and check its confusion matrix counts every test image once.
"""

from __future__ import annotations

import time

import pytest
from textual import events

from cnn_tui.spec.model import Layer
from cnn_tui.spec.templates import beginner
from cnn_tui.tui import messages as M
from cnn_tui.tui.training_worker import ProgressRelay
from cnn_tui.tui.widgets.training_form import TrainingForm

LIMIT_TRAIN, LIMIT_TEST = 2000, 500


def make_app(arch=None):
    """The real app, on the Train screen's mode after `2` (as a user gets there)."""
    from cnn_tui.tui.app import CnnTuiApp
    return CnnTuiApp(arch or beginner(), offer_autosave=False)


async def open_train(pilot):
    await pilot.press("2")
    await pilot.pause()
    from cnn_tui.tui.screens.train import TrainScreen
    assert isinstance(pilot.app.screen, TrainScreen)
    return pilot.app.screen


def send_keys(app, *keys: str) -> None:
    for key in keys:
        app.post_message(events.Key(key, " " if key == "space" else key))


async def wait_for(pilot, condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


@pytest.fixture
def subset_env(monkeypatch, mnist_root):
    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(mnist_root))
    monkeypatch.setenv("CNN_TUI_LIMIT_TRAIN", str(LIMIT_TRAIN))
    monkeypatch.setenv("CNN_TUI_LIMIT_TEST", str(LIMIT_TEST))


def test_relay_bounds_batch_messages_and_keeps_every_point():
    from cnn_tui.train.events import BatchEnd, EpochEnd

    posted = []
    now = [0.0]
    relay = ProgressRelay(posted.append, min_interval=0.1, clock=lambda: now[0])
    for step in range(1, 101):  # 100 batch events within 0.05 s of "time"
        now[0] += 0.0005
        relay(BatchEnd(1, step, 100, 0.5, 0.9, 1e-3, 1000.0, step * 64))
    relay(EpochEnd(1, 1, 0.5, 0.9, 0.4, 0.91, 1e-3, 1.0, 1000.0, True))
    batches = [m for m in posted if isinstance(m, M.BatchProgress)]
    assert len(relay.history.batches) == 100  # the charts lose nothing
    assert len(batches) == 2  # the first one, then the epoch's last step
    assert batches[-1].event.step == 100 and batches[-1].points == 100
    assert isinstance(posted[-1], M.EpochFinished)
    assert batches[0].can_replace(batches[1])
    assert not posted[-1].can_replace(batches[0])


async def test_start_is_blocked_while_the_architecture_has_errors():
    arch = beginner()
    arch.layers.insert(0, Layer.make("dense", units=10))  # dense on an image: no flatten
    app = make_app(arch)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_train(pilot)
        await pilot.press("s")
        await pilot.pause()
        assert screen.worker is None and screen.state == "idle"
        assert "cannot start" in screen.last_message
        assert "architecture has errors" in screen.last_message


async def test_invalid_setting_is_refused_in_place_and_blocks_start():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_train(pilot)
        form = screen.query_one(TrainingForm)
        assert form.values()["batch_size"] == 64  # from the Beginner file's training section
        form.set_field("learning_rate", "-1")
        await pilot.pause()
        assert "learning_rate" in form.errors
        assert form.values()["learning_rate"] == 0.001  # the last good value stays
        error = screen.query_one("#error-learning_rate")
        assert "must be > 0" in str(error.render()) and error.has_class("-shown")
        await pilot.press("s")
        await pilot.pause()
        assert screen.worker is None and "learning_rate" in screen.last_message
        form.set_field("learning_rate", "0.002")
        await pilot.pause()
        assert not form.errors and form.values()["learning_rate"] == 0.002


async def test_escape_leaves_the_settings_so_the_screen_keys_work_again():
    from textual.widgets import Input

    from cnn_tui.tui.screens.help import gather_context

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_train(pilot)
        for _ in range(4):
            await pilot.press("tab")
        assert isinstance(app.focused, Input)  # a field: letters are typed into it
        field = app.focused
        await pilot.press("escape")
        assert app.focused is screen.query_one("#epoch-table")
        assert "s" not in field.value  # nothing was typed on the way out
        ids = {item[2] for item in gather_context(app, screen).keys_here}
        assert {"train.start", "train.pause", "train.stop"} <= ids
        # s reaches the screen's Start again (not pressed: it would train on the full set)
        assert screen.active_bindings["s"].binding.action == "start"


async def test_train_pause_resume_stop_resume_then_analyze(subset_env):
    from cnn_tui.runs.store import RunStore
    from cnn_tui.tui.screens.analyze import AnalyzeScreen
    from cnn_tui.tui.widgets.confusion import ConfusionMatrix

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_train(pilot)
        form = screen.query_one(TrainingForm)
        assert form.limits() == {"limit_train": LIMIT_TRAIN, "limit_test": LIMIT_TEST}
        form.set_field("epochs", "1")
        form.set_field("val_size", "500")
        await pilot.pause()
        assert app.focused.id == "epoch-table"  # the screen's keys work at once
        # Keys queued back to back: pilot.press waits up to a second for the app to be idle
        # after each key, and a warm trainer can finish 2,000 images in that time.
        send_keys(app, "s", "space")  # start, and pause before the first step
        await wait_for(pilot, lambda: screen.history.start is not None, what="run start")
        assert screen.state == "paused" and screen.control.paused
        await pilot.pause(0.3)
        assert screen.history.batches == []  # paused: no step was taken
        send_keys(app, "space")  # resume ...
        await pilot.pause(0.01)  # a plain sleep: lets the key through, not the whole epoch
        assert screen.state == "running" and not screen.control.paused
        send_keys(app, "space")  # ... and pause again, so the stop below lands mid-epoch
        await pilot.pause(0.01)
        assert screen.state == "paused" and screen.control.paused
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")  # confirm
        assert await screen.wait_until_idle(60)
        await pilot.pause()
        assert screen.state == "stopped", screen.last_message
        run_id = screen.run_id
        assert RunStore().get(run_id).status == "stopped"
        assert screen.history.epochs == []  # stopped inside the only epoch

        await pilot.press("r")  # resume the stopped run to the end
        await wait_for(pilot, lambda: screen.history.start is not None, what="resumed start")
        assert screen.history.start.run_id == run_id
        assert await screen.wait_until_idle(90)
        await pilot.pause()
        assert screen.state == "finished", screen.last_message
        assert screen.history.evaluation is not None
        assert screen.history.evaluation.test_acc > 0.6
        table = screen.query_one("#epoch-table")
        assert table.row_count == 1
        assert "finished" in screen.last_message and "test accuracy" in screen.last_message

        await pilot.press("3")  # the Analyze screen follows the newest run: this one
        analyze = app.screen
        assert isinstance(analyze, AnalyzeScreen)
        await wait_for(pilot, lambda: analyze.record is not None, what="analyze load")
        assert analyze.record.id == run_id
        matrix = analyze.query_one(ConfusionMatrix)
        assert matrix.total == LIMIT_TEST
        assert sum(sum(r) for r in analyze.record.evaluation["confusion_matrix"]) == LIMIT_TEST

        # the weights view: histograms of every layer with weights, and the gradient flow the
        # Train screen recorded while this run trained (every 10 steps on a CPU)
        analyze.query_one("#analyze-tabs").active = "tab-weights"
        await pilot.pause()
        hist = str(analyze.query_one("#weights-hist").render())
        assert "0:conv2d" in hist and "7:dense" in hist and "1:relu" not in hist
        grads = str(analyze.query_one("#weights-grads").render())
        assert screen.history.grad_norms and "gradient norm per layer" in grads
        assert "0:conv2d" in grads and "last" in grads


async def test_detached_run_is_followed_through_the_store(subset_env):
    """`D` trains in a child process (its own pid in the store); the screen follows its epochs."""
    import os

    from cnn_tui.runs.store import RunStore

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_train(pilot)
        await pilot.press("a")  # nothing to attach to yet: said so
        assert "no detached run is running" in screen.last_message
        form = screen.query_one(TrainingForm)
        form.set_field("epochs", "1")
        form.set_field("val_size", "500")
        await pilot.pause()
        await pilot.press("D")
        assert screen.following and not screen.busy  # no worker: quitting would not stop it
        await wait_for(pilot, lambda: screen.state not in ("detached",), timeout=150,
                       what="the detached run to end")
        assert screen.state == "finished", screen.last_message
        record = RunStore().get(screen.run_id)
        assert record.status == "finished" and record.pid != os.getpid()
        assert record.evaluation["test_size"] == LIMIT_TEST
        assert screen.query_one("#epoch-table").row_count == 1
        assert len(screen.history.epochs) == 1 and "test accuracy" in screen.last_message


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_train_screen_snapshot(snap_compare, size):
    """The Train screen before a run: the settings from the Beginner file, empty charts.
    Regenerate after a deliberate change: pytest tests/test_tui_train.py --snapshot-update"""
    assert snap_compare(make_app(), press=["2"], terminal_size=size)
