"""What to add next, and how good the whole design looks (0-100, with its reasons).

`suggest(arch, after_row)` proposes layers for the slot after `after_row` (None: at the start),
with the placement rules of `spec.edit.insert_after` (after a block row = after the whole block,
except an empty block, which the layer enters). Candidates come from the layer before the slot and
the shape there (after a conv: batchnorm or relu; a map of 7x7 or less: flatten or
global_avgpool; after flatten: dense; at the end: dense(classes), then softmax), and each one is
tried for real: a candidate is offered only if, inserted there, it adds no error and no warning
to the model and no issue at its own row. So a pool that would shrink the map below 1x1, or a flatten in
front of more convolutions, is never suggested.

`score(analysis)` adds up points for what a good MNIST CNN has (valid shapes, a proper output,
convolutions, downsampling, batchnorm, dropout, a sensible size, a wide enough receptive field)
and takes points off for warnings and errors; every contribution is one line of `reasons`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnn_tui.errors import SpecError
from cnn_tui.spec.analysis import Analysis, analyze, fused_activation, is_activation
from cnn_tui.spec.fmt import layer_label
from cnn_tui.spec.model import Architecture, Layer

MAX_SUGGESTIONS = 6


@dataclass(frozen=True)
class Suggestion:
    type: str
    params: dict = field(default_factory=dict)  # non-default params: Layer.make(type, **params)
    reason: str = ""

    def layer(self) -> Layer:
        return Layer.make(self.type, **self.params)

    def label(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.type}({inner})" if inner else self.type


@dataclass(frozen=True)
class Score:
    value: int  # 0..100
    reasons: list[str]


def _slot(arch: Architecture, a: Analysis, after_row: int | None):
    """(layer before the slot or None, shape at the slot, inside a block, at the end of the list)."""
    if after_row is None:
        at_end = not arch.layers
        return None, tuple(arch.input), False, at_end
    info = a.rows[after_row]
    if info.layer.type == "residual" and info.layer.layers is not None and not info.layer.layers:
        return None, info.in_shape, True, True
    siblings = [r for r in a.rows if r.parent == info.parent]
    at_end = siblings[-1] is info
    return info.layer, info.out_shape, info.parent is not None, at_end


def _candidates(prev: Layer | None, shape, arch: Architecture, in_block: bool, at_end: bool,
                a: Analysis) -> list[Suggestion]:
    classes = arch.classes
    out: list[Suggestion] = []
    add = lambda t, reason, **p: out.append(Suggestion(t, p, reason))  # noqa: E731
    t = prev.type if prev is not None else None
    fused = fused_activation(prev) if prev is not None else None
    if shape is None:
        return out
    if len(shape) == 1:
        n = shape[0]
        if t == "softmax":
            return out
        if _is_output(prev, a, n, classes):
            if not _has_final_softmax(a) and fused is None:
                add("softmax", "turns the class scores into probabilities (the usual last layer)")
            return out
        if t == "dense" and not fused:
            add("relu", "a non-linearity, so the next dense learns something new")
            add("batchnorm", "normalises the features; lets you train with a higher learning rate")
        if t == "dense" and fused == "softmax":
            return out
        if t in ("flatten", "global_avgpool"):
            units = 128 if n > 256 else 64
            add("dense", f"combines all {n:,} features into {units} learned ones",
                units=units, activation="relu")
            add("dense", f"the output layer: one score per class ({classes})", units=classes)
            add("dropout", "regularises the dense layers that follow", rate=0.25)
        acted = (prev is not None and is_activation(prev)) or fused is not None
        if acted:
            add("dropout", "drops half of the features while training, against overfitting",
                rate=0.5)
            add("dense", f"the output layer: one score per class ({classes})", units=classes)
            add("dense", "another hidden layer", units=64, activation="relu")
        if t in ("dropout", "batchnorm"):
            add("dense", f"the output layer: one score per class ({classes})", units=classes)
            add("dense", "another hidden layer", units=64, activation="relu")
            if t == "batchnorm":
                add("relu", "the activation after the normalised dense")
        return out
    c, h, w = shape
    small = max(h, w) <= 7
    if in_block and prev is None:
        add("conv2d", f"keeps the {h}x{w} size and {c} channels, so the shortcut stays an identity",
            filters=c, kernel_size=3, padding="same")
        add("batchnorm", "normalises the block's input")
        add("relu", "a pre-activation block starts with relu")
        return out
    if small and not in_block:
        add("flatten", f"the map is {h}x{w}: unroll its {c * h * w:,} values for the dense layers")
        add("global_avgpool", f"one value per channel ({c}): fewer parameters than flatten")
    if t is None:
        add("conv2d", "learns 16 local 3x3 patterns from the image", filters=16, kernel_size=3)
        add("conv2d", f"32 patterns, same padding keeps the {h}x{w} size", filters=32,
            kernel_size=3, padding="same")
        add("conv2d", "learns 16 local 3x3 patterns, relu included", filters=16, kernel_size=3,
            activation="relu")
        add("conv2d", f"32 patterns, same padding keeps the {h}x{w} size, relu included",
            filters=32, kernel_size=3, padding="same", activation="relu")
        add("conv2d", "a compact first layer that already learns patterns", filters=8,
            kernel_size=3, activation="relu")
        add("flatten", "no convolutions: a plain multi-layer perceptron")
        return out
    if t == "conv2d" and not fused:
        add("batchnorm", "normalises each channel: faster, steadier training")
        add("relu", "the non-linearity that makes the conv useful")
    if t == "batchnorm":
        add("relu", "the activation after conv -> batchnorm")
    more = min(max(c * 2, 16), 256)
    if in_block:  # keep the block's size so the shortcut stays cheap
        add("conv2d", f"{c} filters, same padding: the block keeps its {h}x{w} size",
            filters=c, kernel_size=3, padding="same")
    if t in ("maxpool2d", "avgpool2d", "dropout") or (is_activation(prev) or fused) \
            or t == "residual" or t == "batchnorm":
        if t not in ("maxpool2d", "avgpool2d") and min(h, w) >= 2:
            add("maxpool2d", f"halves the {h}x{w} map: cheaper, and small shifts are forgiven",
                pool_size=2)
        add("conv2d", f"more filters ({more}) for more complex patterns", filters=more,
            kernel_size=3, activation="relu")
        add("conv2d", f"{more} filters, same padding keeps the {h}x{w} size", filters=more,
            kernel_size=3, padding="same")
        if t in ("maxpool2d", "avgpool2d"):
            add("dropout", "regularises the features after pooling", rate=0.25)
            add("batchnorm", "normalises the pooled features")
    if t == "residual":
        add("relu", "the activation after the addition (as in ResNet)")
    if not small and not in_block and (t in ("maxpool2d", "avgpool2d")):
        add("global_avgpool", f"one value per channel ({c}), whatever the map size")
    return out


def _is_output(prev: Layer | None, a: Analysis, n: int, classes: int) -> bool:
    """Is `prev` the model's output layer (the last top-level layer with weights, `classes` wide)?"""
    if prev is None or n != classes:
        return False
    weighted = [r for r in a.rows if r.depth == 0
                and r.layer.type in ("dense", "conv2d", "residual")]
    return bool(weighted) and weighted[-1].layer is prev


