"""The torchinfo-style summary: a text table for people, a JSON object for scripts.

`summary_table(analysis, width)` prints one line per row (the 1-based number the rule messages
use, the layer indented by nesting depth, output shape, parameters, mult-adds), then the totals,
the score and every rule message. `summary_json(analysis)` is what `cnn-tui summary --json`
prints: `layers` (index, type, output_shape, params, macs, and more), `total_params`,
`trainable_params`, `output_shape`, `valid`, `issues` (severity, rule, layer, message), plus
totals, memory, receptive field and score.
"""

from __future__ import annotations

import textwrap
from typing import Any

from cnn_tui.spec.analysis import Analysis, LayerInfo, param
from cnn_tui.spec.fmt import fmt_bytes, shape_text
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.spec.model import Layer
from cnn_tui.spec.text import printable


def describe_layer(layer: Layer) -> str:
    """A short label: "Conv2D 8 3x3 same relu", "MaxPool2D 2x2", "Dense 64", "Dropout 0.25"."""
    t = layer.type
    title = LAYER_TYPES[t].title
    if t == "conv2d":
        k, s = param(layer, "kernel_size"), param(layer, "stride")
        bits = [str(param(layer, "filters")), f"{k}x{k}"]
        if s != 1:
            bits.append(f"/{s}")
        if param(layer, "padding") == "same":
            bits.append("same")
        if param(layer, "activation"):
            bits.append(param(layer, "activation"))
        return f"{title} " + " ".join(bits)
    if t in ("maxpool2d", "avgpool2d"):
        k, s = param(layer, "pool_size"), param(layer, "stride")
        text = f"{title} {k}x{k}"
        if s is not None and s != k:
            text += f" /{s}"
        if param(layer, "padding") == "same":
            text += " same"
        return text
    if t == "dense":
        act = param(layer, "activation")
        return f"{title} {param(layer, 'units')}" + (f" {act}" if act else "")
    if t == "dropout":
        return f"{title} {param(layer, 'rate'):g}"
    if t == "leaky_relu":
        return f"{title} {param(layer, 'negative_slope'):g}"
    if t == "residual":
        return f"{title} ({len(layer.layers or [])} inside)"
    return title


def _row_label(info: LayerInfo) -> str:
    text = "  " * info.depth + describe_layer(info.layer)
    if info.projection:
        text += " +1x1 proj" + (f"/{info.projection_stride}" if info.projection_stride != 1 else "")
    return text


def summary_table(analysis: Analysis, width: int = 100) -> str:
    from cnn_tui.spec.suggest import score

    a = analysis
    width = max(width, 60)
    num_w, shape_w, par_w, mac_w = (4, 18, 12, 15) if width >= 90 else (4, 14, 10, 13)
    name_w = width - num_w - shape_w - par_w - mac_w - 4
    rule = "=" * width
    thin = "-" * width
    lines = [rule]
    c, h, w = a.arch.input
    left = printable(a.arch.name)
    right = f"input [{c}, {h}, {w}], {a.arch.classes} classes"
    lines.append(left[: width - len(right) - 1].ljust(width - len(right)) + right)
    lines.append(thin)
    lines.append(f"{'#':>{num_w}} {'Layer (type)':<{name_w}} {'Output shape':<{shape_w}} "
                 f"{'Param #':>{par_w}} {'Mult-adds':>{mac_w}}")
    lines.append(rule)
    for info in a.rows:
        mark = "!" if any(i.severity == "error" for i in a.issues_for(info.row)) else " "
        label = _row_label(info)
        if len(label) > name_w:
            label = label[: name_w - 1] + "~"
        lines.append(f"{info.row + 1:>{num_w - 1}}{mark} {label:<{name_w}} "
                     f"{shape_text(info.out_shape):<{shape_w}} {info.params:>{par_w},} "
                     f"{info.macs:>{mac_w},}")
    if not a.rows:
        lines.append("(no layers)")
    lines.append(rule)
    sc = score(a)
    rf = a.receptive_field
    totals = [
        ("Total params", f"{a.total_params:,}"),
        ("Trainable params", f"{a.trainable_params:,}"),
        ("Non-trainable params", f"{a.non_trainable_params:,}"),
        ("Buffers (BatchNorm running mean + var)", f"{a.total_buffers:,}"),
        ("Total mult-adds (one image)", f"{a.total_macs:,}"
         + (f" ({a.total_macs / 1e6:.2f} M)" if a.total_macs >= 1e6 else "")),
        ("Activation memory (one image, float32)", fmt_bytes(a.total_memory_bytes)),
        ("Parameter size (float32)", fmt_bytes(4 * (a.total_params + a.total_buffers))),
        ("Receptive field", "-" if rf is None else f"{rf}x{rf} px"),
        ("Output shape", shape_text(a.output_shape)),
        ("Valid", "yes" if a.valid else f"no ({len(a.errors())} error(s))"),
        ("Score", f"{sc.value}/100"),
    ]
    for label, value in totals:
        lines.append(f"{label}: {value}")
    lines.append(rule)
    if a.issues:
        lines.append("Issues:")
        for issue in a.issues:
            head = f"  {issue.severity:<7} [{issue.rule}] "
            lines.extend(textwrap.wrap(issue.message, width, initial_indent=head,
                                       subsequent_indent=" " * len(head)) or [head])
    else:
        lines.append("No issues.")
    lines.append("Score reasons:")
    for reason in sc.reasons:
        lines.extend(textwrap.wrap(reason, width, initial_indent="  ",
                                   subsequent_indent="      "))
    return "\n".join(lines)


def _config(layer: Layer) -> dict[str, Any]:
    out = layer.to_dict()
    out.pop("type", None)
    out.pop("layers", None)
    return out


def _list(shape) -> list[int] | None:
    return None if shape is None else list(shape)


def summary_json(analysis: Analysis) -> dict[str, Any]:
    """A JSON-ready dict; `index` and an issue's `layer` are the 1-based numbers the table shows."""
    from cnn_tui.spec.suggest import score

    a = analysis
    sc = score(a)
    by_row = {r.row: r for r in a.rows}
    layers = [{
        "index": r.row + 1,
        "row": r.row,
        "path": r.path,
        "depth": r.depth,
        "type": r.layer.type,
        "config": _config(r.layer),
        "input_shape": _list(r.in_shape),
        "output_shape": _list(r.out_shape),
        "params": r.params,
        "trainable_params": r.trainable,
        "buffers": r.buffers,
        "macs": r.macs,
        "memory_bytes": r.memory_bytes,
        "receptive_field": r.receptive_field,
        "formula": r.formula,
        "param_formula": r.param_formula,
        "projection": r.projection,
    } for r in a.rows]
    issues = [{
        "severity": i.severity,
        "rule": i.rule,
        "layer": None if i.row is None else i.row + 1,
        "row": i.row,
        "path": None if i.row is None else by_row[i.row].path,
        "message": i.message,
    } for i in a.issues]
    return {
        "name": a.arch.name,
        "input": list(a.arch.input),
        "classes": a.arch.classes,
        "layers": layers,
        "total_params": a.total_params,
        "trainable_params": a.trainable_params,
        "non_trainable_params": a.non_trainable_params,
        "total_buffers": a.total_buffers,
        "total_macs": a.total_macs,
        "memory_bytes": a.total_memory_bytes,
        "receptive_field": a.receptive_field,
        "output_shape": _list(a.output_shape),
        "valid": a.valid,
        "issues": issues,
        "score": {"value": sc.value, "reasons": sc.reasons},
    }


__all__ = ["describe_layer", "summary_json", "summary_table"]
