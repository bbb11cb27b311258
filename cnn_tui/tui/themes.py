"""The app's themes: four built in, more from TOML files, then Textual's own; failures
reported, not raised.

Built-in names: cnn-dark, cnn-light, cnn-high-contrast, cnn-mono. `cnn-mono` uses one
foreground colour on one background, emphasis by bold and reverse only, so it carries every
meaning through the symbols the widgets draw (it is what `NO_COLOR` starts in). After ours and
the theme files come the themes Textual ships (`textual_theme_names()`: ansi-dark and
ansi-light, which follow the terminal's own palette, nord, gruvbox, dracula, ...), so a file of
ours never shadows one of them: the package's example files are named cnn-solarized-dark and
cnn-solarized-light, and `solarized-dark` / `solarized-light` (their names before) now pick
Textual's Solarized themes.

A theme file is a TOML file in the package's `themes/` or the user's themes folder:

    name = "my-solarized"
    dark = true
    [colors]            # primary is required; any Textual theme colour may be given
    primary = "#268bd2"
    background = "#002b36"
    [variables]         # optional Textual design variables, e.g. footer-key-foreground
    footer-key-foreground = "#b58900"

`load_theme_dirs` returns the themes it could read and one line per file it could not.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES as TEXTUAL_THEMES
from textual.theme import Theme

COLOR_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground",
                "background", "surface", "panel", "boost")
ALIASES = {  # what `--theme` and config.toml accept besides the full names
    "dark": "cnn-dark", "light": "cnn-light", "high-contrast": "cnn-high-contrast",
    "highcontrast": "cnn-high-contrast", "contrast": "cnn-high-contrast",
    "mono": "cnn-mono", "monochrome": "cnn-mono",
}
DEFAULT_THEME = "cnn-dark"
MAX_THEME_BYTES = 64_000

_MONO_FG, _MONO_BG = "#e8e8e8", "#000000"

BUILTIN_THEMES: dict[str, Theme] = {
    t.name: t
    for t in (
        Theme(name="cnn-dark", primary="#4f9dde", secondary="#2e6f9e", accent="#f2b134",
              warning="#f2b134", error="#e5536a", success="#5cc281", foreground="#e4e4e4",
              background="#14171c", surface="#1c2027", panel="#252a33", dark=True),
        Theme(name="cnn-light", primary="#1f63b8", secondary="#4b7fb8", accent="#a55a00",
              warning="#a55a00", error="#b3261e", success="#2d7d46", foreground="#1d1d1d",
              background="#f7f7f5", surface="#ececea", panel="#dddddb", dark=False),
        Theme(name="cnn-high-contrast", primary="#00e5ff", secondary="#ffffff", accent="#ffff00",
              warning="#ffff00", error="#ff5f5f", success="#00ff7f", foreground="#ffffff",
              background="#000000", surface="#000000", panel="#1a1a1a", dark=True,
              luminosity_spread=0.3, text_alpha=1.0,
              variables={"border": "#ffffff", "block-cursor-text-style": "bold reverse",
                         "footer-key-foreground": "#ffff00", "text-muted": "#ffffff"}),
        Theme(name="cnn-mono", primary=_MONO_FG, secondary=_MONO_FG, accent=_MONO_FG,
              warning=_MONO_FG, error=_MONO_FG, success=_MONO_FG, foreground=_MONO_FG,
              background=_MONO_BG, surface=_MONO_BG, panel=_MONO_BG, boost=_MONO_BG, dark=True,
              luminosity_spread=0.0, text_alpha=1.0,
              variables={
                  "text-muted": _MONO_FG, "text-disabled": _MONO_FG,
                  "foreground-muted": _MONO_FG, "foreground-disabled": _MONO_FG,
                  "block-cursor-foreground": _MONO_BG, "block-cursor-background": _MONO_FG,
                  "block-cursor-text-style": "bold",
                  "block-cursor-blurred-foreground": _MONO_FG,
                  "block-cursor-blurred-background": _MONO_BG,
                  "block-cursor-blurred-text-style": "reverse",
                  "block-hover-background": _MONO_BG,
                  "border": _MONO_FG, "border-blurred": _MONO_FG,
                  "footer-key-foreground": _MONO_FG, "footer-background": _MONO_BG,
                  "footer-description-foreground": _MONO_FG,
                  "input-cursor-text-style": "reverse", "input-selection-background": _MONO_FG,
                  "scrollbar": _MONO_FG, "scrollbar-background": _MONO_BG,
                  "scrollbar-hover": _MONO_FG, "scrollbar-active": _MONO_FG,
                  "link-color": _MONO_FG, "link-background-hover": _MONO_FG,
                  "markdown-h1-color": _MONO_FG, "markdown-h2-color": _MONO_FG,
                  "markdown-h3-color": _MONO_FG,
              }),
    )
}


def textual_theme_names() -> list[str]:
    """The themes Textual itself ships, in Textual's order (offered after ours)."""
    return list(TEXTUAL_THEMES)


