"""The architecture as one runnable, self-contained PyTorch script.

The model code is written from the module tree `train.build.build_model` makes (walked module by
module), not from a second reading of the spec: the generated `Net` therefore has exactly the
same modules, parameter names and count, so a state_dict exported by cnn-tui loads into it with
`strict=True` and gives the same outputs. Each top-level layer gets a comment with its shapes and
parameters from `spec.analysis`. The rest of the file (IDX reading, schedule, loop, CLI flags) is
the fixed text in `script_template.py`.
"""

from __future__ import annotations

import math
from typing import Any

from cnn_tui import __version__
from cnn_tui.errors import ExportError
from cnn_tui.export.markdown import describe_layer, shape_text
from cnn_tui.export.script_template import BODY, HEADER
from cnn_tui.spec.model import Architecture
from cnn_tui.spec.text import docstring_safe

# Helper classes the generated file defines when its model uses them (same attribute names as
# cnn_tui.train.build, so parameter names match).
_CLASSES = {
    "AvgPoolSame": '''
class AvgPoolSame(nn.Module):
    """Average pool with TF `same` padding that is not symmetric: the average is taken over
    the real cells only (sum of the zero-padded window / count of real cells)."""

    def __init__(self, k, s, pads):
        super().__init__()
        self.k, self.s, self.pads = k, s, tuple(pads)

    def forward(self, x):
        total = F.avg_pool2d(F.pad(x, self.pads), self.k, self.s)
        ones = torch.ones((1, 1, x.shape[2], x.shape[3]), dtype=x.dtype, device=x.device)
        return total / F.avg_pool2d(F.pad(ones, self.pads), self.k, self.s)
''',
    "GlobalAvgPool": '''
class GlobalAvgPool(nn.Module):
    """[B, C, H, W] -> [B, C]: the mean of each channel."""

    def forward(self, x):
        return x.mean(dim=(2, 3))
''',
    "Residual": '''
class Residual(nn.Module):
    """Inner layers on x, plus x (or its 1x1 conv projection when the shapes differ)."""

    def __init__(self, layers, projection=None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.projection = projection

    def forward(self, x):
        y = x
        for module in self.layers:
            y = module(y)
        return y + (x if self.projection is None else self.projection(x))
''',
}


