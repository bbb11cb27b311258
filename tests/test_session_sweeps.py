"""The Sweeps screen's headless side (`cnn_tui.session.sweeps`) on real journal storages written
through the experiments engine (Optuna's own ask / report / tell; no training, as the engine's
dead-worker test does), and one real tiny sweep started as a detached process and stopped."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnn_tui.errors import CnnTuiError
from cnn_tui.session import sweeps as sw
from cnn_tui.settings import Settings

REPO = Path(__file__).resolve().parent.parent  # this checkout's sources, whatever the cwd
SPACE = {"training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
         "training.batch_size": {"type": "categorical", "choices": [32, 64, 128]},
         "layers[0].filters": {"type": "int", "low": 4, "high": 32, "step": 4}}


def search(name="lr", trials=12, **extra):
    return {"format": "cnn-tui/sweep", "version": 1, "name": name, "base": "template:beginner",
            "kind": "search", "sampler": "random", "pruner": "none", "trials": trials,
            "space": SPACE, "training": {"epochs": 3}, **extra}


def write_trials(settings, definition, count, value=None, leave_running=0, state="complete"):
    """Create the sweep in the default journal and finish `count` trials through the engine
    (each reports 3 epochs), then take `leave_running` more and leave them running (this
    process is their worker, alive). Returns the study."""
    from cnn_tui.experiments.optuna_backend import Backend
    from cnn_tui.experiments.storage import parse_storage
    from cnn_tui.experiments.sweepfile import parse_sweep
    from cnn_tui.experiments.trial import TrialOutcome, search_dimensions
    from cnn_tui.experiments.worker import Identity

    sweep = parse_sweep(definition, "test")
    backend = Backend(parse_storage(None, settings.runs_dir))
    study, _ = backend.create(sweep)
    me = Identity.here()
    value = value or (lambda params: 0.5 + 0.1 * math.log10(params["training.learning_rate"])
                      / -4 + params.get("layers[0].filters", 0) / 1000)
    for i in range(count + leave_running):
        handle = study.ask(me)
        params = {k: handle.suggest(d) for k, d in search_dimensions(sweep).items()}
        v = value(params)
        for epoch in (1, 2, 3):
            handle.report(v - 0.1 / epoch, epoch)
        if i >= count:
            continue
        run = {"run_id": f"run-{i}", "seed": params.get("seed", 0), "fold": None,
               "status": "finished", "value": v, "test_acc": v - 0.01}
        study.tell(handle, TrialOutcome(state, value=v if state != "failed" else None,
                                        runs=[run], params=params))
    return study


@pytest.fixture
def settings(tmp_path):
    return Settings.from_env(runs_dir=tmp_path / "runs", data_dir=tmp_path / "no-mnist")


def test_an_empty_storage_lists_nothing_and_imports_no_optuna(settings):
    code = ("import sys; from cnn_tui.session import sweeps; "
            "print('optuna' in sys.modules, 'torch' in sys.modules, 'textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.split() == ["False", "False", "False"]
    session = sw.SweepsSession(settings)
    assert not session.exists() and session.list() == [] and session.running_launches() == []
    assert session.where == str(settings.runs_dir / "sweeps.journal")


def test_a_sweep_read_as_it_grows(settings):
    study = write_trials(settings, search(trials=12), 6, leave_running=1)
    session = sw.SweepsSession(settings)
    rows = session.list()
    assert [(r.name, r.kind, r.target, r.done, r.running, r.active) for r in rows] == \
        [("lr", "search", 12, 6, 1, True)]
    snap = session.read("lr")
    assert (snap.done, snap.running, snap.target, snap.stopped, snap.finished) == (6, 1, 12, False,
                                                                                False)
    values = {t.number: t.value for t in snap.trials if t.state == "complete"}
    assert snap.best.number == max(values, key=values.get)
    running = next(t for t in snap.trials if t.state == "running")
    assert sw.trial_epochs(running) == 3 and running.worker.endswith(f":{os.getpid()}")
    # nothing new: the same signature (the screen redraws nothing); a report changes it
    assert session.read("lr").signature == snap.signature
    handle = study.ask(__import__("cnn_tui.experiments.worker", fromlist=["Identity"])
                       .Identity.here())
    handle.report(0.3, 1)
    grown = session.read("lr")
    assert grown.signature != snap.signature and grown.running == 2

    # the views' data
    series = sw.curves(grown)
    assert {n for n, *_ in series} == {t.number for t in grown.trials}
    assert all(xs == [1, 2, 3] or xs == [1] for _, _, xs, _ in series)
    ax = sw.axes(grown.sweep)
    assert [(a.key, a.kind, a.log) for a in ax] == [
        ("training.learning_rate", "float", True), ("training.batch_size", "categorical", False),
        ("layers[0].filters", "int", False)]
    xs, ys, numbers = sw.slices(grown, ax[0])
    assert sorted(numbers) == sorted(values) and len(xs) == 6
    for x, n in zip(xs, numbers, strict=True):
        lr = next(t for t in grown.trials if t.number == n).params["training.learning_rate"]
        assert math.isclose(x, math.log10(lr))
    xs, _, _ = sw.slices(grown, ax[1])
    assert set(xs) <= {0.0, 1.0, 2.0}  # a categorical: the index of its choice
    axes_, rows = sw.parallel(grown)
    assert rows[0][0] == grown.best.number and rows[0][2][-1] == 1.0  # best first, on top
    assert all(0.0 <= p <= 1.0 for _, _, ps in rows for p in ps) and len(rows) == 6
    assert sw.Axis("k", "float", 1e-4, 1e-2, log=True).position(1e-3) == pytest.approx(0.5)
    assert sw.Axis("k", "categorical", choices=(32, 64, 128)).position(128) == 1.0
    assert sw.Axis("k", "categorical", choices=(32, 64)).position(48) is None


def test_importance_is_cached_until_another_trial_completes(settings):
    study = write_trials(settings, search(trials=20), 10)
    session = sw.SweepsSession(settings)
    first, why = session.importance("lr")
    assert why == "" and set(first) == set(SPACE) and sum(first.values()) == pytest.approx(1.0)
    assert session.importance("lr")[0] is first  # not computed again
    from cnn_tui.experiments.trial import TrialOutcome, search_dimensions
    from cnn_tui.experiments.worker import Identity
    handle = study.ask(Identity.here())
    params = {k: handle.suggest(d) for k, d in search_dimensions(study.sweep).items()}
    study.tell(handle, TrialOutcome("complete", value=0.99, params=params))
    assert session.importance("lr")[0] is not first


def test_an_ablation_gives_its_forest_rows_with_welchs_interval(settings):
    from cnn_tui.experiments import stats
    definition = {"format": "cnn-tui/sweep", "version": 1, "name": "abl",
                  "base": "template:beginner", "kind": "ablation", "remove": ["layers[9]"],
                  "data": {"seeds": 3}, "training": {"epochs": 3}}
    scores = {"base": [0.80, 0.82, 0.81], "remove layers[9] (dropout)": [0.85, 0.88, 0.86]}

    def value(params):
        return scores[params["variant"]][params["seed"]]

    write_trials(settings, definition, 6, value=value)
    session = sw.SweepsSession(settings)
    snap = session.read("abl")
    assert snap.kind == "ablation" and snap.finished and snap.report is not None
    rows = sw.forest(snap.report)
    assert [r.variant for r in rows] == list(scores) and rows[0].reference
    assert rows[0].effect is None and rows[0].mean == pytest.approx(0.81)
    expected = stats.welch_test(scores["remove layers[9] (dropout)"], scores["base"])
    effect = rows[1]
    assert (effect.effect, effect.low, effect.high) == pytest.approx(
        (expected.diff, expected.low, expected.high))
    assert effect.p_holm == pytest.approx(expected.p)  # one variant: Holm changes nothing
    assert effect.runs == effect.expected == 3
    assert [a.key for a in sw.axes(snap.sweep)] == ["variant", "seed"]


def test_trial_architecture_carries_the_sampled_settings(settings):
    write_trials(settings, search(trials=4), 2)
    snap = sw.SweepsSession(settings).read("lr")
    trial = snap.best
    arch = sw.trial_architecture(snap, trial)
    assert arch.name == f"Beginner (sweep lr #{trial.number})"
    assert arch.training["learning_rate"] == trial.params["training.learning_rate"]
    assert arch.training["batch_size"] == trial.params["training.batch_size"]
    assert arch.training["epochs"] == 3 and arch.training["seed"] == 0
    assert arch.layers[0].params["filters"] == trial.params["layers[0].filters"]


def test_stop_and_a_deleted_sweep(settings):
    write_trials(settings, search(trials=5), 2, leave_running=1)
    session = sw.SweepsSession(settings)
    said = session.stop("lr")
    assert said == "sweep lr: stopped: no new trial; 1 running trial finish"
    snap = session.read("lr")
    assert snap.stopped and not snap.finished  # its running trial still runs
    assert "no process started from here" in session.stop("lr", now=True)
    from cnn_tui.experiments.optuna_backend import Backend
    Backend(session.ref).delete("lr")
    with pytest.raises(CnnTuiError) as caught:
        session.read("lr")
    assert "lr" in str(caught.value) and "\n" not in str(caught.value)


def test_start_refuses_a_wrong_file_in_one_line_and_launches_nothing(settings, tmp_path):
    session = sw.SweepsSession(settings)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**search(), "space": {"training.learning_rate": {
        "type": "float", "low": 0.1, "high": 0.01}}}))
    with pytest.raises(CnnTuiError) as caught:
        session.start(bad)
    assert str(caught.value).startswith(f"{bad}: space[\"training.learning_rate\"]: low > high")
    with pytest.raises(CnnTuiError, match="no such file"):
        session.start(tmp_path / "missing.json")
    assert not (settings.state_dir / "sweeps").exists()


def test_a_launch_that_fails_says_why(settings, tmp_path):
    """No MNIST where --data-dir points: the detached `sweep run` ends at once; the launch
    record says it is not alive and gives the error line of its log."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps(search(name="nodata")))
    session = sw.SweepsSession(settings)
    launch = session.start(path)
    assert launch.alive and launch.name == "nodata"
    record = json.loads((settings.state_dir / "sweeps" / "nodata" / "launch.json").read_text())
    assert record["pid"] == launch.pid and record["file"] == str(path)
    deadline = time.monotonic() + 60
    while session.launch("nodata").alive:
        assert time.monotonic() < deadline, "the sweep process did not end"
        time.sleep(0.2)
    ended = session.launch("nodata")
    assert "MNIST" in ended.error_line() and not ended.error_line().startswith("Traceback")
    assert session.running_launches() == []


