"""The architecture summary as Markdown: a README- or issue-ready version of `cnn-tui summary`.

One table row per layer (nested residual layers indented), with input and output shape,
parameters, mult-adds and receptive field; then totals, the rule messages and the training
settings. Built from `cnn_tui.spec.analysis.analyze`, so it never disagrees with the app.
Stdlib only.
"""

from __future__ import annotations

import json
from typing import Any

from cnn_tui.spec.fmt import shape_text
from cnn_tui.spec.layers import KEY_PARAMS, LAYER_TYPES
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.text import markdown_safe


def describe_layer(layer: Layer) -> str:
    """`Conv2D(8, k3, s1, valid, relu)`: the title and the parameters that matter."""
    title = LAYER_TYPES[layer.type].title
    parts = []
    for name in KEY_PARAMS.get(layer.type, ()):
        value = layer.params.get(name)
        if value is None:
            continue
        if name == "kernel_size" or name == "pool_size":
            parts.append(f"{value}x{value}")
        elif name == "stride":
            if value != 1:
                parts.append(f"stride {value}")
        else:
            parts.append(str(value))
    if layer.type == "residual":
        parts.append(f"{len(layer.layers or [])} layers")
    return f"{title}({', '.join(parts)})" if parts else title


def _cell(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _num(n: Any) -> str:
    return f"{int(n):,}" if isinstance(n, (int, float)) and n is not None else "-"


def architecture_markdown(arch: Architecture, analysis: Any = None) -> str:
    """The Markdown document for `arch` (analysis computed here when not given)."""
    if analysis is None:
        from cnn_tui.spec.analysis import analyze

        analysis = analyze(arch)
    lines = [f"# {markdown_safe(arch.name)}", ""]
    c, h, w = arch.input
    lines.append(f"Input `[{c}, {h}, {w}]`, {arch.classes} classes. "
                 "Shapes are channels-first; parameters are what PyTorch counts.")
    lines += ["", "| # | Layer | Input | Output | Params | Mult-adds | RF |",
              "|---:|---|---|---|---:|---:|---:|"]
    for info in analysis.rows:
        indent = "&nbsp;&nbsp;" * int(getattr(info, "depth", 0) or 0)
        rf = getattr(info, "receptive_field", None)
        name = describe_layer(info.layer) + (" + 1x1 projection" if info.projection else "")
        lines.append("| {} | {}{} | {} | {} | {} | {} | {} |".format(
            info.row + 1, indent, _cell(name),
            shape_text(info.in_shape), shape_text(info.out_shape), _num(info.params),
            _num(info.macs), _cell(rf) if rf else "-"))
    lines += ["", f"- **Total parameters:** {_num(analysis.total_params)}",
              f"- **Trainable parameters:** {_num(analysis.trainable_params)}",
              f"- **Output shape:** `{shape_text(analysis.output_shape)}`",
              f"- **Valid:** {'yes' if analysis.valid else 'no'}"]
    lines.append(f"- **Mult-adds per image:** {_num(analysis.total_macs)}")
    if analysis.total_buffers:
        lines.append(f"- **BatchNorm buffers:** {_num(analysis.total_buffers)} (not parameters)")
    if analysis.issues:
        lines += ["", "## Issues", ""]
        for issue in analysis.issues:
            lines.append(f"- **{issue.severity}** `{issue.rule}`: {_cell(issue.message)}")
    if arch.training:
        lines += ["", "## Training", "", "| Setting | Value |", "|---|---|"]
        for key, value in arch.training.items():
            lines.append(f"| {_cell(key)} | {_cell(json.dumps(value))} |")
    return "\n".join(lines) + "\n"
