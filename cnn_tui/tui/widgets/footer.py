"""The footer every screen shows: Textual's Footer in its compact style, styled once.

`Footer(compact=True)` gives each key its `-compact` class from a watcher when the key mounts,
so every key is styled twice and the screen's first frame waits for it (about 20 restyles on
the Build screen). Here each key carries the class before it mounts.
"""

from __future__ import annotations

from textual.widgets import Footer


class CompactFooter(Footer):
    def __init__(self, **kwargs) -> None:
        super().__init__(compact=True, **kwargs)

    def compose(self):
        for widget in super().compose():
            if type(widget).__name__ == "FooterKey":  # not exported by textual.widgets
                widget.set_class(True, "-compact", update=False)
            yield widget
