"""Context help (F1 / ?): what the screen and the focused widget say about themselves
(their `HELP` text), then every key that works where help was asked, then the keys that
work everywhere. Built from the live bindings, so rebound keys show as rebound.

Everything is plain text made into styled content here, never parsed as markup: key names
such as `[` and descriptions taken from bindings show as they are, and a HELP text's
`backticked` keys are drawn bold, without the backticks.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from cnn_tui.tui.common.footer import KeyBar
from cnn_tui.tui.common.topbar import TopBar


@dataclass(frozen=True)
class HelpContext:
    screen_name: str
    screen_help: str
    widget_help: list[str]
    keys_here: list[tuple[str, str, str]]  # (key display, description, binding id or "")
    keys_everywhere: list[tuple[str, str, str]]


# Generic navigation every scrolling widget has: listed once in the text, not per key.
_GENERIC_ACTIONS = ("scroll_", "page_", "focus_next", "focus_previous", "app.focus_next",
                    "app.focus_previous", "copy_text", "screen.copy_text", "maximize",
                    "screen.maximize", "command_palette", "app.command_palette")


def _generic(action: str) -> bool:
    return action.startswith(_GENERIC_ACTIONS)


def gather_context(app, screen) -> HelpContext:
    """Read help texts and active bindings from `screen` (the one help was asked on)."""
    widget_help: list[str] = []
    node = screen.focused
    while node is not None and node is not screen:
        text = getattr(node, "HELP", None)
        if text and text not in widget_help:
            widget_help.append(text)
        node = node.parent
    here: list[tuple[str, str, str]] = []
    everywhere: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        description = binding.description or binding.tooltip or binding.action
        if binding.system or not description or _generic(binding.action):
            continue
        item = (app.get_key_display(binding), description, binding.id or "")
        if item in seen:
            continue
        seen.add(item)
        (everywhere if active.node is app else here).append(item)
    return HelpContext(
        screen_name=type(screen).__name__.removesuffix("Screen") or "Screen",
        screen_help=getattr(screen, "HELP", None) or "",
        widget_help=widget_help,
        keys_here=here,
        keys_everywhere=everywhere,
    )


KEY_STYLE = "bold"


def help_text(text: str) -> Content:
    """A HELP text as content: `backticked` parts are keys (bold, backticks dropped); the rest
    is plain (brackets and all). An unpaired backtick is kept as it is."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an odd number of backticks: the last one is not a key mark
        parts[-2:] = [parts[-2] + "`" + parts[-1]]
    return Content.assemble(*((part, KEY_STYLE) if n % 2 else part
                              for n, part in enumerate(parts) if part))


def _keys_table(items: list[tuple[str, str, str]]) -> Content:
    """One line per key: the key (bold), what it does, its binding id (dim)."""
    width = max((len(k) for k, _, _ in items), default=0)
    dwidth = max((len(d) for _, d, _ in items), default=0)
    lines = [Content.assemble("  ", (k.ljust(width), KEY_STYLE), "  ", d.ljust(dwidth),
                              *(("  ", (i, "dim")) if i else ()))
             for k, d, i in items]
    return Content("\n").join(lines)


class HelpScreen(Screen):
    HELP = "Help: press escape, q, F1 or ? to go back."
    BINDINGS = [Binding("escape,q,f1,question_mark", "app.pop_screen", "Back", id="help.close")]
    DEFAULT_CLASSES = "help"

    def __init__(self, context: HelpContext) -> None:
        super().__init__()
        self.context = context

    def compose(self) -> ComposeResult:
        ctx = self.context
        yield TopBar()
        with VerticalScroll(id="help-body"):
            yield Static(Content(f"Help: {ctx.screen_name}"), classes="help-title")
            if ctx.screen_help:
                yield Static(help_text(ctx.screen_help), classes="help-text")
            for text in ctx.widget_help:
                yield Static(help_text(text), classes="help-text")
            if ctx.keys_here:
                yield Static("Keys on this screen", classes="help-heading")
                yield Static(_keys_table(ctx.keys_here), classes="help-keys")
            if ctx.keys_everywhere:
                yield Static("Keys everywhere", classes="help-heading")
                yield Static(_keys_table(ctx.keys_everywhere), classes="help-keys")
            yield Static(Content(
                "Arrows, page up/down and home/end scroll; tab moves the focus. ctrl+p opens "
                "the command palette: every action, searchable. Keys can be rebound in "
                "config.toml: [keys] then binding-id = \"key\" (the ids are shown after each "
                "key above)."), classes="help-text")
        yield KeyBar()