def _has_final_softmax(a: Analysis) -> bool:
    top = [r for r in a.rows if r.depth == 0]
    return bool(top) and (top[-1].layer.type == "softmax"
                          or fused_activation(top[-1].layer) == "softmax")


# model-level complaints that point at the last row but are about the model as a whole
_MODEL_LEVEL = ("wrong-class-count",)


def _acceptable(arch: Architecture, a: Analysis, after_row: int | None, s: Suggestion) -> bool:
    from cnn_tui.spec.edit import insert_after

    try:
        edit = insert_after(arch, after_row, s.layer())
    except SpecError:
        return False
    b = analyze(edit.arch)
    if len(b.errors()) > len(a.errors()) or len(b.warnings()) > len(a.warnings()):
        return False
    return not any(i.row == edit.row and i.rule not in _MODEL_LEVEL for i in b.issues)


def suggest(arch: Architecture, after_row: int | None,
            limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """Layers worth adding after `after_row`, best first; each keeps the shapes valid."""
    a = analyze(arch)
    if after_row is not None and not 0 <= after_row < len(a.rows):
        return []
    prev, shape, in_block, at_end = _slot(arch, a, after_row)
    seen: set[tuple] = set()
    out: list[Suggestion] = []
    for s in _candidates(prev, shape, arch, in_block, at_end, a):
        key = (s.type, tuple(sorted(s.params.items())))
        if key in seen:
            continue
        seen.add(key)
        if _acceptable(arch, a, after_row, s):
            out.append(s)
            if len(out) >= limit:
                break
    return out


def score(analysis: Analysis) -> Score:
    """0..100 and one line per contribution, e.g. "+10 ends in dense(10) + softmax"."""
    a = analysis
    rows, arch = a.rows, a.arch
    points: list[tuple[int, str]] = []
    errors = a.errors()
    if errors:
        points.append((0, f"{len(errors)} error(s) block training: fix those first"))
    else:
        points.append((30, f"valid: every shape fits and the output is {arch.classes} class "
                           f"scores"))
        top = [r for r in rows if r.depth == 0]
        last = top[-1].layer
        if last.type == "softmax" or fused_activation(last) == "softmax":
            points.append((10, f"ends in dense({arch.classes}) + softmax"))
        else:
            points.append((5, f"ends in dense({arch.classes}) (no softmax: fine for training)"))
    convs = sum(1 for r in rows if r.layer.type == "conv2d")
    if convs >= 2:
        points.append((20, f"{convs} conv layers learn patterns of patterns"))
    elif convs == 1:
        points.append((15, "one conv layer (a second one would learn patterns of patterns)"))
    else:
        points.append((0, "no conv layers: convolutions suit images far better"))
    down = any(r.layer.type in ("maxpool2d", "avgpool2d", "global_avgpool")
               or (r.layer.type == "conv2d" and (r.layer.params.get("stride") or 1) > 1)
               for r in rows)
    points.append((10, "downsampling (pooling or strides) keeps it small") if down
                  else (0, "no pooling or strided conv: maps stay large and costly"))
    points.append((10, "batchnorm steadies training") if any(r.layer.type == "batchnorm"
                                                              for r in rows)
                  else (0, "no batchnorm (it speeds up and steadies training)"))
    points.append((5, "dropout against overfitting") if any(r.layer.type == "dropout"
                                                             for r in rows)
                  else (0, "no dropout (regularisation against overfitting)"))
    total = a.total_params
    if 10_000 <= total <= 1_500_000:
        points.append((10, f"{total:,} parameters: a sensible size for MNIST"))
    elif total < 10_000:
        points.append((0, f"only {total:,} parameters: may be too small to reach 99%"))
    else:
        points.append((0, f"{total:,} parameters: more than MNIST needs (slow, may overfit)"))
    rf = a.receptive_field
    if rf is not None and rf >= 10 and convs:
        points.append((5, f"features see {rf}x{rf} pixels (receptive field) before the "
                          f"classifier"))
    elif convs:
        points.append((0, f"receptive field only {rf}x{rf}: the features see small parts of "
                          f"a digit"))
    for issue in a.issues:
        where = "" if issue.row is None else f" at {layer_label(issue.row)}"
        if issue.severity == "error":
            points.append((-15, f"error {issue.rule}{where}"))
        elif issue.severity == "warning":
            cost = -15 if issue.rule == "dense-too-large" else -5
            points.append((cost, f"warning {issue.rule}{where}"))
    value = sum(p for p, _ in points)
    if errors:
        value = min(value, 40)
    value = max(0, min(100, value))
    return Score(value, [f"{p:+d} {text}" for p, text in points])


__all__ = ["MAX_SUGGESTIONS", "Score", "Suggestion", "score", "suggest"]
