"""Tiny real sweeps (Beginner, 1,000 training images, real MNIST, real journal storage, real run
store) of each kind, through the command line in this process; the reports' statistics equal
scipy's; `train --seeds / --folds`; dead workers' trials re-queued (no training there)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from cnn_tui import cli
from cnn_tui.runs.store import RunStore

scipy_stats = pytest.importorskip("scipy.stats", reason="scipy is in the test extra")

TINY = {"limit_train": 1000, "limit_test": 200}
TRAIN = {"epochs": 2, "val_size": 300}


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("CNN_TUI_THREADS", "1")


def write(tmp_path, obj, name="s.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return str(path)


def run_cli(argv, capsys, code=0):
    got = cli.main(argv)
    out, err = capsys.readouterr()
    assert got == code, err
    assert "Traceback" not in err
    return out, err


def sweep_json(argv, capsys):
    out, err = run_cli([*argv, "--json"], capsys)
    return json.loads(out), err


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_search_prunes_scores_divergence_as_worst_and_keeps_every_trial_a_run(tmp_path, capsys,
                                                                             mnist_root):
    runs = tmp_path / "runs"
    common = ["--runs-dir", str(runs), "--data-dir", str(mnist_root)]
    path = write(tmp_path, {
        "format": "cnn-tui/sweep", "version": 1, "name": "lr-grid", "base": "template:beginner",
        "kind": "search", "sampler": "grid", "pruner": {"type": "median", "startup_trials": 1},
        "space": {"training.learning_rate": {"type": "categorical",
                                             "choices": [0.01, 0.00001, 10.0]}},
        "data": TINY, "training": {**TRAIN, "epochs": 3}})
    result, err = sweep_json(["sweep", "run", path, *common], capsys)
    assert "sweep lr-grid: created in" in err and "trial 1   pruned" in err
    assert result["name"] == "lr-grid" and result["kind"] == "search"
    trials = {t["number"]: t for t in result["trials"]}
    assert [trials[n]["state"] for n in range(3)] == ["complete", "pruned", "complete"]
    good, slow, wild = trials[0], trials[1], trials[2]
    assert good["params"] == {"training.learning_rate": 0.01} and good["value"] > 0.8
    # diverged: the worst value (0 for val_acc), a complete trial TPE learns from
    assert wild["diverged"] and wild["value"] == 0.0 and wild["runs"][0]["status"] == "failed"
    assert result["best"] == {"number": 0, "value": good["value"], "params": good["params"],
                              "run_id": good["run_id"]}

    store = RunStore(runs)
    pruned = store.get(slow["run_id"])
    assert pruned.status == "pruned" and "pruned by the sweep's median pruner" in pruned.message
    assert len(pruned.epochs) == 1 and pruned.test_acc is None  # stopped at the epoch boundary
    assert store.checkpoint_path(pruned.id).is_file()
    assert store.get(wild["run_id"]).status == "failed"
    finished = store.get(good["run_id"], points=True)
    assert finished.status == "finished" and len(finished.epochs) == 3
    assert finished.batch_points and finished.version  # recorded as any run is
    assert set(finished.tags) == {"sweep:lr-grid", "trial:0"}
    assert finished.config["learning_rate"] == 0.01 and finished.config["limit_train"] == 1000
    assert finished.best_val_acc == good["value"]

    # running it again finds it done: no trial runs twice
    again, _ = sweep_json(["sweep", "run", path, *common], capsys)
    assert [t["run_id"] for t in again["trials"]] == [t["run_id"] for t in result["trials"]]
    assert len(store.list_runs()) == 3

    out, _ = run_cli(["sweep", "best", "lr-grid", "--runs-dir", str(runs), "-o",
                      str(tmp_path / "best.json")], capsys)
    assert out.startswith("best trial 0: val_acc ")
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["training"]["learning_rate"] == 0.01 and best["training"]["epochs"] == 3
    run_cli(["sweep", "best", "lr-grid", "--runs-dir", str(runs), "-o",
             str(tmp_path / "best.json")], capsys, code=2)  # kept unless --force

    out, _ = run_cli(["sweep", "report", "lr-grid", "--runs-dir", str(runs), "--csv"], capsys)
    rows = out.strip().splitlines()
    assert rows[0] == "number,state,val_acc,test_acc,training.learning_rate,run_id,worker,message"
    assert rows[2].startswith("1,pruned,") and len(rows) == 4
    out, _ = run_cli(["sweep", "list", "--runs-dir", str(runs)], capsys)
    assert "lr-grid" in out and "3/3" in out
    out, _ = run_cli(["sweep", "stop", "lr-grid", "--runs-dir", str(runs)], capsys)
    assert "stopped: workers take no new trial" in out
    status, _ = sweep_json(["sweep", "status", "lr-grid", "--runs-dir", str(runs)], capsys)
    assert status["stopped"] is True and status["trials"] == result["trials"]
    run_cli(["sweep", "delete", "lr-grid", "--runs-dir", str(runs)], capsys, code=2)  # no --yes
    out, _ = run_cli(["sweep", "delete", "lr-grid", "--runs-dir", str(runs), "--yes"], capsys)
    assert "its 3 runs stay in the run store" in out
    assert len(store.list_runs()) == 3
    out, _ = run_cli(["sweep", "list", "--runs-dir", str(runs)], capsys)
    assert out.startswith("no sweeps in")


@pytest.mark.parametrize("sampler", ["tpe", "cmaes"])
def test_sampled_searches_run_their_trials(tmp_path, capsys, mnist_root, sampler):
    path = write(tmp_path, {
        "format": "cnn-tui/sweep", "version": 1, "name": f"s-{sampler}",
        "base": "template:beginner", "sampler": sampler, "pruner": "hyperband", "trials": 2,
        "space": {"training.learning_rate": {"type": "float", "low": 1e-3, "high": 1e-2,
                                             "log": True},
                  "layers[7].units": {"type": "int", "low": 16, "high": 64}},
        "data": {"limit_train": 500, "limit_test": 100}, "training": {**TRAIN, "epochs": 1}})
    result, _ = sweep_json(["sweep", "run", path, "--runs-dir", str(tmp_path / "runs"),
                            "--data-dir", str(mnist_root)], capsys)
    assert [t["state"] for t in result["trials"]] == ["complete", "complete"]
    for t in result["trials"]:
        assert 1e-3 <= t["params"]["training.learning_rate"] <= 1e-2
        assert 16 <= t["params"]["layers[7].units"] <= 64
        record = RunStore(tmp_path / "runs").get(t["run_id"])
        assert record.arch["layers"][7]["units"] == t["params"]["layers[7].units"]
    assert result["importance"] is not None or result["importance_note"]


def test_ablation_report_equals_scipy(tmp_path, capsys, mnist_root):
    path = write(tmp_path, {
        "format": "cnn-tui/sweep", "version": 1, "name": "abl", "base": "template:beginner",
        "kind": "ablation", "remove": ["layers[9]"],
        "replace": {"layers[2]": {"type": "avgpool2d", "pool_size": 2}},
        "data": {**TINY, "seeds": 2}, "training": TRAIN})
    result, _ = sweep_json(["sweep", "run", path, "--runs-dir", str(tmp_path / "runs"),
                            "--data-dir", str(mnist_root)], capsys)
    trials = result["trials"]
    assert len(trials) == 6 and all(t["state"] == "complete" for t in trials)
    report = result["report"]
    assert report["test"] == "welch" and report["reference"] == "base"
    by = {}
    for t in trials:
        by.setdefault(t["params"]["variant"], []).append(t)
    base = by["base"]
    rows = {r["variant"]: r for r in report["variants"]}
    pvalues = []
    for name, group in by.items():
        values = [t["value"] for t in group]
        accs = [t["test_acc"] for t in group]
        low, high = scipy_stats.t.interval(0.95, len(values) - 1, loc=np.mean(values),
                                           scale=scipy_stats.sem(values))
        row = rows[name]
        assert close(row["objective"]["mean"], np.mean(values))
        assert close(row["objective"]["low"], low) and close(row["objective"]["high"], high)
        assert close(row["test_acc"]["mean"], np.mean(accs))
        if name == "base":
            assert "effect" not in row
            continue
        ref = scipy_stats.ttest_ind(values, [t["value"] for t in base], equal_var=False)
        assert close(row["effect"]["p"], ref.pvalue) and close(row["effect"]["t"], ref.statistic)
        assert close(row["effect"]["diff"], np.mean(values) - np.mean([t["value"] for t in base]))
        acc_ref = scipy_stats.ttest_ind(accs, [t["test_acc"] for t in base], equal_var=False)
        assert close(row["test_acc_effect"]["p"], acc_ref.pvalue)
        pvalues.append((name, ref.pvalue))
    (n1, p1), (n2, p2) = sorted(pvalues, key=lambda x: x[1])
    assert close(rows[n1]["effect"]["p_holm"], min(1, 2 * p1))
    assert close(rows[n2]["effect"]["p_holm"], max(min(1, 2 * p1), min(1, p2)))
    # every run tagged with its sweep, trial, variant and seed
    store = RunStore(tmp_path / "runs")
    for t in trials:
        tags = set(store.get(t["run_id"]).tags)
        assert tags == {"sweep:abl", f"trial:{t['number']}", f"variant:{t['params']['variant']}",
                        f"seed:{t['params']['seed']}"}
    out, _ = run_cli(["sweep", "report", "abl", "--runs-dir", str(tmp_path / "runs")], capsys)
    assert "remove layers[9] (dropout)" in out and "welch t-test, p Holm-adjusted" in out


def test_compare_with_folds_uses_the_nadeau_bengio_corrected_test(tmp_path, capsys, mnist_root):
    small = json.loads(json.dumps({"format": "cnn-tui/architecture", "version": 1,
                                   "name": "Smaller", "layers": [
                                       {"type": "conv2d", "filters": 4, "kernel_size": 3},
                                       {"type": "relu"}, {"type": "maxpool2d", "pool_size": 2},
                                       {"type": "flatten"}, {"type": "dense", "units": 10},
                                       {"type": "softmax"}]}))
    (tmp_path / "small.json").write_text(json.dumps(small))
    path = write(tmp_path, {
        "format": "cnn-tui/sweep", "version": 1, "name": "cmp", "kind": "compare",
        "variants": {"beginner": "template:beginner", "small": "small.json"},
        "data": {**TINY, "folds": 3}, "training": {"epochs": 1}})
    result, _ = sweep_json(["sweep", "run", path, "--runs-dir", str(tmp_path / "runs"),
                            "--data-dir", str(mnist_root)], capsys)
    trials = result["trials"]
    assert len(trials) == 6 and {t["state"] for t in trials} == {"complete"}
    report = result["report"]
    assert report["test"].startswith("corrected-paired") and report["reference"] == "beginner"
    value = {(t["params"]["variant"], t["params"]["fold"]): t["value"] for t in trials}
    d = np.array([value[("small", f)] - value[("beginner", f)] for f in range(3)])
    se = math.sqrt((1 / 3 + 1 / 2) * np.var(d, ddof=1))
    effect = next(r for r in report["variants"] if r["variant"] == "small")["effect"]
    assert close(effect["t"], d.mean() / se)
    assert close(effect["p"], 2 * scipy_stats.t.sf(abs(d.mean() / se), 2))
    assert close(effect["p_holm"], effect["p"])  # one comparison
    store = RunStore(tmp_path / "runs")
    folds = set()
    for t in trials:
        record = store.get(t["run_id"])
        fold = t["params"]["fold"]
        assert record.config["fold"] == [fold, 3] and f"fold:{fold}" in record.tags
        assert record.sizes["train"] == 1000 and record.sizes["val"] == 500  # a 1,500 pool
        folds.add(fold)
    assert folds == {0, 1, 2}


def test_train_seeds_and_folds_report_mean_and_interval(tmp_path, capsys, mnist_root):
    common = ["--runs-dir", str(tmp_path / "runs"), "--data-dir", str(mnist_root),
              "--limit-train", "500", "--limit-test", "200", "--epochs", "1", "--val-size", "300"]
    out, err = run_cli(["train", "template:beginner", "--seeds", "2", "--seed", "5", *common,
                        "--json"], capsys)
    group = json.loads(out)
    assert [r["seed"] for r in group["runs"]] == [5, 6]
    accs = [r["test_acc"] for r in group["runs"]]
    low, high = scipy_stats.t.interval(0.95, 1, loc=np.mean(accs), scale=scipy_stats.sem(accs))
    assert close(group["test_acc"]["low"], low) and close(group["test_acc"]["high"], high)
    store = RunStore(tmp_path / "runs")
    for r in group["runs"]:
        assert set(store.get(r["run_id"]).tags) == {f"experiment:{group['experiment']}",
                                                    f"seed:{r['seed']}"}
    out, _ = run_cli(["train", "template:beginner", "--folds", "3", *common], capsys)
    assert "3 runs" in out and "val_acc: " in out and "(95% CI " in out
    fold_runs = [r for r in store.list_runs() if any(t.startswith("fold:") for t in r.tags)]
    assert sorted(tuple(r.config["fold"]) for r in fold_runs) == [(0, 3), (1, 3), (2, 3)]
    run_cli(["train", "template:beginner", "--folds", "1", *common], capsys, code=2)


def test_dead_workers_trials_are_failed_and_requeued_once(tmp_path):
    """No training: a trial taken by a process that is gone (same host: its pid), or by a
    worker on another host that stopped beating, goes back to the queue, exactly once."""
    from cnn_tui.experiments.optuna_backend import Backend, stale_after
    from cnn_tui.experiments.storage import parse_storage
    from cnn_tui.experiments.sweepfile import parse_sweep
    from cnn_tui.experiments.trial import search_dimensions
    from cnn_tui.experiments.worker import Identity

    sweep = parse_sweep({
        "format": "cnn-tui/sweep", "version": 1, "name": "reap", "base": "template:beginner",
        "sampler": "random", "pruner": "none", "trials": 3,
        "space": {"training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2}}}, "s")
    backend = Backend(parse_storage(None, tmp_path), heartbeat=1)
    study, created = backend.create(sweep)
    assert created
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = Identity(Identity.here().host, int(gone.stdout), None, 30.0)
    far = Identity("another-box", 4242, None, 1.0)
    me = Identity.here(heartbeat=1)

    def take(identity):
        handle = study.ask(identity)
        params = {k: handle.suggest(d) for k, d in search_dimensions(sweep).items()}
        return handle, params

    h_dead, p_dead = take(dead)
    h_far, p_far = take(far)
    silent = stale_after(1.0) + 2  # beyond the 1 s heartbeat's limit (12 s)
    h_far.set_attr("heartbeat", h_far.trial.user_attrs["heartbeat"] - silent)
    assert study.counts().running == 2
    notes = sorted(study.reap(me))
    assert len(notes) == 2
    assert f"trial {h_dead.number}: its worker {dead.key} is gone: failed and re-queued" in notes
    assert any(n.startswith(f"trial {h_far.number}: its worker another-box:4242 has been silent "
                            "for ") and n.endswith(" s: failed and re-queued") for n in notes)
    assert study.reap(me) == []  # once
    views = {v.number: v for v in study.trials()}
    waiting = [v for v in views.values() if v.state == "waiting"]
    assert {v.retry_of for v in waiting} == {h_dead.number, h_far.number}
    assert sorted(v.params["training.learning_rate"] for v in waiting) == \
        sorted([p_dead["training.learning_rate"], p_far["training.learning_rate"]])
    assert not views[h_dead.number].counted and views[h_dead.number].requeued_as is not None
    counts = study.counts()
    assert (counts.done, counts.running, counts.waiting) == (0, 0, 2)
    # the re-queued trials come back with their parameters; the third is sampled; a fourth
    # asked is surplus (two workers asking at once) and never counted
    got = [take(me) for _ in range(3)]
    assert sorted(p["training.learning_rate"] for _, p in got[:2]) == \
        sorted([p_dead["training.learning_rate"], p_far["training.learning_rate"]])
    assert study.ask(me) is None
    assert study.counts().running == 3 and len([v for v in study.trials() if v.counted]) == 3


def test_invalid_architectures_are_not_trained_and_a_stopped_worker_requeues(tmp_path, capsys,
                                                                           mnist_root):
    runs = tmp_path / "runs"
    # conv 11 -> 18 -> pool 9 -> conv 9, 10 or 11: no room left: those break a rule
    path = write(tmp_path, {
        "format": "cnn-tui/sweep", "version": 1, "name": "shapes", "base": "template:beginner",
        "sampler": "grid", "pruner": "none",
        "space": {"layers[0].kernel_size": {"type": "categorical", "choices": [11]},
                  "layers[3].kernel_size": {"type": "categorical", "choices": [3, 9, 10, 11]}},
        "data": {"limit_train": 500, "limit_test": 100}, "training": {**TRAIN, "epochs": 1}})
    result, err = sweep_json(["sweep", "run", path, "--runs-dir", str(runs),
                              "--data-dir", str(mnist_root)], capsys)
    assert "warning: " in err and " of 64 sampled architectures break a rule" in err
    by = {t["params"]["layers[3].kernel_size"]: t for t in result["trials"]}
    assert by[3]["state"] == "complete"
    for k in (9, 10, 11):
        assert by[k]["state"] == "invalid" and by[k]["runs"] == []
        assert by[k]["message"].startswith("cannot train 'Beginner': ")
    assert len(RunStore(runs).list_runs()) == 1  # the invalid one was never a run

    # a worker asked to stop (Ctrl-C, SIGTERM) mid-run: the run stops, its trial is re-queued
    from cnn_tui.experiments.optuna_backend import Backend
    from cnn_tui.experiments.storage import parse_storage
    from cnn_tui.experiments.sweepfile import parse_sweep
    from cnn_tui.experiments.worker import Identity, work
    from cnn_tui.settings import Settings
    from cnn_tui.train.callbacks import Callback
    from cnn_tui.train.control import Control

    class StopAtFirstEpoch(Callback):
        def on_epoch_end(self, trainer, event):
            control.stop()

    sweep = parse_sweep({**json.loads((tmp_path / "s.json").read_text()), "name": "stop-me",
                         "sampler": "random", "trials": 2, "space": {
                             "training.learning_rate": {"type": "float", "low": 1e-3,
                                                        "high": 1e-2}},
                         "training": {**TRAIN, "epochs": 2}}, "s")
    study, _ = Backend(parse_storage(None, runs)).create(sweep)
    control = Control()
    summary = work(study, Settings.from_env(data_dir=mnist_root, runs_dir=runs), Identity.here(),
                   control=control, callbacks=[StopAtFirstEpoch()])
    assert summary.reason == "interrupted"
    views = study.trials()
    first = next(v for v in views if v.number == 0)
    retry = next(v for v in views if v.retry_of == 0)
    assert first.state == "failed" and not first.counted and retry.state == "waiting"
    assert retry.params == first.params
    assert RunStore(runs).get(first.runs[0]["run_id"]).status == "stopped"
