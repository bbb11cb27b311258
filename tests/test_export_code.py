"""Generated code (PyTorch, Keras), the Markdown summary and the metrics files.

The PyTorch script is checked the strict way: its `Net` must take a state_dict from
`build_model` with strict=True and give the same outputs, and the file must train on its own
(a subprocess on a real MNIST subset) to a real accuracy bar.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import subprocess
import sys

import pytest
import torch

from cnn_tui.export.keras_code import keras_script
from cnn_tui.export.markdown import architecture_markdown
from cnn_tui.export.pytorch_code import pytorch_script
from cnn_tui.spec.analysis import analyze
from cnn_tui.spec.model import Architecture
from cnn_tui.spec.templates import TEMPLATES, get_template
from cnn_tui.train.build import build_model

# Every layer type and the awkward paddings: asymmetric `same` conv / max-pool / avg-pool,
# a strided residual block with a projection, per-layer lr multipliers (one frozen layer),
# BatchNorm on a vector, fused activations including a final fused softmax.
AWKWARD = {
    "name": "Awkward | net", "layers": [
        {"type": "conv2d", "filters": 4, "kernel_size": 4, "stride": 2, "padding": "same",
         "activation": "leaky_relu"},
        {"type": "maxpool2d", "pool_size": 3, "stride": 2, "padding": "same"},
        {"type": "avgpool2d", "pool_size": 2, "stride": 1, "padding": "same"},
        {"type": "residual", "lr_mult": 0.5, "layers": [
            {"type": "conv2d", "filters": 6, "kernel_size": 3, "stride": 2, "padding": "same",
             "activation": "gelu"},
            {"type": "batchnorm", "lr_mult": 0}]},
        {"type": "sigmoid"}, {"type": "tanh"}, {"type": "leaky_relu", "negative_slope": 0.2},
        {"type": "dropout", "rate": 0.1},
        {"type": "flatten"}, {"type": "batchnorm"},
        {"type": "dense", "units": 10, "activation": "softmax"}],
    "training": {"optimizer": "sgd", "learning_rate": 0.05, "nesterov": True,
                 "schedule": "step", "early_stopping": 2},
}


def _archs():
    return [*((n, get_template(n)) for n in TEMPLATES),
            ("awkward", Architecture.from_dict(AWKWARD))]


def _exec(source: str, name: str) -> dict:
    namespace = {"__name__": f"generated_{name}"}
    exec(compile(source, f"<{name}>", "exec"), namespace)  # noqa: S102 - our own output
    return namespace


@pytest.mark.parametrize("name,arch", _archs(), ids=[n for n, _ in _archs()])
def test_generated_net_is_build_model(name, arch):
    torch.manual_seed(0)
    built = build_model(arch).eval()
    ns = _exec(pytorch_script(arch, filename=f"{name}.py"), name)
    net = ns["Net"]().eval()
    net.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(3, *arch.input)
    with torch.no_grad():
        assert torch.equal(net(x), built(x))
        probs = net.predict_proba(x)
    assert torch.allclose(probs.sum(1), torch.ones(3))
    total = sum(p.numel() for p in net.parameters())
    assert total == analyze(arch).total_params
    assert list(ns["TRAINING"]) and ns["TRAINING"]["optimizer"] == arch.training_config()["optimizer"]


def test_lr_multipliers_reach_the_optimizer():
    arch = Architecture.from_dict(AWKWARD)
    ns = _exec(pytorch_script(arch), "awkward")
    assert ns["LR_MULT"] == {"layers.3": 0.5, "layers.3.projection": 0.5,
                             "layers.3.layers.0": 0.5, "layers.3.layers.1": 0.0}
    net = ns["Net"]()
    cfg = {**arch.training_config()}
    opt = ns["make_optimizer"](net, cfg)
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["nesterov"]
    rates = sorted(g["lr"] for g in opt.param_groups)
    assert rates == pytest.approx([0.025, 0.05])
    frozen = dict(net.named_parameters())["layers.3.layers.1.weight"]
    assert not frozen.requires_grad
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert trainable == analyze(arch).trainable_params
    schedule = ns["Schedule"](cfg, 4)
    assert schedule.factor(0.5) == 1.0 and schedule.factor(1.0) == pytest.approx(0.7)


@pytest.mark.slow
def test_generated_script_trains_on_real_mnist(tmp_path, mnist_root):
    """The Beginner script, run on its own: 5,000 training images, 1 epoch, 1,000 test images.

    Batch 32 at lr 0.002 (flags of the script): the template's own batch 64 / lr 0.001 sees
    too few steps in one 5k epoch to pass 90% (83-85% measured)."""
    arch = get_template("beginner")
    script = tmp_path / "beginner.py"
    script.write_text(pytorch_script(arch, filename=script.name))
    weights = tmp_path / "trained.pt"
    proc = subprocess.run(
        [sys.executable, str(script), "--data-dir", str(mnist_root), "--epochs", "1",
         "--limit-train", "5000", "--limit-test", "1000", "--val-size", "1000",
         "--batch-size", "32", "--lr", "0.002", "--save", str(weights), "--json"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["params"] == 27_562
    assert result["test_acc"] >= 0.90, proc.stderr
    # what the script trained loads into cnn-tui's own model (the other direction)
    model = build_model(arch)
    model.load_state_dict(torch.load(weights, weights_only=True), strict=True)


def test_generated_script_reports_missing_data(tmp_path):
    ns = _exec(pytorch_script(get_template("beginner")), "beginner")
    with pytest.raises(SystemExit) as exc:
        ns["main"](["--data-dir", str(tmp_path), "--epochs", "0"])
    assert "train-images-idx3-ubyte[.gz] not found" in str(exc.value)


def test_generated_script_finds_the_fetched_mnist(tmp_path, mnist_root):
    """`cnn-tui data fetch` puts MNIST in the user cache: the script finds it there with no
    flag (through XDG_CACHE_HOME, as platformdirs computes the cache, and through
    CNN_TUI_CACHE_DIR); `--data` overrides; with none of them, one line says where it looked."""
    import os
    from pathlib import Path

    arch = get_template("beginner")
    script = tmp_path / "beginner.py"
    script.write_text(pytorch_script(arch, filename=script.name))
    xdg = tmp_path / "xdg-cache"
    (xdg / "cnn-tui").mkdir(parents=True)
    (xdg / "cnn-tui" / "MNIST").symlink_to(Path(mnist_root).resolve() / "MNIST")
    work = tmp_path / "elsewhere"  # no ./data here
    work.mkdir()
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("CNN_TUI_") and k != "XDG_CACHE_HOME"}
    base.update(HOME=str(tmp_path / "home"), CNN_TUI_THREADS="1")
    args = [sys.executable, str(script), "--epochs", "1", "--limit-train", "64",
            "--limit-test", "100", "--val-size", "0", "--batch-size", "32", "--device", "cpu",
            "--json"]

    def run(extra=(), **env):
        return subprocess.run([*args, *extra], cwd=work, env={**base, **env},
                              capture_output=True, text=True, timeout=300, check=False)

    proc = run(XDG_CACHE_HOME=str(xdg))
    assert proc.returncode == 0, proc.stderr[-1500:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["params"] == 27_562 and 0.0 <= result["test_acc"] <= 1.0
    proc = run(CNN_TUI_CACHE_DIR=str(xdg / "cnn-tui"), XDG_CACHE_HOME=str(tmp_path / "none"))
    assert proc.returncode == 0, proc.stderr[-1500:]
    proc = run(XDG_CACHE_HOME=str(tmp_path / "none"))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"error: MNIST not found (looked in {tmp_path / 'none' / 'cnn-tui'}, data); get it "
        "with `cnn-tui data fetch` or give --data DIR"]
    proc = run(["--data", str(mnist_root)], XDG_CACHE_HOME=str(tmp_path / "none"))
    assert proc.returncode == 0, proc.stderr[-1500:]


@pytest.mark.parametrize("name,arch", _archs(), ids=[n for n, _ in _archs()])
def test_keras_script_parses_and_uses_the_right_api(name, arch):
    source = keras_script(arch, filename=f"{name}_keras.py")
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"build_model", "main", "read_idx"} <= defined
    residual = any(l.type == "residual" for _, l in arch.walk())
    assert ("keras.Model(inputs" in source) == residual
    assert ("keras.Sequential([" in source) == (not residual)
    assert "from_logits=False" in source  # every case here ends in softmax
    if name == "awkward":
        assert 'layers.Conv2D(6, 1, strides=2, padding="valid")' in source  # projection
        assert "layers.LeakyReLU(negative_slope=0.01)" in source  # fused: torch's slope
        assert "layers.LeakyReLU(negative_slope=0.2)" in source
        assert "SGD(learning_rate=0.05, momentum=0.9, nesterov=True)" in source


@pytest.mark.parametrize("name", ["beginner", "residual", "awkward"])
def test_keras_model_matches_parameter_count(name):
    keras = pytest.importorskip("keras")  # not a dependency; checked where it is installed
    arch = dict(_archs())[name]
    model = _exec(keras_script(arch), name)["build_model"]()
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert trainable == analyze(arch).trainable_params
    assert tuple(model.output_shape[1:]) == analyze(arch).output_shape
    assert keras.__version__


def test_keras_script_trains_where_keras_is_installed(mnist_root):
    pytest.importorskip("keras")  # not a dependency; e.g. KERAS_BACKEND=torch pip install keras
    main = _exec(keras_script(get_template("beginner")), "beginner_keras")["main"]
    accuracy = main(["--data-dir", str(mnist_root), "--epochs", "1", "--limit-train", "3000",
                     "--limit-test", "500"])
    assert accuracy >= 0.6  # one short epoch; measured 84% on 5,000 images


def test_markdown_summary():
    arch = Architecture.from_dict(AWKWARD)
    text = architecture_markdown(arch)
    analysis = analyze(arch)
    table = [l for l in text.splitlines() if l.startswith("| ") and l[2:3].isdigit()]
    assert len(table) == len(analysis.rows)
    assert table[0].startswith("| 1 | Conv2D(4, 4x4, stride 2, same, leaky_relu) | [1, 28, 28] | "
                               "[4, 14, 14] | 68 |")
    assert "+ 1x1 projection" in table[3] and "&nbsp;&nbsp;Conv2D(6" in table[4]
    assert f"**Total parameters:** {analysis.total_params:,}" in text
    assert "# Awkward \\| net" in text  # a pipe in the name does not break the table
    assert "| nesterov | true |" in text
    issues = text.split("## Issues", 1)[1]
    assert all(i.message.split(":")[0] in issues for i in analysis.issues)


def test_markdown_lists_errors_of_an_invalid_architecture():
    arch = Architecture.from_dict({"layers": [{"type": "dense", "units": 10},
                                              {"type": "conv2d", "filters": 4}]})
    text = architecture_markdown(arch)
    assert "**Valid:** no" in text
    assert "**error** `dense-before-flatten`" in text


def _store_with_runs(tmp_path):
    from cnn_tui.runs.store import RunStore

    store = RunStore(tmp_path / "runs")
    ids = []
    for n, name in enumerate(["beginner", "lenet5"]):
        arch = get_template(name)
        rid = store.create_run(arch.to_dict(), arch.training_config(), "cpu", name=f"run {n}")
        for epoch in (1, 2):
            store.log_epoch(rid, {"epoch": epoch, "train_loss": 1.0 / epoch, "train_acc": 0.5,
                                  "val_loss": float("nan") if n else 0.4, "val_acc": 0.9,
                                  "lr": 0.001, "seconds": 1.5})
        store.finish(rid, "finished", {"test_acc": 0.91 + n / 100, "test_loss": 0.3})
        ids.append(rid)
    return store, ids


def test_metrics_csv_and_json(tmp_path):
    from cnn_tui.export import metrics

    store, ids = _store_with_runs(tmp_path)
    records = store.list_runs()
    rows = list(csv.DictReader(io.StringIO(metrics.epochs_csv(records))))
    assert [(r["run_id"], r["epoch"]) for r in rows] == [(ids[0], "1"), (ids[0], "2"),
                                                        (ids[1], "1"), (ids[1], "2")]
    assert rows[0]["architecture"] == "Beginner" and float(rows[1]["train_loss"]) == 0.5
    assert rows[2]["val_loss"] == ""  # NaN is an empty cell, not "nan"
    summary = list(csv.DictReader(io.StringIO(metrics.summary_csv(records))))
    assert [s["test_acc"] for s in summary] == ["0.91", "0.92"]
    assert summary[1]["epochs_done"] == "2" and summary[0]["optimizer"] == "adam"
    doc = json.loads(metrics.runs_json(records))
    assert doc["format"] == "cnn-tui/runs" and [r["id"] for r in doc["runs"]] == ids
    assert doc["runs"][1]["epochs"][0]["val_loss"] is None
    one = json.loads(metrics.runs_json([store.get(ids[0])], single=True))
    assert one["run"]["evaluation"]["test_acc"] == 0.91
    assert metrics.epochs_csv([]).strip() == ",".join(metrics.EPOCH_COLUMNS)


# ---------------------------------------------------------------------------- fuzz

def _fuzz_archs():
    from hypothesis import strategies as st

    from cnn_tui.spec.model import Layer

    L = Layer.make
    acts = st.sampled_from([None, "relu", "leaky_relu", "gelu", "tanh"])
    conv = st.builds(lambda f, k, s, p, a, lr: L("conv2d", filters=f, kernel_size=k, stride=s,
                                                   padding=p, activation=a, lr_mult=lr),
                     st.integers(1, 12), st.integers(1, 5), st.integers(1, 3),
                     st.sampled_from(["valid", "same"]), acts, st.sampled_from([None, 0.0, 2.0]))
    pool = st.builds(lambda t, k, s, p: L(t, pool_size=k, stride=s, padding=p),
                     st.sampled_from(["maxpool2d", "avgpool2d"]), st.integers(1, 4),
                     st.sampled_from([None, 1, 2, 3]), st.sampled_from(["valid", "same"]))
    simple = st.sampled_from(["batchnorm", "relu", "dropout", "sigmoid"]).map(lambda t: L(t))
    inner = st.one_of(conv, pool, simple)
    residual = st.builds(lambda ls, lr: L("residual", layers=ls, lr_mult=lr),
                         st.lists(inner, max_size=3), st.sampled_from([None, 0.5]))

    def fits(layers, shape, classes):
        a = analyze(Architecture(layers, input=shape, classes=classes))
        return not [i for i in a.errors() if i.rule != "wrong-class-count"]

    @st.composite
    def archs(draw):
        shape = (draw(st.integers(1, 3)), draw(st.integers(5, 24)), draw(st.integers(5, 24)))
        classes = draw(st.integers(2, 12))
        layers = []
        for layer in draw(st.lists(st.one_of(inner, inner, residual), max_size=6)):
            if fits(layers + [layer], shape, classes):
                layers.append(layer)
        layers.append(L(draw(st.sampled_from(["flatten", "global_avgpool"]))))
        final = draw(st.sampled_from([None, "softmax"]))
        layers.append(L("dense", units=classes, activation=final))
        arch = Architecture(layers, input=shape, classes=classes)
        assert analyze(arch).valid
        return arch

    return archs()


def test_fuzz_generated_code_matches_build_model():
    """Random valid architectures (odd input sizes and channels, class counts, paddings,
    residual projections, frozen layers): the generated Net is build_model's twin, and the
    Keras script parses."""
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              database=None)
    @given(_fuzz_archs())
    def check(arch):
        built = build_model(arch).eval()
        net = _exec(pytorch_script(arch), "fuzz")["Net"]().eval()
        net.load_state_dict(built.state_dict(), strict=True)
        x = torch.randn(2, *arch.input)
        with torch.no_grad():
            assert torch.equal(net(x), built(x))
        ast.parse(keras_script(arch))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is fastest on a shared machine
    try:
        check()
    finally:
        torch.set_num_threads(threads)
