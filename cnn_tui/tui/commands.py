"""Command palette (ctrl+p): every action of the app, searchable by name.

`palette_commands(app)` lists them (add each layer type, load each template, the file actions,
share code, each theme, screens, training); `AppCommands` serves that list to Textual's palette.
New screens add their own by defining `palette_commands(self)` on the Screen: the list of
(name, help, callback) shown while that screen is active.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from cnn_tui.spec.layers import LAYER_TYPES

if TYPE_CHECKING:
    from cnn_tui.tui.app import CnnTuiApp

PaletteCommand = tuple[str, str, Callable[[], object]]


def palette_commands(app: "CnnTuiApp", screen=None) -> list[PaletteCommand]:
    from cnn_tui.spec.templates import TEMPLATE_INFO, TEMPLATES

    run = app.run_action
    cmds: list[PaletteCommand] = [
        ("Open architecture…", "open a file or a share code (ctrl+o)", partial(run, "open")),
        ("Save", "save to the current file, or ask for one (ctrl+s)", partial(run, "save")),
        ("Save as…", "save to a new file", partial(run, "save_as")),
        ("Import browser-builder export…", "open a JSON file exported by the browser MNIST "
         "CNN Builder", partial(run, "import_browser")),
        ("Export…", "JSON file, share code, or code (e)", partial(run, "export")),
        ("Copy share code", "encode the architecture as a short code, copy it",
         partial(run, "share_code")),
        ("Change layer type…", "give the selected layer another type, keeping the settings "
         "both types have (c)", partial(run, "change_layer_type")),
        ("Model settings…", "the model's name, input shape [C, H, W] and classes (m)",
         partial(_model_settings, app)),
        ("Start training", "train the architecture (the Train screen)",
         partial(run, "start_training")),
        ("Fetch MNIST", "download MNIST (about 19 MiB) and check it, as `cnn-tui data fetch`",
         partial(run, "fetch_mnist")),
        ("Screen: Build", "the architecture editor (1)", partial(run, "switch_mode('build')")),
        ("Screen: Train", "training (2)", partial(run, "switch_mode('train')")),
        ("Screen: Analyze", "what a run learned (3)", partial(run, "switch_mode('analyze')")),
        ("Screen: Runs", "stored runs (4)", partial(run, "switch_mode('runs')")),
        ("Screen: Sweeps", "sweeps, ablations and comparisons, live (5)",
         partial(run, "switch_mode('sweeps')")),
        ("Help", "keys and help for this screen (F1 / ?)", partial(run, "help")),
        ("Quit", "leave the app (asks when there are unsaved changes)", partial(run, "quit")),
    ]
    for name, kind in LAYER_TYPES.items():
        cmds.append((f"Add layer: {kind.title}", kind.summary,
                     partial(run, f"add_layer({name!r})")))
    for name in TEMPLATES:
        cmds.append((f"Load template: {name}", TEMPLATE_INFO.get(name, ""),
                     partial(run, f"load_template({name!r})")))
    for theme in app.theme_names:  # ours first, then the theme files, then Textual's own
        cmds.append((f"Theme: {theme}", "switch the colour theme",
                     partial(run, f"set_theme({theme!r})")))
    extra = getattr(screen, "palette_commands", None)
    if callable(extra):
        cmds.extend(extra())
    return cmds


async def _model_settings(app: "CnnTuiApp") -> None:
    """Open the model settings form on the Build screen, from wherever the palette was."""
    await app.switch_mode("build")
    app.build_screen().action_model()


class AppCommands(Provider):
    """Serves `palette_commands` to the palette: all of them when empty, fuzzy-matched else."""

    def _commands(self) -> list[PaletteCommand]:
        return palette_commands(self.app, self.screen)  # type: ignore[arg-type]

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
