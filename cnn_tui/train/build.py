"""Architecture -> torch.nn.Module, matching `spec.analysis` exactly (shapes, parameter counts).

The built `CnnModel`:
- `model.layers` is an `nn.ModuleList`; `model.layers[i]` is top-level layer `arch.layers[i]`, so
  a forward hook (or running `layers[:i+1]` in order) gives "the output of layer i". A residual
  block's module has its own `.layers` (its inner layers) and `.projection` (the 1x1 conv
  shortcut, or None). Every module built for a layer carries `layer_type` ("conv2d", ...).
- `forward(x)` takes a float [B, C, H, W] tensor (normalised) and returns LOGITS, in training and
  in eval mode alike: a final `softmax` layer becomes `nn.Identity` (and a final dense's fused
  softmax is left out), so `CrossEntropyLoss` never sees a double softmax. `model.predict_proba(x)`
  returns the probabilities (softmax of the logits); `model.ends_in_softmax` says whether the
  architecture ended in softmax. A model that does not end in softmax gives the same logits.
- Padding is Keras/TF's `same` (ceil(in/stride), the odd pad cell bottom/right). When the padding
  is symmetric the conv/pool's own `padding=` is used (fastest); otherwise an explicit pad module
  comes first: zeros for conv, -inf for max-pool, and for avg-pool the average is taken over the
  real cells only (sum-pool of the zero-padded input divided by the count of real cells).
- Fused activations (`activation` on conv2d / dense) run right after the layer; a fused
  leaky_relu uses torch's default slope 0.01.
- A layer whose effective `lr_mult` is 0 gets `requires_grad=False` (as `analysis` counts it).

This module imports torch at top level: import it inside the functions that build models.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from cnn_tui.spec.analysis import LayerInfo, analyze, param, same_padding
from cnn_tui.spec.model import Architecture


class AvgPoolSame(nn.Module):
    """Average over the real cells of each window (asymmetric `same` padding)."""

    def __init__(self, k: int, s: int, pads: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.k, self.s, self.pads = k, s, pads

    def forward(self, x):
        total = F.avg_pool2d(F.pad(x, self.pads), self.k, self.s)
        ones = torch.ones((1, 1, x.shape[2], x.shape[3]), dtype=x.dtype, device=x.device)
        share = F.avg_pool2d(F.pad(ones, self.pads), self.k, self.s)
        return total / share

    def extra_repr(self) -> str:
        return f"kernel_size={self.k}, stride={self.s}, pads={self.pads}"


class GlobalAvgPool(nn.Module):
    """[B, C, H, W] -> [B, C]: the mean of each channel."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class Residual(nn.Module):
    """Inner layers on x, plus x (or its 1x1 conv projection)."""

    def __init__(self, layers: list, projection) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.projection = projection

    def forward(self, x):
        y = x
        for module in self.layers:
            y = module(y)
        return y + (x if self.projection is None else self.projection(x))


class CnnModel(nn.Module):
    """The whole network: `layers[i]` is arch.layers[i]; forward gives logits."""

    def __init__(self, layers: list, ends_in_softmax: bool, input_shape: tuple[int, ...],
                 classes: int, name: str) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.ends_in_softmax = ends_in_softmax
        self.input_shape = tuple(input_shape)
        self.classes = classes
        self.arch_name = name

    def forward(self, x):
        for module in self.layers:
            x = module(x)
        return x

    def predict_proba(self, x):
        return torch.softmax(self.forward(x), dim=1)