class ThemeFileError(ValueError):
    """One line naming the theme file and what is wrong in it."""


def resolve_name(name: str) -> str:
    """The registered name for what a user typed (`dark` -> `cnn-dark`)."""
    key = name.strip().lower()
    return ALIASES.get(key, name.strip())


def _color(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"{where}: must be a colour string like \"#268bd2\"")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(f"{where}: {value[:40]!r} is not a colour") from None
    return value


def theme_from_toml(data: dict, shown: str) -> Theme:
    """A Theme from a parsed theme file; ThemeFileError naming `shown` and the field."""
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 60:
        raise ThemeFileError(f"{shown}: name: must be a string of 1..60 characters")
    if name in BUILTIN_THEMES:
        raise ThemeFileError(f"{shown}: name: {name!r} is a built-in theme; choose another name")
    unknown = set(data) - {"name", "dark", "colors", "variables"}
    if unknown:
        raise ThemeFileError(f"{shown}: unknown key {sorted(unknown)[0]!r} "
                             "(allowed: name, dark, colors, variables)")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(f"{shown}: dark: must be true or false")
    colors = data.get("colors")
    if not isinstance(colors, dict):
        raise ThemeFileError(f"{shown}: colors: missing table [colors] (primary is required)")
    for key in colors:
        if key not in COLOR_FIELDS:
            raise ThemeFileError(f"{shown}: colors.{key}: unknown colour "
                                 f"(known: {', '.join(COLOR_FIELDS)})")
    if "primary" not in colors:
        raise ThemeFileError(f"{shown}: colors.primary: required")
    values = {k: _color(v, f"{shown}: colors.{k}") for k, v in colors.items()}
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in variables.items()):
        raise ThemeFileError(f"{shown}: variables: must be a table of strings")
    return Theme(name=name.strip(), dark=dark, variables=dict(variables), **values)


def load_theme_file(path: Path) -> Theme:
    """Read one theme file; every failure is a ThemeFileError naming the file."""
    shown = str(path)
    try:
        raw = path.read_bytes()[: MAX_THEME_BYTES + 1]
    except OSError as exc:
        raise ThemeFileError(f"{shown}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_THEME_BYTES:
        raise ThemeFileError(f"{shown}: too large for a theme file")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ThemeFileError(f"{shown}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"{shown}: not valid TOML ({exc})") from None
    theme = theme_from_toml(data, shown)
    try:  # a variable Textual cannot use fails here, not later while drawing
        theme.to_color_system().generate()
    except Exception as exc:  # noqa: BLE001 - Textual raises several kinds here
        raise ThemeFileError(f"{shown}: unusable colours ({exc})") from None
    return theme


def load_theme_dirs(folders: list[Path]) -> tuple[list[Theme], list[str]]:
    """Every `*.toml` theme in `folders` (later folders override earlier ones by name)."""
    found: dict[str, Theme] = {}
    errors: list[str] = []
    for folder in folders:
        try:
            files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        except OSError as exc:
            errors.append(f"{folder}: cannot list ({exc.strerror or exc})")
            continue
        for path in files:
            try:
                theme = load_theme_file(path)
            except ThemeFileError as err:
                errors.append(str(err))
                continue
            found[theme.name] = theme
    return list(found.values()), errors


def last_theme_file() -> Path:
    from cnn_tui import locations

    return locations.state_dir() / "theme.json"


def read_last_theme() -> str | None:
    """The theme chosen in the last session, if any (a broken file counts as none)."""
    import json

    try:
        name = json.loads(last_theme_file().read_text(encoding="utf-8")).get("theme")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def remember_theme(name: str) -> None:
    """Keep the chosen theme for the next start; best effort (a read-only home is fine)."""
    import json

    from cnn_tui import atomic
    from cnn_tui.errors import CnnTuiError

    path = last_theme_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, json.dumps({"theme": name}))
    except (OSError, CnnTuiError):
        pass
