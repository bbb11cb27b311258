"""The Train screen: a view of the app's current run (`app.feed`: a headless RunSession and
the history of what the run measured), with the settings to start the next one.

`s` starts a run of the document's architecture with the form's settings. It trains in a
process of its own (`session.process`): the app's event loop and the trainer never compete for
the GIL, and quitting the app leaves the run training (it asks). `a` follows a run that is
training elsewhere (another app, a shell, a detached run), and a new app start offers it: every
run is shown the same way, followed through the store a few times a second. `space` pauses and
resumes, `x` stops (after the current step; the run stays resumable), `r` resumes.
"""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from cnn_tui.errors import CnnTuiError
from cnn_tui.session.run import RunState
from cnn_tui.spec.fmt import and_more, fmt_bytes, fmt_duration
from cnn_tui.spec.fmt import percent as _pct
from cnn_tui.spec.text import markup_safe
from cnn_tui.tui.train.feed import RunNews
from cnn_tui.tui.common.footer import KeyBar
from cnn_tui.tui.train.settings_form import TrainingForm
from cnn_tui.tui.common.topbar import TopBar

# Drawing is paced: the charts are redrawn at most once a second and never more often than
# keeps their drawing under CHART_DUTY of the time; progress lines are one-line updates
# without a layout pass.
CHART_MIN_INTERVAL = 1.0
CHART_DUTY = 0.01
# validation first: at 80 columns (settings shown) the table has room for about five
EPOCH_COLUMNS = ("ep", "val acc", "val loss", "acc", "loss", "time", "img/s", "lr", "best")
IDLE_HINT = "s starts a run (quitting leaves it training) · tab: settings"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def progress_line(done: int, total: int, text: str, width: int = 20) -> str:
    """`█████▌        27% text`: a bar drawn in the line itself.

    One Static updated without a layout pass, instead of Textual's ProgressBar (three widgets,
    a 1 s timer, and a 15 fps animation while its total is unknown).
    """
    from cnn_tui.tui.common.probabilities import bar
    share = done / total if total else 0.0
    return f"{bar(share, width)} {100 * share:3.0f}%  {text}"


def fit_parts(parts: list[str], width: int, sep: str = " · ") -> str:
    """The leading `parts` joined by `sep`, as many as fit in `width` (at least the first)."""
    out = parts[0] if parts else ""
    for part in parts[1:]:
        if len(out) + len(sep) + len(part) > width:
            break
        out += sep + part
    return out


def start_blocker(arch, form_errors: dict[str, str]) -> str | None:
    """Why a run cannot start now (the first architecture error or refused setting), or None."""
    from cnn_tui.spec.analysis import analyze
    errors = analyze(arch).errors()
    if errors:
        first = errors[0]
        return f"the architecture has errors: {first.message}{and_more(len(errors) - 1)}"
    if tuple(arch.input) != (1, 28, 28) or arch.classes != 10:
        return f"MNIST needs input [1, 28, 28] and 10 classes, not {list(arch.input)} and {arch.classes}"
    if form_errors:
        return next(iter(form_errors.values()))
    return None


def run_label(record) -> str:
    """`20261130-… (Beginner, epoch 3/10)`: a running run in a line."""
    epochs = int(record.config.get("epochs") or 0)
    return f"{record.id} ({record.arch_name}, epoch {len(record.epochs)}/{epochs})"


