"""torch agrees with spec.analysis: shapes of every row, parameters, trainable count, buffers.

Hypothesis builds small valid architectures (channels <= 32, dense <= 128, odd inputs too) by
growing a layer list and keeping a layer only when the model so far has no new error; each is
built with torch, a zero batch runs through it layer by layer, and every number is compared
exactly. The padding semantics (TF `same`, -inf for max-pool, real cells only for avg-pool) are
checked numerically on hand-made inputs.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnn_tui.spec.analysis import InvalidArchitecture, analyze
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.train.build import build_model

L = Layer.make


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one intra-op thread is fastest and kind to a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


ACTS = (None, "relu", "leaky_relu", "gelu", "sigmoid", "tanh")

conv_s = st.builds(
    lambda f, k, s, p, a, lr: L("conv2d", filters=f, kernel_size=k, stride=s, padding=p,
                                activation=a, lr_mult=lr),
    st.integers(1, 32), st.integers(1, 5), st.integers(1, 3), st.sampled_from(["valid", "same"]),
    st.sampled_from(ACTS), st.sampled_from([None, None, None, 0.0, 0.5]))
pool_s = st.builds(
    lambda t, k, s, p: L(t, pool_size=k, stride=s, padding=p),
    st.sampled_from(["maxpool2d", "avgpool2d"]), st.integers(1, 4),
    st.sampled_from([None, 1, 2, 3]), st.sampled_from(["valid", "same"]))
simple_s = st.sampled_from(["batchnorm", "relu", "gelu", "tanh", "sigmoid", "dropout",
                            "leaky_relu"]).map(lambda t: L(t))
map_layer_s = st.one_of(conv_s, conv_s, pool_s, simple_s)
residual_s = st.builds(lambda inner, lr: L("residual", layers=inner, lr_mult=lr),
                       st.lists(map_layer_s, max_size=4), st.sampled_from([None, 0.0]))
dense_s = st.builds(lambda u, a: L("dense", units=u, activation=a),
                    st.integers(1, 128), st.sampled_from(ACTS))
vector_layer_s = st.one_of(dense_s, dense_s, st.sampled_from(
    ["batchnorm", "dropout", "relu", "tanh"]).map(lambda t: L(t)))


def _errors(layers, input_, classes) -> int:
    a = analyze(Architecture(layers, input=input_, classes=classes))
    return sum(1 for i in a.errors() if i.rule not in ("wrong-class-count",))


def _keep_valid(candidates, start, input_, classes):
    """Append candidates one by one, keeping each only if it adds no error."""
    layers = list(start)
    for layer in candidates:
        if layer.type == "residual":  # grow the block's inner list the same way
            inner, layer.layers = layer.layers, []
            for item in inner:
                block = Layer("residual", layer.params, layer.layers + [item])
                if _errors(layers + [block], input_, classes) == 0:
                    layer.layers = block.layers
        trial = layers + [layer]
        if _errors(trial, input_, classes) == 0:
            layers = trial
    return layers


@st.composite
def valid_architectures(draw):
    input_ = (draw(st.integers(1, 3)), draw(st.integers(4, 28)), draw(st.integers(4, 28)))
    classes = draw(st.integers(2, 12))
    body = draw(st.lists(st.one_of(map_layer_s, map_layer_s, residual_s), max_size=8))
    layers = _keep_valid(body, [], input_, classes)
    layers.append(L(draw(st.sampled_from(["flatten", "global_avgpool"]))))
    layers = _keep_valid(draw(st.lists(vector_layer_s, max_size=3)), layers, input_, classes)
    final_act = draw(st.sampled_from([None, "softmax"]))
    layers.append(L("dense", units=classes, activation=final_act))
    if final_act is None and draw(st.booleans()):
        layers.append(L("softmax"))
    arch = Architecture(layers, input=input_, classes=classes)
    assert analyze(arch).valid, [i.message for i in analyze(arch).errors()]
    return arch


def _run_rows(modules, rows, x, out_shapes):
    """Run modules in order, recording every row's output shape (recursing into blocks)."""
    for module in modules:
        info = next(rows)
        if info.layer.type == "residual":
            y = x
            for inner in module.layers:
                y = _run_rows([inner], rows, y, out_shapes)
            x = y + (x if module.projection is None else module.projection(x))
        else:
            x = module(x)
        out_shapes[info.row] = tuple(x.shape[1:])
    return x


def check_agreement(arch: Architecture) -> None:
    a = analyze(arch)
    model = build_model(arch).eval()
    assert len(model.layers) == len(arch.layers)
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    buffers = sum(b.numel() for name, b in model.named_buffers()
                  if not name.endswith("num_batches_tracked"))
    assert (params, trainable, buffers) == (a.total_params, a.trainable_params, a.total_buffers)
    x = torch.zeros(2, *arch.input)
    with torch.no_grad():
        logits = model(x)
        shapes: dict[int, tuple] = {}
        again = _run_rows(list(model.layers), iter(a.rows), x, shapes)
    assert tuple(logits.shape) == (2, *a.output_shape) == (2, arch.classes)
    assert torch.equal(logits, again)
    for info in a.rows:
        if info.layer.type == "softmax" and info.row == a.rows[-1].row:
            continue
        assert shapes[info.row] == info.out_shape, (info.path, info.formula)
    for info, module in zip(a.top_rows(), model.layers):
        own = sum(p.numel() for p in module.parameters())
        inner = sum(r.params for r in a.rows if r.row == info.row or _inside(a, r, info.row))
        assert own == inner, info.path


