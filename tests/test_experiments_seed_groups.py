"""Seed groups for Compare (`cnn_tui.experiments.seed_groups`) on real runs: two seed groups and
two fold groups trained with `cnn-tui train --seeds / --folds` (Beginner, 300 images, 2 epochs),
read back from the run store; every figure checked against numpy and scipy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cnn_tui import cli
from cnn_tui.experiments.seed_groups import (compare_groups, group_curve, group_key, run_value,
                                             seed_groups)
from cnn_tui.runs.store import RunStore

scipy_stats = pytest.importorskip("scipy.stats", reason="scipy is in the test extra")

TINY = ["--epochs", "2", "--limit-train", "300", "--limit-test", "100", "--val-size", "100"]


@pytest.fixture(scope="module")
def groups(tmp_path_factory):
    """{name: experiment id}: adam and sgd, 3 seeds each; adam and sgd, 3 folds each."""
    import os

    from conftest import require_mnist

    root = require_mnist()
    runs = tmp_path_factory.mktemp("runs")
    old = os.environ.get("CNN_TUI_THREADS")
    os.environ["CNN_TUI_THREADS"] = "1"
    out = {}
    try:
        for name, extra in (("adam-seeds", ["--seeds", "3"]),
                            ("sgd-seeds", ["--seeds", "3", "--optimizer", "sgd", "--lr", "0.05"]),
                            ("adam-folds", ["--folds", "3"]),
                            ("sgd-folds", ["--folds", "3", "--optimizer", "sgd", "--lr", "0.05"])):
            argv = ["train", "template:beginner", *TINY, *extra, "--data-dir", str(root),
                    "--runs-dir", str(runs), "--json"]
            import contextlib
            import io
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
                assert cli.main(argv) == 0
            out[name] = json.loads(buffer.getvalue())["experiment"]
    finally:
        if old is None:
            os.environ.pop("CNN_TUI_THREADS", None)
        else:
            os.environ["CNN_TUI_THREADS"] = old
    return runs, out


def _runs(store, experiment):
    return [store.get(r.id) for r in store.list_runs()
            if f"experiment:{experiment}" in (r.tags or [])]


def test_groups_are_found_by_their_tags(groups):
    runs, ids = groups
    store = RunStore(runs)
    found = seed_groups([store.get(r.id) for r in store.list_runs()])
    assert set(found) == {f"experiment:{e}" for e in ids.values()}
    assert all(len(v) == 3 for v in found.values())
    record = found[f"experiment:{ids['adam-seeds']}"][0]
    assert group_key(record) == f"experiment:{ids['adam-seeds']}"


def test_a_groups_curve_is_the_mean_and_sd_per_epoch(groups):
    runs, ids = groups
    members = _runs(RunStore(runs), ids["adam-seeds"])
    curve = group_curve(members, "val_acc")
    assert curve.epochs == [1.0, 2.0] and curve.n == [3, 3]
    for i, epoch in enumerate(curve.epochs):
        values = [row["val_acc"] for r in members for row in r.epochs if row["epoch"] == epoch]
        assert math.isclose(curve.mean[i], float(np.mean(values)), rel_tol=1e-12)
        assert math.isclose(curve.sd[i], float(np.std(values, ddof=1)), rel_tol=1e-9)
    low, high = curve.band()
    assert low[0] == pytest.approx(curve.mean[0] - curve.sd[0])
    assert high[1] == pytest.approx(curve.mean[1] + curve.sd[1])
    one = group_curve(members[:1], "val_acc")
    assert one.sd == [None, None] and one.band()[0] == one.mean


def test_two_seed_groups_by_welchs_test_as_scipy(groups):
    runs, ids = groups
    store = RunStore(runs)
    a, b = _runs(store, ids["adam-seeds"]), _runs(store, ids["sgd-seeds"])
    result = compare_groups(a, b, "test_acc")
    assert result.test == "welch" and result.skipped == 0
    xa = [r.test_acc for r in a]
    xb = [r.test_acc for r in b]
    expected = scipy_stats.ttest_ind(xb, xa, equal_var=False)
    assert math.isclose(result.effect.diff, np.mean(xb) - np.mean(xa), rel_tol=1e-9,
                        abs_tol=1e-12)
    assert math.isclose(result.effect.p, expected.pvalue, rel_tol=1e-6)
    assert math.isclose(result.a.mean, np.mean(xa), rel_tol=1e-12)
    half = scipy_stats.t.ppf(0.975, 2) * np.std(xa, ddof=1) / math.sqrt(3)
    assert math.isclose(result.a.high - result.a.mean, half, rel_tol=1e-6)
    best = compare_groups(a, b, "best_val_acc")
    assert best.b.mean == pytest.approx(np.mean([run_value(r, "best_val_acc") for r in b]))
    last = compare_groups(a, b, "val_loss")  # a per-epoch metric: its last epoch
    assert last.a.mean == pytest.approx(np.mean([r.epochs[-1]["val_loss"] for r in a]))
    assert set(result.to_dict()) == {"metric", "test", "skipped", "a", "b", "effect"}


def test_two_fold_groups_by_the_corrected_paired_test(groups):
    runs, ids = groups
    store = RunStore(runs)
    a, b = _runs(store, ids["adam-folds"]), _runs(store, ids["sgd-folds"])
    result = compare_groups(a, b, "test_acc")
    assert result.test == "corrected-paired"
    by_fold = {tuple(r.config["fold"]): r.test_acc for r in a}
    d = np.array([r.test_acc - by_fold[tuple(r.config["fold"])] for r in b])
    k = 3
    var = (1 / len(d) + 1 / (k - 1)) * d.var(ddof=1)
    t = d.mean() / math.sqrt(var) if var > 0 else math.inf
    p = 2 * scipy_stats.t.sf(abs(t), len(d) - 1)
    assert math.isclose(result.effect.diff, d.mean(), rel_tol=1e-9, abs_tol=1e-12)
    if var > 0:
        assert math.isclose(result.effect.p, p, rel_tol=1e-6)
    # a seed group against a fold group: not paired, Welch's
    assert compare_groups(a, _runs(store, ids["sgd-seeds"])).test == "welch"


def test_runs_compare_on_the_command_line(groups, capsys):
    runs, ids = groups
    store = RunStore(runs)
    a, b = _runs(store, ids["adam-seeds"]), _runs(store, ids["sgd-seeds"])
    argv = ["runs", "compare", "--tag", f"experiment:{ids['adam-seeds']}",
            "--tag", f"experiment:{ids['sgd-seeds']}", "--runs-dir", str(runs)]
    assert cli.main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [g["group"] for g in out["groups"]] == ["A", "B"]
    assert [len(g["runs"]) for g in out["groups"]] == [3, 3]
    expected = compare_groups(a, b, "test_acc").to_dict()
    assert out["tests"] == [{"a": "A", "b": "B", **expected}]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    effect = expected["effect"]
    assert f"B − A, test accuracy: {100 * effect['diff']:+.2f} pp" in text
    assert f"p = {effect['p']:.3g} (Welch's t-test, 3 vs 3 runs)" in text
    # the same by run ids (prefixes), and what is refused
    assert cli.main(["runs", "compare", a[0].id, b[0].id, "--runs-dir", str(runs)]) == 0
    assert "no seed groups among these runs" in capsys.readouterr().out
    assert cli.main(["runs", "compare", a[0].id, "--runs-dir", str(runs)]) == 2
    assert capsys.readouterr().err.strip() == \
        "cnn-tui: error: runs compare: give two runs or more (ids, or --tag TAG)"
    assert cli.main(["runs", "compare", "--tag", "experiment:nope", "--runs-dir", str(runs)]) == 2
    assert "no run has the tag 'experiment:nope'" in capsys.readouterr().err


async def test_compare_in_the_app_shows_seed_groups(groups, monkeypatch, mnist_root):
    """Runs: filter by the experiments' tag, M marks every run shown, c compares: two groups
    drawn as mean ± sd and tested (the line under the title); g shows every run again."""
    from cnn_tui.experiments.seed_groups import describe_comparison
    from cnn_tui.tui.app import CnnTuiApp
    from cnn_tui.tui.runs.compare import CompareChart

    runs, ids = groups
    store = RunStore(runs)
    monkeypatch.setenv("CNN_TUI_RUNS_DIR", str(runs))
    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(mnist_root))
    a, b = _runs(store, ids["adam-seeds"]), _runs(store, ids["sgd-seeds"])
    app = CnnTuiApp(offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        screen = app.screen
        await pilot.press("slash", *"seed", "enter")  # the seed runs' names end in "seed N"
        assert len(screen.table.shown) == 6
        await pilot.press("M")
        assert sorted(screen.table.marked) == sorted(r.id for r in a + b)
        await pilot.press("c")
        await pilot.pause()
        compare = app.screen
        assert type(compare).__name__ == "CompareScreen"
        assert len(compare.groups) == 2
        text = compare.query_one("#compare-groups").render().plain
        first, second = compare.groups.values()
        result = compare_groups(first, second, "test_acc")
        assert describe_comparison(result, "A", "B") in text.replace("\n", " ") or \
            describe_comparison(result, "A", "B") in text
        assert text.startswith("A ") and "\nB " in text and "test " in text and "% (n 3)" in text
        chart = compare.query_one(CompareChart)
        assert chart.grouped
        await pilot.press("g")
        assert not chart.grouped
        await pilot.press("g")
        assert chart.grouped
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("M")  # all shown are marked: M unmarks them
        assert screen.table.marked == []
