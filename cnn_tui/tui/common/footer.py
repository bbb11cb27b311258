"""The key hints at the bottom of every screen, drawn as one line by one widget.

`KeyBar` shows what Textual's `Footer` shows, in its compact style: the screen's active
bindings that are marked `show` (one per action), keys of a binding group together before the
group's label, disabled ones dimmed, and the command palette key on the right. Clicking a hint
presses its key.

Why not `Footer`: it builds a widget per key (about 15 on the Build screen) and rebuilds them
all whenever the focus moves, which was a third of the app's time to its first frame. This
widget reads the bindings when it paints and repaints when they change.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widget import Widget


@dataclass
class Hint:
    key: str  # the key to press (Binding.key)
    display: str  # how it is shown ("F1/?", "^p")
    description: str
    enabled: bool = True


class KeyBar(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description", "keybar--disabled"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .keybar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .keybar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyBar > .keybar--disabled {
        text-style: dim;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._spans: list[tuple[int, int, Hint]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        if screen is self.screen:
            self.refresh()

    # -- what to show ---------------------------------------------------------------------
    def hints(self) -> tuple[list[tuple[list[Hint], str, bool]], Hint | None]:
        """([(hints, group label or "", the app's own?), ...], the palette hint or None); the
        app's own hints (screens, help, quit) give way last when the line is too narrow."""
        app = self.app
        active = self.screen.active_bindings
        by_action: dict[str, tuple] = {}
        screen = self.screen
        # the screen's own keys first, in their order, then the focused widget's, then the
        # app's; a widget key that stands for a screen binding (the same id, such as the layer
        # list's enter for build.edit, which shadows the screen's) takes that binding's place
        order = {}
        for bindings in screen._bindings.key_to_bindings.values():
            for b in bindings:
                order.setdefault(b.id or b.action, len(order))

        def rank(entry) -> tuple[int, int]:
            node, binding = entry[0], entry[1]
            if node is screen or (node is not app and binding.id in order):
                return 0, order.get(binding.id or binding.action, 0)
            return (2 if node is app else 1), 0

        ranked = sorted(active.values(), key=rank)
        for node, binding, enabled, _tooltip in ranked:
            if binding.show:
                by_action.setdefault(binding.action, (binding, enabled, node is app))
        items: list[tuple[list[Hint], str, bool]] = []
        # one entry per binding group, where its first member stands (a rebound key moves its
        # binding to the end of the bindings, away from the rest of its group)
        grouped: dict[object, list] = {}
        for n, member in enumerate(by_action.values()):
            group = member[0].group
            grouped.setdefault(n if group is None else id(group), []).append(member)
        for members in grouped.values():
            group = members[0][0].group
            if group is not None and len(members) > 1:
                items.append(([Hint(b.key, app.get_key_display(b), "", e) for b, e, _ in members],
                              group.description, all(m[2] for m in members)))
            else:
                items += [([Hint(b.key, app.get_key_display(b), b.description, e)], "", of_app)
                          for b, e, of_app in members]
        palette = None
        if app.ENABLE_COMMAND_PALETTE:
            found = active.get(app.COMMAND_PALETTE_BINDING)
            if found is not None:
                binding = found[1]
                palette = Hint(binding.key, app.get_key_display(binding), binding.description,
                               found[2])
        return items, palette

    # -- drawing --------------------------------------------------------------------------
    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        text_style = self.get_component_rich_style("keybar--description")
        dim = self.get_component_rich_style("keybar--disabled")
        items, palette = self.hints()
        spans: list[tuple[int, int, Hint]] = []

        # positions and widths in terminal cells (a key display such as "⏎" is one cell)
        def put(line: Text, hint: Hint) -> None:
            start = line.cell_len
            line.append(hint.display, key_style if hint.enabled else key_style + dim)
            if hint.description:
                line.append(" " + hint.description, text_style if hint.enabled else text_style + dim)
            spans.append((start, line.cell_len, hint))

        right_width = (Text(palette.display + palette.description).cell_len + 3) if palette else 0
        app_items = {n for n, item in enumerate(items) if item[2]}
        shown = list(range(len(items)))

        def draw(sep: str) -> Text:
            spans.clear()
            line = Text(no_wrap=True, overflow="crop", end="")
            for index in shown:
                hints, label, _ = items[index]
                if line.cell_len:
                    line.append(sep)
                # a group's keys run together ("1234") while each is one character; a rebound
                # longer one ("^t") would merge into its neighbours, so then they are split by "/"
                joiner = "" if all(len(h.display) == 1 for h in hints) else "/"
                for n, hint in enumerate(hints):
                    if n and joiner:
                        line.append(joiner, text_style)
                    put(line, hint)
                if label:
                    line.append(" " + label, text_style)
            return line

        def fits(line: Text) -> bool:
            return line.cell_len + right_width + 1 <= self.size.width

        line = draw("  ")
        if not fits(line):
            # one space between hints; then whole hints give way, never cut mid-word (F1 lists
            # them all): the screen's from its last but its first `KEEP_HINTS` (the keys that
            # matter most now, such as a run's pause and stop), then the app's from its last
            keep = max(1, int(getattr(self.screen, "KEEP_HINTS", 1)))
            line = draw(" ")
            while not fits(line) and len(shown) > 1:
                own = [i for i in shown if i not in app_items]
                of_app = [i for i in shown if i in app_items]
                if len(own) > keep or not of_app:
                    shown.remove(own[-1])
                else:
                    shown.remove(of_app[-1])
                line = draw(" ")
        if palette is not None:
            right = Text(no_wrap=True, end="")
            right.append("│ ", text_style)
            put(right, palette)
            pal_span = spans.pop()
            room = max(0, self.size.width - right.cell_len - 1)
            if line.cell_len > room:  # too narrow: the left hints give way, the palette stays
                line.truncate(room)
                spans = [s for s in spans if s[1] <= room]
            offset = max(line.cell_len + 1, self.size.width - right.cell_len)
            line.append(" " * (offset - line.cell_len))
            line.append_text(right)
            spans.append((offset + pal_span[0], offset + pal_span[1], palette))
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, hint in self._spans:
            if start <= event.x < end:
                if hint.enabled:
                    self.app.simulate_key(hint.key.split(",")[0])
                else:
                    self.app.bell()
                event.stop()
                return
