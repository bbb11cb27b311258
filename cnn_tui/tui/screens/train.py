"""The Train screen: settings, start / pause / stop / resume, and the run drawn live.

The architecture comes from `app.document` (the one being edited in Build); the form starts
from its `training` section. Training runs in a thread worker (`TrainingWorkerMixin`); the
engine's events arrive as messages (`cnn_tui.tui.messages`) at a bounded rate, the progress
line is updated on each, and the two plotext charts are redrawn at most `CHART_HZ` times a
second, so drawing never competes with the trainer for long.
"""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker, WorkerState

from cnn_tui.spec.fmt import fmt_bytes, fmt_duration
from cnn_tui.spec.fmt import percent as _pct
from cnn_tui.tui import messages as M
from cnn_tui.tui.training_worker import (ProgressRelay, TrainingHistory, TrainingWorkerMixin,
                                         TrainRequest)
from cnn_tui.tui.widgets.footer import KeyBar
from cnn_tui.tui.widgets.training_form import TrainingForm

# Drawing takes the GIL from the trainer's Python, so it is paced: the charts are redrawn at
# most once a second and never more often than keeps their drawing under CHART_DUTY of the
# time; progress lines are one-line updates without a layout pass.
CHART_MIN_INTERVAL = 1.0
CHART_DUTY = 0.01
# validation first: at 80 columns (settings shown) the table has room for about five
EPOCH_COLUMNS = ("ep", "val acc", "val loss", "acc", "loss", "time", "img/s", "lr", "best")
RESUMABLE = ("stopped", "interrupted")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def progress_line(done: int, total: int, text: str, width: int = 20) -> str:
    """`█████▌        27% text`: a bar drawn in the line itself.

    One Static updated without a layout pass, instead of Textual's ProgressBar (three widgets,
    a 1 s timer, and a 15 fps animation while its total is unknown).
    """
    from cnn_tui.tui.widgets.probabilities import bar
    share = done / total if total else 0.0
    return f"{bar(share, width)} {100 * share:3.0f}%  {text}"


def start_blocker(arch, form_errors: dict[str, str]) -> str | None:
    """Why a run cannot start now (the first architecture error or refused setting), or None."""
    from cnn_tui.spec.analysis import analyze
    errors = analyze(arch).errors()
    if errors:
        first = errors[0]
        where = f"layer {first.row + 1}: " if first.row is not None else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"the architecture has errors: {where}{first.message}{more}"
    if tuple(arch.input) != (1, 28, 28) or arch.classes != 10:
        return f"MNIST needs input [1, 28, 28] and 10 classes, not {list(arch.input)} and {arch.classes}"
    if form_errors:
        return next(iter(form_errors.values()))
    return None


