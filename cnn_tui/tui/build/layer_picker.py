"""Choose a layer to add: the suggestions for this position first, marked so, then every type.

Dismisses with `(type_name, params)` (the suggestion's parameters, or {} for the type's
defaults) or None on escape. Suggested entries say why in one line, so picking one teaches
the usual order (conv -> activation -> pool -> ... -> flatten -> dense).

Typing filters the list: letters and digits (j and k still move) keep the types whose name
holds what was typed, those starting with it first, the first one highlighted; backspace
takes a letter back, escape clears the filter (and cancels once it is empty).
"""

from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual import events
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.tui.common.option_picker import OptionPicker, picker_bindings

Choice = tuple[str, dict[str, Any]]
TITLE_WIDTH = 14  # the type's name, then its one-line summary
BOX_MAX = 112  # the box: 90% of the screen, at most this wide (summaries whole at 120)
BOX_FRAME = 6  # its border, padding and the list's own margins


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items() if v is not None)


def summary_width(screen_width: int) -> int:
    """Room for a type's summary beside its name in the picker at this screen width."""
    box = min(BOX_MAX, screen_width * 9 // 10)
    return max(16, box - BOX_FRAME - TITLE_WIDTH - 1)


def matches(type_name: str, query: str) -> int | None:
    """How well a layer type answers a typed filter: 0 its name starts with it, 1 holds it,
    None not at all (names: the title, "MaxPool2D", and the type, "maxpool2d")."""
    if not query:
        return 0
    names = (LAYER_TYPES[type_name].title.lower(), type_name.lower())
    if any(n.startswith(query) for n in names):
        return 0
    if any(query in n for n in names):
        return 1
    return None


class LayerPicker(OptionPicker):
    BINDINGS = picker_bindings("picker")

    DEFAULT_CSS = """
    LayerPicker > Vertical { height: 90%; max-height: 40; max-width: 112; }
    LayerPicker OptionList { height: 1fr; max-height: 100%; }
    """

    def __init__(self, title: str, suggestions: Sequence = (), exclude: str | None = None) -> None:
        super().__init__()
        self._title = title
        self._choices: dict[str, Choice] = {}
        self._exclude = exclude  # a type not offered (the layer's own, when changing its type)
        self._suggestions = [s for s in suggestions
                             if s.type != exclude and s.type in LAYER_TYPES]
        self.query_text = ""  # what has been typed to filter the list

    def compose_title(self) -> Text:
        out = Text(self._title, style="bold")
        if self.query_text:
            out.append(f"   filter: {self.query_text}▏", style="bold reverse")
            out.append("  backspace: a letter back · escape: clear", style="dim")
        else:
            out.append("   type to filter", style="dim")
        return out

    def compose_options(self) -> list[Option | None]:
        query = self.query_text
        width = summary_width(self.app.size.width)
        options: list[Option | None] = []
        for n, s in enumerate(self._suggestions):
            if matches(s.type, query) is None:
                continue
            key = f"suggested-{n}"
            self._choices[key] = (s.type, dict(s.params or {}))
            prompt = Text()
            prompt.append("* suggested  ", style="bold")
            prompt.append(LAYER_TYPES[s.type].title, style="bold")
            if s.params:
                prompt.append(f" ({_params_text(s.params)})")
            prompt.append(f"\n    {s.reason}", style="italic")
            options.append(Option(prompt, id=key))
        if options:
            options.append(None)
        kinds = [(matches(name, query), i, name) for i, name in enumerate(LAYER_TYPES)
                 if name != self._exclude]
        for _rank, _i, name in sorted(k for k in kinds if k[0] is not None):
            kind = LAYER_TYPES[name]
            key = f"type-{name}"
            self._choices[key] = (name, {})
            prompt = Text()
            prompt.append(f"{kind.title:<{TITLE_WIDTH}}", style="bold")
            summary = kind.summary
            if len(summary) > width:  # one line per type keeps the list scannable
                summary = summary[: width - 1].rstrip() + "…"
            prompt.append(f" {summary}")
            options.append(Option(prompt, id=key))
        return options

    def result(self, option_id: str | None) -> Choice | None:
        return self._choices.get(option_id or "")

    # -- the typed filter ------------------------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        if event.key == "backspace" and self.query_text:
            self._filter(self.query_text[:-1])
        elif event.character and len(event.character) == 1 and (
                event.character.isalnum() or event.character in "_-"):
            self._filter(self.query_text + event.character.lower())
        else:
            return
        event.stop()
        event.prevent_default()

    def _filter(self, query: str) -> None:
        self.query_text = query
        self.query_one(Label).update(self.compose_title())
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(self.compose_options())
        first = next((i for i in range(options.option_count)
                      if not options.get_option_at_index(i).disabled), None)
        options.highlighted = first

    def action_cancel(self) -> None:
        if self.query_text:
            self._filter("")
            return
        super().action_cancel()
