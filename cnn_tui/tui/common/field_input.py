"""The forms' text field: keys applied in the order they were typed, and up/down through the
usual values.

Textual's Input inserts a typed character as soon as the key reaches it, but runs its bound
keys (backspace, delete, arrows, home, end, enter) only after the key has bubbled up to the
app: typed in one burst, `backspace 3` on a field holding `2` inserted the 3 first and then
deleted it, leaving `2` (Textualize/textual#6605). `FieldInput` runs its own bindings where
the key arrives, so every key applies in order.

A number field with usual values (`presets`: filters 8, 16, 32, ...) steps through them with
up (the next larger) and down (the next smaller), from whatever is typed; the dropdown beside
it is for the mouse and is not a tab stop of its own (`PickSelect`), so each field is one tab
stop.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from textual import events
from textual.css.query import NoMatches
from textual.widgets import Input, Select

from cnn_tui.errors import SpecError


class FieldInput(Input):
    """An Input whose bound keys apply in the order typed; up/down step through `presets`
    (numbers, ascending), read with `parse` (text -> number; SpecError on bad text)."""

    def __init__(self, *args: Any, presets: Sequence = (),
                 parse: Callable[[str], Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.presets = tuple(sorted(presets))
        self._parse = parse

    async def _on_key(self, event: events.Key) -> None:
        if event.key in ("up", "down") and self.presets:
            event.stop()
            event.prevent_default()
            self.step(1 if event.key == "up" else -1)
            return
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if binding.priority:
                    continue  # the app ran those before the key got here
                event.stop()
                event.prevent_default()
                await self.run_action(binding.action)
                return
        await super()._on_key(event)

    def current(self) -> Any:
        """The typed value as a number, or None when it does not read as one."""
        if self._parse is None:
            return None
        try:
            return self._parse(self.value)
        except SpecError:
            return None

    def step(self, direction: int) -> None:
        """The next larger (1) or smaller (-1) usual value than the one typed (a bell past the
        last one); from nothing typed, the smallest."""
        value = self.current()
        if value is None:
            chosen = self.presets[0]
        elif direction > 0:
            chosen = next((p for p in self.presets if p > value), None)
        else:
            chosen = next((p for p in reversed(self.presets) if p < value), None)
        if chosen is None:
            self.app.bell()
            return
        self.value = format_value(chosen)
        self.cursor_position = len(self.value)


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class PickSelect(Select, can_focus=False):
    """The usual-values dropdown beside a number field: opened with the mouse, never a tab
    stop; focusing it (after a pick or an escape) focuses its field instead."""

    def __init__(self, options: Sequence[tuple[str, Any]], *args: Any, field_id: str,
                 **kwargs: Any) -> None:
        super().__init__(options, *args, **kwargs)
        self.field_id = field_id
        self.values = [v for _, v in options]  # what it offers now

    def offer(self, options: Sequence[tuple[str, Any]]) -> None:
        """Offer these (label, value) options, unless it already does."""
        values = [v for _, v in options]
        if values != self.values:
            self.values = values
            self.set_options(options)

    def focus(self, scroll_visible: bool = True):
        try:
            return self.screen.query_one(f"#{self.field_id}").focus(scroll_visible)
        except NoMatches:  # the form is closing: nothing to focus
            return self
