"""Without MNIST, the app says so at start and offers the fetch from inside, with its progress:
`2`, `s` asks at once (not after 15 s of loading) and, fetched, the run starts.

The fetch runs for real against a local HTTP mirror of the four MNIST files (conftest's
`mnist_mirror`): the same code path as `cnn-tui data fetch` from torchvision's mirrors."""

from __future__ import annotations

import time

from cnn_tui.session.run import RunState
from cnn_tui.spec.templates import beginner


async def wait_for(pilot, condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def test_no_mnist_is_said_at_start_and_fetched_from_the_train_screen(mnist_mirror,
                                                                          monkeypatch):
    from cnn_tui import locations
    from cnn_tui.tui.app import CnnTuiApp
    from cnn_tui.tui.common.confirm import ChoiceDialog
    from cnn_tui.tui.common.fetch import FetchDialog
    from cnn_tui.tui.train.settings_form import TrainingForm

    monkeypatch.setenv("CNN_TUI_THREADS", "1")
    monkeypatch.setenv("CNN_TUI_LIMIT_TRAIN", "300")
    monkeypatch.setenv("CNN_TUI_LIMIT_TEST", "100")
    app = CnnTuiApp(beginner(), offer_autosave=False)
    app.mnist_mirrors = (mnist_mirror,)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: any("No MNIST yet" in str(n.title)
                                          and "Fetch MNIST" in str(n.message)
                                          for n in app._notifications), what="the start-up note")
        assert app.mnist_missing and "MNIST not found" in app.mnist_missing
        await pilot.press("2")
        await pilot.pause()
        screen = app.screen
        screen.query_one(TrainingForm).set_field("epochs", "1")
        await pilot.pause()
        started = time.monotonic()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)  # asked at once, nothing started
        assert time.monotonic() - started < 5 and screen.state == RunState.IDLE
        assert "cannot start" in screen.last_message and "MNIST not found" in screen.last_message
        shown = []
        real_push = app.push_screen

        def push(screen_, *args, **kwargs):  # which dialogs the user saw (the fetch is quick)
            shown.append(type(screen_))
            return real_push(screen_, *args, **kwargs)

        monkeypatch.setattr(app, "push_screen", push)
        await pilot.press("f")
        await wait_for(pilot, lambda: app.mnist_missing is None, timeout=120, what="the fetch")
        assert FetchDialog in shown
        cache = str(locations.cache_dir())
        assert any("MNIST fetched and verified" in str(n.message) and cache in str(n.message)
                   for n in app._notifications)  # where `data fetch` puts it
        # fetched: the run the user asked for starts, and finishes on the fetched copy
        await wait_for(pilot, lambda: screen.state != RunState.IDLE, what="the run to start")
        assert await screen.wait_until_ended(180)
        assert screen.state == RunState.FINISHED, screen.last_message
