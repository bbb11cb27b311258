"""The sweep file and the folds: checked with the field path, refused in one line with nothing
recorded; k-fold splits disjoint and stratified. No training here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cnn_tui import cli
from cnn_tui.errors import CnnTuiError, SpecError
from cnn_tui.experiments import sweepfile
from cnn_tui.experiments.storage import parse_storage

BASE = {"format": "cnn-tui/sweep", "version": 1, "name": "t", "base": "template:beginner",
        "kind": "search", "sampler": "random", "pruner": "none", "trials": 3,
        "space": {"training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2,
                                             "log": True}},
        "data": {"limit_train": 1000, "limit_test": 200}, "training": {"epochs": 2}}


def sweep_with(**changes) -> dict:
    obj = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        if value is None:
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


def refused(obj) -> str:
    with pytest.raises(SpecError) as info:
        sweepfile.parse_sweep(obj, "s.json")
    message = str(info.value)
    assert "\n" not in message and message.startswith("s.json: ")
    return message


def test_the_issue_example_reads():
    obj = {"format": "cnn-tui/sweep", "version": 1, "name": "beginner-lr",
           "base": "template:beginner", "kind": "search",
           "objective": {"metric": "val_acc", "direction": "maximize"},
           "sampler": "tpe", "pruner": "median", "trials": 20,
           "space": {
               "training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
               "training.batch_size": {"type": "categorical", "choices": [32, 64, 128]},
               "layers[0].filters": {"type": "int", "low": 4, "high": 32, "step": 4},
               "layers[9].rate": {"type": "float", "low": 0.0, "high": 0.5}},
           "data": {"limit_train": None, "limit_test": None, "folds": 1, "seeds": 1},
           "training": {"epochs": 3}}
    sweep = sweepfile.parse_sweep(obj, "s.json")
    assert sweep.trials == 20 and sweep.pruner["type"] == "median" and sweep.epochs() == 3
    assert list(sweep.space) == list(obj["space"])
    # the stored definition reads back the same (what a worker on another box gets)
    again = sweepfile.parse_sweep(json.loads(json.dumps(sweep.to_dict())), "stored")
    assert again.to_dict() == sweep.to_dict()
    arch, training = sweepfile.apply_params(sweep.base, {"layers[0].filters": 12,
                                                          "layers[9].rate": 0.1,
                                                          "training.batch_size": 32})
    assert arch["layers"][0]["filters"] == 12 and arch["layers"][9]["rate"] == 0.1
    assert sweep.base["layers"][0]["filters"] == 8  # the base is untouched
    assert training == {"batch_size": 32}


@pytest.mark.parametrize("changes,expected", [
    ({"space": {"layers[3].filterz": {"type": "int", "low": 1, "high": 4}}},
     's.json: space["layers[3].filterz"]: conv2d has no field filterz (fields: filters, '),
    ({"space": {"layers[40].filters": {"type": "int", "low": 1, "high": 4}}},
     's.json: space["layers[40].filters"]: no layer layers[40] (the base has 12 there'),
    ({"space": {"training.learning_rat": {"type": "float", "low": 0.1, "high": 1}}},
     's.json: space["training.learning_rat"]: unknown training setting (known: optimizer'),
    ({"space": {}}, "s.json: space: is empty: a search needs at least one parameter"),
    ({"space": {"training.learning_rate": {"type": "float", "low": 0.1, "high": 0.01}}},
     's.json: space["training.learning_rate"]: low > high (0.1 > 0.01)'),
    ({"sampler": "annealing"}, "s.json: sampler: unknown sampler 'annealing' (known: grid, random, "
                               "tpe, cmaes)"),
    ({"pruner": "patient"}, "s.json: pruner: unknown pruner 'patient' (known: median, hyperband"),
    ({"space": {"layers[0].filters": {"type": "int", "low": 0, "high": 8}}},
     's.json: space["layers[0].filters"].low: must be 1..1024, got 0'),
    ({"space": {"layers[0].filters": {"type": "float", "low": 1, "high": 8}}},
     's.json: space["layers[0].filters"].type: layers[0].filters is an integer field'),
    ({"space": {"training.optimizer": {"type": "float", "low": 1, "high": 8}}},
     's.json: space["training.optimizer"].type: training.optimizer takes one of adam'),
    ({"space": {"training.optimizer": {"type": "categorical", "choices": ["adam", "lion"]}}},
     's.json: space["training.optimizer"].choices[1]: must be one of adam'),
    ({"space": {"training.learning_rate": {"type": "float", "low": 0.0, "high": 1, "log": True}}},
     's.json: space["training.learning_rate"].low: must be > 0 and <= 10, got 0.0'),
    ({"objective": {"metric": "test_acc"}}, "s.json: objective.metric: must be a validation "
                                           "metric: val_acc, val_loss (never test accuracy)"),
    ({"version": 2}, "s.json: version: unsupported sweep version 2 (this cnn-tui reads version 1)"),
    ({"trials": 0}, "s.json: trials: must be 1..100000, got 0"),
    ({"name": "a b"}, "s.json: name: must be 1-100 letters"),
    ({"frobnicate": 1}, "s.json: frobnicate: unknown field"),
    ({"data": {"folds": 1, "seeds": 0}}, "s.json: data.seeds: must be 1..100, got 0"),
    ({"base": "template:nope"}, "s.json: base: template: unknown template 'nope'"),
    ({"kind": "ablation"}, "s.json: space: not used by an ablation sweep"),
])
def test_bad_sweep_files_are_refused_with_the_field_path(changes, expected):
    assert refused(sweep_with(**changes)).startswith(expected)


def test_grid_ablation_and_compare_queue_every_trial_up_front():
    grid = sweepfile.parse_sweep(sweep_with(sampler="grid", trials=None, space={
        "training.learning_rate": {"type": "categorical", "choices": [0.01, 0.001]},
        "layers[0].filters": {"type": "int", "low": 4, "high": 12, "step": 4}}), "s.json")
    assert grid.trials == 6 and grid.queued
    assert {(p["training.learning_rate"], p["layers[0].filters"]) for p in grid.queue()} == \
        {(lr, f) for lr in (0.01, 0.001) for f in (4, 8, 12)}
    assert refused(sweep_with(sampler="grid", trials=None, space={
        "training.learning_rate": {"type": "float", "low": 0.1, "high": 1}})).startswith(
        's.json: space["training.learning_rate"]: a grid needs choices, or a step')

    ablation = sweepfile.parse_sweep({
        "format": "cnn-tui/sweep", "version": 1, "name": "a", "base": "template:beginner",
        "kind": "ablation", "remove": ["layers[9]"],
        "replace": {"layers[2]": {"type": "avgpool2d", "pool_size": 2}},
        "data": {"seeds": 2, "folds": 3}}, "a.json")
    names = list(ablation.variant_archs())
    assert names == ["base", "remove layers[9] (dropout)",
                     "replace layers[2] (maxpool2d -> avgpool2d)"]
    assert ablation.trials == 3 * 2 * 3 and ablation.reference == "base"
    assert len(ablation.variant_archs()[names[1]]["layers"]) == 11
    assert ablation.variant_archs()[names[2]]["layers"][2]["type"] == "avgpool2d"
    with pytest.raises(SpecError, match=r"a.json: remove\[0\]: no layer layers\[12\]"):
        sweepfile.parse_sweep({"format": "cnn-tui/sweep", "version": 1, "name": "a",
                               "base": "template:beginner", "kind": "ablation",
                               "remove": ["layers[12]"]}, "a.json")
    with pytest.raises(SpecError, match="a.json: pruner: a ablation sweep trains every variant"):
        sweepfile.parse_sweep({"format": "cnn-tui/sweep", "version": 1, "name": "a",
                               "base": "template:beginner", "kind": "ablation", "pruner": "median",
                               "remove": ["layers[9]"]}, "a.json")

    compare = sweepfile.parse_sweep({
        "format": "cnn-tui/sweep", "version": 1, "name": "c", "kind": "compare",
        "variants": {"beginner": "template:beginner", "lenet": "template:lenet5"}}, "c.json")
    assert compare.reference == "beginner" and compare.trials == 2
    assert compare.variant_archs()["lenet"]["name"] == "LeNet-5"


def test_invalid_share_of_a_space_is_measured():
    # 28 -> conv 10 -> 19 -> pool -> 9 -> conv 10 -> 0: every sample breaks a rule
    sweep = sweepfile.parse_sweep(sweep_with(space={
        "layers[0].kernel_size": {"type": "int", "low": 10, "high": 11},
        "layers[3].kernel_size": {"type": "int", "low": 10, "high": 11}}), "s.json")
    bad, checked, first = sweepfile.check_space(sweep)
    assert bad == checked == 64 and first.startswith("cannot train 'Beginner': ")
    fine = sweepfile.parse_sweep(sweep_with(space={
        "layers[0].kernel_size": {"type": "int", "low": 3, "high": 5}}), "s.json")
    assert sweepfile.check_space(fine)[0] == 0


def test_storage_urls():
    runs = Path("/tmp/nowhere-runs")
    assert parse_storage(None, runs).target == str(runs.resolve() / "sweeps.journal")
    assert parse_storage("journal:/x/y.journal", runs).target == "/x/y.journal"
    pg = parse_storage("postgres://me:secret@db:5432/s", runs)
    assert pg.kind == "postgresql"
    assert "secret" not in pg.shown and "me:***@db" in pg.shown
    assert pg.target.startswith("postgresql+psycopg2://")  # the postgres extra's driver
    assert parse_storage("sqlite:///x.db", runs, workers=1).kind == "sqlite"
    with pytest.raises(CnnTuiError, match="not for 2 workers: SQLite locks the whole database"):
        parse_storage("sqlite:///x.db", runs, workers=2)
    with pytest.raises(CnnTuiError, match="unknown scheme 'redis'"):
        parse_storage("redis://host", runs)


def _cli(argv, capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_bad_input_on_the_command_line_is_one_line_and_records_nothing(tmp_path, capsys, mnist_root):
    runs = tmp_path / "runs"
    common = ["--runs-dir", str(runs), "--data-dir", str(mnist_root)]
    cases = [
        (sweep_with(space={"layers[3].filterz": {"type": "int", "low": 1, "high": 4}}), [],
         'space["layers[3].filterz"]: conv2d has no field filterz'),
        (sweep_with(space={}), [], "space: is empty"),
        (sweep_with(space={"training.learning_rate": {"type": "float", "low": 1, "high": 0.1}}),
         [], "low > high"),
        (sweep_with(sampler="bayes"), [], "sampler: unknown sampler 'bayes'"),
        (BASE, ["--storage", "postgresql://nobody@127.0.0.1:9/none"],
         "--storage postgresql://nobody@127.0.0.1:9/none: cannot connect"),
        (BASE, ["--storage", f"sqlite:///{tmp_path / 'x.db'}", "--workers", "2"],
         "not for 2 workers: SQLite locks the whole database"),
        (BASE, ["--gpus", "0", "--workers", "2"], "--workers and --gpus: give one"),
    ]
    for obj, extra, expected in cases:
        path = tmp_path / "s.json"
        path.write_text(json.dumps(obj))
        code, out, err = _cli(["sweep", "run", str(path), *common, *extra], capsys)
        assert code == 2, (expected, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("cnn-tui: error: ") and expected in lines[0], err
        assert "Traceback" not in err
        assert not runs.exists() or not any(runs.iterdir()), f"recorded something for {expected}"
        assert not (tmp_path / "x.db").exists()


def test_a_sweep_of_the_same_name_and_another_definition_is_refused(tmp_path, capsys, mnist_root):
    from cnn_tui.experiments.optuna_backend import Backend
    runs = tmp_path / "runs"
    Backend(parse_storage(None, runs)).create(sweepfile.parse_sweep(BASE, "s"))
    path = tmp_path / "s.json"
    path.write_text(json.dumps(sweep_with(space={
        "training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1}})))
    code, _, err = _cli(["sweep", "run", str(path), "--runs-dir", str(runs), "--data-dir",
                         str(mnist_root)], capsys)
    assert code == 2 and err.strip().splitlines() == [
        f"cnn-tui: error: sweep 't' exists in {runs / 'sweeps.journal'} with another definition "
        "(space differs): `cnn-tui sweep delete t` first, or give the sweep another name"]
    assert not (runs / "runs.db").exists()


def test_a_worker_joining_a_sweep_of_another_format_version_is_refused(tmp_path, capsys):
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    journal = tmp_path / "sweeps.journal"
    study = optuna.create_study(study_name="future", storage=JournalStorage(
        JournalFileBackend(str(journal))), direction="maximize")
    definition = sweepfile.parse_sweep(BASE, "s").to_dict()
    study.set_user_attr("cnn_tui_sweep", {**definition, "version": 2})
    before = journal.read_bytes()
    code, out, err = _cli(["sweep", "worker", "future", "--storage", f"journal:{journal}",
                           "--runs-dir", str(tmp_path / "runs")], capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        f"cnn-tui: error: sweep future in {journal}: version: written by a cnn-tui with sweep "
        "format version 2; this one reads version 1: use the same cnn-tui on every worker"]
    assert journal.read_bytes() == before and not (tmp_path / "runs").exists()
    code, _, err = _cli(["sweep", "status", "nosuch", "--storage", str(journal)], capsys)
    assert code == 2 and "no sweep 'nosuch' in" in err and "sweeps there: future" in err


# ---------------------------------------------------------------- folds

def test_folds_are_disjoint_stratified_and_leave_the_test_set_alone(mnist_root):
    from cnn_tui.data import load_arrays
    from cnn_tui.data.device import to_device
    from cnn_tui.data.folds import fold_split
    arrays = load_arrays(mnist_root)
    labels = np.asarray(arrays.train_labels)
    vals = [fold_split(labels, k, 5, seed=3)[1] for k in range(5)]
    joined = np.concatenate(vals)
    assert joined.size == 60000 and np.unique(joined).size == 60000  # disjoint, cover it all
    counts = np.stack([np.bincount(labels[v], minlength=10) for v in vals])
    assert (counts.max(0) - counts.min(0)).max() <= 1  # stratified: at most one apart
    train, val = fold_split(labels, 2, 5, seed=3)
    assert np.intersect1d(train, val).size == 0 and train.size + val.size == 60000
    assert not np.array_equal(fold_split(labels, 0, 5, seed=4)[1], vals[0])  # seeded
    # a subset: each fold trains on limit_train images, validates on the rest of the pool
    small = [fold_split(labels, k, 3, seed=0, limit_train=1000) for k in range(3)]
    pool = np.concatenate([v for _, v in small])
    assert [t.size for t, _ in small] == [1000] * 3 and pool.size == 1500
    assert all(np.isin(t, pool).all() for t, _ in small)  # the same pool for every fold
    data = to_device(arrays, "cpu", val_size=5000, seed=3, limit_test=100, fold=(1, 5))
    assert len(data.val) == 12000 and len(data.train) == 48000 and len(data.test) == 100
    assert np.array_equal(np.sort(data.val.indices.numpy()), np.sort(vals[1]))
    assert np.array_equal(data.test.indices.numpy(), np.arange(100))
    with pytest.raises(ValueError, match="fold must be 0..2, got 3"):
        fold_split(labels, 3, 3, seed=0)
