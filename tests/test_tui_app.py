"""The app shell driven by real key presses: screens, help, command palette, quitting."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from cnn_tui.spec.templates import get_template
from cnn_tui.tui.app import CnnTuiApp
from cnn_tui.tui.common.confirm import ChoiceDialog
from cnn_tui.tui.common.help import HelpScreen
from cnn_tui.tui.runs.screen import RunsScreen


def _app(**kw) -> CnnTuiApp:
    kw.setdefault("offer_autosave", False)
    return CnnTuiApp(**kw)


async def test_number_keys_switch_screens_and_keep_state():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        build = app.screen
        assert app.current_mode == "build"
        for key, mode, name in (("2", "train", "TrainScreen"), ("3", "analyze", "AnalyzeScreen"),
                                ("4", "runs", "RunsScreen")):
            await pilot.press(key)
            assert app.current_mode == mode
            assert type(app.screen).__name__ == name
        assert isinstance(app.screen, RunsScreen)
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "No runs yet" in text  # an empty store says so and how to fill it
        await pilot.press("3")
        analyze = app.screen
        await pilot.press("1", "3")
        assert app.screen is analyze
        await pilot.press("1")
        assert app.screen is build  # the same editor, not a fresh one


async def test_help_shows_screen_keys_and_closes():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        ctx = app.screen.context
        assert ctx.screen_name == "Build"
        assert ("a", "Add", "build.add") in ctx.keys_here  # the editor's own keys
        assert any(item[2] == "app.save" for item in ctx.keys_everywhere)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("4", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.context.screen_name == "Runs"
        assert "compares the marked runs" in app.screen.context.screen_help
        await pilot.press("question_mark")
        assert isinstance(app.screen, RunsScreen)


async def _palette_run(pilot, query: str) -> None:
    """Open the palette with its key, type the query (set at once: typing it key by key
    costs a frame per letter), wait for the background search, run the top hit."""
    from textual.command import CommandInput, CommandList, CommandPalette

    await pilot.press("ctrl+p")
    await pilot.pause()
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    palette.query_one(CommandInput).value = query
    for _ in range(50):
        await pilot.pause(0.05)
        if palette.query_one(CommandList).option_count:
            break
    if palette.query_one(CommandList).highlighted is None:  # more than one hit: the top is
        await pilot.press("down")  # highlighted already (cnn-light, cnn-solarized-light)
    await pilot.press("enter")
    await pilot.pause()


async def test_palette_adds_a_layer_and_switches_theme():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        before = len(app.document.arch.layers)
        await pilot.press("4")  # from another screen: the action goes to the editor
        await _palette_run(pilot, "Add layer: GELU")
        assert app.current_mode == "build"
        assert len(app.document.arch.layers) == before + 1
        assert any(layer.type == "gelu" for layer in app.document.arch.layers)
        assert app.document.dirty
        await _palette_run(pilot, "Theme: cnn-light")
        assert app.theme == "cnn-light"


async def test_palette_lists_every_layer_type_template_and_theme():
    from cnn_tui.spec.layers import LAYER_TYPES
    from cnn_tui.spec.templates import TEMPLATES
    from cnn_tui.tui.commands import palette_commands

    app = _app()
    async with app.run_test(size=(80, 24)):
        names = [name for name, _help, _cb in palette_commands(app, app.screen)]
    for kind in LAYER_TYPES.values():
        assert f"Add layer: {kind.title}" in names
    for template in TEMPLATES:
        assert f"Load template: {template}" in names
    for theme in ("cnn-dark", "cnn-light", "cnn-high-contrast", "cnn-mono"):
        assert f"Theme: {theme}" in names
    for action in ("Open architecture…", "Save", "Save as…", "Export…", "Copy share code",
                   "Import browser-builder export…", "Start training", "Change layer type…"):
        assert action in names


async def test_textual_system_commands_do_not_duplicate_ours():
    app = _app()
    async with app.run_test(size=(80, 24)):
        titles = [c.title for c in app.get_system_commands(app.screen)]
    assert "Quit" not in titles and "Theme" not in titles  # ours: "Quit", "Theme: <name>"
    assert "Keys" in titles


async def test_f2_saves_as_where_ctrl_shift_s_cannot_be_typed():
    from cnn_tui.tui.common.path_prompt import PathPrompt

    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, PathPrompt)


async def test_enter_on_the_layer_list_is_named_edit_with_its_id():
    from cnn_tui.tui.common.help import gather_context

    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        keys = gather_context(app, app.screen).keys_here
        assert ("⏎", "Edit", "build.edit") in keys
        assert not any(description == "Select" for _key, description, _id in keys)


async def test_palette_loads_a_template():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _palette_run(pilot, "Load template: lenet5")
        assert app.document.arch.to_dict()["layers"] == get_template("lenet5").to_dict()["layers"]


async def test_quit_clean_exits_at_once():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_quit_with_unsaved_changes_asks_and_cancel_keeps_working():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.document.apply(get_template("lenet5"), "test change")
        await pilot.press("q")
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("escape")
        assert not isinstance(app.screen, ChoiceDialog)
        assert app.is_running
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("d")  # discard
        await pilot.pause()
    assert app.return_code == 0


def test_first_frame_does_not_import_torch():
    code = textwrap.dedent("""
        import asyncio, sys
        from cnn_tui.tui.app import CnnTuiApp
        async def main():
            app = CnnTuiApp(offer_autosave=False)
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.press("4", "1", "f1", "escape")
            assert "torch" not in sys.modules, "torch imported by the app start"
            print("ok")
        asyncio.run(main())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


async def test_every_screen_shows_where_it_is_and_a_dialog_its_own_keys():
    from cnn_tui.tui.common.confirm import ChoiceDialog
    from cnn_tui.tui.common.footer import KeyBar
    from cnn_tui.tui.common.topbar import TopBar

    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for key, name in (("1", "Build"), ("2", "Train"), ("3", "Analyze"), ("4", "Runs")):
            await pilot.press(key)
            await pilot.pause()
            line = str(app.screen.query_one(TopBar).render())
            assert f"▸{key} {name}" in line, line  # marked by a symbol too: reads in mono
            assert line.count("▸") == 1 and "1 Build" in line and "4 Runs" in line
        await pilot.press("1")
        app.document.apply(app.document.arch, "touch")  # nothing changes: quit asks nothing
        app.push_screen(ChoiceDialog("Question", "Really?", [("y", "Yes", "yes")]))
        await pilot.pause()
        keys = str(app.screen.query_one(KeyBar).render())
        assert "Cancel" in keys and "Add" not in keys  # the dialog's keys, not Build's
