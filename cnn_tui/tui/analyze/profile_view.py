"""The Profile view: each layer's forward and backward time and activation memory, measured
(in a thread) on the best device when the view is first shown for a run, beside the summary's
estimate. Without a run it profiles the architecture in Build, untrained."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import ScrollableContainer
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from cnn_tui.errors import CnnTuiError
from cnn_tui.tui.analyze.view import AnalyzeView, NothingToExport

PROFILE_BATCH = 64


class ProfileView(AnalyzeView):
    NAME, TITLE, FOCUS = "profile", "Profile", "#profile-scroll"
    HELP = ("Profile: per-layer forward and backward time and activation memory for a batch of "
            f"{PROFILE_BATCH}, measured on this machine's best device when the view is first "
            "shown, beside the summary's estimate. Arrows scroll (left/right where the table is "
            "wider than the terminal); `e` exports it as CSV.")
    DEFAULT_CSS = "ProfileView #profile-table { width: auto; }"  # whole columns: it scrolls

    def __init__(self) -> None:
        super().__init__()
        self.profile = None  # list[LayerProfile] of the subject, once measured
        self._profiled: str | None = None  # the label of what was measured (or is measuring)

    def compose(self) -> ComposeResult:
        with ScrollableContainer(id="profile-scroll"):
            yield Static("", id="profile-table")

    def _subject(self):
        """(label, model, arch): the loaded run's model, else the architecture in Build."""
        if self.analysis is not None:
            return f"run {self.analysis.record.id}", self.analysis.model, self.analysis.arch
        arch = self.app.document.arch  # type: ignore[attr-defined]
        return f"{arch.name} (untrained, from Build)", None, arch

    def activated(self) -> None:
        super().activated()
        self.start()

    def loaded(self) -> None:
        if self.shown:
            self.start()

    def start(self) -> None:
        label, model, arch = self._subject()
        if self._profiled == label:
            return
        self._profiled, self.profile = label, None
        self.query_one("#profile-table", Static).update(f"profiling {label}…")
        self._measure(label, model, arch)

    @work(thread=True, exclusive=True, group="profile", exit_on_error=False)
    def _measure(self, label: str, model, arch):
        from cnn_tui.tui.analyze.profile import profile_model
        if model is None:
            from cnn_tui.train.build import build_model
            model = build_model(arch)
        device, rows = profile_model(model, arch, batch=PROFILE_BATCH)
        return label, device, rows

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "profile":
            return
        event.stop()
        table = self.query_one("#profile-table", Static)
        if event.state == WorkerState.SUCCESS:
            from cnn_tui.tui.analyze.profile import profile_table
            label, device, rows = event.worker.result
            if label != self._profiled:
                return  # another run was loaded meanwhile: its own measure follows
            self.profile = rows
            table.update(profile_table(f"{device} · {label}", PROFILE_BATCH, rows))
        elif event.state == WorkerState.ERROR:
            err = event.worker.error
            self._profiled = None  # showing the view again tries again
            table.update(str(err) if isinstance(err, CnnTuiError) else f"profile failed: {err}")

    def export(self) -> tuple[str, str]:
        from cnn_tui.tui.analyze.profile import profile_csv
        if not self.profile:
            raise NothingToExport("the profile is still being measured")
        name = self.analysis.record.id if self.analysis is not None else "untrained"
        return f"{name}-profile.csv", profile_csv(self.profile)
