"""The training fast path computes what the model computes: outputs, gradients, dropout odds."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.templates import TEMPLATES, get_template
from cnn_tui.train.build import build_model
from cnn_tui.train.fastpath import dropout_mask, fast_dropout, training_forward

L = Layer.make

NET = [L("conv2d", filters=8, kernel_size=3, activation="relu"),
       L("conv2d", filters=16, kernel_size=3, activation="relu"),
       L("maxpool2d", pool_size=2), L("dropout", rate=0.25), L("flatten"),
       L("dense", units=32, activation="relu"), L("dropout", rate=0.5), L("dense", units=10)]

ODD = [L("conv2d", filters=6, kernel_size=3, stride=2, padding="same", activation="leaky_relu"),
       L("maxpool2d", pool_size=3, stride=2, padding="same"),  # asymmetric: a -inf pad module
       L("conv2d", filters=6, kernel_size=3, padding="same", activation="sigmoid"),
       L("maxpool2d", pool_size=2),
       L("conv2d", filters=6, kernel_size=1, activation="gelu"),  # not monotone: kept in order
       L("maxpool2d", pool_size=1),
       L("residual", layers=[L("conv2d", filters=6, kernel_size=3, padding="same",
                               activation="tanh"),
                             L("maxpool2d", pool_size=3, stride=1, padding="same")]),
       L("global_avgpool"), L("dense", units=10)]

STANDALONE = [L("conv2d", filters=4, kernel_size=3), L("batchnorm"), L("leaky_relu"),
              L("maxpool2d", pool_size=2), L("conv2d", filters=4, kernel_size=3), L("relu"),
              L("maxpool2d", pool_size=2), L("relu"), L("batchnorm"), L("tanh"),
              L("maxpool2d", pool_size=2, padding="same"), L("flatten"), L("batchnorm"),
              L("relu"), L("dense", units=10)]

CASES = {"net": NET, "odd": ODD, "standalone": STANDALONE,
         **{name: None for name in TEMPLATES}}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _arch(name):
    if CASES[name] is None:
        return get_template(name)
    return Architecture(CASES[name], name=name)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("device_kind", ["cpu", "cuda"])  # the plan each would get, run on CPU
def test_same_outputs_and_gradients(name, device_kind):
    torch.manual_seed(0)
    model = build_model(_arch(name)).to(memory_format=torch.channels_last)
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0  # the only randomness; the masks are tested below
    model.train()
    fast = training_forward(model, device_kind)
    x = torch.randn(6, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (6,))

    def grads(fn):
        model.zero_grad(set_to_none=True)
        out = fn(x)
        torch.nn.functional.cross_entropy(out, y).backward()
        return out.detach(), [p.grad.clone() for p in model.parameters()]

    out_a, grads_a = grads(model)
    out_b, grads_b = grads(fast)
    torch.testing.assert_close(out_b, out_a, rtol=1e-5, atol=1e-6)
    assert len(grads_a) == len(grads_b)
    for ga, gb in zip(grads_a, grads_b):
        torch.testing.assert_close(gb, ga, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["net", "standalone", "advanced", "residual"])
def test_under_bf16_autocast_as_on_a_gpu(name):
    """The CUDA loop runs the step under bf16 autocast: convs and denses then save bf16 copies
    of their inputs; the in-place ReLUs must not touch anything autograd saved (it would raise)
    and the result must match the model's own forward under the same autocast."""
    torch.manual_seed(0)
    model = build_model(_arch(name)).to(memory_format=torch.channels_last)
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    fast = training_forward(model, "cuda")
    x = torch.randn(4, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (4,))

    def grads(fn):
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = fn(x)
        torch.nn.functional.cross_entropy(out.float(), y).backward()
        return out.detach().float(), [p.grad.clone() for p in model.parameters()]

    out_a, grads_a = grads(model)
    out_b, grads_b = grads(fast)
    torch.testing.assert_close(out_b, out_a, rtol=2e-2, atol=2e-2)
    for ga, gb in zip(grads_a, grads_b):
        torch.testing.assert_close(gb, ga, rtol=5e-2, atol=5e-3)


def test_eval_mode_is_the_model_itself():
    model = build_model(get_template("beginner")).eval()
    fast = training_forward(model, "cpu")
    x = torch.randn(3, 1, 28, 28)
    torch.testing.assert_close(fast(x), model(x))


