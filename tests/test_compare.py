"""Run comparison: the metrics table with differences, and the architecture diff (beginner vs
intermediate templates: added, removed and changed rows with shape and parameter deltas)."""

from __future__ import annotations

from cnn_tui.runs.compare import arch_diff, curves, metrics_table, run_arch_diff
from cnn_tui.runs.store import RunStore
from cnn_tui.spec.analysis import analyze
from cnn_tui.spec.templates import get_template


def test_beginner_to_intermediate_diff():
    old, new = get_template("beginner"), get_template("intermediate")
    diff = arch_diff(old, new)
    assert diff.old_params == analyze(old).total_params == 27562
    assert diff.new_params == analyze(new).total_params
    assert sum(r.param_delta for r in diff.rows) == diff.new_params - diff.old_params
    # every row of each side appears exactly once, in order
    assert [r.old.number for r in diff.rows if r.old] == list(range(1, len(old.layers) + 1))
    assert [r.new.number for r in diff.rows if r.new] == list(range(1, len(new.layers) + 1))
    first = diff.rows[0]
    assert first.op == "changed" and first.changes == ("filters 8 → 16",)
    assert first.old.shape == (8, 26, 26) and first.new.shape == (16, 26, 26)
    assert first.param_delta == 160 - 80
    added = [r for r in diff.rows if r.op == "added"]
    assert {r.new.label for r in added} >= {"BatchNorm", "Dropout 0.1", "Conv2D 16 3x3"}
    bn = next(r for r in added if r.new.label == "BatchNorm")
    assert bn.param_delta == 32 and bn.new.shape == (16, 26, 26)
    dense = next(r for r in diff.rows if r.old and r.old.label == "Dense 64")
    assert dense.op == "changed" and dense.changes == ("units 64 → 128",)
    flatten = next(r for r in diff.rows if r.old and r.old.label == "Flatten")
    assert flatten.op == "same" and flatten.shape_changed
    assert flatten.old.shape == (400,) and flatten.new.shape == (512,)
    assert diff.count("removed") == 0 and diff.count("added") == 10 and diff.count("changed") == 4
    text = "\n".join(diff.lines())
    assert "Beginner → Intermediate: 10 added, 0 removed, 4 changed" in text
    assert "~   1   1  Conv2D 16 3x3" in text and "[8, 26, 26] → [16, 26, 26]" in text


def test_removed_rows_and_identical():
    diff = arch_diff(get_template("intermediate"), get_template("beginner"))
    assert diff.count("removed") == 10 and diff.count("added") == 0
    assert all(r.param_delta <= 0 for r in diff.rows if r.op == "removed")
    assert diff.lines()[1].startswith("~")
    same = arch_diff(get_template("lenet5"), get_template("lenet5"))
    assert same.identical and "same layers" in same.headline()
    nested = arch_diff(get_template("intermediate"), get_template("residual"))
    assert any(r.new and r.new.depth == 1 for r in nested.rows if r.op == "added")


def _two_runs(tmp_path):
    store = RunStore(tmp_path)
    a = store.create_run(get_template("beginner").to_dict(),
                         {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 64,
                          "epochs": 2}, "cpu", name="base", params=27562)
    b = store.create_run(get_template("intermediate").to_dict(),
                         {"optimizer": "sgd", "learning_rate": 0.01, "batch_size": 64,
                          "epochs": 2}, "cpu", name="wide", params=83514)
    for run, accs in ((a, (0.90, 0.95)), (b, (0.93, 0.975))):
        for epoch, acc in enumerate(accs, 1):
            store.log_epoch(run, {"epoch": epoch, "train_loss": 1 - acc, "train_acc": acc - 0.01,
                                  "val_loss": 1.1 - acc, "val_acc": acc})
        store.finish(run, "finished", {"test_acc": accs[-1] - 0.005, "test_loss": 0.1})
    return store.get(a), store.get(b)


def test_metrics_table_differences(tmp_path):
    base, wide = _two_runs(tmp_path)
    rows = {r.label: r for r in metrics_table([base, wide])}
    assert rows["parameters"].cells == ["27,562", "83,514"]
    assert rows["parameters"].deltas == ["", "+55,952"]
    assert rows["best val acc"].cells == ["95.00%", "97.50%"]
    assert rows["best val acc"].deltas[1] == "+2.50 pp"
    assert rows["test acc"].deltas[1] == "+2.50 pp"
    assert rows["optimizer"].deltas == ["", "≠"] and rows["optimizer"].differs
    assert rows["batch size"].deltas == ["", ""] and not rows["batch size"].differs
    assert rows["epochs done"].cells == ["2", "2"]
    assert rows["architecture"].cells == ["Beginner", "Intermediate"]
    assert curves(wide, "val_acc") == ([1.0, 2.0], [0.93, 0.975])
    diff = run_arch_diff(base, wide)
    assert diff.new_params - diff.old_params == 55952


def test_metrics_table_has_every_setting_of_every_run(tmp_path):
    """The whole training configuration, not a fixed subset: a setting only one run recorded
    is a row too ('—' for the others), in the order the runs list them, after the results."""
    from cnn_tui.runs.compare import CONFIG, DATA, RESULTS, config_keys

    base, wide = _two_runs(tmp_path)
    store = RunStore(tmp_path)
    arch = get_template("beginner")
    third = store.create_run(arch.to_dict(), {"optimizer": "adam", "learning_rate": 0.001,
                                              "batch_size": 64, "epochs": 2, "augment": True,
                                              "early_stopping": {"patience": 3}}, "cpu")
    store.set_sizes(third, {"train": 1000, "val": 100, "test": 200})
    store.set_figures(third, peak_memory_bytes=3 * 1024 ** 2)
    store.finish(third, "finished", {"test_acc": 0.5})
    rows = metrics_table([base, wide, store.get(third)])
    assert [r.section for r in rows] == sorted((r.section for r in rows),
                                               key=[RESULTS, CONFIG, DATA].index)
    config = {r.label: r for r in rows if r.section == CONFIG}
    assert config_keys([base, wide, store.get(third)]) == [
        "optimizer", "learning_rate", "batch_size", "epochs", "augment", "early_stopping"]
    assert list(config) == ["optimizer", "learning rate", "batch size", "epochs planned",
                            "augment", "early stopping"]
    assert config["augment"].cells == ["—", "—", "true"] and config["augment"].deltas[2] == "≠"
    assert config["early stopping"].cells[2] == '{"patience": 3}'
    assert config["learning rate"].cells == ["0.001", "0.01", "0.001"]
    assert config["learning rate"].deltas == ["", "≠", ""]
    assert not config["batch size"].differs
    results = {r.label: r for r in rows if r.section == RESULTS}
    assert results["peak memory"].cells[2] == "3.0 MiB"
    data = {r.label: r for r in rows if r.section == DATA}
    assert data["train images"].cells == ["—", "—", "1,000"]
