"""The top line of every screen: which screen this is among all of them, and what is open.

`▸1 Build  2 Train  3 Analyze  4 Runs  5 Sweeps        Beginner (net.json) *`

The current screen is marked twice, by the `▸` and by reverse video, so it reads in the
monochrome theme too; the others are dimmed. Clicking one switches to it. The right side is
the app's sub-title (the architecture, its file, `*` while unsaved), cut from the left when the
line is short. Replaces Textual's Header (which showed only the title).
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widget import Widget

MARK = "▸"


class TopBar(Widget, can_focus=False):
    DEFAULT_CSS = """
    TopBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.watch(self.app, "sub_title", lambda _value: self.refresh(), init=False)
        self.app.mode_change_signal.subscribe(self, lambda _mode: self.refresh())

    def on_unmount(self) -> None:
        self.app.mode_change_signal.unsubscribe(self)

    def _modes(self) -> list[tuple[str, str, str]]:
        """(mode, key, label) of every screen, in key order."""
        from cnn_tui.tui.app import SCREEN_LABELS
        return [(mode, key, label) for mode, (key, label) in SCREEN_LABELS.items()
                if mode in self.app.MODES]

    def render(self) -> Text:
        current = getattr(self.app, "current_mode", None)
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        self._spans = []
        for mode, key, label in self._modes():
            start = line.cell_len
            if mode == current:
                line.append(f"{MARK}{key} {label}", style="bold reverse")
            else:
                line.append(f" {key} {label}", style="dim")
            self._spans.append((start, line.cell_len, mode))
            line.append(" ")
        title = str(getattr(self.app, "sub_title", "") or "")
        room = self.size.width - line.cell_len - 1
        if title and room > 8:
            if len(title) > room:
                title = "…" + title[-(room - 1):]
            line.append(" " * max(1, room - len(title)) + title)
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, mode in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.run_action(f"switch_mode({mode!r})")
                return
