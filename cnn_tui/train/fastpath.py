"""The training forward pass: the model's own modules, run in a faster but equivalent order.

`training_forward(model, device_kind)` returns a callable the loop uses in place of
`model(x)` while training. It calls the very same modules (same parameters, same state_dict),
so the model stays a plain `CnnModel` for evaluation, probes, hooks and export; only the
training step is rearranged, in ways that give the same outputs and gradients:

- A monotone activation (relu, leaky_relu with a slope >= 0, sigmoid, tanh; fused into a conv
  or a layer of its own) followed by a max-pool: pooling first and activating after is the
  same function (max(f(a), f(b)) = f(max(a, b)) for non-decreasing f), with a quarter of the
  activation work for a 2x2 pool.
- A ReLU right after a conv, dense, batch norm or pool (whose backward reads their input, not
  their output) runs in place: one tensor less to allocate and write.
- Flatten of a channels_last tensor: the gradient flowing back is turned channels_last again
  at once. Without this it arrives NCHW-contiguous and the pool's backward copies its whole
  input twice to match (measured on the pytorch/examples Net, 2-core CPU, batch 64: about
  9 of 80 ms per step).
- On the CPU, dropout draws its mask 16 bits at a time from 64-bit draws of the same
  generator (torch.manual_seed governs it): `bernoulli_` draws one random number per element
  and was 12% of the same step. The keep probability is rounded to 1/65536.

Nothing here changes what is learned: tests compare outputs and gradients with `model(x)`.
"""

from __future__ import annotations

import torch
from torch import nn

MONOTONE = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh)


def dropout_mask(x, p: float):
    """A bool tensor shaped (and laid out) like `x`: True with probability 1 - p."""
    n = x.numel()
    draws = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device)
    draws.random_(-(2 ** 63), None)  # the whole 64-bit range: every 16-bit slice uniform
    threshold = int(round(p * 65536)) - 32768
    keep = draws.view(torch.int16)[:n] >= threshold
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
            and not x.is_contiguous():
        b, c, h, w = x.shape
        return keep.view(b, h, w, c).permute(0, 3, 1, 2)
    return keep.view(x.shape)


def fast_dropout(x, p: float):
    if p <= 0.0:
        return x
    if p >= 1.0:
        return torch.zeros_like(x)
    return torch.where(dropout_mask(x, p), x, 0.0).mul_(1.0 / (1.0 - p))


def _channels_last_grad(grad):
    return grad.contiguous(memory_format=torch.channels_last)


def flatten_keeping_layout(x):
    if x.requires_grad and x.dim() == 4 and not x.is_contiguous() \
            and x.is_contiguous(memory_format=torch.channels_last):
        x.register_hook(_channels_last_grad)
    return torch.flatten(x, 1)


def _monotone(m) -> bool:
    if isinstance(m, nn.LeakyReLU):
        return m.negative_slope >= 0
    return isinstance(m, MONOTONE)


def _relu_in_place(x):
    return torch.relu_(x)


# modules whose backward reads their input, never their output, so a ReLU right after may
# overwrite it
_OUTPUT_FREE = (nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, nn.MaxPool2d,
                nn.AvgPool2d)


def _is_pool(m) -> bool:
    return getattr(m, "layer_type", None) == "maxpool2d"


def _plan(modules, device_kind: str) -> list:
    """The training steps for a top-level module list: callables, tensor in, tensor out."""
    # 1. split fused conv activations off, so a pool can move in front of them
    flat: list = []
    for i, m in enumerate(modules):
        t = getattr(m, "layer_type", None)
        nxt = modules[i + 1] if i + 1 < len(modules) else None
        if (t == "conv2d" and isinstance(m, nn.Sequential) and "act" in m._modules
                and _monotone(m.act) and _is_pool(nxt)):
            flat.extend(sub for name, sub in m.named_children() if name != "act")  # pad, conv
            flat.append(m.act)
        else:
            flat.append(m)
    # 2. a monotone activation followed by a max-pool: pool first
    i = 0
    while i < len(flat) - 1:
        if isinstance(flat[i], nn.Module) and _monotone(flat[i]) and _is_pool(flat[i + 1]):
            flat[i], flat[i + 1] = flat[i + 1], flat[i]
            i += 2
        else:
            i += 1
    # 3. per-step replacements
    steps: list = []
    for m in flat:
        t = getattr(m, "layer_type", None)
        prev = steps[-1] if steps else None
        if t == "flatten":
            steps.append(flatten_keeping_layout)
        elif t == "dropout" and device_kind == "cpu" and isinstance(m, nn.Dropout):
            p = float(m.p)
            steps.append(lambda x, p=p: fast_dropout(x, p))
        elif type(m) is nn.ReLU and prev is not None and _output_free(prev):
            steps.append(_relu_in_place)
        else:
            steps.append(m)
    return steps


def _output_free(module) -> bool:
    """True when `module`'s backward never reads its output (so it may be overwritten)."""
    if isinstance(module, nn.Sequential):
        last = list(module.children())[-1] if len(module) else None
        return last is not None and isinstance(last, _OUTPUT_FREE)
    return isinstance(module, _OUTPUT_FREE)


def training_forward(model, device_kind: str):
    """A callable equal to `model` in training mode (see the module doc); in eval mode it
    simply calls `model`."""
    steps = _plan(model.layers, device_kind)

    def forward(x):
        if not model.training:
            return model(x)
        for step in steps:
            x = step(x)
        return x

    forward.steps = steps
    return forward


__all__ = ["training_forward", "dropout_mask", "fast_dropout"]