def _inside(a, r, block_row) -> bool:
    while r.parent is not None:
        if r.parent == block_row:
            return True
        r = a.rows[r.parent]
    return False


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_architectures())
def test_torch_agrees_with_analysis(arch):
    check_agreement(arch)


def test_every_template_agrees():
    from cnn_tui.spec.templates import TEMPLATES

    assert {"beginner", "intermediate", "advanced", "lenet5", "residual"} <= set(TEMPLATES)
    for factory in TEMPLATES.values():
        check_agreement(factory())


def _pool(kind, k, s, padding, x):
    arch = Architecture([L(kind, pool_size=k, stride=s, padding=padding), L("flatten"),
                         L("dense", units=2)], input=tuple(x.shape), classes=2)
    model = build_model(arch).eval()
    with torch.no_grad():
        return model.layers[0](x.unsqueeze(0))[0]


def test_same_avgpool_averages_real_cells_only():
    x = torch.arange(1.0, 10.0).reshape(1, 3, 3)
    # pool 2, stride 2, same on 3: out 2, pad 1 cell at the bottom/right only
    out = _pool("avgpool2d", 2, 2, "same", x)
    expected = torch.tensor([[[(1 + 2 + 4 + 5) / 4, (3 + 6) / 2], [(7 + 8) / 2, 9.0]]])
    assert torch.allclose(out, expected)
    # symmetric padding (pool 3, stride 1 on 3): corners average 4 real cells
    out = _pool("avgpool2d", 3, 1, "same", x)
    assert out.shape == (1, 3, 3)
    assert torch.isclose(out[0, 0, 0], torch.tensor((1 + 2 + 4 + 5) / 4))
    assert torch.isclose(out[0, 1, 1], torch.tensor(5.0))


def test_same_maxpool_pads_with_minus_infinity():
    x = -torch.arange(1.0, 10.0).reshape(1, 3, 3)  # all negative: zero padding would win
    out = _pool("maxpool2d", 2, 2, "same", x)
    assert torch.equal(out, torch.tensor([[[-1.0, -3.0], [-7.0, -9.0]]]))
    out = _pool("maxpool2d", 3, 1, "same", x)
    assert out[0, 2, 2].item() == -5.0


def test_same_conv_pads_bottom_right_like_tensorflow():
    # kernel 2 stride 1 same on 3x3: pad 1 cell, after (bottom/right); a ones kernel sums windows
    arch = Architecture([L("conv2d", filters=1, kernel_size=2, padding="same"), L("flatten"),
                         L("dense", units=2)], input=(1, 3, 3), classes=2)
    model = build_model(arch).eval()
    conv = model.layers[0].conv
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
        out = model.layers[0](torch.arange(1.0, 10.0).reshape(1, 1, 3, 3))[0, 0]
    assert out.tolist() == [[12.0, 16.0, 9.0], [24.0, 28.0, 15.0], [15.0, 17.0, 9.0]]


def test_final_softmax_is_dropped_and_predict_proba_gives_probabilities():
    layers = [L("conv2d", filters=4, kernel_size=3, activation="relu"), L("flatten"),
              L("dense", units=10), L("softmax")]
    model = build_model(Architecture(layers)).eval()
    assert model.ends_in_softmax and isinstance(model.layers[3], torch.nn.Identity)
    torch.manual_seed(0)
    x = torch.randn(3, 1, 28, 28)
    logits = model(x)
    assert not torch.allclose(logits.sum(1), torch.ones(3))  # logits, not probabilities
    probs = model.predict_proba(x)
    assert torch.allclose(probs.sum(1), torch.ones(3)) and torch.allclose(
        probs, torch.softmax(logits, 1))
    fused = [L("conv2d", filters=4, kernel_size=3, activation="relu"), L("flatten"),
             L("dense", units=10, activation="softmax")]
    model = build_model(Architecture(fused)).eval()
    assert model.ends_in_softmax and not hasattr(model.layers[2], "act")
    plain = build_model(Architecture(fused[:2] + [L("dense", units=10)]))
    assert not plain.ends_in_softmax


def test_modules_are_labelled_and_indexed_like_the_architecture():
    from cnn_tui.spec.templates import get_template

    arch = get_template("residual")
    model = build_model(arch)
    assert [m.layer_type for m in model.layers] == [l.type for l in arch.layers]
    block = next(m for m in model.layers if m.layer_type == "residual")
    assert len(block.layers) == len(next(l for l in arch.layers if l.type == "residual").layers)


def test_invalid_architecture_is_refused_with_the_first_error():
    arch = Architecture([L("conv2d", filters=4), L("dense", units=10)])
    with pytest.raises(InvalidArchitecture, match=r"layer 2 \(dense\).*add flatten"):
        build_model(arch)


def test_lr_mult_zero_freezes_parameters():
    arch = Architecture([L("conv2d", filters=4, kernel_size=3, activation="relu", lr_mult=0.0),
                         L("flatten"), L("dense", units=10)])
    model = build_model(arch)
    assert not any(p.requires_grad for p in model.layers[0].parameters())
    assert all(p.requires_grad for p in model.layers[2].parameters())
