"""The Train screen driven through a real Textual pilot, training on a real MNIST subset in the
app's training processes (the app never trains in its own process).

One test walks the whole path a user takes: start (with the form edited), pause, resume, stop
(confirmed), resume the stopped run with `r` to the end, then open Analyze on that run. Others:
an app started while a detached run trains offers it and follows it with batch-level progress;
Analyze opened while a run trains shows its final results when it ends; a run started from the
app records exactly what the same run from the command line records.
"""

from __future__ import annotations

import time

import pytest
from textual import events

from cnn_tui.spec.model import Layer
from cnn_tui.spec.templates import beginner
from cnn_tui.session.run import RunState
from cnn_tui.tui.common.footer import KeyBar
from cnn_tui.tui.train.settings_form import TrainingForm

LIMIT_TRAIN, LIMIT_TEST = 12000, 500


def make_app(arch=None):
    """The real app, on the Train screen's mode after `2` (as a user gets there)."""
    from cnn_tui.tui.app import CnnTuiApp
    return CnnTuiApp(arch or beginner(), offer_autosave=False)


async def open_train(pilot):
    await pilot.press("2")
    await pilot.pause()
    from cnn_tui.tui.train.screen import TrainScreen
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
    monkeypatch.setenv("CNN_TUI_THREADS", "1")  # the training processes: robust on a busy machine
    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(mnist_root))
    monkeypatch.setenv("CNN_TUI_LIMIT_TRAIN", str(LIMIT_TRAIN))
    monkeypatch.setenv("CNN_TUI_LIMIT_TEST", str(LIMIT_TEST))


async def test_start_is_blocked_while_the_architecture_has_errors():
    arch = beginner()
    arch.layers.insert(0, Layer.make("dense", units=10))  # dense on an image: no flatten
    app = make_app(arch)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_train(pilot)
        await pilot.press("s")
        await pilot.pause()
        assert screen.state == RunState.IDLE and screen.run_id is None
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
        assert screen.run_id is None and "learning_rate" in screen.last_message
        form.set_field("learning_rate", "0.002")
        await pilot.pause()
        assert not form.errors and form.values()["learning_rate"] == 0.002


async def test_escape_leaves_the_settings_so_the_screen_keys_work_again():
    from textual.widgets import Input

    from cnn_tui.tui.common.help import gather_context

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
        assert {"train.start", "train.resume", "train.attach"} <= ids
        assert not {"train.pause", "train.stop"} & ids  # nothing is training: not offered
        # s reaches the screen's Start again (not pressed: it would train on the full set)
        assert screen.active_bindings["s"].binding.action == "start"


