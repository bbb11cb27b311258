"""The key bar at the bottom of every screen: what it shows, how it fits, clicks, rebinding."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from cnn_tui.tui.app import CnnTuiApp
from cnn_tui.tui.common.footer import KeyBar


def _bar(app) -> KeyBar:
    return app.screen.query_one(KeyBar)


def _plain(app) -> str:
    return _bar(app).render().plain


async def test_build_screen_hints_and_palette_on_the_right():
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = _plain(app)
        for hint in ("a Add", "d Delete", "u Undo", "t Templates", "12345 Screens", "F1/? Help",
                     "q Quit"):
            assert hint in text
        assert text.endswith("^p palette") and len(text) == 120
        assert "a Add  d Delete" in text  # room enough: two spaces between hints


async def test_narrow_terminals_keep_every_hint_at_80_and_the_palette_always():
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = _plain(app)
        assert "q Quit" in text and text.endswith("^p palette") and len(text) == 80
        assert "a Add d Delete" in text  # one space between hints when two do not fit
        await pilot.resize_terminal(40, 20)
        await pilot.pause()
        text = _plain(app)
        assert text.endswith("^p palette") and len(text) <= 40
        assert text.startswith("a Add")


async def test_each_screen_shows_its_own_hints():
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        runs = _plain(app)
        await pilot.press("1")
        await pilot.pause()
        assert _plain(app) != runs and "a Add" not in runs


async def test_clicking_a_hint_presses_its_key():
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        before = len(app.document.arch.layers)
        bar = _bar(app)
        start = next(s for s, _e, hint in bar._spans if hint.key == "d")
        await pilot.click(KeyBar, offset=(start + 2, 0))
        await pilot.pause()
        assert len(app.document.arch.layers) == before - 1


async def test_rebinding_shows_the_new_key():
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.set_keymap({"app.help": "f3"})
        await pilot.pause()
        assert "f3 help" in _plain(app).lower() and "F1/? Help" not in _plain(app)
        app.set_keymap({"app.train": "ctrl+t"})  # a longer key in the screens group
        await pilot.pause()
        assert "1/3/4/5/^t Screens" in _plain(app)  # still one group, keys apart


class _Small(App):
    BINDINGS = [Binding("x", "go", "Go"), Binding("y", "later", "Later")]

    def compose(self):
        yield KeyBar()

    def check_action(self, action, parameters):
        return None if action == "later" else True  # None: shown, but disabled

    def action_go(self) -> None:
        self.went = True

    def action_later(self) -> None:  # never called: the binding is disabled
        self.went_later = True


async def test_disabled_hints_are_dimmed_and_clicks_on_them_do_nothing():
    app = _Small()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)
        text = bar.render()
        assert "x Go" in text.plain and "y Later" in text.plain
        later = next(s for s, _e, hint in bar._spans if hint.key == "y")
        dimmed = [span for span in text.spans if span.start == later]
        assert dimmed and dimmed[0].style.dim
        await pilot.click(KeyBar, offset=(later, 0))
        await pilot.pause()
        assert not hasattr(app, "went_later")
        go = next(s for s, _e, hint in bar._spans if hint.key == "x")
        await pilot.click(KeyBar, offset=(go, 0))
        await pilot.pause()
        assert app.went