def _num(value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return 'float("-inf")' if value < 0 else 'float("inf")'
    return repr(value)


def _pair(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        if len(set(value)) == 1:
            return repr(value[0])
        return repr(tuple(value))
    return repr(value)


class _Writer:
    """Module -> constructor expression, noting which helper classes are needed."""

    def __init__(self) -> None:
        self.classes: set[str] = set()

    def expr(self, m, indent: str) -> str:  # noqa: C901 - one branch per module type, flat
        import torch.nn as nn

        name = type(m).__name__
        if isinstance(m, nn.Sequential):
            pairs = [(key, self.expr(child, indent + "    ")) for key, child in m.named_children()]
            if all(k.isidentifier() for k, _ in pairs):
                one_line = ("nn.Sequential(OrderedDict("
                            + ", ".join(f"{k}={e}" for k, e in pairs) + "))")
                if len(indent) + len(one_line) <= 96 and "\n" not in one_line:
                    return one_line
            items = [f"{indent}    ({key!r}, {self.expr(child, indent + '    ')})"
                     for key, child in m.named_children()]
            return "nn.Sequential(OrderedDict([\n" + ",\n".join(items) + f",\n{indent}]))"
        if isinstance(m, nn.Conv2d):
            args = [str(m.in_channels), str(m.out_channels), _pair(m.kernel_size)]
            if m.stride != (1, 1):
                args.append(f"stride={_pair(m.stride)}")
            if m.padding not in ((0, 0), "valid"):
                args.append(f"padding={_pair(m.padding)}")
            if m.bias is None:
                args.append("bias=False")
            if m.dilation != (1, 1) or m.groups != 1 or m.padding_mode != "zeros":
                raise ExportError("code export: dilated/grouped convolutions are not supported")
            return f"nn.Conv2d({', '.join(args)})"
        if isinstance(m, nn.Linear):
            bias = "" if m.bias is not None else ", bias=False"
            return f"nn.Linear({m.in_features}, {m.out_features}{bias})"
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            extra = ""
            if m.eps != 1e-5:
                extra += f", eps={m.eps!r}"
            if m.momentum != 0.1:
                extra += f", momentum={m.momentum!r}"
            return f"nn.{name}({m.num_features}{extra})"
        if isinstance(m, nn.Dropout):
            return f"nn.Dropout({m.p!r})"
        if isinstance(m, nn.MaxPool2d):
            args = [_pair(m.kernel_size), _pair(m.stride)]
            if m.padding not in (0, (0, 0)):
                args.append(f"padding={_pair(m.padding)}")
            if m.ceil_mode or m.dilation not in (1, (1, 1)):
                raise ExportError("code export: max-pool ceil_mode/dilation is not supported")
            return f"nn.MaxPool2d({', '.join(args)})"
        if isinstance(m, nn.AvgPool2d):
            args = [_pair(m.kernel_size), _pair(m.stride)]
            if m.padding not in (0, (0, 0)):
                args.append(f"padding={_pair(m.padding)}")
            if not m.count_include_pad:
                args.append("count_include_pad=False")
            return f"nn.AvgPool2d({', '.join(args)})"
        if isinstance(m, nn.ZeroPad2d):
            return f"nn.ZeroPad2d({tuple(m.padding)!r})"
        if isinstance(m, nn.ConstantPad2d):
            return f"nn.ConstantPad2d({tuple(m.padding)!r}, {_num(m.value)})"
        if isinstance(m, nn.LeakyReLU):
            slope = "" if m.negative_slope == 0.01 else repr(m.negative_slope)
            return f"nn.LeakyReLU({slope})"
        if isinstance(m, nn.Softmax):
            return f"nn.Softmax(dim={m.dim})"
        if isinstance(m, nn.GELU):
            return "nn.GELU()" if m.approximate == "none" else f"nn.GELU({m.approximate!r})"
        if isinstance(m, (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Identity, nn.Flatten)):
            if isinstance(m, nn.Flatten) and (m.start_dim, m.end_dim) != (1, -1):
                return f"nn.Flatten({m.start_dim}, {m.end_dim})"
            return f"nn.{name}()"
        if name == "AvgPoolSame":
            self.classes.add(name)
            return f"AvgPoolSame({m.k!r}, {m.s!r}, {tuple(m.pads)!r})"
        if name == "GlobalAvgPool":
            self.classes.add(name)
            return "GlobalAvgPool()"
        if name == "Residual":
            self.classes.add(name)
            inner = [f"{indent}        {self.expr(c, indent + '        ')}," for c in m.layers]
            proj = "None" if m.projection is None else self.expr(m.projection, indent + "    ")
            body = "\n".join(inner)
            return (f"Residual(\n{indent}    layers=[\n{body}\n{indent}    ],\n"
                    f"{indent}    projection={proj},\n{indent})")
        raise ExportError(f"code export: no code form for module {name}")


def _comment(info, model_layer=None) -> str:
    what = describe_layer(info.layer)
    if type(model_layer).__name__ == "Identity" and info.layer.type == "softmax":
        what += " (final: left to the loss; predict_proba applies it)"
    elif info.layer.params.get("activation") == "softmax" and model_layer is not None \
            and not hasattr(model_layer, "act"):
        what += " (the final softmax is left to the loss)"
    shapes = f"{shape_text(info.in_shape)} -> {shape_text(info.out_shape)}"
    params = f", {info.params:,} params" if info.params else ""
    return f"# {info.row + 1}. {what}: {shapes}{params}"


def _lr_mults(analysis) -> dict[str, float]:
    """Parameter-name prefix -> effective lr_mult, for the layers where it is not 1."""
    out: dict[str, float] = {}
    names: dict[int, str] = {}
    counters: dict[Any, int] = {}
    for info in analysis.rows:
        parent = info.parent
        index = counters.get(parent, 0)
        counters[parent] = index + 1
        prefix = f"layers.{index}" if parent is None else f"{names[parent]}.layers.{index}"
        names[info.row] = prefix
        if info.lr_mult != 1.0:
            out[prefix] = info.lr_mult
            if info.projection:
                out[prefix + ".projection"] = info.lr_mult
    return out


def model_code(arch: Architecture, model=None) -> str:
    """Helper classes + `class Net` for `arch` (the model is built here when not given)."""
    from cnn_tui.spec.analysis import analyze

    analysis = analyze(arch)
    if model is None:
        from cnn_tui.train.build import build_model

        model = build_model(arch)
    writer = _Writer()
    top_rows = [r for r in analysis.rows if r.depth == 0]
    if len(top_rows) != len(model.layers):
        raise ExportError("code export: the built model does not match the architecture")
    items = []
    for info, module in zip(top_rows, model.layers):
        items.append(f"            {_comment(info, module)}\n"
                     f"            {writer.expr(module, '            ')},")
    classes = "".join(_CLASSES[n].strip() + "\n\n\n"
                      for n in ("AvgPoolSame", "GlobalAvgPool", "Residual") if n in writer.classes)
    softmax_note = ("The architecture ends in softmax: forward() returns logits (the loss applies\n"
                    "    softmax); predict_proba() gives the probabilities."
                    if getattr(model, "ends_in_softmax", False) else
                    "forward() returns logits; predict_proba() gives the probabilities.")
    c, h, w = arch.input
    return (f"{classes}class Net(nn.Module):\n"
            f"    \"\"\"{_docstring_safe(arch.name)}: [B, {c}, {h}, {w}] normalised images -> "
            f"[B, {arch.classes}] logits.\n\n"
            f"    {softmax_note}\n    \"\"\"\n\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.layers = nn.ModuleList([\n" + "\n".join(items) + "\n        ])\n\n"
            "    def forward(self, x):\n"
            "        for layer in self.layers:\n"
            "            x = layer(x)\n"
            "        return x\n\n"
            "    def predict_proba(self, x):\n"
            "        return torch.softmax(self.forward(x), dim=1)\n\n\n"
            + _lr_mult_text(_lr_mults(analysis)))


def _lr_mult_text(mults: dict[str, float]) -> str:
    head = "# per-layer learning-rate multipliers (parameter-name prefix -> factor; 0 freezes)\n"
    if len(repr(mults)) <= 80:
        return f"{head}LR_MULT = {mults!r}\n"
    return head + "LR_MULT = {\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in mults.items()) + "}\n"


def _docstring_safe(text: str) -> str:
    return docstring_safe(text, "Net")


def pytorch_script(arch: Architecture, model=None, filename: str = "model.py") -> str:
    """The whole script: header, `Net`, data reading, training loop, `main()`."""
    from cnn_tui.spec.analysis import analyze

    cfg = arch.training_config()
    notes = []
    if cfg.get("augment"):
        notes.append("Not carried over: data augmentation (`augment` is on in cnn-tui).")
    if cfg.get("device") not in (None, "auto"):
        notes.append(f"cnn-tui trained on device {cfg['device']!r}; pass --device to choose.")
    training = {k: cfg[k] for k in cfg if k not in ("augment", "device")}
    text = HEADER
    for key, value in {
        "TITLE": f"{_docstring_safe(arch.name)}: a CNN for MNIST in PyTorch",
        "VERSION": __version__, "NAME": _docstring_safe(arch.name),
        "PARAMS": f"{analyze(arch).total_params:,}", "FILENAME": filename,
        "NOTES": ("\n" + "\n".join(notes) + "\n") if notes else "",
        "TRAINING": "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in training.items()) + "}",
        "INPUT": repr(tuple(arch.input)), "CLASSES": str(arch.classes),
    }.items():
        text = text.replace(f"@@{key}@@", value)
    return text + "\n\n" + model_code(arch, model) + BODY