class TrainScreen(Screen):
    """A view of the app's current run; `s` start, `space` pause, `x` stop, `r` resume."""

    CSS_PATH = Path(__file__).with_name("train.tcss")
    AUTO_FOCUS = "#epoch-table"  # the keys (s, space, x, r) work at once; tab reaches the form
    HELP = ("Train: `s` starts a run with the settings on the left (blocked, with the reason, "
            "while the architecture has errors). It trains in a process of its own: quitting the "
            "app leaves it training, and the next start of the app offers to follow it. `space` "
            "pauses and resumes, `x` stops after the current step (it asks first; the run can be "
            "resumed), `r` resumes the last stopped or interrupted run, `a` follows a run "
            "training elsewhere (another app, a shell, `cnn-tui train --detach`), `f` hides the "
            "settings to give the charts room.")
    # the run's controls first; `check_action` shows only the keys that apply in each state
    BINDINGS = [
        Binding("space", "pause", "Pause", id="train.pause"),
        Binding("space", "unpause", "Go on", id="train.unpause"),
        Binding("x", "stop", "Stop", id="train.stop"),
        Binding("s", "start", "Start", id="train.start"),
        Binding("r", "resume_run", "Resume", id="train.resume"),
        Binding("a", "attach", "Follow", id="train.attach"),
        Binding("f", "toggle_form", "Settings", show=False, id="train.form"),
    ]
    KEEP_HINTS = 2  # a narrow footer keeps the run's two controls over the app's own keys
    # action -> the states it applies in (None: every state)
    APPLIES = {
        "pause": {RunState.RUNNING},
        "unpause": {RunState.PAUSED, RunState.PAUSING},
        "stop": {RunState.STARTING, RunState.RUNNING, RunState.PAUSING, RunState.PAUSED},
        "start": {RunState.IDLE, RunState.STOPPED, RunState.FINISHED, RunState.FAILED,
                  RunState.INTERRUPTED},
        "resume_run": {RunState.IDLE, RunState.STOPPED, RunState.FAILED, RunState.INTERRUPTED,
                       RunState.FINISHED},
        "attach": {RunState.IDLE, RunState.STOPPED, RunState.FINISHED, RunState.FAILED,
                   RunState.INTERRUPTED},
    }

    def __init__(self) -> None:
        super().__init__()
        self.last_message = IDLE_HINT
        self._charts_dirty = False
        self._charts_drawn_at = 0.0
        self._filled_from: dict | None = None
        self._shown_run: str | None = None  # the run whose settings the form shows
        self._rows = 0  # epoch rows drawn
        self._ips: float | None = None
        self._said = 0  # logs and diagnosis notified
        self._cost_said = False  # the long-run estimate was given
        self._side_chosen = False  # `f` was pressed during this run: no automatic collapse
        self._lines: dict[str, object] = {}  # selector -> what its Static shows (see _put)
        self._bindings_state: RunState | None = None  # the state the footer was made for

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        from cnn_tui.tui.train.charts import AccuracyChart, LossChart
        config = self._arch_config()
        self._filled_from = config
        yield TopBar()
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
        self.query_one("#epoch-table", DataTable).add_columns(*EPOCH_COLUMNS)
        self.set_interval(0.5, self._redraw_charts)
        self.feed.subscribe(self)
        if self.session.state != RunState.IDLE:
            self._redraw_all()
        else:
            self._offer_running()
        self._show_status()

    def on_screen_resume(self) -> None:
        """Back from Build: refill the form if the architecture's training section changed,
        and forget a refusal the edit may have fixed."""
        if self.last_message.startswith("[b]cannot start:[/b]") and not self.state.active:
            reason = start_blocker(self.document.arch, self.query_one(TrainingForm).errors)
            self.last_message = f"[b]cannot start:[/b] {markup_safe(reason)}" if reason else IDLE_HINT
        config = self._arch_config()
        if not self.session.state.active and config != self._filled_from and self._shown_run is None:
            self._filled_from = config
            self.query_one(TrainingForm).set_config(config)
        if self.session.state == RunState.IDLE:
            self._offer_running()
        self._show_status()

    def on_training_form_changed(self, event) -> None:
        """A field the user edited (focused, the form enabled) makes what the form shows the
        settings `s` starts with, even where it showed a finished run's: what you see is what
        starts. (Filling the form from a run or the document changes fields too, unfocused.)"""
        form = self.query_one(TrainingForm)
        focused = self.app.focused
        if self._shown_run is not None and not form.disabled and focused is not None and \
                form in focused.ancestors_with_self:
            self._shown_run = None
            self._filled_from = self._arch_config()  # as after an edit of the document's settings

    # ------------------------------------------------------------------ helpers
    @property
    def feed(self):
        return self.app.feed  # type: ignore[attr-defined]

    @property
    def session(self):
        return self.feed.session

    @property
    def history(self):
        return self.feed.history

    @property
    def state(self) -> RunState:
        return self.session.state

    @property
    def run_id(self) -> str | None:
        return self.session.run_id

    @property
    def document(self):
        return self.app.document  # type: ignore[attr-defined]

    def _arch_config(self) -> dict:
        return self.document.arch.training_config()

    def _running_elsewhere(self) -> list:
        try:
            return [r for r in self.session.running_runs() if r.id != self.run_id]
        except CnnTuiError:
            return []

    def _offer_running(self) -> None:
        runs = self._running_elsewhere()
        if runs:
            first = runs[0]
            more = f", {len(runs) - 1} more" if len(runs) > 1 else ""
            epochs = int(first.config.get("epochs") or 0)
            name = markup_safe(first.arch_name)
            self.last_message = (f"a follows the run training elsewhere ({name}, "
                                 f"epoch {len(first.epochs)}/{epochs}{more})")

    def _show_status(self, note: str | None = None) -> None:
        if note is not None:
            self.last_message = note
        arch = self.document.arch
        parts = [f"[b]{markup_safe(arch.name)}[/b]", f"state: [b]{self.state}[/b]"]
        if self.run_id:
            parts.append(f"run {self.run_id}")
        line = " · ".join(parts)
        if self.last_message:
            line += f"\n{self.last_message}"
        self._put("#train-status", line)  # fixed 2 lines

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Only the keys that apply in the run's state are offered (and answer)."""
        states = self.APPLIES.get(action)
        return states is None or self.state in states

    # ------------------------------------------------------------------ actions
    def action_start(self) -> None:
        if self.state.active:
            self.notify("a run is already going: x stops it", severity="warning")
            return
        form = self.query_one(TrainingForm)
        if self._shown_run is not None:  # the form shows a followed run's settings
            self._show_document_settings()
        reason = start_blocker(self.document.arch, form.errors)
        if reason:
            self._show_status(f"[b]cannot start:[/b] {markup_safe(reason)}")
            self.notify(reason, title="Cannot start", severity="error")
            return
        if self._offer_fetch():
            return
        try:
            self.feed.start(self.document.arch, form.values(), form.limits(),
                            source_path=self.document.path)
        except CnnTuiError as err:
            self._show_status(f"[b]cannot start:[/b] {markup_safe(err)}")
            self.notify(str(err), title="Cannot start", severity="error")
            return
        self._begin_view("starting the training process…")

    def _offer_fetch(self) -> bool:
        """Without MNIST nothing trains: offer to fetch it now (True: asked, nothing started)."""
        from cnn_tui.tui.common.fetch import mnist_problem
        problem = mnist_problem(self.app.settings.data_dir)
        if problem is None:
            return False
        from cnn_tui.tui.common.confirm import ChoiceDialog
        self._show_status(f"[b]cannot start:[/b] {markup_safe(problem)}")

        def answered(answer: str | None) -> None:
            if answer == "fetch":
                self.app.action_fetch_mnist(then=self.action_start)

        self.app.push_screen(ChoiceDialog(
            "No MNIST yet", f"{problem}. Fetch it now (about 19 MiB; then the run starts)?",
            [("f", "Fetch", "fetch"), ("escape", "Cancel", "cancel")]), answered)
        return True

    def action_resume_run(self) -> None:
        if self.state.active:
            self.notify("a run is already going", severity="warning")
            return
        run_id = self._resumable_run()
        if run_id is None:
            self._show_status("nothing to resume: no stopped or interrupted run")
            self.notify("no stopped or interrupted run to resume", severity="warning")
            return
        try:
            self.feed.resume(run_id)
        except CnnTuiError as err:
            self._show_status(f"[b]cannot resume:[/b] {markup_safe(err)}")
            self.notify(str(err), title="Cannot resume", severity="error")
            return
        self._begin_view(f"resuming run {run_id}…")

    def _resumable_run(self) -> str | None:
        if self.run_id and self.state.resumable:
            return self.run_id
        try:
            for record in self.session.store.list_runs(with_epochs=False):
                if record.status in ("stopped", "interrupted"):
                    return record.id
        except CnnTuiError:  # an unreadable store means nothing to resume here
            return None
        return None

    def action_attach(self) -> None:
        if self.state.active:
            self.notify("a run is already shown here", severity="warning")
            return
        runs = self._running_elsewhere()
        if not runs:
            self._show_status("no run is training elsewhere: s starts one here")
            self.notify("no run is training elsewhere", severity="warning")
            return
        if len(runs) == 1:
            self.follow(runs[0].id)
            return
        from cnn_tui.tui.runs.run_picker import RunPicker
        self.app.push_screen(RunPicker("Follow which run? (training now)", runs),
                             lambda choice: choice and self.follow(choice))

    def follow(self, run_id: str) -> None:
        """Show `run_id` here, live while it trains (the app's `a`, and its offer on start)."""
        try:
            self.feed.follow(run_id)
        except CnnTuiError as err:
            self.notify(str(err), severity="error")
            return
        self._begin_view(f"following run {run_id}")

    def _begin_view(self, note: str) -> None:
        self.query_one("#epoch-table", DataTable).clear()
        self._rows, self._ips, self._said, self._cost_said = 0, None, 0, False
        self._side_chosen = False
        for chart in self.query("#loss-chart, #acc-chart"):
            chart.set_history(self.history)
        self.query_one("#train-progress", Static).update(progress_line(0, 0, note), layout=False)
        self._put("#train-device", "")
        self.query_one(TrainingForm).disabled = True
        self._fit_side()
        self.query_one("#epoch-table").focus()
        self._show_status(note)
        self.refresh_bindings()

    def action_pause(self) -> None:
        if self.session.pause():
            self._show_status("pausing after the current step…")
            self.refresh_bindings()

    def action_unpause(self) -> None:
        if self.session.unpause():
            self._show_status("training again")
            self.refresh_bindings()

    def action_stop(self) -> None:
        if not self.state.active or self.state == RunState.STOPPING:
            return
        from cnn_tui.tui.common.confirm import ChoiceDialog
        question = (f"Stop run {self.run_id or ''} after the current step? A checkpoint of "
                    "where it is is saved (mid-epoch too): `r` resumes it from there later.")
        self.app.push_screen(
            ChoiceDialog("Stop training", question, [("y", "Stop", "stop"), ("n", "Keep going", "cancel")]),
            lambda answer: answer == "stop" and self.stop_training())

    def stop_training(self) -> None:
        """Ask the run to stop (no question asked): after confirming, and on quit."""
        if self.session.stop():
            self._show_status("stopping after the current step…")
            self.refresh_bindings()

    def action_toggle_form(self) -> None:
        side = self.query_one("#train-side")
        side.display = not side.display
        self._side_chosen = True  # the user's choice stands until the next run

    def _fit_side(self) -> None:
        """Below 100 columns a run's charts get the settings' room (they are the run's own,
        read-only then); they come back when the run ends or the terminal widens."""
        if self._side_chosen:
            return
        narrow = self.size.width < 100 and self.state.active
        self.query_one("#train-side").display = not narrow

    def on_resize(self) -> None:
        self._fit_side()
        if self.history.last_batch is not None:
            self._draw_progress()

    # ------------------------------------------------------------------ the run's news
    def _put(self, selector: str, content) -> None:
        """Show `content` in a fixed-size Static, only when it changed: a run's news comes
        four times a second and every update repaints, on the cores the training uses
        (`benchmarks/tui_throughput.py` prints the app's share of a core)."""
        if self._lines.get(selector) == content:
            return
        self._lines[selector] = content
        self.query_one(selector, Static).update(content, layout=False)

    def on_run_news(self, message: RunNews) -> None:
        if self.state != self._bindings_state:  # the footer's keys follow the state only
            self._bindings_state = self.state
            self.refresh_bindings()
        h = self.history
        if h.start is not None and self._shown_run != h.start.run_id:
            self._show_run_settings(h.start)
        self._show_device()
        self._draw_progress()
        self._draw_epochs()
        self._notify_news()
        self._charts_dirty = True
        state = self.state
        if state == RunState.STARTING:
            self._show_status(markup_safe(self.session.stage or "starting…"))
        elif state == RunState.RUNNING and h.start is not None and not message.ended:
            ev = h.start
            what = f"resumed at epoch {ev.start_epoch + 1}" if ev.start_epoch else "training"
            parts = [f"{what}: {ev.train_size:,} train / {ev.val_size:,} val / "
                     f"{ev.test_size:,} test images", f"batch {ev.batch_size}",
                     f"{ev.params:,} parameters"]
            width = self.query_one("#train-status").size.width or self.size.width
            self._show_status(fit_parts(parts, width - 1))  # whole parts, never a cut one
        elif state == RunState.PAUSING:
            self._show_status("pausing after the current step…")
        elif state == RunState.PAUSED:
            self._show_status("paused: space resumes")
        elif state == RunState.STOPPING:
            self._show_status("stopping after the current step…")
        if not state.active:
            self._ended()

    def _ended(self) -> None:
        h, state = self.history, self.state
        self._charts_dirty = True
        self._redraw_charts(force=True)
        message = self.session.message
        if state == RunState.FINISHED:
            seconds = h.end.seconds if h.end is not None else None
            test = f" · test accuracy {_pct(h.evaluation.test_acc)}" if h.evaluation else ""
            note = f"finished: {fmt_duration(seconds)} of training{test} · 3 opens Analyze"
        elif state == RunState.STOPPED:
            note = markup_safe(message or "stopped") + " · r resumes"
        elif state == RunState.INTERRUPTED:
            note = "interrupted: its process is gone · r resumes from its last checkpoint"
        else:
            note = f"[b]failed:[/b] {markup_safe(message)}"
            self.notify(message or "the run failed", title="Training failed", severity="error",
                        timeout=10)
        bar = self.query_one("#train-progress", Static)
        if h.last_batch is not None and state == RunState.FINISHED:
            bar.update(progress_line(1, 1, f"done · {len(h.epochs)} epochs"), layout=False)
        self._show_status(note)
        self.query_one(TrainingForm).disabled = False
        self._fit_side()

    def _show_run_settings(self, start) -> None:
        """The form shows the followed run's own settings (read-only while it trains)."""
        form = self.query_one(TrainingForm)
        config = dict(start.config or {})
        form.set_config({k: v for k, v in config.items() if not k.startswith("limit_")})
        form.set_limits({k: config.get(k) for k in ("limit_train", "limit_test")})
        self._shown_run = start.run_id

    def _show_document_settings(self) -> None:
        form = self.query_one(TrainingForm)
        self._filled_from = self._arch_config()
        form.set_config(self._filled_from)
        from cnn_tui.tui.train.settings_form import env_limits
        form.set_limits(env_limits())
        self._shown_run = None

    def _notify_news(self) -> None:
        h = self.history
        news = h.logs + h.diagnosis
        if len(news) <= self._said:
            return
        for item in sorted(news[self._said:], key=lambda e: getattr(e, "epoch", 0)):
            if hasattr(item, "advice"):
                severity = {"error": "error", "warning": "warning"}.get(item.severity, "information")
                self.notify(f"{item.message}; try {item.advice}", title="Diagnosis",
                            severity=severity, timeout=12)
            elif item.level != "error":  # an error ends the run: the status line says it
                self.notify(item.message, severity="warning" if item.level == "warning"
                            else "information", timeout=6)
        self._said = len(news)

    def _draw_progress(self) -> None:
        h = self.history
        ev, start = h.last_batch, h.start
        if ev is None:
            if self.state == RunState.STARTING:
                self.query_one("#train-progress", Static).update(
                    progress_line(0, 0, self.session.stage or "starting…"), layout=False)
            return
        epochs = start.epochs if start else ev.epoch
        total = max(1, epochs * ev.steps)
        done = (ev.epoch - 1) * ev.steps + ev.step
        self._ips = ev.images_per_s if self._ips is None else 0.7 * self._ips + 0.3 * ev.images_per_s
        batch = (start.batch_size if start and start.batch_size else 0) or \
            max(1, ev.seen // max(ev.step, 1))
        eta = (total - done) * batch / self._ips if self._ips and self.state.active else None
        self._say_cost(eta, start, done)
        # what matters most first; as many parts as the line has room for, never a cut one
        parts = [f"epoch {ev.epoch}/{epochs}", f"ETA {fmt_duration(eta)}" if eta is not None
                 else "", f"loss {ev.loss:.4f}", f"acc {100 * ev.acc:.1f}%",
                 f"{ev.images_per_s:,.0f} img/s", f"step {ev.step}/{ev.steps}", f"lr {ev.lr:.3g}"]
        line = self.query_one("#train-progress", Static)
        width = line.size.width or self.size.width
        bar_width = 20 if width >= 100 else 10 if width >= 70 else 6
        text = fit_parts([p for p in parts if p], width - bar_width - 7)
        line.update(progress_line(done, total, text, bar_width), layout=False)  # no layout

    def _say_cost(self, eta: float | None, start, done: int) -> None:
        """Once per run, early: what a long CPU run will cost, measured on its first steps."""
        if self._cost_said or eta is None or start is None or done < 20:
            return
        self._cost_said = True
        if start.device == "cuda" or eta < 300:
            return
        images = f"{start.train_size:,} images"
        self.notify(f"{start.epochs - start.start_epoch} epochs of {images}: about "
                    f"{fmt_duration(eta)} on this {start.device.upper()}, measured on its first "
                    "steps. x stops it; the settings' limit train trains on a subset.",
                    title="A long run", timeout=12)

    def _draw_epochs(self) -> None:
        table = self.query_one("#epoch-table", DataTable)
        rows = list(self.history.epochs)
        for ev in rows[self._rows:]:
            table.add_row(str(ev.epoch), _pct(ev.val_acc), _num(ev.val_loss), _pct(ev.train_acc),
                          _num(ev.train_loss), fmt_duration(ev.seconds), f"{ev.images_per_s:,.0f}",
                          f"{ev.lr:.3g}", "*" if ev.best else "")
        if len(rows) > self._rows:
            table.move_cursor(row=table.row_count - 1)
        self._rows = len(rows)

    def _redraw_all(self) -> None:
        """Draw the current run whole (the screen was opened after it began)."""
        self._begin_view(self.last_message)
        self.on_run_news(RunNews(self.state, [], not self.state.active))

    # ------------------------------------------------------------------ drawing
    def _show_device(self) -> None:
        start = self.history.start
        if start is None:
            return
        text = f"device: {start.device} · {start.device_name}"
        stats = self.history.device_stats
        if stats is not None:
            what = "GPU memory peak" if start.device == "cuda" else "peak memory (process)"
            text += f" · {what} {fmt_bytes(stats.memory_peak)}"
        self._put("#train-device", text)

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
            chart.set_history(self.history)

    # ------------------------------------------------------------------ for tests and the app
    async def wait_until_ended(self, timeout: float = 120.0) -> bool:
        """Wait for the current run to end (tests); False on timeout."""
        import asyncio
        deadline = time.monotonic() + timeout
        while self.state.active and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        return not self.state.active