class TrainScreen(TrainingWorkerMixin, Screen):
    """Train the document's architecture; `s` start, `space` pause, `x` stop, `r` resume."""

    CSS_PATH = Path(__file__).with_name("train.tcss")
    AUTO_FOCUS = "#epoch-table"  # the keys (s, space, x, r) work at once; tab reaches the form
    HELP = ("Train: `s` starts a run with the settings on the left (blocked, with the reason, "
            "while the architecture has errors), `space` pauses and resumes, `x` stops after "
            "the current step (it asks first; the run can be resumed), `r` resumes the last "
            "stopped or interrupted run, `f` hides the settings to give the charts room. "
            "`D` starts a detached run (a child process that survives quitting the app or a "
            "dropped ssh session) and follows it; `a` attaches to a running detached run.")
    BINDINGS = [
        Binding("s", "start", "Start", id="train.start"),
        Binding("space", "pause", "Pause", id="train.pause"),
        Binding("x", "stop", "Stop", id="train.stop"),
        Binding("r", "resume_run", "Resume", id="train.resume"),
        Binding("f", "toggle_form", "Settings", show=False, id="train.form"),
        Binding("D", "detach", "Detach", id="train.detach"),
        Binding("a", "attach", "Attach", show=False, id="train.attach"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.history = TrainingHistory()
        self.relay: ProgressRelay | None = None
        self.control = None
        self.worker: Worker | None = None
        self.run_id: str | None = None
        self.state = "idle"  # idle, starting, running, paused, stopping, finished, stopped, failed
        self.last_message = "s starts a run; tab: settings, escape: back"
        self.result = None  # the engine's RunResult once the worker returns
        self._charts_dirty = False
        self._charts_drawn_at = 0.0
        self._filled_from: dict | None = None
        self._run_limits: dict[str, dict] = {}  # run id -> the limits it was started with
        self._ips: float | None = None
        self.attached: str | None = None  # the detached run followed through the store
        self._attached_pid: int | None = None
        self._child = None  # subprocess.Popen of a run detached from this app (reaped here)
        self._attach_timer = None

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        from cnn_tui.tui.widgets.charts import AccuracyChart, LossChart
        config = self._arch_config()
        self._filled_from = config
        yield Header()
        with Horizontal(id="train-body"):
            with Vertical(id="train-side"):
                yield Static("settings", classes="pane-title")
                yield TrainingForm(config, id="train-form")
            with Vertical(id="train-main"):
                yield Static("", id="train-status")
                yield Static(progress_line(0, 0, ""), id="train-progress")
                yield Static("", id="train-device")
                with Horizontal(id="train-charts"):
                    yield LossChart(id="loss-chart")
                    yield AccuracyChart(id="acc-chart")
                table = DataTable(id="epoch-table", zebra_stripes=True, cursor_type="row")
                yield table
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#epoch-table", DataTable)
        table.add_columns(*EPOCH_COLUMNS)
        self.set_interval(0.5, self._redraw_charts)
        self._show_status()

    def on_screen_resume(self) -> None:
        """Back from Build: refill the form if the architecture's training section changed."""
        config = self._arch_config()
        if not self.busy and config != self._filled_from:
            self._filled_from = config
            self.query_one(TrainingForm).set_config(config)
        self._show_status()

    def on_unmount(self) -> None:
        if self.control is not None and self.busy:
            self.control.stop()  # never leave a trainer running with nobody watching

    # ------------------------------------------------------------------ helpers
    @property
    def document(self):
        return self.app.document  # type: ignore[attr-defined]

    def _arch_config(self) -> dict:
        return self.document.arch.training_config()

    @property
    def busy(self) -> bool:
        return self.worker is not None and self.worker.state in (WorkerState.PENDING,
                                                                 WorkerState.RUNNING)

    def _show_status(self, note: str | None = None) -> None:
        if note is not None:
            self.last_message = note
        arch = self.document.arch
        parts = [f"[b]{arch.name}[/b]", f"state: [b]{self.state}[/b]"]
        if self.run_id:
            parts.append(f"run {self.run_id}")
        line = " · ".join(parts)
        if self.last_message:
            line += f"\n{self.last_message}"
        self.query_one("#train-status", Static).update(line, layout=False)  # fixed 2 lines

    # ------------------------------------------------------------------ actions
    def _ready_to_start(self) -> TrainingForm | None:
        """The settings form when a run may start now (no run going, no architecture error,
        no invalid setting), after keeping the architecture's version the run will link to;
        None (with the reason shown) otherwise."""
        if self.busy or self.following:
            self.notify("a run is already going: x stops it", severity="warning")
            return None
        form = self.query_one(TrainingForm)
        reason = start_blocker(self.document.arch, form.errors)
        if reason:
            self._show_status(f"[b]cannot start:[/b] {reason}")
            self.notify(reason, title="Cannot start", severity="error")
            return None
        from cnn_tui.runs.history import remember
        problem = remember(self.document.arch, "train", self.document.path)  # the run's version
        if problem:
            self.notify(problem, severity="warning")
        return form

    def action_start(self) -> None:
        form = self._ready_to_start()
        if form is None:
            return
        limits = form.limits()
        self._launch(self.document.arch, form.values(), limits, resume=None)

    def action_resume_run(self) -> None:
        if self.busy or self.following:
            self.notify("a run is already going", severity="warning")
            return
        run_id = self._resumable_run()
        if run_id is None:
            self._show_status("nothing to resume: no stopped or interrupted run")
            self.notify("no stopped or interrupted run to resume", severity="warning")
            return
        limits = self._run_limits.get(run_id) or self.query_one(TrainingForm).limits()
        self._launch(None, {}, limits, resume=run_id)

    def history_run_id(self) -> str | None:
        start = self.history.start
        return start.run_id if start is not None else None

    def _resumable_run(self) -> str | None:
        from cnn_tui.runs.store import RunStore
        store = RunStore()
        if self.run_id and self.state in RESUMABLE:
            return self.run_id
        try:
            for record in store.list_runs(with_epochs=False):
                if record.status in RESUMABLE:
                    return record.id
        except Exception:  # an unreadable store means nothing to resume here
            return None
        return None

    def _launch(self, arch, config: dict, limits: dict, resume: str | None) -> None:
        from cnn_tui.train.control import Control
        if resume is None or resume != self.history_run_id():
            self.history = TrainingHistory()
            self.query_one("#epoch-table", DataTable).clear()
        else:  # resuming the run on screen: its curves, epochs and gradients go on from there
            self.history.end = self.history.evaluation = None
        self.relay = ProgressRelay(self.post_message, self.history)
        self.control = Control()
        self.result = None
        self._ips = None
        self.run_id = resume
        self.state = "starting"
        options = {"limit_train": limits.get("limit_train"), "limit_test": limits.get("limit_test"),
                   "resume": resume}
        self._pending_limits = dict(limits)
        for chart in self.query("#loss-chart, #acc-chart"):
            chart.set_history(self.history)
        self.query_one("#train-progress", Static).update(
            progress_line(0, 0, "loading data and model…"), layout=False)
        self._show_status("resuming " + resume if resume else "starting…")
        self.query_one(TrainingForm).disabled = True
        if self.size.width < 100:  # a narrow terminal: give the charts the room while training
            self.query_one("#train-side").display = False
        self.query_one("#epoch-table").focus()
        self.worker = self.run_training(TrainRequest(arch, config, options, self.control, self.relay))

    # ------------------------------------------------------------------ detached runs
    @property
    def following(self) -> bool:
        return self._attach_timer is not None

    def action_detach(self) -> None:
        form = self._ready_to_start()
        if form is None:
            return
        from cnn_tui.errors import CnnTuiError
        from cnn_tui.runs import detached
        try:
            self._child, log = detached.spawn(self.document.arch, form.values(), form.limits())
        except CnnTuiError as err:
            self._show_status(f"[b]failed:[/b] {err}")
            return
        self._follow(None, self._child.pid, f"detached (pid {self._child.pid}, log {log})")

    def action_attach(self) -> None:
        if self.busy or self.following:
            self.notify("a run is already shown here", severity="warning")
            return
        from cnn_tui.runs import detached
        runs = detached.running()
        if not runs:
            self._show_status("no detached run is running")
            self.notify("no detached run is running", severity="warning")
            return
        self._follow(runs[0].id, runs[0].pid, f"attached to run {runs[0].id} (pid {runs[0].pid})")

    def _follow(self, run_id: str | None, pid: int, note: str) -> None:
        self.history = TrainingHistory()
        self.query_one("#epoch-table", DataTable).clear()
        for chart in self.query("#loss-chart, #acc-chart"):
            chart.set_history(self.history)
        self.attached, self._attached_pid, self.run_id = run_id, pid, run_id
        self.state = "detached"
        self._show_status(note + " · the run's epochs appear here as the store records them")
        self.query_one("#train-progress", Static).update(
            progress_line(0, 0, "waiting for the run…"), layout=False)
        self._attach_timer = self.set_interval(1.0, self._poll_attached)

    def _poll_attached(self) -> None:
        from cnn_tui.train.events import EpochEnd
        from cnn_tui.runs import detached
        if self._child is not None:
            self._child.poll()  # reap it when it ends, so its pid reads as gone
        if self.attached is None:
            rec = detached.find_by_pid(self._attached_pid)
            if rec is None:
                if self._child is not None and self._child.returncode is not None:
                    self._end_follow("failed", "the detached run ended before it started: "
                                               "see its log")
                return
            self.attached = self.run_id = rec.id
        try:
            rec = detached.record(self.attached)
        except Exception as err:  # the store is busy or gone: try again next second
            self.last_message = f"cannot read the run store: {err}"
            return
        total = int(rec.config.get("epochs") or 0)
        for row in rec.epochs[len(self.history.epochs):]:
            ev = EpochEnd(row["epoch"], total, row["train_loss"], row["train_acc"],
                          row.get("val_loss"), row.get("val_acc"), row.get("lr", 0.0),
                          row.get("seconds", 0.0), row.get("images_per_s", 0.0), False)
            self.history.epochs.append(ev)
            self.on_epoch_finished(M.EpochFinished(ev))
        done = len(self.history.epochs)
        self.query_one("#train-progress", Static).update(progress_line(
            done, total, f"epoch {done}/{total} done · run {rec.id} · {rec.device or ''}"),
            layout=False)
        if rec.status != "running":
            test = f" · test accuracy {_pct(rec.test_acc)}" if rec.test_acc is not None else ""
            self._end_follow(rec.status, f"detached run {rec.status}{test}"
                             + (f": {rec.message}" if rec.message else ""))

    def _end_follow(self, state: str, note: str) -> None:
        if self._attach_timer is not None:
            self._attach_timer.stop()
        self._attach_timer = None
        self.attached = None
        self.state = state
        self._charts_dirty = True
        self._redraw_charts(force=True)
        self._show_status(note)

    def action_pause(self) -> None:
        if self.following:
            self.notify("pause is for runs inside the app; x stops a detached run",
                        severity="warning")
            return
        if not self.busy or self.control is None or self.state == "stopping":
            return
        if self.control.paused:
            self.control.resume()
            self.state = "running"
            self._show_status("resumed")
        else:
            self.control.pause()
            self.state = "paused"
            self._show_status("paused after the current step: space resumes")

    def action_stop(self) -> None:
        if self.following and self._attached_pid:
            from cnn_tui.tui.dialogs.confirm import ChoiceDialog
            from cnn_tui.runs import detached
            pid = self._attached_pid

            def answered(answer: str | None) -> None:
                if answer == "stop" and detached.stop(pid):
                    self._show_status("stopping the detached run after its current step…")

            self.app.push_screen(ChoiceDialog(
                "Stop detached run", "Stop the detached run after its current step? A checkpoint "
                "is saved; `r` resumes it later.", [("y", "Stop", "stop"),
                                                   ("n", "Keep going", "cancel")]), answered)
            return
        if not self.busy or self.control is None:
            return
        from cnn_tui.tui.dialogs.confirm import ChoiceDialog
        question = ("Stop this run after the current step? A checkpoint is saved; "
                    "`r` resumes it later.")
        self.app.push_screen(
            ChoiceDialog("Stop training", question, [("y", "Stop", "stop"), ("n", "Keep going", "cancel")]),
            self._stop_answered)

    def _stop_answered(self, answer: str | None) -> None:
        if answer == "stop":
            self.stop_training()

    def stop_training(self) -> None:
        """Ask the trainer to stop (no question asked): used after confirming and on quit."""
        if self.control is not None and self.busy:
            self.control.stop()
            self.state = "stopping"
            self._show_status("stopping after the current step…")

    def action_toggle_form(self) -> None:
        side = self.query_one("#train-side")
        side.display = not side.display

    # ------------------------------------------------------------------ engine messages
    def on_training_started(self, message: M.TrainingStarted) -> None:
        ev = message.event
        self.run_id = ev.run_id
        self._run_limits[ev.run_id] = getattr(self, "_pending_limits", {})
        if self.state == "starting":
            self.state = "running"
        if self.control is not None and self.control.paused:
            self.state = "paused"
        what = f"resumed at epoch {ev.start_epoch + 1}" if ev.start_epoch else "started"
        self._show_status(f"{what}: {ev.train_size:,} training, {ev.val_size:,} validation, "
                          f"{ev.test_size:,} test images · {ev.params:,} parameters · "
                          f"batch {ev.batch_size}")
        self._show_device()

    def on_batch_progress(self, message: M.BatchProgress) -> None:
        ev = message.event
        start = self.history.start
        epochs = start.epochs if start else ev.epoch
        first = start.start_epoch if start else 0
        total = max(1, (epochs - first) * ev.steps)
        done = (ev.epoch - 1 - first) * ev.steps + ev.step
        self._ips = ev.images_per_s if self._ips is None else 0.7 * self._ips + 0.3 * ev.images_per_s
        batch = (start.batch_size if start and start.batch_size else 0) or \
            max(1, ev.seen // max(ev.step, 1))
        remaining = (total - done) * batch
        eta = remaining / self._ips if self._ips else None
        # what matters most first: a narrow pane (80 columns, settings shown) cuts the tail
        text = (f"epoch {ev.epoch}/{epochs} · ETA {fmt_duration(eta)} · loss {ev.loss:.4f} · "
                f"acc {100 * ev.acc:.1f}% · {ev.images_per_s:,.0f} img/s · "
                f"step {ev.step}/{ev.steps} · lr {ev.lr:.3g}")
        line = self.query_one("#train-progress", Static)
        bar_width = 20 if line.size.width >= 80 else 8
        line.update(progress_line(done, total, text, bar_width), layout=False)  # no layout
        self._charts_dirty = True

    def on_epoch_finished(self, message: M.EpochFinished) -> None:
        ev = message.event
        table = self.query_one("#epoch-table", DataTable)
        table.add_row(str(ev.epoch), _pct(ev.val_acc), _num(ev.val_loss), _pct(ev.train_acc),
                      _num(ev.train_loss), fmt_duration(ev.seconds), f"{ev.images_per_s:,.0f}",
                      f"{ev.lr:.3g}", "*" if ev.best else "")
        table.move_cursor(row=table.row_count - 1)
        self._charts_dirty = True

    def on_evaluation_ready(self, message: M.EvaluationReady) -> None:
        ev = message.event
        self._show_status(f"test accuracy {_pct(ev.test_acc)} (loss {ev.test_loss:.4f}) · "
                          f"3 opens Analyze")

    def on_device_stats_update(self, message: M.DeviceStatsUpdate) -> None:
        self._show_device()

    def on_training_log(self, message: M.TrainingLog) -> None:
        ev = message.event
        severity = {"warning": "warning", "error": "error"}.get(ev.level, "information")
        self.notify(ev.message, severity=severity, timeout=6)

    def on_training_finished(self, message: M.TrainingFinished) -> None:
        ev = message.event
        self.run_id = ev.run_id
        self.state = ev.status
        self._charts_dirty = True
        self._redraw_charts(force=True)
        if ev.status == "finished":
            test = f" · test accuracy {_pct(ev.test_acc)}" if ev.test_acc is not None else ""
            note = f"finished in {fmt_duration(ev.seconds)}{test} · 3 opens Analyze"
        elif ev.status == "stopped":
            note = (ev.message or "stopped") + " · r resumes"
        else:
            note = f"[b]failed:[/b] {ev.message}"
        self._show_status(note)
        self._release_form()

    def on_training_failed(self, message: M.TrainingFailed) -> None:
        self.state = "failed"
        self._show_status(f"[b]failed:[/b] {message.message}")
        self.notify(message.message, title="Training failed", severity="error", timeout=10)
        self._release_form()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker:
            return
        if event.state == WorkerState.SUCCESS:
            self.result = event.worker.result
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            if self.state in ("starting", "running", "paused", "stopping"):
                self.state = "failed" if event.state == WorkerState.ERROR else "stopped"
                self._show_status()
            self._release_form()

    def _release_form(self) -> None:
        self.query_one(TrainingForm).disabled = False

    # ------------------------------------------------------------------ drawing
    def _show_device(self) -> None:
        start = self.history.start
        if start is None:
            return
        text = f"device: {start.device} · {start.device_name}"
        stats = self.history.device_stats
        if stats is not None:
            text += (f" · memory {fmt_bytes(stats.memory_current)} "
                     f"(peak {fmt_bytes(stats.memory_peak)})")
        self.query_one("#train-device", Static).update(text, layout=False)

    def _redraw_charts(self, force: bool = False) -> None:
        if not self._charts_dirty:
            return
        charts = list(self.query("#loss-chart, #acc-chart"))
        cost = sum(getattr(c, "render_seconds", 0.0) for c in charts)
        interval = max(CHART_MIN_INTERVAL, cost / CHART_DUTY)
        now = time.monotonic()
        if not force and now - self._charts_drawn_at < interval:
            return
        self._charts_dirty = False
        self._charts_drawn_at = now
        for chart in charts:
            chart.refresh()

    # ------------------------------------------------------------------ for tests and the app
    async def wait_until_idle(self, timeout: float = 120.0) -> bool:
        """Wait for the training worker to end (tests, the app's quit); False on timeout."""
        import asyncio
        deadline = time.monotonic() + timeout
        while self.busy and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return not self.busy
