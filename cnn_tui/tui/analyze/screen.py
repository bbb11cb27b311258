"""The Analyze screen: what a trained run learned, for the newest run or any stored one.

The views are widgets of their own (`view.py` says what they share), one per tab: the
confusion matrix, per-class metrics, feature maps of a test image or of a drawing, the
predictions, a canvas classified live, the weights and gradient flow, a per-layer profile and
the training data by class. This screen keeps what is common: loading a run, the status line,
switching views (`v` / `V`, or the tabs with the mouse), `e` (the current view's export, asked
before replacing a file), `o` (a filterable picker of the stored runs) and `L` (a mid-training
snapshot). It also keeps the subject of Feature maps and Predictions (`Subject`), told to the
views by message.

Loading (torch, MNIST, classifying the test images) runs in a thread worker. A run that is
training is not evaluated (`RunTraining`): the screen says where it is and reloads when it ends,
told by the app's run feed (`RunNews`) or seen in the store (a run trained elsewhere).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane, Tabs
from textual.worker import Worker, WorkerState

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.text import markup_safe
from cnn_tui.tui.analyze.canvas import DrawCanvas
from cnn_tui.tui.analyze.confusion import ConfusionView
from cnn_tui.tui.analyze.data_browser import DataView
from cnn_tui.tui.analyze.draw import DrawView
from cnn_tui.tui.analyze.maps import MapsView
from cnn_tui.tui.analyze.metrics import MetricsView
from cnn_tui.tui.analyze.predictions import PredictionsView
from cnn_tui.tui.analyze.profile_view import ProfileView
from cnn_tui.tui.analyze.view import (
    AnalyzeView,
    NothingToExport,
    SelectImage,
    ShowDrawing,
    Subject,
    SubjectChanged,
)
from cnn_tui.tui.analyze.weights import WeightsView
from cnn_tui.tui.common.footer import KeyBar
from cnn_tui.tui.common.topbar import TopBar

VIEWS: tuple[type[AnalyzeView], ...] = (ConfusionView, MetricsView, MapsView, PredictionsView,
                                        DrawView, WeightsView, ProfileView, DataView)


def tab_id(name: str) -> str:
    """The tab pane id of view `name`: "tab-maps"."""
    return f"tab-{name}"


class AnalyzeScreen(Screen):
    """Analyze a run: `run_id=None` follows the newest run in the store."""

    CSS_PATH = Path(__file__).with_name("analyze.tcss")
    HELP = ("Analyze: `v`/`V` next/previous view, `e` exports what the view shows (CSV for "
            "tables, text for pictures), `o` opens another run (a picker: type to filter), "
            "`L` evaluates a mid-training snapshot of a run that is training. Each view's own "
            "keys work as soon as it shows; they are listed below and on the view's first line.")
    BINDINGS = [
        Binding("v", "cycle_view(1)", "Next view", id="analyze.next_view"),
        Binding("V", "cycle_view(-1)", "Prev view", show=False, id="analyze.prev_view"),
        Binding("e", "export", "Export", id="analyze.export"),
        Binding("o", "open_run", "Open run", id="analyze.open"),
        Binding("L", "snapshot", "Snapshot", show=False, id="analyze.snapshot"),
    ]

    def __init__(self, run_id: str | None = None) -> None:
        super().__init__()
        self.pinned = run_id  # None: follow the newest run
        self.data = None  # RunAnalysis once loaded
        self.record = None
        self.error: str | None = None
        self.subject = Subject()  # what Feature maps and Predictions look at
        self._newest_seen: str | None = None  # the newest run in the store when last loaded
        self.training_run: str | None = None  # the run shown is training: reload when it ends
        self._load_worker: Worker | None = None  # the latest load

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Static("loading…", id="analyze-status")
        with TabbedContent(id="analyze-tabs"):
            for view in VIEWS:
                with TabPane(view.TITLE, id=tab_id(view.NAME)):
                    yield view()
        yield KeyBar()

    def on_mount(self) -> None:
        # the tab strip takes no focus: the keys belong to the view shown (the mouse and
        # v / V change views)
        self.query_one(Tabs).can_focus = False
        from cnn_tui.tui.analyze.loading import latest_run_id
        try:
            self._newest_seen = latest_run_id(self.app.settings.runs_dir)
        except CnnTuiError:
            pass  # the load below reports it
        self.app.feed.subscribe(self)
        self.set_interval(1.0, self._check_training_run)
        self.current_view.activated()
        self.reload()

    # ------------------------------------------------------------------ views
    @property
    def views(self) -> list[AnalyzeView]:
        return list(self.query(AnalyzeView))

    def view(self, name: str) -> AnalyzeView:
        """The view called `name` ("confusion", "metrics", "maps", "preds", "draw", ...)."""
        return self.query_one(f"#view-{name}", AnalyzeView)

    @property
    def current_view(self) -> AnalyzeView:
        pane = self.query_one(TabbedContent).active_pane
        return pane.query_one(AnalyzeView) if pane is not None else self.views[0]

    def show_view(self, name: str) -> None:
        self.query_one(TabbedContent).active = tab_id(name)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        # keys pressed fast (`v` `v`) post one of these per view passed: only the view that is
        # still the current one takes the focus (focusing a view passed would switch back to it)
        if event.pane.id == self.query_one(TabbedContent).active:
            event.pane.query_one(AnalyzeView).activated()

    def action_cycle_view(self, delta: int) -> None:
        tabs = self.query_one(TabbedContent)
        ids = [tab_id(v.NAME) for v in VIEWS]
        pos = ids.index(tabs.active) if tabs.active in ids else 0
        tabs.active = ids[(pos + delta) % len(ids)]

    # ------------------------------------------------------------------ the subject
    @property
    def image(self) -> int:
        return self.subject.image

    def set_subject(self, subject: Subject, origin: AnalyzeView | None = None) -> None:
        if subject == self.subject:
            return
        self.subject = subject
        for view in self.views:
            view.post_message(SubjectChanged(subject, origin))

    def on_select_image(self, message: SelectImage) -> None:
        message.stop()
        self.set_subject(Subject(image=message.index), message.origin)

    def on_show_drawing(self, message: ShowDrawing) -> None:
        message.stop()
        self.set_subject(Subject(image=self.subject.image, drawing=message.pixels))
        self.show_view("maps")

    def on_draw_canvas_changed(self, message: DrawCanvas.Changed) -> None:
        """The drawing changed: where it is the subject, the maps follow it."""
        if self.subject.drawing is not None:
            pixels = tuple(tuple(row) for row in message.pixels)
            self.set_subject(replace(self.subject, drawing=pixels))

    # ------------------------------------------------------------------ following a run
    def on_screen_resume(self) -> None:
        """Coming back after a new run was trained: show that one (even if a stored run was
        opened from Runs before); otherwise stay on what is shown."""
        from cnn_tui.tui.analyze.loading import latest_run_id
        try:
            newest = latest_run_id(self.app.settings.runs_dir)
        except CnnTuiError:
            return
        if newest and newest != self._newest_seen:
            self._newest_seen = newest
            self.show_run(None)
        elif self.training_run is not None:
            self._check_training_run()

    def on_run_news(self, message) -> None:
        """The app's current run changed: when it is the one shown here and it ended, show its
        results; while it trains, say where it is. Following the newest run, a run started
        since (Train's `s` while this screen shows) is the one to follow."""
        start = self.app.feed.history.start
        if start is None:
            return
        if start.run_id != self.training_run:
            if self.pinned is None and start.run_id != self._newest_seen and not message.ended:
                self._newest_seen = start.run_id
                self.reload()
            return
        if message.ended:
            self.reload()
        else:
            self._say_training(None)

    @property
    def _loading(self) -> bool:
        return self._load_worker is not None and not self._load_worker.is_finished

    def _check_training_run(self) -> None:
        """A run shown while training (this app's or any other) may have ended: reload then
        (once: while that load runs, which can take longer than this check's second, it is
        not started again)."""
        if self.training_run is None or self._loading:
            return
        from cnn_tui.runs.store import RunStore
        store = RunStore(self.app.settings.runs_dir)
        try:
            record = store.get(self.training_run)
        except CnnTuiError:
            return
        finally:
            store.close()
        if record.status != "running":
            self.reload()
        else:
            self._say_training(record)

    def _say_training(self, record) -> None:
        if record is None:
            h = self.app.feed.history
            done, total = len(h.epochs), (h.start.epochs if h.start else 0)
            run_id, name = self.training_run, (h.start.arch_name if h.start else "")
        else:
            done, total = len(record.epochs), int(record.config.get("epochs") or 0)
            run_id, name = record.id, record.arch_name
        shown = self.data.record.id if self.data is not None else None
        views = (f"below: run {shown} until it ends" if shown and shown != run_id
                 else "the views fill in when it ends")
        self.query_one("#analyze-status", Static).update(
            f"[b]{markup_safe(name)}[/b] · run {run_id} · training: epoch {done}/{total} done · "
            f"{views} · L evaluates a mid-training snapshot now")

    # ------------------------------------------------------------------ loading
    def show_run(self, run_id: str | None) -> None:
        """Analyze `run_id` (None: the newest run)."""
        self.pinned = run_id
        self.reload()

    def reload(self, snapshot: bool = False) -> None:
        self.query_one("#analyze-status", Static).update(
            f"loading run {self.pinned}…" if self.pinned else "loading the newest run…")
        self._load_worker = self._load(self.pinned, snapshot)

    def action_snapshot(self) -> None:
        """Evaluate the latest checkpoint of the run that is training (asked for: it costs CPU
        time beside the training)."""
        if self.training_run is None:
            self.notify("the run shown is not training: its results are final", timeout=3)
            return
        self.pinned = self.training_run
        self.reload(snapshot=True)

    @work(thread=True, exclusive=True, group="analyze", exit_on_error=False)
    def _load(self, run_id: str | None, snapshot: bool = False):
        from cnn_tui.tui.analyze.loading import load_analysis
        settings = self.app.settings
        return load_analysis(run_id, data_dir=settings.data_dir, runs_dir=settings.runs_dir,
                             snapshot=snapshot)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "analyze":
            return
        if event.state == WorkerState.SUCCESS:
            self._loaded(event.worker.result)
        elif event.state == WorkerState.ERROR:
            from cnn_tui.tui.analyze.loading import RunTraining
            err = event.worker.error
            if isinstance(err, RunTraining):
                self.training_run, self.record, self.error = err.record.id, err.record, None
                self._newest_seen = err.record.id if self.pinned is None else self._newest_seen
                self._say_training(err.record)
                return
            self.error = str(err) if isinstance(err, CnnTuiError) else \
                f"cannot analyze: {type(err).__name__}: {err}"
            self.query_one("#analyze-status", Static).update(self.error)

    def _loaded(self, data) -> None:
        self.data, self.record, self.error = data, data.record, None
        self.training_run = data.record.id if data.snapshot else None
        if self.pinned is None:
            self._newest_seen = data.record.id
        self.subject = Subject()  # every view starts again at test image 0
        r, ev = data.record, data.evaluation
        if data.snapshot:
            note = (f" (a mid-training snapshot after epoch {len(r.epochs)}: the views fill in "
                    "again when the run ends)")
        elif data.computed:
            note = f" (computed from its last checkpoint: the run {r.status})"
        else:
            note = ""
        self.query_one("#analyze-status", Static).update(
            f"[b]{markup_safe(r.arch_name)}[/b] · run {r.id} · {r.status} · test accuracy "
            f"{100 * ev.get('test_acc', 0):.2f}% on {len(data.labels):,} images{note}")
        for view in self.views:
            view.show(data)

    # ------------------------------------------------------------------ export
    def action_export(self) -> None:
        view = self.current_view
        try:
            name, content = view.export()
        except NothingToExport as why:
            reason = str(why)
            if view.analysis is None and view.NAME not in ("data", "profile") and self.error:
                reason = self.error
            self.notify(reason, severity="warning")
            return
        self.prompt_export(name, content)

    def prompt_export(self, name: str, content: str, path: str | None = None) -> None:
        """Ask where to write `content` (`name` in the current folder by default); an existing
        file is replaced only when the user says so (keep: the prompt again, to change the
        name)."""
        from cnn_tui.tui.common.confirm import ChoiceDialog
        from cnn_tui.tui.common.path_prompt import PathPrompt

        def answered(target: Path, answer: str | None) -> None:
            if answer == "replace":
                self.write_export(target, content)
            elif answer == "keep":
                self.prompt_export(name, content, str(target))

        def chosen(text: str | None) -> None:
            if not text:
                return
            target = Path(os.path.expanduser(text))
            if os.path.lexists(target) and not target.is_dir():  # a dangling link too
                self.app.push_screen(
                    ChoiceDialog("File exists", f"{target} exists. Replace it?",
                                 [("y", "Replace", "replace"), ("n", "Keep it", "keep")]),
                    lambda answer: answered(target, answer))
                return
            self.write_export(target, content)

        self.app.push_screen(PathPrompt("Export to file", path or str(Path(os.getcwd()) / name)),
                             chosen)

    def write_export(self, path: str | Path, content: str) -> Path | None:
        from cnn_tui.export.atomic import write_text
        try:
            written = write_text(Path(path).expanduser().resolve(), content)
        except CnnTuiError as err:
            self.notify(str(err), title="Export failed", severity="error")
            return None
        self.notify(f"wrote {written}", title="Exported")
        return written

    # ------------------------------------------------------------------ open
    def action_open_run(self) -> None:
        """A picker of the stored runs, newest first, filtered as you type."""
        from cnn_tui.runs.store import RunStore
        from cnn_tui.tui.runs.run_picker import RunPicker
        store = RunStore(self.app.settings.runs_dir)
        try:
            records = store.list_runs()
        except CnnTuiError as err:
            self.notify(str(err), severity="error")
            return
        finally:
            store.close()
        if not records:
            self.notify("no runs in the store yet: 2 trains one", severity="warning")
            return
        current = self.record.id if self.record is not None else None
        self.app.push_screen(RunPicker("Open which run?", records, current=current),
                             lambda choice: choice and self.show_run(choice))
