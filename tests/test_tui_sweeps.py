"""The Sweeps screen (key 5) driven by key presses: every view by key and by the palette at 80x24
in the monochrome theme (a storage written through the experiments engine, no training); real
tiny sweeps (Beginner, 300 images, 2 epochs, CNN_TUI_THREADS=1) started from the app as
detached processes: followed to the end, a trial opened in Analyze, the best loaded into Build;
an app killed mid-sweep while a new one finds the sweep running and follows it; a sweep stopped
from the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from test_session_sweeps import REPO, search, write_trials

from cnn_tui.runs.store import pid_alive
from cnn_tui.settings import Settings

TINY = {"limit_train": 300, "limit_test": 100}
TRAIN = {"epochs": 2, "val_size": 100}


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("CNN_TUI_THREADS", "1")  # the sweeps' processes inherit it


def _app(settings, theme=None):
    from cnn_tui.tui.app import CnnTuiApp

    return CnnTuiApp(offer_autosave=False, settings=settings, theme=theme)


async def _until(pilot, condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.1)


async def _sweeps(pilot):
    await pilot.press("5")
    screen = pilot.app.screen
    assert type(screen).__name__ == "SweepsScreen"
    return screen


def _visible(widget, screen) -> bool:
    region = widget.region
    return widget.display and region.height > 0 and screen.region.contains_region(region)


def _sweep_file(tmp_path, obj, name="s.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_every_view_by_key_and_palette_at_80x24_in_mono(tmp_path, with_mnist):
    from cnn_tui.tui.commands import palette_commands
    from cnn_tui.tui.sweeps.best_header import BestHeader
    from cnn_tui.tui.sweeps.curves import CurvesChart
    from cnn_tui.tui.sweeps.parallel import ParallelChart
    from cnn_tui.tui.sweeps.slices import SliceChart

    settings = Settings.from_env(runs_dir=tmp_path / "runs")
    write_trials(settings, search(trials=12), 8, leave_running=1)
    app = _app(settings, theme="cnn-mono")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _sweeps(pilot)
        await _until(pilot, lambda: screen.updates >= 1, what="the sweep read")
        await pilot.pause(0.3)
        snap = screen.snapshot
        best = snap.best
        header = screen.query_one(BestHeader)
        table = screen.table
        curves = screen.query_one(CurvesChart)
        # the trial table, the best-so-far header and one chart at once, at 80x24
        for widget in (header, table, curves):
            assert _visible(widget, screen), widget
        assert table.region.height >= 7  # its header and 6 trials at least
        assert curves.region.height >= 9
        lines = str(header.render()).splitlines()
        assert lines[0].startswith("lr (search, random) 8/12 done ● 1 running")
        assert lines[1].startswith(f"★ best #{best.number}: val_acc {best.value:.4f}")
        # markers, not only colour: each state and the best have their symbol
        states = {str(table.get_cell(str(t.number), "state")) for t in snap.trials}
        assert "● running" in states and "✓ complete" in states and "★ complete" in states
        assert f"{snap.metric} per epoch" in curves.text and "*" in curves.text

        await pilot.press("l")
        slices = screen.query_one(SliceChart)
        assert screen.query_one("#sweeps-views").current == "slices"
        await pilot.pause(0.2)
        assert "val_acc by learning_rate (log scale)  [1/3" in slices.text
        await pilot.press("right_square_bracket")
        await pilot.pause(0.2)
        assert "val_acc by batch_size  [2/3" in slices.text and "128" in slices.text

        await pilot.press("p")
        await pilot.pause(0.2)
        chart = screen.query_one(ParallelChart)
        assert "parallel coordinates (8 trials)" in chart.text
        assert "batch_size: 32/64/128" in str(screen.query_one("#parallel-ranges").render())

        await pilot.press("i")
        await _until(pilot, lambda: screen.importance is not None, what="the importance")
        await pilot.pause(0.2)
        bars = str(screen.query_one("#importance").render())
        assert "parameter importance (Optuna PED-ANOVA, 8 complete trials)" in bars
        assert "learning_rate" in bars and "█" in bars

        await pilot.press("f")
        assert "this sweep is a search" in str(screen.query_one("#forest").render())
        await pilot.press("v")  # a search's views: curves, slices, parallel, importance
        assert screen.view == "curves"
        await pilot.press("V")
        assert screen.view == "importance"

        # every view is in the palette while the screen is shown
        commands = [name for name, _, _ in palette_commands(app, screen)]
        for title in ("intermediate curves", "slice plot", "parallel coordinates",
                      "parameter importance", "forest plot"):
            assert f"Sweeps: {title}" in commands
        assert "Screen: Sweeps" in commands
        await pilot.press("ctrl+p")
        await pilot.press(*"parallel coordinates")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await _until(pilot, lambda: screen.view == "parallel", what="the palette's view")

        # best first, then the trial under the cursor into Build: undoable there
        await pilot.press("S")
        assert table._rows[0] == best.number  # the cursor stays on its trial
        table.move_cursor(row=1)
        await pilot.press("B")
        await _until(pilot, lambda: app.current_mode == "build", what="Build")
        loaded = app.document.arch
        second = sorted((t for t in snap.trials if t.state == "complete"),
                        key=lambda t: -t.value)[1]
        assert loaded.name == f"Beginner (sweep lr #{second.number})"
        assert loaded.training["learning_rate"] == second.params["training.learning_rate"]
        await pilot.press("u")
        assert app.document.arch.name == "Beginner"


async def test_another_storage_its_sweeps_picked_and_a_wrong_one_said(tmp_path, with_mnist):
    from cnn_tui.tui.sweeps.sweep_picker import SweepPicker

    elsewhere = Settings.from_env(runs_dir=tmp_path / "shared")
    write_trials(elsewhere, search(name="first", trials=4), 2)
    write_trials(elsewhere, search(name="second", trials=4), 3)
    app = _app(Settings.from_env(runs_dir=tmp_path / "runs"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _sweeps(pilot)
        await _until(pilot, lambda: "No sweeps in" in str(screen.query_one("#sweeps-header")
                                                          .render()), what="the empty note")
        await pilot.press("O")
        app.screen.query_one("Input").value = "ftp://box/sweeps"
        await pilot.press("enter")
        await _until(pilot, lambda: any("unknown scheme 'ftp'" in n for n in _notes(app)),
                     what="the refusal")
        await pilot.press("O")
        app.screen.query_one("Input").value = str(tmp_path / "shared" / "sweeps.journal")
        await pilot.press("enter")
        await _until(pilot, lambda: screen.snapshot is not None, what="the other storage read")
        assert screen.snapshot.name == "first" and screen.snapshot.done == 2
        await pilot.press("o")
        await _until(pilot, lambda: isinstance(app.screen, SweepPicker), what="the picker")
        lines = [str(o.prompt) for o in app.screen.query_one("OptionList").options]
        assert lines[0].startswith("first") and "2/4" in lines[0] and "idle" in lines[0]
        assert lines[1].startswith("second") and "3/4" in lines[1]
        await pilot.press("j", "enter")
        await _until(pilot, lambda: screen.snapshot.name == "second", what="the second sweep")
        assert sorted(screen.table._rows) == [0, 1, 2]


async def test_a_sweep_started_from_the_app_is_followed_and_its_trials_open(tmp_path,
                                                                          mnist_root):
    from cnn_tui.tui.sweeps.curves import CurvesChart

    settings = Settings.from_env(runs_dir=tmp_path / "runs", data_dir=mnist_root)
    path = _sweep_file(tmp_path, {
        "format": "cnn-tui/sweep", "version": 1, "name": "tiny", "base": "template:beginner",
        "sampler": "grid", "pruner": "none",
        "space": {"training.learning_rate": {"type": "categorical",
                                             "choices": [0.003, 0.01, 0.0003]}},
        "data": TINY, "training": TRAIN})
    app = _app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _sweeps(pilot)
        await _until(pilot, lambda: "No sweeps in" in str(screen.query_one("#sweeps-header")
                                                          .render()), what="the empty note")
        await pilot.press("s")
        prompt = app.screen
        prompt.query_one("Input").value = str(path)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("1")  # one worker
        await _until(pilot, lambda: screen.launch is not None and screen.snapshot is not None,
                     what="the sweep shown")
        launch = screen.launch
        assert launch.name == "tiny" and launch.workers == 1
        assert os.getsid(launch.pid) != os.getsid(0)  # a session of its own: it outlives the app
        seen_running = False
        deadline = time.monotonic() + 240
        while not (screen.snapshot.finished and screen.snapshot.done == 3):
            seen_running = seen_running or screen.snapshot.running > 0
            assert time.monotonic() < deadline, f"sweep not done: {launch.error_line()}"
            await pilot.pause(0.2)
        assert seen_running  # followed live, not read once at the end
        snap = screen.snapshot
        assert [t.state for t in snap.trials] == ["complete"] * 3
        assert "finished" in str(screen.query_one("#sweeps-header").render())
        await pilot.pause(1.2)
        assert "*" in screen.query_one(CurvesChart).text

        # enter: the trial under the cursor (newest first: trial 2) in Analyze
        assert screen.table.current_number == 2
        await pilot.press("enter")
        await _until(pilot, lambda: app.current_mode == "analyze", what="Analyze")
        assert app.screen.pinned == snap.trial(2).run_id

        # b: the best trial into Build, with its training settings; u undoes
        await pilot.press("5")
        await pilot.press("b")
        await _until(pilot, lambda: app.current_mode == "build", what="Build")
        arch = app.document.arch
        assert arch.name == f"Beginner (sweep tiny #{snap.best.number})"
        assert arch.training["learning_rate"] == snap.best.params["training.learning_rate"]
        assert arch.training["epochs"] == 2
        await pilot.press("u")
        assert app.document.arch.name == "Beginner"


APP_SCRIPT = """
import asyncio, os, sys, time
from cnn_tui.settings import Settings
from cnn_tui.tui.app import CnnTuiApp

