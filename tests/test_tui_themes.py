"""Themes and settings: built-ins, user theme files (good and broken), NO_COLOR, --theme,
config.toml key rebinding (good and broken)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnn_tui import locations
from cnn_tui.tui.app import CnnTuiApp
from cnn_tui.tui.screens.runs import RunsScreen
from cnn_tui.tui.themes import (BUILTIN_THEMES, ThemeFileError, load_theme_dirs,
                                load_theme_file, resolve_name)

GOOD = """name = "test-ocean"
dark = true
[colors]
primary = "#268bd2"
background = "#002b36"
"""


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_builtin_themes_generate_and_aliases_resolve():
    assert set(BUILTIN_THEMES) == {"cnn-dark", "cnn-light", "cnn-high-contrast", "cnn-mono"}
    for theme in BUILTIN_THEMES.values():
        theme.to_color_system().generate()
    assert resolve_name("monochrome") == "cnn-mono" and resolve_name("light") == "cnn-light"


def test_mono_theme_uses_one_foreground_colour():
    colors = BUILTIN_THEMES["cnn-mono"].to_color_system().generate()
    fg = BUILTIN_THEMES["cnn-mono"].foreground
    for name in ("primary", "secondary", "accent", "warning", "error", "success",
                 "text-muted", "footer-key-foreground", "border"):
        assert colors[name].lower() == fg.lower(), name


@pytest.mark.parametrize("text, where", [
    ("name = 3\n[colors]\nprimary='#fff'\n", "name"),
    ("name = 'x'\n", "colors"),
    ("name = 'x'\n[colors]\nprimary = 'not-a-colour'\n", "colors.primary"),
    ("name = 'x'\n[colors]\nprimary = '#fff'\nsparkle = '#fff'\n", "colors.sparkle"),
    ("name = 'x'\n[colors\n", "not valid TOML"),
    ("name = 'cnn-dark'\n[colors]\nprimary = '#fff'\n", "built-in"),
])
def test_broken_theme_files_name_file_and_field(tmp_path, text, where):
    path = _write(tmp_path, "bad.toml", text)
    with pytest.raises(ThemeFileError) as err:
        load_theme_file(path)
    assert str(path) in str(err.value) and where in str(err.value)


def test_bundled_example_themes_load():
    themes, errors = load_theme_dirs([locations.bundled_themes_dir()])
    assert errors == []
    assert len(themes) >= 1


async def test_user_theme_loaded_and_broken_one_reported():
    folder = locations.user_themes_dir()
    _write(folder, "ocean.toml", GOOD)
    broken = _write(folder, "broken.toml", "name = 'oops'\n[colors]\nprimary = 'purpleish'\n")
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "test-ocean" in app.theme_names
        assert any(str(broken) in n and "colors.primary" in n for n in _notes(app))
        app.action_set_theme("test-ocean")
        assert app.theme == "test-ocean"
        await pilot.press("4")  # still draws with the user theme
        assert isinstance(app.screen, RunsScreen)


async def test_no_color_starts_monochrome(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)):
        assert app.theme == "cnn-mono"
    flagged = CnnTuiApp(theme="light", offer_autosave=False)  # the flag still wins
    assert flagged.theme == "cnn-light"
    monkeypatch.delenv("NO_COLOR")
    assert CnnTuiApp(offer_autosave=False).theme == "cnn-dark"  # not remembered as a choice


@pytest.mark.parametrize("name", ["cnn-light", "cnn-dark", "cnn-high-contrast"])
async def test_starting_theme_is_fully_applied_from_the_first_frame(name):
    """The starting theme is set before the first parse (no watcher): its colours, its
    light/dark classes, and a later switch still works as a user's switch does."""
    app = CnnTuiApp(theme=name, offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        theme = app.current_theme
        assert app.has_class(f"-theme-{name}")
        assert app.has_class("-dark-mode") == theme.dark
        assert app.has_class("-light-mode") == (not theme.dark)
        expected = theme.to_color_system().generate()["background"]
        assert app.screen.styles.background.hex.lower() == expected.lower()
        other = "cnn-dark" if name != "cnn-dark" else "cnn-light"
        app.action_set_theme(other)
        await pilot.pause()
        assert app.has_class(f"-theme-{other}") and not app.has_class(f"-theme-{name}")
        assert app.screen.styles.background.hex.lower() == \
            app.current_theme.to_color_system().generate()["background"].lower()


async def test_chosen_theme_is_remembered_for_next_start():
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == "cnn-dark"
        app.action_set_theme("cnn-light")
        await pilot.pause()
    again = CnnTuiApp(offer_autosave=False)
    assert again.theme == "cnn-light"
    assert CnnTuiApp(theme="cnn-high-contrast", offer_autosave=False).theme == "cnn-high-contrast"


async def test_config_theme_and_keymap_applied():
    _write(locations.config_dir(), "config.toml",
           'theme = "high-contrast"\n[keys]\n"app.runs" = "f6"\n"app.help" = "f3"\n'
           '"train.start" = "f5"\n')  # a screen loaded on first visit: accepted unchecked
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == "cnn-high-contrast"
        await pilot.press("f6")
        assert app.current_mode == "runs"
        await pilot.press("4")  # the old key no longer switches (it was rebound)
        await pilot.press("1")
        assert app.current_mode == "build"
        await pilot.press("f3")
        assert type(app.screen).__name__ == "HelpScreen"
        assert _notes(app) == []


async def test_broken_config_notifies_and_keeps_defaults():
    path = _write(locations.config_dir(), "config.toml", "[keys\n'app.runs' = 'f2'\n")
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        assert app.current_mode == "runs"  # default keys still work
        assert any(str(path) in n and "TOML" in n for n in _notes(app))


async def test_bad_key_entries_reported_one_by_one():
    _write(locations.config_dir(), "config.toml",
           '[keys]\n"app.train" = 5\n"app.nothing" = "f3"\n"app.runs" = "f4"\n')
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        notes = " | ".join(_notes(app))
        assert "keys.app.train" in notes and "keys.app.nothing" in notes
        await pilot.press("f4")  # the good entry is applied
        assert app.current_mode == "runs"


async def test_rebinding_onto_a_used_key_is_reported_once():
    _write(locations.config_dir(), "config.toml", '[keys]\n"app.help" = "a"\n')  # Build's add
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "1", "4", "1")
        clashes = [n for n in _notes(app) if "'a' is also" in n]
        assert len(clashes) == 1 and "build.add" in clashes[0]


def test_unknown_theme_flag_is_refused_before_start(tmp_path):
    import argparse

    from cnn_tui.errors import CnnTuiError
    from cnn_tui.tui.launch import launch

    args = argparse.Namespace(source=None, no_mouse=True, theme="plaid", data_dir=None,
                              runs_dir=None)
    with pytest.raises(CnnTuiError, match="plaid"):
        launch(args)
