"""Themes and settings: built-ins, user theme files (good and broken), NO_COLOR, --theme,
config.toml key rebinding (good and broken)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnn_tui import locations
from cnn_tui.tui.app import CnnTuiApp
from cnn_tui.tui.themes import (BUILTIN_THEMES, TEXTUAL_THEMES, ThemeFileError, load_theme_dirs,
                                load_theme_file, resolve_name, textual_theme_names)

GOOD = """name = "test-ocean"
dark = true
[colors]
primary = "#268bd2"
background = "#002b36"
"""


pytestmark = pytest.mark.usefixtures("with_mnist")  # no start-up note about MNIST


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


def test_bundled_example_themes_load_from_inside_the_package():
    import cnn_tui

    folder = locations.bundled_themes_dir()
    assert folder == Path(cnn_tui.__file__).resolve().parent / "themes"  # in the wheel too
    themes, errors = load_theme_dirs([folder])
    assert errors == []
    assert sorted(t.name for t in themes) == ["cnn-solarized-dark", "cnn-solarized-light"]


def test_textual_themes_offered_after_ours_and_never_shadowed():
    app = CnnTuiApp(offer_autosave=False)
    names = app.theme_names
    ours = list(BUILTIN_THEMES) + ["cnn-solarized-dark", "cnn-solarized-light"]
    assert names[:len(ours)] == ours
    textual = textual_theme_names()
    assert {"ansi-dark", "ansi-light", "nord", "gruvbox", "dracula"} <= set(textual)
    assert names[len(ours):] == textual and len(set(names)) == len(names)
    for name in textual:  # Textual's own, not a file of ours under its name
        assert app.get_theme(name) == TEXTUAL_THEMES[name], name


def test_palette_lists_themes_in_the_offered_order():
    from cnn_tui.tui.commands import palette_commands

    app = CnnTuiApp(offer_autosave=False)
    listed = [name.removeprefix("Theme: ") for name, _, _ in palette_commands(app)
              if name.startswith("Theme: ")]
    assert listed == app.theme_names


@pytest.mark.parametrize("old", ["solarized-dark", "solarized-light"])
async def test_old_solarized_names_still_accepted_from_config(old):
    """Before the rename, our example files were named solarized-dark/-light: a config naming
    them now gets Textual's Solarized theme of that name, with no complaint."""
    _write(locations.config_dir(), "config.toml", f'theme = "{old}"\n')
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)):
        assert app.theme == old and app.current_theme == TEXTUAL_THEMES[old]
        assert _notes(app) == []


async def test_ansi_theme_leaves_the_terminal_colours_alone():
    """ansi-dark from the first frame: the ANSI-to-truecolor filter is off (it was made for
    the default theme before ours was set), and it is back on after switching away."""
    from textual.filter import ANSIToTruecolor

    def converting(app) -> bool:
        return any(f.enabled for f in app._filters if isinstance(f, ANSIToTruecolor))

    app = CnnTuiApp(theme="ansi-dark", offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.native_ansi_color and not converting(app)
        app.action_set_theme("cnn-dark")
        await pilot.pause()
        assert converting(app)


async def test_every_offered_theme_draws_every_screen():
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in "2341":  # each screen exists before the themes change under it
            await pilot.press(key)
        for index, name in enumerate(app.theme_names):
            await pilot.press("1234"[index % 4])
            app.action_set_theme(name)
            await pilot.pause()
            assert app.theme == name and app.has_class(f"-theme-{name}")
            assert "Traceback" not in app.export_screenshot()
        assert [n for n in _notes(app) if not n.startswith("theme: ")] == []


def test_severity_colours_render_in_ansi_themes():
    """ansi-dark's colours are `ansi_red` & co., which Rich cannot read from a style string
    (the marker came out uncoloured): the layer list's markers go through Textual's parser."""
    from rich.console import Console
    from rich.text import Text

    from cnn_tui.tui.build.layer_list import LayerList

    app = CnnTuiApp(theme="ansi-dark", offer_autosave=False)
    widget = LayerList()
    console = Console(color_system="standard", force_terminal=True)
    expected = {"error": "31", "warning": "33", "hint": "32"}  # ansi red, yellow, green
    with app._context():  # the widget reads app.theme_variables through the active app
        for severity, code in expected.items():
            with console.capture() as out:
                console.print(Text("x", style=widget._severity_style(severity)))
            assert f"\x1b[1;{code}m" in out.get(), severity


async def test_keys_of_the_build_screens_widgets_can_be_rebound(tmp_path, monkeypatch):
    """`build.down` lives on the layer list, not the screen: config.toml may still rebind it."""
    from cnn_tui import locations
    from cnn_tui.tui.app import CnnTuiApp

    locations.config_file().parent.mkdir(parents=True, exist_ok=True)
    locations.config_file().write_text('[keys]\n"build.down" = "ctrl+n"\n')
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not [n for n in app._notifications if "build.down" in str(n.message)]
        from cnn_tui.tui.build.layer_list import LayerList
        table = app.screen.query_one(LayerList)
        row = table.cursor_row
        await pilot.press("ctrl+n")
        assert table.cursor_row == row + 1