def build_model(arch: Architecture):
    """A torch module for `arch`; raises InvalidArchitecture when analysis finds an error."""
    analysis = analyze(arch)
    analysis.raise_if_invalid()
    rows = iter(analysis.rows)
    last = len(arch.layers) - 1

    def activation(name: str):
        return {
            "relu": lambda: nn.ReLU(),
            "leaky_relu": lambda: nn.LeakyReLU(),
            "gelu": lambda: nn.GELU(),
            "sigmoid": lambda: nn.Sigmoid(),
            "tanh": lambda: nn.Tanh(),
            "softmax": lambda: nn.Softmax(dim=1),
        }[name]()

    def pads_for(info: LayerInfo, k: int, s: int):
        """(symmetric padding (ph, pw) or None, explicit pads (l, r, t, b) or None)."""
        _, h, w = info.in_shape
        _, top, bottom = same_padding(h, k, s)
        _, left, right = same_padding(w, k, s)
        if top == bottom and left == right:
            return (top, left), None
        return None, (left, right, top, bottom)

    def window(info: LayerInfo, drop_act: bool):
        layer = info.layer
        t = layer.type
        k = param(layer, "kernel_size" if t == "conv2d" else "pool_size")
        s = param(layer, "stride") or k
        sym, explicit = (0, 0), None
        if param(layer, "padding") == "same":
            sym, explicit = pads_for(info, k, s)
            sym = sym or (0, 0)
        parts: list[tuple[str, nn.Module]] = []
        if t == "conv2d":
            if explicit:
                parts.append(("pad", nn.ZeroPad2d(explicit)))
            parts.append(("conv", nn.Conv2d(info.in_shape[0], param(layer, "filters"), k, s,
                                            padding=sym)))
            act = param(layer, "activation")
            if act and not drop_act:
                parts.append(("act", activation(act)))
        elif t == "maxpool2d":
            if explicit:
                parts.append(("pad", nn.ConstantPad2d(explicit, float("-inf"))))
            parts.append(("pool", nn.MaxPool2d(k, s, padding=sym)))
        else:
            if explicit:
                parts.append(("pool", AvgPoolSame(k, s, explicit)))
            else:
                parts.append(("pool", nn.AvgPool2d(k, s, padding=sym, count_include_pad=False)))
        return nn.Sequential(OrderedDict(parts))

    def one(info: LayerInfo, final: bool):
        layer = info.layer
        t = layer.type
        if t in ("conv2d", "maxpool2d", "avgpool2d"):
            module = window(info, drop_act=final and param(layer, "activation") == "softmax")
        elif t == "dense":
            parts = [("linear", nn.Linear(info.in_shape[0], param(layer, "units")))]
            act = param(layer, "activation")
            if act and not (final and act == "softmax"):
                parts.append(("act", activation(act)))
            module = nn.Sequential(OrderedDict(parts))
        elif t == "batchnorm":
            module = (nn.BatchNorm2d if len(info.in_shape) == 3 else nn.BatchNorm1d)(
                info.in_shape[0])
        elif t == "dropout":
            module = nn.Dropout(param(layer, "rate"))
        elif t == "flatten":
            module = nn.Flatten()
        elif t == "global_avgpool":
            module = GlobalAvgPool()
        elif t == "leaky_relu":
            module = nn.LeakyReLU(param(layer, "negative_slope"))
        elif t == "softmax" and final:
            module = nn.Identity()  # the loss (or predict_proba) applies it
        elif t == "residual":
            inner = [one(next(rows), False) for _ in layer.layers or ()]
            projection = None
            if info.projection:
                projection = nn.Conv2d(info.in_shape[0], info.out_shape[0], 1,
                                       info.projection_stride)
                if info.lr_mult == 0:
                    projection.requires_grad_(False)
            module = Residual(inner, projection)
        else:
            module = activation(t)
        if t != "residual" and info.lr_mult == 0:
            module.requires_grad_(False)
        module.layer_type = t
        return module

    top = [one(next(rows), i == last) for i in range(len(arch.layers))]
    final = arch.layers[last] if arch.layers else None
    ends = final is not None and (final.type == "softmax"
                                  or (final.type in ("conv2d", "dense")
                                      and param(final, "activation") == "softmax"))
    return CnnModel(top, ends, arch.input, arch.classes, arch.name)


__all__ = ["build_model"]