async def test_train_pause_resume_stop_resume_then_analyze(subset_env):
    from cnn_tui.runs.store import RunStore
    from cnn_tui.tui.analyze.screen import AnalyzeScreen
    from cnn_tui.tui.analyze.confusion import ConfusionMatrix

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_train(pilot)
        form = screen.query_one(TrainingForm)
        assert form.limits() == {"limit_train": LIMIT_TRAIN, "limit_test": LIMIT_TEST}
        form.set_field("epochs", "1")
        form.set_field("val_size", "500")
        form.set_field("limit_train", "40000")  # long enough for the keys below to land in it
        await pilot.pause()
        assert app.focused.id == "epoch-table"  # the screen's keys work at once
        await pilot.press("s")
        assert screen.state == RunState.STARTING and form.disabled
        await wait_for(pilot, lambda: len(screen.history.batches) >= 2, what="batch progress")
        assert screen.state == RunState.RUNNING
        record = RunStore().get(screen.run_id)
        assert record.pid != __import__("os").getpid()  # trained by a process of its own
        keys = " ".join(str(screen.query_one(KeyBar).render()).split())
        assert keys.startswith("space Pause x Stop") and "Start" not in keys  # what applies now
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.state == RunState.PAUSED, what="the pause")
        await pilot.pause()
        assert " ".join(str(screen.query_one(KeyBar).render()).split()).startswith("space Go on x Stop")
        await pilot.pause(0.8)
        count = len(screen.history.batches)
        await pilot.pause(1.2)
        assert len(screen.history.batches) == count  # nothing trains while paused
        assert "paused" in screen.last_message
        await pilot.press("space")
        await wait_for(pilot, lambda: len(screen.history.batches) > count, what="training again")
        assert screen.state == RunState.RUNNING
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")  # confirm
        assert await screen.wait_until_ended(60)
        await pilot.pause(0.3)
        assert screen.state == RunState.STOPPED, screen.last_message
        run_id = screen.run_id
        assert RunStore().get(run_id).status == "stopped"
        assert screen.history.epochs == []  # stopped inside the only epoch
        assert "r resumes" in screen.last_message

        await pilot.press("r")  # resume the stopped run to the end
        await wait_for(pilot, lambda: screen.state == RunState.RUNNING, what="resumed")
        assert screen.run_id == run_id
        assert await screen.wait_until_ended(180)
        await pilot.pause(0.3)
        assert screen.state == RunState.FINISHED, screen.last_message
        assert screen.history.evaluation is not None and screen.history.evaluation.test_acc > 0.8
        assert screen.query_one("#epoch-table").row_count == 1
        assert "finished" in screen.last_message and "test accuracy" in screen.last_message
        assert not form.disabled

        await pilot.press("3")  # the Analyze screen follows the newest run: this one
        analyze = app.screen
        assert isinstance(analyze, AnalyzeScreen)
        await wait_for(pilot, lambda: analyze.data is not None, what="analyze load")
        assert analyze.record.id == run_id and analyze.record.status == "finished"
        matrix = analyze.query_one(ConfusionMatrix)
        assert matrix.total == LIMIT_TEST
        # the weights view: histograms of every layer with weights, and the gradient flow the
        # run recorded (the store has it, whoever trained it)
        analyze.query_one("#analyze-tabs").active = "tab-weights"
        await pilot.pause()
        hist = str(analyze.query_one("#weights-hist").render())
        assert "0:conv2d" in hist and "7:dense" in hist and "1:relu" not in hist
        grads = str(analyze.query_one("#weights-grads").render())
        assert "gradient norm per layer" in grads and "0:conv2d" in grads and "last" in grads


async def test_an_app_started_while_a_detached_run_trains_follows_it(subset_env, mnist_root):
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "cnn_tui", "train", "template:beginner",
                           "--epochs", "2", "--limit-train", "30000", "--val-size", "500",
                           "--limit-test", "300", "--detach", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert any(run_id in str(n.message) and "a follows it" in str(n.message)
                   for n in app._notifications), "the app says a run is training"
        screen = await open_train(pilot)
        assert "a follows the run training elsewhere (Beginner" in screen.last_message
        await pilot.press("a")
        assert screen.run_id == run_id
        await wait_for(pilot, lambda: screen.history.start is not None, what="the run's start")
        # the run's own settings in the form, not the document's
        form = screen.query_one(TrainingForm)
        assert form.limits()["limit_train"] == 30000 and form.values()["epochs"] == 2
        assert form.disabled
        assert "cpu" in str(screen.query_one("#train-device").render())
        await wait_for(pilot, lambda: len(screen.history.batches) >= 3, what="batch points")
        progress = str(screen.query_one("#train-progress").render())
        assert "epoch" in progress and "ETA" in progress and "img/s" in progress
        await pilot.resize_terminal(60, 18)  # a small pane: the run's controls stay
        await pilot.pause()
        keys = str(screen.query_one(KeyBar).render())
        assert "Pause" in keys and "Stop" in keys and "Start" not in keys
        line = str(screen.query_one("#train-progress").render())
        assert "ETA" in line and not line.rstrip().endswith(("·", "…"))
        assert await screen.wait_until_ended(240)
        await pilot.pause(0.3)
        assert screen.state == RunState.FINISHED, screen.last_message
        assert screen.query_one("#epoch-table").row_count == 2
        assert len(screen.history.batches) >= 2 * (30000 // 64 // 10)  # every 10 steps


async def test_analyze_open_on_a_running_run_shows_its_end(subset_env):
    from cnn_tui.tui.analyze.screen import AnalyzeScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_train(pilot)
        form = screen.query_one(TrainingForm)
        form.set_field("epochs", "1")
        form.set_field("limit_train", "20000")  # long enough to be seen running, even on a busy box
        await pilot.pause()
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.state == RunState.RUNNING, what="running")
        run_id = screen.run_id
        await pilot.press("3")
        analyze = app.screen
        assert isinstance(analyze, AnalyzeScreen)
        await wait_for(pilot, lambda: analyze.training_run == run_id, what="the running run")
        status = str(analyze.query_one("#analyze-status").render())
        assert "training" in status and "L evaluates a mid-training snapshot" in status
        assert analyze.data is None  # nothing evaluated while it trains
        await wait_for(pilot, lambda: analyze.data is not None, timeout=180, what="the run's end")
        status = str(analyze.query_one("#analyze-status").render())
        assert analyze.record.id == run_id and analyze.training_run is None
        assert "finished" in status and "running" not in status and "checkpoint" not in status
        assert f"{100 * analyze.record.test_acc:.2f}%" in status

        # back on Train the form shows the finished run's settings; an edit there is what the
        # next `s` starts with (it started the document's settings before: 10 epochs, no limit)
        await pilot.press("2")
        field = form.query_one("#field-epochs")
        field.focus()
        await pilot.pause()
        field.cursor_position = len(field.value)
        await pilot.press("backspace", "2", "escape", "s")
        await wait_for(pilot, lambda: screen.run_id != run_id and screen.history.start is not None,
                       what="the second run's start")
        config = screen.history.start.config
        assert config["epochs"] == 2 and config["limit_train"] == 20000
        await pilot.press("x", "y")  # stop it (the dialog: y stops)
        await wait_for(pilot, lambda: not screen.state.active, what="the stop")
        assert screen.state == RunState.STOPPED