def say(*words):  # to the real stdout: inside run_test Textual takes print()'s output
    os.write(1, (" ".join(str(w) for w in words) + "\\n").encode())

async def main(runs, data, path):
    app = CnnTuiApp(offer_autosave=False, settings=Settings.from_env(runs_dir=runs, data_dir=data))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        screen = app.screen
        assert screen.start_sweep(path, 1)
        deadline = time.monotonic() + 120
        # read at least once, its process alive (a read lands between trials at times)
        while not (screen.snapshot is not None and screen.launch is not None
                   and screen.launch.alive):
            if time.monotonic() > deadline:  # never wait for ever: the test reads this line
                say("NOT RUNNING", screen.snapshot and screen.snapshot.done,
                    screen.launch and screen.launch.error_line())
                return
            await asyncio.sleep(0.1)
        say("RUNNING", screen.launch.pid)
        await asyncio.sleep(600)

asyncio.run(main(*sys.argv[1:]))
"""


async def test_an_app_killed_mid_sweep_leaves_it_running_and_a_new_app_follows_it(
        tmp_path, mnist_root):
    from cnn_tui.tui.sweeps.forest import ForestPlot

    runs = tmp_path / "runs"
    path = _sweep_file(tmp_path, {
        "format": "cnn-tui/sweep", "version": 1, "name": "abl", "base": "template:beginner",
        # long enough (4 runs of 5 epochs on 2,000 images) that the app is killed before it ends
        "kind": "ablation", "remove": ["layers[9]"],
        "data": {**TINY, "limit_train": 2000, "seeds": 2}, "training": {**TRAIN, "epochs": 5}})
    old = subprocess.Popen([sys.executable, "-c", APP_SCRIPT, str(runs), str(mnist_root),
                            str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        line = old.stdout.readline()
        assert line.startswith("RUNNING "), old.stderr.read() if old.poll() is not None else line
        sweep_pid = int(line.split()[1])
    finally:
        old.kill()  # kill -9: no goodbye
        old.wait()
    assert pid_alive(sweep_pid)  # the sweep outlived the app that started it

    app = _app(Settings.from_env(runs_dir=runs, data_dir=mnist_root))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: any("sweep abl is running" in n for n in _notes(app)),
                     what="the note at start")
        screen = await _sweeps(pilot)
        await _until(pilot, lambda: screen.snapshot is not None, what="the sweep read")
        assert screen.snapshot.name == "abl" and screen.launch.pid == sweep_pid
        assert screen.launch.alive and f"pid {sweep_pid}" in str(
            screen.query_one("#sweeps-header").render())
        first = screen.updates
        deadline = time.monotonic() + 240
        while not (screen.snapshot.finished and screen.snapshot.done == 4):
            assert time.monotonic() < deadline, f"not done: {screen.launch.error_line()}"
            await pilot.pause(0.2)
        assert screen.updates > first + 1  # it followed the sweep as it went
        await _until(pilot, lambda: not pid_alive(sweep_pid) or not screen.launch.alive,
                     what="the sweep process to end")
        await pilot.press("f")
        await pilot.pause(0.3)
        text = str(screen.query_one(ForestPlot).render())
        assert "effect on val_acc against 'base'" in text
        assert "remove layers[9] (dropout)" in text and "●" in text and "│" in text
        assert "reference: val_acc" in text


async def test_a_sweep_stopped_from_the_app_takes_no_new_trial(tmp_path, mnist_root):
    settings = Settings.from_env(runs_dir=tmp_path / "runs", data_dir=mnist_root)
    path = _sweep_file(tmp_path, {
        "format": "cnn-tui/sweep", "version": 1, "name": "long", "base": "template:beginner",
        "sampler": "grid", "pruner": "none",
        "space": {"training.learning_rate": {"type": "categorical", "choices": [0.003, 0.01]}},
        "data": TINY, "training": {"epochs": 40, "val_size": 100}})
    app = _app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _sweeps(pilot)
        assert screen.start_sweep(str(path), 1)
        await _until(pilot, lambda: screen.snapshot is not None and any(
            t.intermediate for t in screen.snapshot.trials if t.state == "running"),
            timeout=120, what="a trial's first epoch")
        launch = screen.launch
        await pilot.press("x")
        assert "Stop sweep long" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("s")  # stop now
        assert app.focused is screen.table  # the keys go back to the table
        await _until(pilot, lambda: any(n.startswith("sweep long: stopping now") for n in
                                        _notes(app)), what="the stop said")
        await _until(pilot, lambda: not pid_alive(launch.pid) or not screen.launch.alive,
                     timeout=90, what="the sweep process to stop")
        await _until(pilot, lambda: screen.snapshot.stopped and screen.snapshot.running == 0,
                     what="the stop read")
        snap = screen.snapshot
        assert snap.done == 0 and snap.counts["waiting"] == 2  # its trial went back to the queue
        assert "stopped" in str(screen.query_one("#sweeps-header").render())
        await pilot.press("x")
        assert any("is not running" in n for n in _notes(app))
