"""The teaching rules: each a stable id, a severity and a one-line message at the row to fix.

`RULES` is the catalogue (for help screens and docs). The shape rules are found while shapes are
inferred (`spec.inference`); `check_rules(analysis)` adds the rules about order and taste.
Errors block training; warnings point at something that trains but probably not as meant;
hints teach a convention.

Why a missing final softmax is only a hint: the builder trains on logits with cross-entropy
(which applies softmax itself) and drops a final softmax anyway, so training is the same with or
without it; ending in softmax is the convention of the browser builder's models and makes the
outputs read as probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnn_tui.spec.inference import (Analysis, Issue, LayerInfo, fused_activation, is_activation,
                                    param)
from cnn_tui.spec.fmt import layer_label

DENSE_PARAM_LIMIT = 4_000_000
HIGH_DROPOUT = 0.7


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # the usual severity (a few rules send a milder variant)
    title: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("no-layers", "error", "the model has no layers"),
    Rule("spatial-collapse", "error", "a kernel or pool window no longer fits the map"),
    Rule("conv-after-flatten", "error", "a convolution after the map became a vector"),
    Rule("pool-after-flatten", "error", "a pooling layer after the map became a vector"),
    Rule("dense-before-flatten", "error", "a dense layer on a [C, H, W] map (add flatten)"),
    Rule("double-flatten", "error", "two flatten layers on one path"),
    Rule("residual-needs-map", "error", "a residual block must take and give a [C, H, W] map"),
    Rule("residual-mismatch", "error", "a residual block whose shortcut cannot be matched"),
    Rule("wrong-class-count", "error", "the output is not one score per class"),
    Rule("softmax-misplaced", "error", "softmax anywhere but the very last layer"),
    Rule("final-activation", "warning", "an activation squashes the class scores"),
    Rule("dropout-placement", "warning", "dropout where it hurts more than it helps"),
    Rule("conv-no-activation", "warning", "a conv not followed by an activation or batchnorm"),
    Rule("dense-no-activation", "warning", "two dense layers with no activation between"),
    Rule("double-activation", "warning", "two activations in a row"),
    Rule("dense-too-large", "warning", "a dense layer with millions of parameters"),
    Rule("softmax-missing", "hint", "no final softmax (training is the same)"),
    Rule("bn-after-activation", "hint", "batchnorm after the activation instead of before"),
    Rule("saturating-activations", "hint", "a deep sigmoid/tanh stack without batchnorm"),
    Rule("stride-skips-input", "hint", "a stride larger than the window skips pixels"),
    Rule("kernel-larger-than-map", "hint", "a kernel larger than the map (mostly padding)"),
    Rule("flatten-redundant", "hint", "a flatten on data that is already a vector"),
    Rule("residual-empty", "hint", "a residual block with nothing inside"),
    Rule("no-conv", "hint", "no convolution: a plain multi-layer perceptron"),
)}


def _issue(rule: str, info: LayerInfo | None, text: str, severity: str | None = None) -> Issue:
    severity = severity or RULES[rule].severity
    if info is None:
        return Issue(rule, severity, None, text)
    return Issue(rule, severity, info.row, f"{layer_label(info.row, info.layer.type)}: {text}")


def _siblings(rows: list[LayerInfo]) -> dict[int | None, list[LayerInfo]]:
    groups: dict[int | None, list[LayerInfo]] = {}
    for r in rows:
        groups.setdefault(r.parent, []).append(r)
    return groups


def _ends_in_activation(info: LayerInfo) -> str | None:
    """The activation a row ends with: an activation layer or a conv/dense's fused one."""
    if is_activation(info.layer):
        return info.layer.type
    return fused_activation(info.layer)


def check_rules(a: Analysis) -> list[Issue]:
    out: list[Issue] = []
    rows = a.rows
    if not rows:
        return [Issue("no-layers", "error", None,
                      "the model has no layers: start with conv2d (or flatten + dense)")]
    groups = _siblings(rows)
    top = groups.get(None, [])
    for parent, seq in groups.items():
        _sequence_rules(seq, parent is not None, out)
    _output_rules(a, top, out)
    _softmax_rules(rows, top, out)
    _model_rules(a, rows, out)
    return out


