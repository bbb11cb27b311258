"""Choose a layer to add: the suggestions for this position first, marked so, then every type.

Dismisses with `(type_name, params)` (the suggestion's parameters, or {} for the type's
defaults) or None on escape. Suggested entries say why in one line, so picking one teaches
the usual order (conv -> activation -> pool -> ... -> flatten -> dense).
"""

from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual.widgets.option_list import Option

from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.tui.common.option_picker import OptionPicker, picker_bindings

Choice = tuple[str, dict[str, Any]]
SUMMARY_WIDTH = 44


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items() if v is not None)


class LayerPicker(OptionPicker):
    BINDINGS = picker_bindings("picker")

    DEFAULT_CSS = """
    LayerPicker > Vertical { height: 90%; max-height: 40; }
    LayerPicker OptionList { height: 1fr; max-height: 100%; }
    """

    def __init__(self, title: str, suggestions: Sequence = (), exclude: str | None = None) -> None:
        super().__init__()
        self._title = title
        self._choices: dict[str, Choice] = {}
        self._exclude = exclude  # a type not offered (the layer's own, when changing its type)
        self._suggestions = [s for s in suggestions if s.type != exclude]

    def compose_title(self) -> Text:
        return Text(self._title, style="bold")

    def compose_options(self) -> list[Option | None]:
        options: list[Option | None] = []
        for n, s in enumerate(self._suggestions):
            if s.type not in LAYER_TYPES:
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
        for name, kind in LAYER_TYPES.items():
            if name == self._exclude:
                continue
            key = f"type-{name}"
            self._choices[key] = (name, {})
            prompt = Text()
            prompt.append(f"{kind.title:<14}", style="bold")
            summary = kind.summary
            if len(summary) > SUMMARY_WIDTH:  # one line per type keeps the list scannable
                summary = summary[: SUMMARY_WIDTH - 1].rstrip() + "…"
            prompt.append(f" {summary}")
            options.append(Option(prompt, id=key))
        return options

    def result(self, option_id: str | None) -> Choice | None:
        return self._choices.get(option_id or "")