def test_a_detached_sweep_runs_in_its_own_session_and_stops_now(settings, tmp_path, mnist_root,
                                                                monkeypatch):
    """A real tiny sweep (Beginner, 300 images): its process has a session of its own (no
    terminal's hang-up reaches it); stop now: its running trial stops after its step and goes
    back to the queue, the process ends."""
    monkeypatch.setenv("CNN_TUI_THREADS", "1")
    settings = Settings.from_env(runs_dir=tmp_path / "runs", data_dir=mnist_root)
    path = tmp_path / "s.json"
    path.write_text(json.dumps({**search(name="live", trials=3), "sampler": "grid", "space": {
        "training.learning_rate": {"type": "categorical", "choices": [0.003, 0.01, 0.03]}},
        "data": {"limit_train": 300, "limit_test": 100},
        "training": {"epochs": 30, "val_size": 100}}))
    session = sw.SweepsSession(settings)
    launch = session.start(path)
    assert os.getsid(launch.pid) == launch.pid != os.getsid(0)
    assert [x.name for x in session.running_launches()] == ["live"]
    with pytest.raises(CnnTuiError, match="already running"):
        session.start(path)
    deadline = time.monotonic() + 120
    while True:
        snap = session.read("live") if session.exists() and "live" in session.names() else None
        if snap is not None and any(t.intermediate for t in snap.trials if t.state == "running"):
            break
        assert session.launch("live").alive, session.launch("live").error_line()
        assert time.monotonic() < deadline, "no trial reported an epoch"
        time.sleep(0.3)
    said = session.stop("live", now=True)
    assert said.startswith("sweep live: stopping now") and str(launch.pid) in said
    while session.launch("live").alive:
        assert time.monotonic() < deadline + 60, "the sweep process did not stop"
        time.sleep(0.2)
    snap = session.read("live")
    assert snap.stopped and snap.done == 0 and snap.running == 0
    assert snap.counts["waiting"] == 3  # the stopped trial went back to the queue
