"""The app shell: screens (modes), keys, themes, command palette, files, quit, autosave.

One `Document` (`app.document`) holds the architecture being edited and its undo history;
every screen reads it. Screens are Textual modes, so each keeps its state while another is
shown: 1 Build, 2 Train, 3 Analyze, 4 Runs, 5 Sweeps; F1 / ? help for whatever has focus.

Nothing here imports torch: the first frame must not wait for it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from cnn_tui import locations
from cnn_tui.errors import CnnTuiError
from cnn_tui.spec import io as spec_io
from cnn_tui.spec.model import Architecture
from cnn_tui.spec.text import printable
from cnn_tui.tui import themes as theme_mod
from cnn_tui.tui.common.autosave import (Autosaver, keep_aside, read_autosave, read_autosave_source,
                                  same_architecture)
from cnn_tui.tui.commands import AppCommands
from cnn_tui.tui.common.confirm import ChoiceDialog
from cnn_tui.tui.common.path_prompt import PathPrompt
from cnn_tui.tui.common.document import Document
from cnn_tui.settings import Settings
from cnn_tui.tui.keymap import binding_ids, key_conflicts, parse_keys, read_config
from cnn_tui.tui.build.screen import BuildScreen

SCREEN_MODES = ("build", "train", "analyze", "runs", "sweeps")
# mode -> (its key, its name): the top line of every screen lists them, the current one marked
SCREEN_LABELS = {"build": ("1", "Build"), "train": ("2", "Train"), "analyze": ("3", "Analyze"),
                 "runs": ("4", "Runs"), "sweeps": ("5", "Sweeps")}
# One footer entry "12345 Screens" instead of five: leaves room for the screen's own keys at 80x24.
SCREENS_GROUP = Binding.Group("Screens", compact=True)


def _train_screen():
    """Imported on first visit: the Train screen's charts and worker are not first-frame work."""
    from cnn_tui.tui.train.screen import TrainScreen

    return TrainScreen()


def _analyze_screen():
    from cnn_tui.tui.analyze.screen import AnalyzeScreen

    return AnalyzeScreen()


def _runs_screen():
    from cnn_tui.tui.runs.screen import RunsScreen

    return RunsScreen()


def _sweeps_screen():
    from cnn_tui.tui.sweeps.screen import SweepsScreen

    return SweepsScreen()