def _sequence_rules(seq: list[LayerInfo], in_block: bool, out: list[Issue]) -> None:
    """Rules about a layer and its neighbours in the same list."""
    for i, info in enumerate(seq):
        layer, t = info.layer, info.layer.type
        prev = seq[i - 1] if i > 0 else None
        if t == "conv2d" and not layer.params.get("activation"):
            nxt = next((n for n in seq[i + 1:]
                        if n.layer.type not in ("maxpool2d", "avgpool2d", "dropout")), None)
            if nxt is not None and not is_activation(nxt.layer) and nxt.layer.type != "batchnorm":
                out.append(_issue("conv-no-activation", info,
                                  f"followed by {nxt.layer.type} with no activation: without a "
                                  f"non-linearity stacked layers learn no more than one; add "
                                  f"relu (or batchnorm, relu) after it"))
        if t == "dense" and not layer.params.get("activation"):
            nxt = next((n for n in seq[i + 1:]
                        if n.layer.type not in ("dropout", "batchnorm")), None)
            if nxt is not None and nxt.layer.type == "dense":
                out.append(_issue("dense-no-activation", info,
                                  "followed by another dense with no activation between: two "
                                  "linear layers collapse into one; add relu after it"))
        if t == "batchnorm" and prev is not None:
            act = _ends_in_activation(prev)
            if act and act != "softmax":
                out.append(_issue("bn-after-activation", info,
                                  f"comes after {act}; the classic order is conv -> batchnorm "
                                  f"-> {act} (both train, but that order is the usual recipe)"))
        if is_activation(layer) and prev is not None and t != "softmax":
            act = _ends_in_activation(prev)
            if act and act != "softmax":
                out.append(_issue("double-activation", info,
                                  f"comes right after {act}; a second activation in a row "
                                  f"adds nothing useful: remove one"))
        if t == "dropout":
            rate = param(layer, "rate")
            if prev is not None and prev.layer.type == "dropout":
                out.append(_issue("dropout-placement", info,
                                  "two dropouts in a row: use one with the combined rate",
                                  "hint"))
            elif rate >= HIGH_DROPOUT:
                out.append(_issue("dropout-placement", info,
                                  f"rate {rate:g} drops most values: training gets slow and "
                                  f"noisy; 0.2-0.5 is the usual range", "hint"))
        if t in ("conv2d", "maxpool2d", "avgpool2d"):
            k = param(layer, "kernel_size" if t == "conv2d" else "pool_size")
            s = param(layer, "stride") or k
            if s > k:
                out.append(_issue("stride-skips-input", info,
                                  f"stride {s} is larger than the {k}x{k} window: some pixels "
                                  f"are never looked at; use stride <= {k}"))
            if (info.in_shape is not None and len(info.in_shape) == 3 and k > 1
                    and param(layer, "padding") == "same"
                    and k > max(info.in_shape[1], info.in_shape[2])):
                h, w = info.in_shape[1], info.in_shape[2]
                out.append(_issue("kernel-larger-than-map", info,
                                  f"the {k}x{k} window is larger than the {h}x{w} map, so "
                                  f"most of it sees padding; use a smaller kernel"))


def _output_rules(a: Analysis, top: list[LayerInfo], out: list[Issue]) -> None:
    last = top[-1]
    classes = a.arch.classes
    shape = a.output_shape
    if shape is not None and shape != (classes,):
        if len(shape) == 3:
            text = (f"the model ends with a {list(shape)} map, not {classes} class scores: "
                    f"end with flatten, dense({classes})")
        else:
            text = (f"the model ends with {shape[0]} values but there are {classes} classes: "
                    f"end with dense({classes})")
        out.append(_issue("wrong-class-count", last, text))
    if top[0].layer.type == "dropout":
        out.append(_issue("dropout-placement", top[0],
                          "dropout as the first layer throws away input pixels; put it after "
                          "pooling or dense layers"))
    # the last layer with weights is the output layer; what follows it should be softmax only
    weighted = [r for r in top if r.layer.type in ("dense", "conv2d", "residual")]
    tail = top[top.index(weighted[-1]) + 1:] if weighted else []
    for r in tail:
        if r.layer.type == "dropout":
            out.append(_issue("dropout-placement", r,
                              "dropout after the output layer randomly zeroes class scores; "
                              "move it before the last dense"))
    scores = [r for r in top if r.layer.type not in ("softmax", "dropout")]
    if scores and (a.output_shape is None or len(a.output_shape) == 1):
        final = scores[-1]
        act = _ends_in_activation(final)
        if act and act != "softmax":
            what = act if is_activation(final.layer) else f"the output layer's fused {act}"
            out.append(_issue("final-activation", final,
                              f"{what} squashes the class scores before softmax and the loss; "
                              f"end with a plain dense({classes}) (+ softmax)"))


def _softmax_rules(rows: list[LayerInfo], top: list[LayerInfo], out: list[Issue]) -> None:
    last = top[-1]
    for r in rows:
        if (r.layer.type == "softmax" or fused_activation(r.layer) == "softmax") and r is not last:
            out.append(_issue("softmax-misplaced", r,
                              "softmax belongs only at the very end (it turns the final "
                              "scores into probabilities); remove it here"))
    if last.layer.type != "softmax" and fused_activation(last.layer) != "softmax":
        out.append(_issue("softmax-missing", None,
                          "the model does not end in softmax: training is the same (the loss "
                          "applies it), but the convention is to end with softmax so outputs "
                          "read as probabilities"))


def _model_rules(a: Analysis, rows: list[LayerInfo], out: list[Issue]) -> None:
    for r in rows:
        if r.layer.type == "dense" and r.params > DENSE_PARAM_LIMIT:
            n = r.in_shape[0] if r.in_shape else 0
            out.append(_issue("dense-too-large", r,
                              f"{r.params / 1e6:.1f}M parameters ({n:,} inputs x "
                              f"{param(r.layer, 'units')} units); shrink the map first "
                              f"(more pooling, or global_avgpool instead of flatten)"))
    acts = [t for t in (_ends_in_activation(r) for r in rows) if t]
    saturating = sum(1 for t in acts if t in ("sigmoid", "tanh"))
    if saturating >= 3 and not any(r.layer.type == "batchnorm" for r in rows):
        out.append(_issue("saturating-activations", None,
                          f"{saturating} sigmoid/tanh activations and no batchnorm: their "
                          f"gradients shrink layer after layer; prefer relu or add batchnorm"))
    if not any(r.layer.type == "conv2d" for r in rows):
        out.append(_issue("no-conv", None,
                          "no conv2d: this is a plain multi-layer perceptron; convolutions "
                          "learn local patterns with far fewer parameters"))


__all__ = ["RULES", "Rule", "check_rules"]