async def test_gradient_flow_shows_for_a_run_trained_from_the_command_line(subset_env, mnist_root):
    from cnn_tui.cli import main
    from cnn_tui.tui.analyze.screen import AnalyzeScreen

    assert main(["train", "template:beginner", "--epochs", "1", "--limit-train", "640",
                 "--val-size", "100", "--limit-test", "100"]) == 0
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        analyze = app.screen
        assert isinstance(analyze, AnalyzeScreen)
        await wait_for(pilot, lambda: analyze.data is not None, what="analyze load")
        analyze.query_one("#analyze-tabs").active = "tab-weights"
        await pilot.pause()
        grads = str(analyze.query_one("#weights-grads").render())
        assert "gradient norm per layer" in grads and "0:conv2d" in grads


async def test_a_run_from_the_app_records_what_the_command_line_records(subset_env, mnist_root,
                                                                        capsys):
    """The fourth way of tests/test_run_recording.py: the same tiny run, started with `s`."""
    import json

    from cnn_tui.cli import main
    from cnn_tui.runs.store import RunStore
    from support import comparable

    assert main(["train", "template:beginner", "--epochs", "2", "--val-size", "200",
                 "--batch-size", "32", "--seed", "7", "--limit-train", "640",
                 "--limit-test", "200", "--json"]) == 0
    cli_id = json.loads(capsys.readouterr().out)["run_id"]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_train(pilot)
        form = screen.query_one(TrainingForm)
        for name, value in (("epochs", "2"), ("val_size", "200"), ("batch_size", "32"),
                            ("seed", "7"), ("limit_train", "640"), ("limit_test", "200")):
            form.set_field(name, value)
        await pilot.pause()
        await pilot.press("s")
        assert await screen.wait_until_ended(180)
        app_id = screen.run_id
    store = RunStore()
    app_run, cli_run = store.get(app_id, points=True), store.get(cli_id, points=True)
    assert app_run.status == "finished"
    assert comparable(app_run) == comparable(cli_run)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_train_screen_snapshot(snap_compare, size, with_mnist):
    """The Train screen before a run: the settings from the Beginner file, empty charts.
    Regenerate after a deliberate change: pytest tests/test_tui_train.py --snapshot-update"""
    assert snap_compare(make_app(), press=["2"], terminal_size=size)