class CnnTuiApp(App[int]):
    """`CnnTuiApp(arch, path)`: edit `arch` (Beginner template when None), saved to `path`."""

    TITLE = "cnn-tui"
    # absolute paths: subclasses live elsewhere. The Build screen's CSS is read with the app's
    # (the first screen shown): loaded by the screen instead, it costs one more parse of every
    # stylesheet before the first frame.
    CSS_PATH = [Path(__file__).with_name("app.tcss"),
                Path(__file__).parent / "build" / "build.tcss"]
    COMMANDS = App.COMMANDS | {AppCommands}
    MODES = {"build": BuildScreen, "train": _train_screen, "analyze": _analyze_screen,
             "runs": _runs_screen, "sweeps": _sweeps_screen}
    DEFAULT_MODE = "build"
    BINDINGS = [
        Binding("1", "switch_mode('build')", "Build", id="app.build", group=SCREENS_GROUP),
        Binding("2", "switch_mode('train')", "Train", id="app.train", group=SCREENS_GROUP),
        Binding("3", "switch_mode('analyze')", "Analyze", id="app.analyze", group=SCREENS_GROUP),
        Binding("4", "switch_mode('runs')", "Runs", id="app.runs", group=SCREENS_GROUP),
        Binding("5", "switch_mode('sweeps')", "Sweeps", id="app.sweeps", group=SCREENS_GROUP),
        Binding("f1,question_mark", "help", "Help", id="app.help", key_display="F1/?"),
        Binding("ctrl+s", "save", "Save", id="app.save", show=False),
        # F2 too: most terminals (and tmux) send ctrl+shift+s as plain ctrl+s
        Binding("f2,ctrl+shift+s", "save_as", "Save as", id="app.save_as", show=False,
                key_display="F2"),
        Binding("ctrl+o", "open", "Open", id="app.open", show=False),
        Binding("e", "export", "Export", id="app.export", show=False),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, source_arch: Architecture | None = None, path: Path | None = None, *,
                 theme: str | None = None, autosave_delay: float = 0.5,
                 offer_autosave: bool = True, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings.from_env()
        self.mnist_missing: str | None = None  # why MNIST cannot be found, once looked for
        self.mnist_mirrors: tuple[str, ...] | None = None  # where Fetch MNIST looks (None: the usual)
        self._feed = None  # the current run (made on first use: not first-frame work)
        if source_arch is None:
            from cnn_tui.spec.templates import get_template

            source_arch = get_template("beginner")
        self.document = Document(source_arch, Path(path) if path else None)
        self.opened = source_arch
        self.offer_autosave = offer_autosave
        self.startup_problems: list[str] = []
        self._reported_clashes: set[str] = set()
        self.config = self._read_config()
        self.theme_names = self._register_themes()
        self._set_starting_theme(self._starting_theme(theme))
        self.autosaver = Autosaver(self, lambda: self.document.arch, delay=autosave_delay,
                                   get_source=lambda: self.document.path)
        self.document.subscribe(self._document_changed)
        self._update_title()

    def get_system_commands(self, screen):
        """Textual's palette entries less its Quit (ours asks about unsaved work, and two Quit
        entries read as a bug) and its Theme picker (the palette lists our themes by name)."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Theme"):
                yield command

    # -- start-up ---------------------------------------------------------------------------
    def _read_config(self) -> dict:
        config, problems = read_config(locations.config_file())
        self.startup_problems += problems
        return config

    def _register_themes(self) -> list[str]:
        """Every theme offered, in the order `--theme` errors and the palette list them: ours,
        the theme files (the package's, then the user's), then the rest of Textual's own (a
        user's file may replace one of those by taking its name)."""
        for theme in theme_mod.BUILTIN_THEMES.values():
            self.register_theme(theme)
        names = list(theme_mod.BUILTIN_THEMES)
        folders = [locations.bundled_themes_dir(), locations.user_themes_dir()]
        user, problems = theme_mod.load_theme_dirs(folders)
        for theme in user:
            self.register_theme(theme)
            names.append(theme.name)
        self.startup_problems += [f"theme not loaded: {p}" for p in problems]
        names += [name for name in theme_mod.textual_theme_names() if name not in names]
        return names

    def _set_starting_theme(self, name: str) -> None:
        """Set the theme before the stylesheet is first parsed, without the watcher (which
        would re-parse every stylesheet twice before the first frame), doing what it does for
        a theme set before start: the dark/light/theme classes and the ANSI colour filter."""
        self.set_reactive(App.theme, name)
        self.stylesheet.set_variables(self.get_css_variables())  # nothing is parsed yet
        dark = self.current_theme.dark
        self.set_class(dark, "-dark-mode", update=False)
        self.set_class(not dark, "-light-mode", update=False)
        self.set_class(True, f"-theme-{name}", update=False)
        # the ANSI filter was made for Textual's default theme: a light theme maps ANSI colours
        # with the light palette, and ansi-dark/ansi-light turn the filter off (the terminal's
        # own colours are the point of them)
        refresh_filter = getattr(self, "_refresh_truecolor_filter", None)
        if refresh_filter is not None:
            refresh_filter(self.ansi_theme)

    def _starting_theme(self, requested: str | None) -> str:
        """`--theme` wins, then NO_COLOR (monochrome), then config.toml, then the theme
        chosen last time, then cnn-dark."""
        if requested:
            return self._known_theme(requested, "--theme") or theme_mod.DEFAULT_THEME
        if os.environ.get("NO_COLOR") is not None or self.no_color:
            return "cnn-mono"
        configured = self.config.get("theme")
        if configured is not None:
            if not isinstance(configured, str):
                self.startup_problems.append(f"{locations.config_file()}: theme: must be a name")
                return theme_mod.DEFAULT_THEME
            return (self._known_theme(configured, f"{locations.config_file()}: theme")
                    or theme_mod.DEFAULT_THEME)
        last = theme_mod.read_last_theme()
        return last if last in self.theme_names else theme_mod.DEFAULT_THEME

    def _known_theme(self, name: str, where: str) -> str | None:
        resolved = theme_mod.resolve_name(name)
        if resolved in self.theme_names:
            return resolved
        self.startup_problems.append(f"{where}: unknown theme {name[:40]!r} "
                                     f"(known: {', '.join(self.theme_names)})")
        return None

    def on_mount(self) -> None:
        from cnn_tui.tui.build.screen import KEY_CLASSES  # the Build screen and its widgets

        classes = (type(self), *KEY_CLASSES,
                   *(s for s in self.MODES.values() if isinstance(s, type)))
        shown = str(locations.config_file())
        lazy = [f"{mode}." for mode, screen in self.MODES.items() if not isinstance(screen, type)]
        keymap, problems = parse_keys(self.config.get("keys"), shown, binding_ids(*classes), lazy)
        self.startup_problems += problems
        self.startup_problems += [f"{shown}: {p}" for p in key_conflicts(keymap, *classes)]
        if keymap:
            self.set_keymap(keymap)
        self.theme_changed_signal.subscribe(self, lambda theme: theme_mod.remember_theme(theme.name))
        for problem in self.startup_problems:
            self.notify(problem, severity="warning", timeout=10)
        if self.offer_autosave:
            self._offer_autosave()
        self.call_after_refresh(self._say_running_runs)
        self.call_after_refresh(self._say_running_sweeps)
        self.run_worker(self._check_mnist, thread=True, group="mnist-check", exit_on_error=False,
                        description="look for MNIST")

    def _check_mnist(self) -> None:
        """At start: without MNIST nothing trains; say so now, not when `s` fails."""
        from cnn_tui.tui.common.fetch import mnist_problem
        self.mnist_missing = mnist_problem(self.settings.data_dir)
        if self.mnist_missing:
            self.call_from_thread(
                self.notify, f"{self.mnist_missing}. ctrl+p Fetch MNIST gets it from here (about "
                "19 MiB), or `cnn-tui data import PATH` from a file", title="No MNIST yet",
                severity="warning", timeout=15)

    def action_fetch_mnist(self, then=None) -> None:
        """Fetch MNIST (into --data-dir when given, else the user cache), with its progress."""
        from cnn_tui.tui.common.fetch import FetchDialog

        def done(root) -> None:
            if root is not None:
                self.mnist_missing = None
                if then is not None:
                    then()

        self.push_screen(FetchDialog(self.settings.data_dir, self.mnist_mirrors), done)

    def _say_running_runs(self) -> None:
        """Runs still training (left by a quit, a detached run, a shell): say so at start."""
        try:
            runs = self.feed.session.running_runs()
        except CnnTuiError:
            return
        if runs:
            first = runs[0]
            more = f" and {len(runs) - 1} more" if len(runs) > 1 else ""
            self.notify(f"run {first.id} ({first.arch_name}){more} is training: 2 then a "
                        "follows it", title="Training", timeout=10)

    def _say_running_sweeps(self) -> None:
        """Sweeps an app started that still run (they outlive it): say so at start."""
        from cnn_tui.session.sweeps import SweepsSession
        try:
            launches = SweepsSession(self.settings).running_launches()
        except CnnTuiError:
            return
        if launches:
            more = f" and {len(launches) - 1} more" if len(launches) > 1 else ""
            self.notify(f"sweep {launches[0].name}{more} is running (pid {launches[0].pid}): "
                        "5 follows it", title="Sweeps", timeout=10)

    def handle_bindings_clash(self, clashed_bindings, node) -> None:
        """Textual calls this on every binding lookup: report each clash once.

        Textual 8 also reports a binding declared with two keys ("f1,question_mark") as
        clashing with itself once rebound; only bindings with different ids really clash.
        """
        if len({b.id or b.action for b in clashed_bindings}) < 2:
            return
        keys = ", ".join(sorted({b.key for b in clashed_bindings}))
        if keys in self._reported_clashes:
            return
        self._reported_clashes.add(keys)
        self.notify(f"{locations.config_file()}: keys: {keys} now does two things; "
                    "the rebound key wins", severity="warning", timeout=10)

    def _offer_autosave(self) -> None:
        saved = read_autosave()
        if saved is None or same_architecture(saved, self.opened):
            return

        source = read_autosave_source(self.autosaver.path)

        def answer(choice: str | None) -> None:
            if choice == "restore":
                where = ""
                if source is not None and source != self.document.path:
                    try:  # back on its file: ctrl+s saves there, and dirty means "vs that file"
                        self.document.load(spec_io.read_file(source), source)
                        where = f" from {source.name}"
                    except CnnTuiError:
                        pass  # the file changed into something unreadable: restore unsaved
                self.document.apply(saved, "restore autosave")
                self.notify(f"restored the autosaved {saved.name!r}{where} (u undoes)")
            elif choice == "discard":
                self.autosaver.clear()
            else:  # keep it as a file: the next autosave must not overwrite it
                kept = keep_aside(self.autosaver.path)
                if kept is not None:
                    self.notify(f"kept the autosaved work as {kept} (ctrl+o opens it)", timeout=10)

        count = sum(1 for _ in saved.walk())  # as the Build screen counts: inner layers too
        origin = f", from {source}" if source is not None else ""
        self.push_screen(ChoiceDialog(
            "Unsaved work from last time",
            f"An autosaved architecture {saved.name!r} ({count} layers{origin}) differs "
            "from what was opened. Restore it, discard it, or keep it as a file for later?",
            [("r", "Restore", "restore"), ("d", "Discard", "discard"), ("k", "Keep file", "keep")],
            cancel="keep"), answer)

    # -- document ---------------------------------------------------------------------------
    def _document_changed(self) -> None:
        self._update_title()
        if self.document.dirty:
            self.autosaver.schedule()
        else:
            self.autosaver.clear()  # the work is safe in its file (or untouched)

    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification is plain text: messages carry file names, run names and users'
        input, which must neither be read as markup nor reach the terminal as control codes."""
        super().notify(printable(message), title=printable(title), severity=severity,
                       timeout=timeout, markup=False)

    def _update_title(self) -> None:
        doc = self.document
        where = str(doc.path) if doc.path else "not saved yet"
        self.sub_title = printable(f"{doc.arch.name} ({where}){' *' if doc.dirty else ''}")

    @property
    def feed(self):
        """The app's current run: the Train and Analyze screens are views of it."""
        if self._feed is None:
            from cnn_tui.tui.train.feed import RunFeed

            self._feed = RunFeed(self, self.settings)
        return self._feed

    def build_screen(self):
        """The Build screen instance (its mode is the default, so it always exists)."""
        return self.mode_screen("build")

    # -- screens ----------------------------------------------------------------------------
    def action_help(self) -> None:
        from cnn_tui.tui.common.help import HelpScreen, gather_context

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(gather_context(self, self.screen)))

    async def action_add_layer(self, type_name: str) -> None:
        await self.switch_mode("build")
        self.build_screen().action_add_layer_type(type_name)

    async def action_change_layer_type(self) -> None:
        await self.switch_mode("build")
        self.build_screen().action_change_type()

    async def action_load_template(self, name: str) -> None:
        await self.switch_mode("build")
        self.build_screen().action_load_template(name)

    def action_set_theme(self, name: str) -> None:
        self.theme = name
        self.notify(f"theme: {name}", timeout=2)

    def mode_screen(self, mode: str):
        """The base screen of `mode`, or None while that screen was never visited."""
        try:
            stack = self.get_screen_stack(mode)
        except KeyError:
            return None
        return stack[0] if stack else None

    async def action_start_training(self) -> None:
        """Go to Train and start there (its own checks refuse a broken architecture)."""
        await self.switch_mode("train")
        self.mode_screen("train").action_start()

    async def _on_key(self, event) -> None:
        """A printable key that comes back up to the app while an entry has the focus never
        reached that entry (it stops every printable key it gets): it was read while the
        focus was still elsewhere, as keys that arrive in one burst are (a paste, or typing
        batched by a slow ssh link: `/` then `seed` on Runs). It goes to the entry instead of
        being taken for the screen's bindings (`s` sorting, `e` exporting)."""
        from textual import events
        from textual.widgets import Input

        focused = self.focused
        if isinstance(focused, Input) and event.is_printable and not focused.disabled:
            event.prevent_default()  # App._on_key (the bindings) is not called after this one
            focused.post_message(events.Key(event.key, event.character))

    async def action_analyze_run(self, run_id: str) -> None:
        """Go to Analyze with `run_id` shown (Runs' enter, a sweep's trial): screens ask the
        app, which knows its screens, instead of reaching into each other."""
        await self.switch_mode("analyze")
        self.mode_screen("analyze").show_run(run_id)

    # -- files ------------------------------------------------------------------------------
    def _default_save_path(self) -> str:
        if self.document.path is not None:
            return str(self.document.path)
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in self.document.arch.name)
        return str(Path.cwd() / f"{stem.strip('-').lower() or 'architecture'}.json")

    def action_save(self, then=None) -> None:
        if self.document.path is None:
            self.action_save_as(then)
        else:
            self.save_to(self.document.path, then)

    def action_save_as(self, then=None) -> None:
        def chosen(text: str | None) -> None:
            if not text:
                return
            path = Path(os.path.expanduser(text))
            if not path.suffix:
                path = path.with_suffix(".json")
            if os.path.lexists(path) and path != self.document.path:  # a dangling link too
                self.push_screen(ChoiceDialog(
                    "File exists", f"{path} exists. Replace it?",
                    [("y", "Replace", "yes"), ("n", "Keep it", "cancel")]),
                    lambda answer: answer == "yes" and self.save_to(path, then))
                return
            self.save_to(path, then)

        self.push_screen(PathPrompt("Save architecture as", self._default_save_path()), chosen)

    def save_to(self, path: Path, then=None) -> bool:
        """Write the document to `path` atomically; a failure is a notification, not a loss."""
        try:
            spec_io.write_file(self.document.arch, path)
        except CnnTuiError as err:
            self.notify(str(err), severity="error", timeout=10)
            return False
        self.document.mark_saved(path)
        self.notify(f"saved {path}", timeout=3)
        from cnn_tui.runs.history import remember

        problem = remember(self.document.arch, "save", path,  # a version to step back to
                           root=self.settings.runs_dir)
        if problem:
            self.notify(problem, severity="warning", timeout=6)
        if then is not None:
            then()
        return True

    def action_open(self) -> None:
        self.push_screen(PathPrompt("Open an architecture file or a share code", "",
                                    "a .json file (native or browser-builder export), a cnn1: "
                                    "share code, or template:NAME · tab completes"),
                         self.open_source)

    def action_import_browser(self) -> None:
        self.push_screen(PathPrompt("Import a browser-builder export (JSON)", ""),
                         self.open_source)

    def open_source(self, text: str | None) -> bool:
        """Load what the user typed; on error say so and leave the document as it was."""
        if not text:
            return False
        expanded = os.path.expanduser(text)
        try:
            arch = spec_io.load_source(expanded)
        except CnnTuiError as err:
            self.notify(str(err), severity="error", timeout=10)
            return False
        path = Path(expanded)
        native = path.is_file() and _is_native_file(path)
        self.document.load(arch, path if native else None)
        note = "" if native or not path.is_file() else " (imported: save writes a new file)"
        self.notify(f"opened {arch.name!r}{note}; u undoes", timeout=4)
        return True

    def action_export(self) -> None:
        from cnn_tui.tui.common.export import ExportDialog, available_formats

        def chosen(fmt) -> None:
            if fmt is None:
                return
            if fmt.key == "share":
                self.action_share_code()
                return
            base = Path(self._default_save_path())
            default = base.with_suffix(fmt.suffix) if fmt.key != "json" else base
            self.push_screen(PathPrompt(f"Export: {fmt.label}", str(default)),
                             lambda text: text and self._export_asked(fmt, Path(os.path.expanduser(text))))

        self.push_screen(ExportDialog(available_formats()), chosen)

    def _export_asked(self, fmt, path: Path) -> None:
        """An existing file (a link pointing nowhere too) is replaced only when the user says so."""
        if not (path.exists() or path.is_symlink()):
            self._export_to(fmt, path)
            return
        self.push_screen(ChoiceDialog(
            "File exists", f"{path} exists. Replace it with the {fmt.label} export?",
            [("y", "Replace", "yes"), ("n", "Keep it", "cancel")]),
            lambda answer: answer == "yes" and self._export_to(fmt, path))

    def _export_to(self, fmt, path: Path) -> None:
        """Write in a thread: a code generator may import torch, which takes seconds."""
        from cnn_tui.tui.common.export import write_export

        arch = self.document.arch
        self.notify(f"exporting {fmt.label} to {path}…", timeout=3)  # a code generator may take seconds

        def job() -> None:
            try:
                written = write_export(fmt, arch, path)
            except CnnTuiError as err:
                self.call_from_thread(self.notify, str(err), severity="error", timeout=10)
                return
            self.call_from_thread(self.notify, f"exported {fmt.label} to {written}", timeout=4)

        self.run_worker(job, thread=True, group="export", exit_on_error=False,
                        description=f"export {fmt.key}")

    def action_share_code(self) -> None:
        from cnn_tui.spec import sharecode
        from cnn_tui.tui.common.export import ShareCodeDialog

        try:
            code = sharecode.encode(self.document.arch)
        except CnnTuiError as err:
            self.notify(str(err), severity="error", timeout=10)
            return
        self.copy_to_clipboard(code)
        self.push_screen(ShareCodeDialog(code))

    # -- quitting ---------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit, but ask first: about a run training, then unsaved changes."""
        if isinstance(self.screen, ChoiceDialog):
            return  # already asking
        session = self.feed.session
        if session.state.active:
            def answer(choice: str | None) -> None:
                if choice == "stop":
                    session.stop()  # after its current step; the run stays resumable
                    self._quit_unless_unsaved()
                elif choice == "leave":
                    self._quit_unless_unsaved()

            self.push_screen(ChoiceDialog(
                "A run is training",
                f"Run {session.run_id} trains in a process of its own. Leave it training (the "
                "next start of cnn-tui follows it: 2, then a) or stop it after its current step "
                "(resumable with r)?",
                [("l", "Leave it training", "leave"), ("s", "Stop it and quit", "stop"),
                 ("escape", "Cancel", "cancel")]), answer)
            return
        self._quit_unless_unsaved()

    def _quit_unless_unsaved(self) -> None:
        if not self.document.dirty:
            self.autosaver.clear()
            self.exit(0)
            return

        def answer(choice: str | None) -> None:
            if choice == "save":
                self.action_save(then=lambda: self.exit(0))
            elif choice == "discard":
                self.autosaver.clear()
                self.exit(0)

        self.push_screen(ChoiceDialog(
            "Unsaved changes",
            f"{self.document.arch.name!r} has changes that are not saved"
            f"{' to ' + str(self.document.path) if self.document.path else ''}.",
            [("s", "Save", "save"), ("d", "Discard", "discard"), ("escape", "Cancel", "cancel")]),
            answer)


def _is_native_file(path: Path) -> bool:
    """True unless the (already validated) file is a browser-builder export."""
    from cnn_tui.spec.browser import is_browser_export

    try:
        return not is_browser_export(json.loads(path.read_text(encoding="utf-8-sig")))
    except (OSError, ValueError):
        return False
