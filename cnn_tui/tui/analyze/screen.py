"""The Analyze screen: what a trained run learned, for the newest run or any stored one.

Views (`v` / `V` cycle them, or the tabs): the confusion matrix, per-class metrics, feature
maps of a test image (or of a drawing) for each image-shaped layer, the predictions with the
selected digit's class probabilities, a canvas classified live, the weights (histogram per
layer, and the gradient flow of a run trained in this app), a per-layer profile (forward and
backward time, activation memory, measured beside the summary's estimate), and the training data
by class. `e` exports the current
view (CSV for tables, plain text for pictures) to a file named in a prompt.

Loading (torch, MNIST, classifying the test images) runs in a thread worker; moving between
images, layers and channels is computed on the spot (one image through part of the model).
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.text import markup_safe
from cnn_tui.tui.analyze.canvas import DrawCanvas
from cnn_tui.tui.analyze.data_browser import DataBrowser
from cnn_tui.tui.analyze.confusion import (METRIC_HEADER, ConfusionMatrix, confusion_csv,
                                           metric_rows, metrics_csv)
from cnn_tui.tui.common.heatmap import (Heatmap, prefers_monochrome, scale_values, tile,
                                         to_plain_text, upscale)
from cnn_tui.tui.common.probabilities import probability_bars
from cnn_tui.tui.common.footer import KeyBar

TABS = ("tab-confusion", "tab-metrics", "tab-maps", "tab-preds", "tab-draw", "tab-weights",
        "tab-profile", "tab-data")
PROFILE_BATCH = 64
MAX_PRED_ROWS = 2000  # rows in the predictions table (the CSV export has them all)


def tile_maps(maps, selected: int, width: int, monochrome: bool) -> Text:
    """Every channel of `maps` [C,H,W] as a heatmap tile, wrapped at `width`.

    Each channel is scaled by its own min..max; small maps are enlarged so a 3x3 is visible.
    """
    c, h, _ = maps.shape
    factor = max(1, 8 // max(h, 1))
    grids = [upscale(scale_values(maps[ch]), factor) for ch in range(c)]
    return tile(grids, [str(ch) for ch in range(c)], width, monochrome, "viridis", selected)


def maps_text(maps, title: str) -> str:
    """Plain-text export of every channel (shade characters), one block per channel."""
    blocks = [title]
    for ch in range(maps.shape[0]):
        lo, hi = float(maps[ch].min()), float(maps[ch].max())
        blocks.append(to_plain_text(scale_values(maps[ch]), f"channel {ch} (min {lo:.4g}, max {hi:.4g})"))
    return "\n".join(blocks)


class AnalyzeScreen(Screen):
    """Analyze a run: `run_id=None` follows the newest run in the store."""

    CSS_PATH = Path(__file__).with_name("analyze.tcss")
    HELP = ("Analyze: `v`/`V` next/previous view, `e` export the view, `o` open another run. "
            "Feature maps: `[`/`]` layer, `,`/`.` channel, `n`/`p` next/previous image, `m` next "
            "mistake, `c` next class, `g` go to an image index, `w` (Draw) show the drawing's maps. "
            "Predictions: `w` mistakes only. Draw: arrows move, space paints, +/- brush, c clears.")
    BINDINGS = [
        Binding("v", "cycle_view(1)", "Next view", id="analyze.next_view"),
        Binding("V", "cycle_view(-1)", "Prev view", show=False, id="analyze.prev_view"),
        Binding("e", "export", "Export", id="analyze.export"),
        Binding("o", "open_run", "Open run", id="analyze.open"),
        Binding("right_square_bracket", "layer(1)", "Layer+", show=False, id="analyze.layer_next"),
        Binding("left_square_bracket", "layer(-1)", "Layer-", show=False, id="analyze.layer_prev"),
        Binding("full_stop", "channel(1)", "Channel+", show=False, id="analyze.channel_next"),
        Binding("comma", "channel(-1)", "Channel-", show=False, id="analyze.channel_prev"),
        Binding("n", "image(1)", "Next image", show=False, id="analyze.image_next"),
        Binding("p", "image(-1)", "Prev image", show=False, id="analyze.image_prev"),
        Binding("m", "next_mistake", "Next mistake", show=False, id="analyze.mistake"),
        Binding("c", "next_class", "Next class", show=False, id="analyze.class"),
        Binding("g", "goto_image", "Go to image", show=False, id="analyze.goto"),
        Binding("w", "toggle_wrong", "Mistakes only / drawing maps", show=False,
                id="analyze.wrong"),
        Binding("L", "snapshot", "Snapshot", show=False, id="analyze.snapshot"),
    ]

    def __init__(self, run_id: str | None = None) -> None:
        super().__init__()
        self.pinned = run_id  # None: follow the newest run
        self.profile = None  # list[LayerProfile] of the shown run, once measured
        self._profiled: str | None = None
        self.data = None  # RunAnalysis once loaded
        self.record = None
        self.error: str | None = None
        self.image = 0
        self.layer_pos = 0
        self.channel = 0
        self.use_drawing = False  # feature maps of the drawing instead of a test image
        self.mistakes_only = False
        self._mistake_pos = -1
        self._probs_drawn: list[float] | None = None
        self._newest_seen: str | None = None  # the newest run in the store when last loaded
        self.training_run: str | None = None  # the run shown is training: reload when it ends

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading…", id="analyze-status")
        with TabbedContent(id="analyze-tabs"):
            with TabPane("Confusion", id="tab-confusion"):
                with VerticalScroll():
                    yield ConfusionMatrix(id="confusion")
            with TabPane("Metrics", id="tab-metrics"):
                yield DataTable(id="metrics-table", cursor_type="row")
            with TabPane("Feature maps", id="tab-maps"):
                yield Static("", id="maps-info")
                with Horizontal(id="maps-top"):
                    yield Heatmap(ramp="gray", id="maps-input")
                    yield Heatmap(ramp="viridis", id="maps-selected")
                with VerticalScroll(id="maps-scroll"):
                    yield Static("", id="maps-grid")
            with TabPane("Predictions", id="tab-preds"):
                yield Static("", id="preds-grid")
                with Horizontal():
                    yield DataTable(id="preds-table", cursor_type="row")
                    with VerticalScroll(id="preds-side", can_focus=False):  # keys stay on the table
                        yield Heatmap(ramp="gray", id="preds-digit")
                        yield Static("", id="preds-bars")
            with TabPane("Draw", id="tab-draw"):
                with Horizontal():
                    yield DrawCanvas(id="draw-canvas")
                    with Vertical(id="draw-side"):
                        yield Static("", id="draw-bars")
                        yield Static("arrows move · space paints · +/- brush · c clears · "
                                     "mouse paints · w shows its feature maps", id="draw-hint")
            with TabPane("Weights", id="tab-weights"):
                with VerticalScroll():
                    yield Static("", id="weights-hist")
                    yield Static("", id="weights-grads")
            with TabPane("Profile", id="tab-profile"):
                with VerticalScroll():
                    yield Static("", id="profile-table")
            with TabPane("Data", id="tab-data"):
                with VerticalScroll():
                    yield DataBrowser(id="data-browser")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#metrics-table", DataTable).add_columns(*METRIC_HEADER)
        self.query_one("#preds-table", DataTable).add_columns("index", "label", "pred",
                                                              "confidence", "")
        from cnn_tui.tui.analyze.loading import latest_run_id
        try:
            self._newest_seen = latest_run_id(self.app.settings.runs_dir)
        except CnnTuiError:
            pass  # the load below reports it
        self.app.feed.subscribe(self)
        self.set_interval(1.0, self._check_training_run)
        self.reload()

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
        results; while it trains, say where it is."""
        start = self.app.feed.history.start
        if start is None or start.run_id != self.training_run:
            return
        if message.ended:
            self.reload()
        else:
            self._say_training(None)

    def _check_training_run(self) -> None:
        """A run shown while training (this app's or any other) may have ended: reload then."""
        if self.training_run is None:
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
        self.query_one("#analyze-status", Static).update(
            f"[b]{markup_safe(name)}[/b] · run {run_id} · training: epoch {done}/{total} done · the views "
            "fill in when it ends · L evaluates a mid-training snapshot now")

    # ------------------------------------------------------------------ loading
    def show_run(self, run_id: str | None) -> None:
        """Analyze `run_id` (None: the newest run)."""
        self.pinned = run_id
        self.reload()

    def reload(self, snapshot: bool = False) -> None:
        self.query_one("#analyze-status", Static).update(
            f"loading run {self.pinned}…" if self.pinned else "loading the newest run…")
        self._load(self.pinned, snapshot)

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
        if event.worker.group == "profile":
            if event.state == WorkerState.SUCCESS:
                self._profiled_result(event.worker.result)
            elif event.state == WorkerState.ERROR:
                err = event.worker.error
                self.query_one("#profile-table", Static).update(
                    str(err) if isinstance(err, CnnTuiError) else f"profile failed: {err}")
            return
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
        self.image, self.layer_pos, self.channel, self._mistake_pos = 0, 0, 0, -1
        self.use_drawing = False
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
        self.query_one(ConfusionMatrix).set_matrix(ev["confusion_matrix"])
        table = self.query_one("#metrics-table", DataTable)
        table.clear()
        for row in metric_rows(ev["per_class"], ev["macro"], ev["weighted"]):
            table.add_row(*row)
        self._fill_predictions()
        self._draw_maps()
        self._show_prediction()
        self._classify_drawing()
        self._show_weights()
        if self.query_one(TabbedContent).active == "tab-profile":
            self.start_profile()

    # ------------------------------------------------------------------ weights
    def grad_events(self) -> list:
        """The gradient norms the shown run recorded (every run records them)."""
        return list(self.data.grad_norms) if self.data is not None else []

    def _show_weights(self) -> None:
        from cnn_tui.tui.analyze.weights import gradflow_text, histogram_text
        self.query_one("#weights-hist", Static).update(histogram_text(self.data.histograms))
        self.query_one("#weights-grads", Static).update(gradflow_text(self.grad_events()))

    # ------------------------------------------------------------------ predictions
    def _pred_indices(self) -> list[int]:
        if self.mistakes_only:
            return self.data.mistakes()
        return list(range(min(len(self.data.labels), MAX_PRED_ROWS)))

    def _fill_predictions(self) -> None:
        table = self.query_one("#preds-table", DataTable)
        table.clear()
        d = self.data
        preds, conf = d.preds, d.confidence
        for i in self._pred_indices():
            ok = preds[i] == d.labels[i]
            table.add_row(str(i), str(int(d.labels[i])), str(int(preds[i])),
                          f"{100 * float(conf[i]):.1f}%", "" if ok else "✗", key=str(i))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "preds-table" or self.data is None or event.row_key is None:
            return
        self.image = int(event.row_key.value)
        self.use_drawing = False
        self._show_prediction()
        self._draw_maps()

    def _show_prediction(self) -> None:
        d, i = self.data, self.image
        digit = scale_values(d.images[i], 0, 255)
        self.query_one("#preds-digit", Heatmap).set_values(
            digit, f"#{i} label {int(d.labels[i])} pred {int(d.preds[i])}")
        bars = probability_bars([float(p) for p in d.probs[i]], 20, int(d.labels[i]))
        self.query_one("#preds-bars", Static).update(bars)
        self._show_grid()

    def _show_grid(self) -> None:
        """A row of half-size digits around the selected one: `label→pred confidence`."""
        from cnn_tui.tui.analyze.data_browser import half_size
        d = self.data
        order = self._pred_indices()
        shown = self.query_one("#preds-grid").size.width
        per_row = max(1, ((shown if shown > 0 else self.app.size.width - 4) + 1) // 15)
        pos = order.index(self.image) if self.image in order else 0
        start = (pos // per_row) * per_row
        page = order[start:start + per_row]
        captions = []
        for i in page:
            label, pred = int(d.labels[i]), int(d.preds[i])
            mark = "" if label == pred else "✗"
            captions.append(f"{label}→{pred} {100 * float(d.confidence[i]):.0f}%{mark}")
        grids = [half_size(d.images[i]) for i in page]
        selected = page.index(self.image) if self.image in page else None
        self.query_one("#preds-grid", Static).update(
            tile(grids, captions, per_row * 15, prefers_monochrome(self.app), "gray", selected))

    # ------------------------------------------------------------------ feature maps
    @property
    def layer(self):
        layers = self.data.layers if self.data else []
        return layers[self.layer_pos] if layers else None

    def current_maps(self):
        from cnn_tui.tui.analyze.loading import canvas_maps, feature_maps
        layer = self.layer
        if layer is None:
            return None
        if self.use_drawing:
            return canvas_maps(self.data.model, self.query_one(DrawCanvas).pixels, layer.index)
        return feature_maps(self.data, self.image, layer.index)

    def _source_title(self) -> str:
        d = self.data
        if self.use_drawing:
            probs = self._probs_drawn or []
            guess = max(range(len(probs)), key=probs.__getitem__) if probs else "?"
            return f"the drawing (pred {guess})"
        i = self.image
        return (f"test image #{i} label {int(d.labels[i])} pred {int(d.preds[i])} "
                f"({100 * float(d.confidence[i]):.1f}%)")

    def _draw_maps(self) -> None:
        if self.data is None:
            return
        layer = self.layer
        info = self.query_one("#maps-info", Static)
        if layer is None:
            info.update("this model has no image-shaped layer to show")
            return
        maps = self.current_maps()
        self.channel = min(self.channel, maps.shape[0] - 1)
        if self.use_drawing:
            source = self.query_one(DrawCanvas).pixels
        else:
            source = scale_values(self.data.images[self.image], 0, 255)
        self.query_one("#maps-input", Heatmap).set_values(source, "input")
        factor = max(1, 28 // max(maps.shape[1], 1))
        self.query_one("#maps-selected", Heatmap).set_values(
            upscale(scale_values(maps[self.channel]), factor), f"channel {self.channel}")
        info.update(f"{self._source_title()} · layer {layer.label} "
                    f"({self.layer_pos + 1}/{len(self.data.layers)}) {list(layer.shape)} · "
                    f"channel {self.channel + 1}/{maps.shape[0]}")
        shown = self.query_one("#maps-scroll").size.width
        width = max(20, (shown if shown > 0 else self.app.size.width - 4) - 2)
        self.query_one("#maps-grid", Static).update(
            tile_maps(maps, self.channel, width, prefers_monochrome(self.app)))

    def action_layer(self, delta: int) -> None:
        if self.data and self.data.layers:
            self.layer_pos = (self.layer_pos + delta) % len(self.data.layers)
            self.channel = 0
            self._draw_maps()

    def action_channel(self, delta: int) -> None:
        layer = self.layer
        if layer is not None:
            self.channel = (self.channel + delta) % layer.shape[0]
            self._draw_maps()

    def _select_image(self, index: int) -> None:
        self.image = index % len(self.data.labels)
        self.use_drawing = False
        self._show_prediction()
        self._draw_maps()

    def action_image(self, delta: int) -> None:
        if self.data is not None:
            self._select_image(self.image + delta)

    def action_next_mistake(self) -> None:
        if self.data is None:
            return
        wrong = self.data.mistakes()
        if not wrong:
            self.notify("no mistakes on this test set")
            return
        self._mistake_pos = (self._mistake_pos + 1) % len(wrong)
        self._select_image(wrong[self._mistake_pos])

    def action_next_class(self) -> None:
        """The next test image whose label is the current label + 1."""
        if self.data is None:
            return
        labels = self.data.labels
        want = (int(labels[self.image]) + 1) % int(labels.max() + 1)
        for step in range(1, len(labels) + 1):
            j = (self.image + step) % len(labels)
            if labels[j] == want:
                self._select_image(j)
                return

    def action_goto_image(self) -> None:
        if self.data is None:
            return
        from cnn_tui.tui.common.path_prompt import PathPrompt

        def chosen(text: str | None) -> None:
            if text is None:
                return
            try:
                index = int(text)
                if not 0 <= index < len(self.data.labels):
                    raise ValueError
            except ValueError:
                self.notify(f"image index: must be 0..{len(self.data.labels) - 1}, got {text!r}",
                            severity="error")
                return
            self._select_image(index)

        self.app.push_screen(PathPrompt(f"Test image index (0..{len(self.data.labels) - 1})",
                                        str(self.image), "enter: go · escape: cancel"), chosen)

    def action_toggle_wrong(self) -> None:
        if self.data is None:
            return
        tab = self.query_one(TabbedContent).active
        if tab == "tab-draw":
            self.use_drawing = True
            self.query_one(TabbedContent).active = "tab-maps"
            self._draw_maps()
            return
        self.mistakes_only = not self.mistakes_only
        self._fill_predictions()
        self._show_grid()

    # ------------------------------------------------------------------ drawing
    def on_draw_canvas_changed(self, message: DrawCanvas.Changed) -> None:
        self._classify_drawing()
        if self.use_drawing:
            self._draw_maps()

    def _classify_drawing(self) -> None:
        if self.data is None:
            return
        canvas = self.query_one(DrawCanvas)
        bars = self.query_one("#draw-bars", Static)
        if canvas.ink == 0:
            self._probs_drawn = None
            bars.update("draw a digit: the model classifies it as you paint")
            return
        from cnn_tui.tui.analyze.loading import classify
        self._probs_drawn = classify(self.data.model, canvas.pixels)
        best = max(range(len(self._probs_drawn)), key=self._probs_drawn.__getitem__)
        text = Text(f"prediction: {best} ({100 * self._probs_drawn[best]:.1f}%)\n", style="bold")
        text.append_text(probability_bars(self._probs_drawn, 20))
        bars.update(text)

    # ------------------------------------------------------------------ profile
    def _profile_subject(self):
        """(label, model, arch): the loaded run's model, else the architecture in Build."""
        if self.data is not None:
            return f"run {self.data.record.id}", self.data.model, self.data.arch
        arch = self.app.document.arch  # type: ignore[attr-defined]
        return f"{arch.name} (untrained, from Build)", None, arch

    def start_profile(self) -> None:
        label, model, arch = self._profile_subject()
        if getattr(self, "_profiled", None) == label:
            return
        self.profile = None
        self.query_one("#profile-table", Static).update(f"profiling {label}…")
        self._profile(label, model, arch)

    @work(thread=True, exclusive=True, group="profile", exit_on_error=False)
    def _profile(self, label: str, model, arch):
        from cnn_tui.tui.analyze.profile import profile_model
        if model is None:
            from cnn_tui.train.build import build_model
            model = build_model(arch)
        device, rows = profile_model(model, arch, batch=PROFILE_BATCH)
        return label, device, rows

    def _profiled_result(self, result) -> None:
        from cnn_tui.tui.analyze.profile import profile_table
        label, device, rows = result
        self._profiled, self.profile = label, rows
        self.query_one("#profile-table", Static).update(
            profile_table(f"{device} · {label}", PROFILE_BATCH, rows))

    # ------------------------------------------------------------------ views and export
    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-profile":
            self.start_profile()
        if event.pane.id == "tab-data":  # needs no run: MNIST alone
            browser = self.query_one(DataBrowser)
            browser.load()
            browser.focus()
        if event.pane.id == "tab-weights" and self.data is not None:
            self._show_weights()  # the run may have trained further since
        if event.pane.id == "tab-maps":
            self.call_after_refresh(self._draw_maps)  # the grid wraps at the width shown
        if event.pane.id == "tab-preds" and self.data is not None:
            self.call_after_refresh(self._show_grid)

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw_maps)

    def action_cycle_view(self, delta: int) -> None:
        tabs = self.query_one(TabbedContent)
        pos = TABS.index(tabs.active) if tabs.active in TABS else 0
        tabs.active = TABS[(pos + delta) % len(TABS)]

    def export_text(self, tab: str) -> tuple[str, str]:
        """(default file name, content) of what the view `tab` exports."""
        d = self.data
        rid = d.record.id
        ev = d.evaluation
        if tab == "tab-confusion":
            return f"{rid}-confusion.csv", confusion_csv(ev["confusion_matrix"])
        if tab == "tab-metrics":
            return f"{rid}-metrics.csv", metrics_csv(ev["per_class"], ev["macro"], ev["weighted"])
        if tab == "tab-preds":
            import csv
            import io
            out = io.StringIO()
            w = csv.writer(out, lineterminator="\n")
            k = d.probs.shape[1]
            w.writerow(["index", "label", "pred", "confidence", *(f"p{c}" for c in range(k))])
            for i in range(len(d.labels)):
                w.writerow([i, int(d.labels[i]), int(d.preds[i]), f"{float(d.confidence[i]):.6f}",
                            *(f"{float(p):.6f}" for p in d.probs[i])])
            return f"{rid}-predictions.csv", out.getvalue()
        if tab == "tab-profile":
            from cnn_tui.tui.analyze.profile import profile_csv
            return f"{rid}-profile.csv", profile_csv(self.profile or [])
        if tab == "tab-weights":
            from cnn_tui.tui.analyze.weights import weights_csv
            return f"{rid}-weights.csv", weights_csv(d.histograms, self.grad_events())
        if tab == "tab-draw":
            canvas = self.query_one(DrawCanvas)
            probs = self._probs_drawn or []
            lines = [f"{c}: {100 * p:.2f}%" for c, p in enumerate(probs)]
            return f"{rid}-drawing.txt", to_plain_text(canvas.pixels, "drawing") + "\n".join(lines) + "\n"
        maps = self.current_maps()
        layer = self.layer
        title = f"run {rid} · {self._source_title()} · layer {layer.label} {list(layer.shape)}"
        name = f"{rid}-maps-{'drawing' if self.use_drawing else self.image}-layer{layer.index}.txt"
        source = self.query_one("#maps-input", Heatmap).values
        return name, to_plain_text(source, "input") + "\n" + maps_text(maps, title)

    def action_export(self) -> None:
        tab = self.query_one(TabbedContent).active
        if tab == "tab-data":
            browser = self.query_one(DataBrowser)
            content = browser.export_text()
            if content:
                self._prompt_export(f"mnist-train-class{browser.digit_class}.txt", content)
            return
        if self.data is None:
            self.notify(self.error or "nothing loaded yet", severity="warning")
            return
        if tab == "tab-maps" and self.layer is None:
            self.notify("no feature maps to export", severity="warning")
            return
        if tab == "tab-profile" and not getattr(self, "profile", None):
            self.notify("the profile is still being measured", severity="warning")
            return
        name, content = self.export_text(tab)
        self._prompt_export(name, content)

    def _prompt_export(self, name: str, content: str) -> None:
        from cnn_tui.tui.common.path_prompt import PathPrompt

        def chosen(path: str | None) -> None:
            if path:
                self.write_export(path, content)

        self.app.push_screen(PathPrompt("Export to file", str(Path(os.getcwd()) / name)), chosen)

    def write_export(self, path: str, content: str) -> Path | None:
        from cnn_tui.export.atomic import write_text
        try:
            written = write_text(Path(path).expanduser().resolve(), content)
        except CnnTuiError as err:
            self.notify(str(err), title="Export failed", severity="error")
            return None
        self.notify(f"wrote {written}", title="Exported")
        return written

    def action_open_run(self) -> None:
        """A picker of the stored runs, newest first."""
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
        self.app.push_screen(RunPicker("Open which run?", records),
                             lambda choice: choice and self.show_run(choice))