def test_pool_runs_before_a_monotone_activation():
    model = build_model(Architecture(NET))
    steps = training_forward(model, "cpu").steps
    kinds = [type(s).__name__ if isinstance(s, nn.Module) else s.__name__ for s in steps]
    # conv1 (its own Sequential) as it is; conv2 split so that its ReLU runs after the pool,
    # in place (the pool's backward reads its input, not its output)
    assert kinds[:4] == ["Sequential", "Conv2d", "Sequential", "_relu_in_place"]
    assert "flatten_keeping_layout" in kinds


def test_standalone_activations_and_batch_norm():
    arch = Architecture([L("conv2d", filters=4, kernel_size=3), L("batchnorm"), L("relu"),
                         L("maxpool2d", pool_size=2), L("conv2d", filters=4, kernel_size=3),
                         L("batchnorm"), L("gelu"), L("maxpool2d", pool_size=2), L("flatten"),
                         L("dense", units=10)])
    steps = training_forward(build_model(arch), "cuda").steps
    kinds = [getattr(s, "layer_type", None) or s.__name__ for s in steps]
    assert kinds[:4] == ["conv2d", "batchnorm", "maxpool2d", "_relu_in_place"]
    assert kinds[4:8] == ["conv2d", "batchnorm", "gelu", "maxpool2d"]  # gelu is not monotone


def test_cuda_keeps_torchs_own_dropout():
    model = build_model(Architecture(NET))
    steps = training_forward(model, "cuda").steps
    assert sum(isinstance(s, nn.Dropout) for s in steps) == 2
    assert sum(isinstance(s, nn.Dropout) for s in training_forward(model, "cpu").steps) == 0


def test_flatten_hands_back_a_channels_last_gradient():
    x = torch.randn(4, 8, 6, 6).contiguous(memory_format=torch.channels_last).requires_grad_()
    h = x * 2  # a non-leaf, as a pool's output is
    model = build_model(Architecture([L("flatten"), L("dense", units=10)], input=[8, 6, 6]))
    flatten = training_forward(model, "cpu").steps[0]
    out = flatten(h)
    seen = {}
    h.register_hook(lambda g: seen.setdefault("grad", g))  # runs after flatten's own hook
    out.sum().backward()
    assert seen["grad"].is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(x.grad, torch.full_like(x, 2.0))


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.8])
def test_dropout_keeps_each_element_with_probability_one_minus_p(p):
    torch.manual_seed(1)
    x = torch.ones(200, 16, 12, 12)
    keep = dropout_mask(x, p)
    assert keep.dtype == torch.bool and keep.shape == x.shape
    rate = keep.float().mean().item()
    n = x.numel()
    sd = (p * (1 - p) / n) ** 0.5
    assert abs(rate - (1 - p)) < 6 * sd
    # every 16-bit slice of a 64-bit draw is used: each of the four positions is fair too
    per_slot = keep.flatten()[: n - n % 4].view(-1, 4).float().mean(0)
    assert torch.all((per_slot - (1 - p)).abs() < 6 * sd * 2)
    out = fast_dropout(x, p)
    values = out.unique().tolist()
    assert values[0] == 0.0 and values[1:] == [pytest.approx(1 / (1 - p))]
    assert abs(out.mean().item() - 1.0) < 12 * sd / (1 - p)


def test_dropout_mask_follows_the_seed_and_the_layout():
    x = torch.randn(8, 4, 5, 5).contiguous(memory_format=torch.channels_last)
    torch.manual_seed(3)
    a = dropout_mask(x, 0.5)
    torch.manual_seed(3)
    b = dropout_mask(x, 0.5)
    assert torch.equal(a, b)
    assert a.is_contiguous(memory_format=torch.channels_last)
    assert fast_dropout(x, 0.0) is x
    assert torch.count_nonzero(fast_dropout(x, 1.0)) == 0


def test_dropout_gradient_passes_only_where_kept():
    torch.manual_seed(5)
    x = torch.randn(64, 32, requires_grad=True)
    out = fast_dropout(x, 0.5)
    out.sum().backward()
    kept = out.detach() != 0
    torch.testing.assert_close(x.grad[kept], torch.full_like(x.grad[kept], 2.0))
    assert torch.count_nonzero(x.grad[~kept]) == 0
