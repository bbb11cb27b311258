"""The Sweeps screen (key 5): watch, steer and read the experiments of the sweep storage.

One sweep at a time (`o` picks another; at first the one running, else the first by name): the
best-so-far lines, the live trial table, and one view below it, by key or `v`/`V`:

    c  intermediate curves     l  slice plot ([ ] parameter)     p  parallel coordinates
    i  parameter importance    f  forest plot (ablation, compare)

The sweep is read from its storage (`session.sweeps`) on a thread every `POLL_SECONDS` while the
screen is shown, whoever runs it (this app, another one, a shell, workers on other boxes); an
unchanged sweep costs one incremental read and a comparison. `s` starts a sweep from its file as
a process of its own (`cnn-tui sweep run FILE`, so it survives quitting the app and a dropped ssh
session; the next app finds it), `x` stops it. `enter` opens the trial's run in Analyze, `b`
loads the best trial into Build (`B`: the trial under the cursor), undoable there.

Nothing here imports optuna or torch at import: the storage is opened on the reading thread.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Static

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.text import printable
from cnn_tui.tui.common.footer import KeyBar
from cnn_tui.tui.common.topbar import TopBar
from cnn_tui.tui.sweeps.best_header import BestHeader
from cnn_tui.tui.sweeps.curves import CurvesChart
from cnn_tui.tui.sweeps.forest import ForestPlot
from cnn_tui.tui.sweeps.importance import ImportanceBars
from cnn_tui.tui.sweeps.parallel import ParallelChart
from cnn_tui.tui.sweeps.slices import SliceChart
from cnn_tui.tui.sweeps.trial_table import TrialTable, trial_rows

POLL_SECONDS = 1.0
# view id -> (key, title)
VIEWS = {"curves": ("c", "intermediate curves"), "slices": ("l", "slice plot"),
         "parallel": ("p", "parallel coordinates"), "importance": ("i", "parameter importance"),
         "forest": ("f", "forest plot")}
MAX_TIMINGS = 2000


class SweepsScreen(Screen):
    """The sweeps of the storage (`storage`: a `--storage` value; default the journal beside
    the run store)."""

    CSS_PATH = Path(__file__).with_name("sweeps.tcss")
    HELP = ("Sweeps: the sweeps of the storage (the journal file beside the run store), followed "
            "live whoever runs them. o picks a sweep, O reads another storage (a journal file "
            "or a postgresql:// URL); the lines on top say its progress and its "
            "best trial so far; the table has a row per trial (● running, ✓ complete, ✂ pruned, "
            "✗ failed, ! invalid, ★ best), S sorts newest or best first. Below, one view: c "
            "intermediate curves, l slice plot (the bracket keys choose its parameter), p parallel "
            "coordinates, i parameter importance, f forest plot of an ablation or comparison; "
            "v and V cycle them. s starts a sweep from its file (a process of its own: it goes "
            "on when the app quits), x stops it (no new trials, or at once). enter opens the "
            "trial's run in Analyze; b loads the best trial into Build, B the trial under the "
            "cursor (u undoes there). r reads the storage now.")
    BINDINGS = [
        Binding("o", "open", "Sweep", id="sweeps.open"),
        Binding("O", "storage", "Storage", show=False, id="sweeps.storage"),
        Binding("v", "next_view(1)", "View", id="sweeps.next_view"),
        Binding("V", "next_view(-1)", "Prev view", show=False, id="sweeps.prev_view"),
        Binding("c", "view('curves')", "Curves", show=False, id="sweeps.curves"),
        Binding("l", "view('slices')", "Slices", show=False, id="sweeps.slices"),
        Binding("p", "view('parallel')", "Parallel", show=False, id="sweeps.parallel"),
        Binding("i", "view('importance')", "Importance", show=False, id="sweeps.importance"),
        Binding("f", "view('forest')", "Forest", show=False, id="sweeps.forest"),
        Binding("right_square_bracket", "param(1)", "Next parameter", key_display="]",
                show=False, id="sweeps.next_param"),
        Binding("left_square_bracket", "param(-1)", "Prev parameter", key_display="[",
                show=False, id="sweeps.prev_param"),
        Binding("s", "start", "Start", id="sweeps.start"),
        Binding("x", "stop", "Stop", id="sweeps.stop"),
        Binding("b", "to_build('best')", "Best", id="sweeps.best_to_build"),
        Binding("B", "to_build('cursor')", "Trial→Build", show=False, id="sweeps.trial_to_build"),
        Binding("S", "sort", "Sort", show=False, id="sweeps.sort"),
        Binding("r", "refresh", "Refresh", show=False, id="sweeps.refresh"),
    ]

    def __init__(self, storage: str | None = None) -> None:
        super().__init__()
        self._storage = storage
        self._session = None
        self.sweep_name: str | None = None  # the sweep shown (None: choose one)
        self.snapshot = None
        self.launch = None
        self.view = "curves"
        self.error: str | None = None
        self.importance: tuple | None = None
        self._reading = False
        self._again = False
        self._said_ended: set[tuple[str, int]] = set()
        self.updates = 0  # snapshots applied (tests and the benchmark wait on it)
        # (read s, apply s, perf_counter at its end) of each update
        self.timings: list[tuple[float, float, float]] = []

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield TopBar()
        yield BestHeader("reading the sweeps…", id="sweeps-header")
        yield TrialTable(id="sweeps-trials")
        with ContentSwitcher(initial="curves", id="sweeps-views"):
            yield CurvesChart(id="curves")
            yield SliceChart(id="slices")
            with Vertical(id="parallel"):
                yield ParallelChart(id="parallel-chart")
                yield Static("", id="parallel-ranges")
            yield ImportanceBars(id="importance")
            yield ForestPlot(id="forest")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(TrialTable).focus()
        self.set_interval(POLL_SECONDS, self._tick)
        self._tick()

    def on_screen_resume(self) -> None:
        self._tick()

    def on_resize(self) -> None:
        self.set_class(self.size.height >= 32, "-tall")  # room for a taller chart

    @property
    def session(self):
        if self._session is None:
            from cnn_tui.session.sweeps import SweepsSession
            self._session = SweepsSession(self.app.settings, self._storage)
        return self._session

    @property
    def table(self) -> TrialTable:
        return self.query_one(TrialTable)

    # ------------------------------------------------------------------ reading
    def _tick(self) -> None:
        if self.is_current:
            self.read_now()

    def read_now(self) -> None:
        """Read the sweep on a thread (once at a time; a read asked meanwhile follows it)."""
        if self._reading:
            self._again = True
            return
        self._reading = True
        self._read(self.sweep_name, self.view == "importance", self.table.order)

    @work(thread=True, group="sweeps-read", exit_on_error=False)
    def _read(self, name: str | None, importance: bool, order: str) -> None:
        t0 = time.perf_counter()
        try:
            session = self.session
            if name is None:
                rows = session.list()
                if not rows:
                    self._from_thread(self._no_sweeps, session.where)
                    return
                name = rows[0].name  # the running ones come first
            snap = session.read(name)
            rows = trial_rows(snap, order)  # the cells, off the app's thread
            launch = session.launch(name)
            result = None
            if importance and snap.kind == "search":
                result = session.importance(name)
        except CnnTuiError as err:
            self._from_thread(self._failed, name, str(err))
            return
        except Exception as exc:  # noqa: BLE001 - a storage hiccup is a status line, not a crash
            self._from_thread(self._failed, name, f"{type(exc).__name__}: {exc}")
            return
        self._from_thread(self._apply, snap, rows, launch, result, time.perf_counter() - t0)

    def _from_thread(self, fn, *args, **kwargs) -> None:
        try:
            self.app.call_from_thread(fn, *args, **kwargs)
        except Exception:  # noqa: BLE001 - the app is closing (or the call failed): read again
            self._reading = False

    def _done_reading(self) -> None:
        self._reading = False
        if self._again:
            self._again = False
            self.read_now()

    def _no_sweeps(self, where: str) -> None:
        self.snapshot = None
        self.error = None
        self.query_one(BestHeader).empty(
            f"No sweeps in {where} yet. s starts one from a sweep file (README: Experiments), "
            "or run `cnn-tui sweep run FILE` in a shell: it shows up here.")
        self.table.display = False
        self.query_one("#sweeps-views").display = False
        self._done_reading()

    def _failed(self, name: str | None, message: str) -> None:
        self.error = message
        if self.snapshot is None or self.snapshot.name != name:
            self.query_one(BestHeader).empty(f"cannot read sweep {name or ''}: {message}")
        else:  # keep what was read last; say why it is not new
            self.query_one(BestHeader).show(self.snapshot, self.launch, f"not read: {message}")
        self._done_reading()

    def _apply(self, snap, rows, launch, importance, read_seconds: float) -> None:
        t0 = time.perf_counter()
        try:
            if self.sweep_name is not None and snap.name != self.sweep_name:
                return  # another sweep was picked meanwhile
            self.sweep_name = snap.name
            self.error = None
            if snap.name != getattr(self.table.snapshot, "name", None):
                self.table.reset()  # another sweep: its own rows
            self.snapshot, self.launch = snap, launch
            self.table.display = True
            self.query_one("#sweeps-views").display = True
            self.query_one(BestHeader).show(snap, launch)
            self.table.show(snap, rows)
            if importance is not None:
                self.importance = importance
            self._show_view()
            self._say_if_ended(snap, launch)
            self.updates += 1
            end = time.perf_counter()
            self.timings.append((read_seconds, end - t0, end))
            del self.timings[:-MAX_TIMINGS]
        except Exception as exc:  # noqa: BLE001 - said, and the next read tries again
            self.error = f"{type(exc).__name__}: {exc}"
            self.notify(f"cannot show sweep {snap.name}: {self.error}", severity="error",
                        timeout=10)
            self.table.reset()  # drawn afresh by the next read
        finally:
            self._done_reading()

    def _say_if_ended(self, snap, launch) -> None:
        """A sweep started here that ended before its trials were done: say why, once."""
        if launch is None or launch.alive or snap.finished:
            return
        key = (launch.name, launch.pid)
        if key in self._said_ended or launch.started < time.time() - 3600:
            return
        self._said_ended.add(key)
        line = launch.error_line()
        if line:
            self.notify(f"sweep {snap.name} (pid {launch.pid}) ended: {line} (log: {launch.log})",
                        severity="warning", timeout=10)

    def _show_view(self) -> None:
        snap = self.snapshot
        if self.view == "curves":
            self.query_one(CurvesChart).show(snap)
        elif self.view == "slices":
            self.query_one(SliceChart).show(snap)
        elif self.view == "parallel":
            chart = self.query_one(ParallelChart)
            chart.show(snap)
            self.query_one("#parallel-ranges", Static).update(printable(chart.ranges()))
        elif self.view == "importance":
            widget = self.query_one(ImportanceBars)
            complete = snap.counts.get("complete", 0) if snap is not None else 0
            if snap is not None and snap.kind != "search":
                widget.show(None, "importance is for searches (an ablation or comparison has "
                            "its forest plot: f)", complete)
            elif self.importance is None:
                widget.show(None, "reading…", complete)
            else:
                widget.show(self.importance[0], self.importance[1], complete)
        elif self.view == "forest":
            self.query_one(ForestPlot).show(snap)

    # ------------------------------------------------------------------ views
    def action_view(self, view: str) -> None:
        if view not in VIEWS:
            return
        self.view = view
        self.query_one(ContentSwitcher).current = view
        if self.snapshot is not None:
            self._show_view()
        if view == "importance":
            self.read_now()

    def _views(self) -> list[str]:
        """The views that apply to the sweep shown (importance for a search, the forest plot
        for an ablation or comparison)."""
        kind = self.snapshot.kind if self.snapshot is not None else "search"
        skip = "forest" if kind == "search" else "importance"
        return [v for v in VIEWS if v != skip]

    def action_next_view(self, delta: int) -> None:
        views = self._views()
        here = views.index(self.view) if self.view in views else -1
        self.action_view(views[(here + delta) % len(views)])
        self.notify(VIEWS[self.view][1], timeout=1.5)

    def action_param(self, delta: int) -> None:
        if self.view != "slices":
            self.action_view("slices")
            return
        key = self.query_one(SliceChart).step(delta)
        if key is None:
            self.notify("no parameters to show", severity="warning", timeout=2)

    def action_sort(self) -> None:
        order = self.table.cycle_order()
        self.notify(f"trials: {order} first", timeout=1.5)

    def action_refresh(self) -> None:
        self.read_now()

    # ------------------------------------------------------------------ choosing a sweep
    def action_open(self) -> None:
        self._list_for_picker()

    @work(thread=True, group="sweeps-list", exclusive=True, exit_on_error=False)
    def _list_for_picker(self) -> None:
        try:
            rows = self.session.list()
            where = self.session.where
        except CnnTuiError as err:
            self._from_thread(self.notify, str(err), severity="error", timeout=10)
            return
        self._from_thread(self._pick, rows, where)

    def _pick(self, rows, where: str) -> None:
        if not rows:
            self.notify(f"no sweeps in {where} yet: s starts one", severity="warning")
            return
        from cnn_tui.tui.sweeps.sweep_picker import SweepPicker

        self.app.push_screen(SweepPicker(f"Sweeps in {where}", rows), self.show_sweep)

    def action_storage(self) -> None:
        from cnn_tui.tui.common.path_prompt import PathPrompt

        ref = self.session.ref  # a URL's password is not shown: type the URL again
        self.app.push_screen(PathPrompt(
            "Read sweeps from another storage", ref.target if ref.kind == "journal" else "",
            "a journal file, journal:PATH or postgresql://USER@HOST/DB · empty: the journal "
            "beside the run store · escape: cancel"), self.use_storage)

    def use_storage(self, text: str | None) -> bool:
        """Read the sweeps of storage `text` ('' : the default journal) from now on."""
        if text is None:
            return False
        from cnn_tui.session.sweeps import SweepsSession

        try:
            session = SweepsSession(self.app.settings, text.strip() or None)
        except CnnTuiError as err:
            self.notify(str(err), severity="error", timeout=10)
            return False
        self._storage, self._session = text.strip() or None, session
        self.sweep_name, self.snapshot, self.importance = None, None, None
        self.table.reset()
        self.query_one(BestHeader).empty(f"reading the sweeps of {session.where}…")
        self.read_now()
        return True

    def show_sweep(self, name: str | None) -> None:
        """Show sweep `name` (None: leave things as they are)."""
        if not name or name == self.sweep_name:
            return
        self.sweep_name = name
        self.snapshot = None
        self.importance = None
        self.query_one(BestHeader).empty(f"reading sweep {name}…")
        self.read_now()

    # ------------------------------------------------------------------ start, stop
    def action_start(self) -> None:
        from cnn_tui.tui.common.path_prompt import PathPrompt

        self.app.push_screen(PathPrompt(
            "Start a sweep: its file (cnn-tui/sweep JSON)", str(Path.cwd()) + os.sep,
            "enter: next · tab: complete · escape: cancel · the sweep runs as a process of its "
            "own"), self._start_file)

    def _start_file(self, text: str | None) -> None:
        if not text:
            return
        from cnn_tui.tui.common.confirm import ChoiceDialog

        cores = os.cpu_count() or 1
        choices = [("1", "1 worker", "1")]
        if cores >= 2:
            choices.append(("2", "2 workers", "2"))
        if cores > 2:
            choices.append(("a", f"{cores} workers", str(cores)))
        choices.append(("escape", "Cancel", "cancel"))
        self.app.push_screen(ChoiceDialog(
            "Workers", f"How many worker processes on this box for {text}? (the CPU threads are "
            "shared out between them; more can join from other boxes with `cnn-tui sweep "
            "worker NAME`)", choices),
            lambda answer: answer not in (None, "cancel") and self.start_sweep(text, int(answer)))

    def start_sweep(self, path: str, workers: int = 1) -> bool:
        """Start the sweep of file `path` as a process of its own and show it."""
        try:
            launch = self.session.start(path, workers)
        except CnnTuiError as err:
            self.notify(str(err), severity="error", timeout=10)
            return False
        self.notify(f"sweep {launch.name} started (pid {launch.pid}, {launch.workers} worker"
                    f"{'s' if launch.workers != 1 else ''}); it goes on if the app quits. "
                    f"Log: {launch.log}", timeout=6)
        self.sweep_name = None  # shown afresh below
        self.show_sweep(launch.name)
        return True

    def action_stop(self) -> None:
        snap = self.snapshot
        if snap is None:
            self.notify("no sweep to stop", severity="warning")
            return
        if snap.finished:
            self.notify(f"sweep {snap.name} is not running", severity="warning", timeout=3)
            return
        from cnn_tui.tui.common.confirm import ChoiceDialog

        here = self.launch is not None and self.launch.alive
        choices = [("n", "No new trials", "gentle")]
        if here:
            choices.append(("s", "Stop now", "now"))
        choices.append(("escape", "Cancel", "cancel"))
        now_text = (" Or stop now: running trials stop after their step and go back to the "
                    "queue (started again, the sweep takes them first)." if here else "")
        self.app.push_screen(ChoiceDialog(
            f"Stop sweep {snap.name}",
            f"No new trials: every worker, on every box, takes no new trial; the {snap.running} "
            f"running finish.{now_text}", choices),
            lambda answer: answer in ("gentle", "now") and self._stop(snap.name, answer == "now"))

    @work(thread=True, group="sweeps-stop", exit_on_error=False)
    def _stop(self, name: str, now: bool) -> None:
        try:
            said = self.session.stop(name, now)
        except CnnTuiError as err:
            self._from_thread(self.notify, str(err), severity="error", timeout=10)
            return
        self._from_thread(self.notify, said, timeout=5)
        self._from_thread(self.read_now)

    # ------------------------------------------------------------------ trials elsewhere
    @on(DataTable.RowSelected, "#sweeps-trials")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_trial()

    def open_trial(self) -> None:
        """The trial under the cursor: its (first) run in Analyze."""
        trial = self.table.current_trial()
        if trial is None:
            self.notify("no trial selected", severity="warning")
            return
        if trial.run_id is None:
            why = f" ({trial.message})" if trial.message else ""
            self.notify(f"trial {trial.number} has no run{why}", severity="warning", timeout=5)
            return
        self.run_worker(self.app.run_action(f"analyze_run({trial.run_id!r})"), group="sweeps-open")

    def action_to_build(self, which: str) -> None:
        snap = self.snapshot
        if snap is None:
            self.notify("no sweep shown", severity="warning")
            return
        trial = snap.best if which == "best" else self.table.current_trial()
        if trial is None:
            self.notify("no complete trial yet" if which == "best" else "no trial selected",
                        severity="warning")
            return
        from cnn_tui.session.sweeps import trial_architecture

        try:
            arch = trial_architecture(snap, trial)
        except CnnTuiError as err:
            self.notify(f"trial {trial.number}: {err}", severity="error", timeout=8)
            return
        self.app.document.load(arch, None)
        what = "the best trial" if which == "best" else "trial"
        self.notify(f"loaded {what} #{trial.number} of {snap.name} into Build, with its "
                    "training settings (u undoes there)", timeout=5)
        self.run_worker(self._switch("build"), group="sweeps-build")

    async def _switch(self, mode: str) -> None:
        await self.app.switch_mode(mode)

    # ------------------------------------------------------------------ palette
    def palette_commands(self):
        from functools import partial

        run = self.run_action
        cmds = [(f"Sweeps: {title}", f"the {title} of the sweep shown ({key})",
                 partial(run, f"view({view!r})")) for view, (key, title) in VIEWS.items()]
        cmds += [
            ("Sweeps: next view", "cycle the views (v, V back)", partial(run, "next_view(1)")),
            ("Sweeps: open a sweep…", "pick a sweep of the storage (o)", partial(run, "open")),
            ("Sweeps: another storage…", "a journal file or a postgresql:// URL (O)",
             partial(run, "storage")),
            ("Sweeps: start a sweep…", "run a sweep file as a process of its own (s)",
             partial(run, "start")),
            ("Sweeps: stop the sweep…", "no new trials, or stop now (x)", partial(run, "stop")),
            ("Sweeps: open the trial in Analyze", "the run of the trial under the cursor (enter)",
             self.open_trial),
            ("Sweeps: load the best trial into Build", "its architecture and training settings "
             "(b)", partial(run, "to_build('best')")),
            ("Sweeps: load the trial into Build", "the trial under the cursor (B)",
             partial(run, "to_build('cursor')")),
            ("Sweeps: sort the trials", "newest or best first (S)", partial(run, "sort")),
            ("Sweeps: next parameter", "the slice plot's parameter (] and [)",
             partial(run, "param(1)")),
        ]
        return cmds
