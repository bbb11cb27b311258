"""Shape inference of an Architecture, without torch: one pass, every row explained.

`infer(arch)` walks the layers depth-first and records, for every row (a residual block's row
comes before its inner rows, the order of `Architecture.walk()` and `spec.edit`):
input/output shape, the formula that produced the output size, parameters (what PyTorch counts,
`sum(p.numel() for p in model.parameters())` of the model `train.build` makes), BatchNorm buffers,
mult-adds, activation memory and receptive field. `spec.analysis.analyze` adds the teaching
rules of `spec.rules` (which reads these rows) to what it finds.

Conventions (the agreement test in tests/test_build_agreement.py holds torch to them):
- Padding is Keras/TF's: `valid` gives floor((in - k)/s) + 1, `same` gives ceil(in/s) for every
  kernel and stride, padding max((out - 1)*s + k - in, 0) cells, the odd one bottom/right.
- Pool stride None means the pool size. `global_avgpool` outputs a vector [C] (as Keras does),
  so a dense may follow it directly; `flatten` turns [C, H, W] into [C*H*W].
- `batchnorm` works on maps (BatchNorm2d, over C) and on vectors (BatchNorm1d, over N):
  2 parameters per feature; `buffers` counts running_mean + running_var = 2 per feature (torch's
  extra `num_batches_tracked` scalar is not counted).
- A residual block's row counts only its own parameters: the 1x1 conv projection (with bias)
  inserted when the inner output differs from the input in channels or size; its inner rows
  count theirs. Totals sum every row once.
- Mult-adds follow torchinfo for one image: conv = its parameters x output H x W, dense and
  batchnorm = their parameters, everything else 0.
- `memory_bytes` is the row's float32 output for one image; the total sums all rows.
- Receptive field (input pixels one output cell sees) is tracked through convs and pools; rows
  whose output is a vector report None (each unit sees the whole image), and
  `Analysis.receptive_field` is the value at the last row that still has a map.
- Once a size is unknown (a layer that does not fit), downstream shapes are None; a dense still
  knows its output [units], and parameters are counted wherever the input width is known.
- Effective `lr_mult`: the layer's own, else its enclosing residual block's, else 1.0;
  parameters with an effective lr_mult of 0 are frozen (not trainable).

Row numbers in messages are 1-based ("layer 5" is row 4), as the summary table shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.fmt import and_more, layer_label, shape_text
from cnn_tui.spec.layers import ACTIVATIONS, LAYER_TYPES
from cnn_tui.spec.model import Architecture, Layer

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Issue:
    rule: str  # stable id, see spec.rules.RULES
    severity: str  # "error" | "warning" | "hint"
    row: int | None  # the row it points at; None = the whole model
    message: str  # one line that teaches


@dataclass(frozen=True, eq=False)
class LayerInfo:
    """One row of the analysis. Compared by identity (rows belong to one analysis)."""

    row: int
    path: str
    depth: int
    layer: Layer
    in_shape: Shape | None
    out_shape: Shape | None
    params: int
    trainable: int
    buffers: int
    macs: int
    memory_bytes: int
    receptive_field: int | None
    formula: str
    projection: bool = False
    param_formula: str = ""  # "8 x (1 x 3 x 3) + 8 bias = 80"
    parent: int | None = None  # the enclosing residual block's row
    lr_mult: float = 1.0  # effective learning-rate multiplier (0 = frozen)
    projection_stride: int | None = None  # the 1x1 projection's stride, when there is one

    @property
    def number(self) -> int:
        """The 1-based number the table and messages show."""
        return self.row + 1


_LAYER_INFO_FIELDS = tuple(LayerInfo.__dataclass_fields__)


def _layer_info(*values) -> LayerInfo:
    """Build a LayerInfo without the frozen-dataclass __init__ (8 us -> 1 us a row)."""
    info = object.__new__(LayerInfo)
    info.__dict__.update(zip(_LAYER_INFO_FIELDS, values))
    return info


@dataclass
class Analysis:
    arch: Architecture
    rows: list[LayerInfo]
    output_shape: Shape | None
    total_params: int
    trainable_params: int
    total_buffers: int
    total_macs: int
    total_memory_bytes: int
    receptive_field: int | None
    issues: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def issues_for(self, row: int) -> list[Issue]:
        return [i for i in self.issues if i.row == row]

    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    def top_rows(self) -> list[LayerInfo]:
        """The rows of the top-level layers, index i = arch.layers[i]."""
        return [r for r in self.rows if r.depth == 0]

    def raise_if_invalid(self) -> None:
        errors = self.errors()
        if errors:
            raise InvalidArchitecture(f"{errors[0].message}{and_more(len(errors) - 1)}", self)


class InvalidArchitecture(CnnTuiError):
    """An architecture with error-severity issues where a buildable one is needed."""

    exit_code = 1

    def __init__(self, message: str, analysis: Analysis | None = None) -> None:
        super().__init__(message)
        self.analysis = analysis


def param(layer: Layer, name: str):
    """A layer parameter, falling back to the registry default when the dict lacks it."""
    value = layer.params.get(name)
    if value is None and name not in layer.params:
        p = LAYER_TYPES[layer.type].params.get(name)
        return None if p is None else p.default
    return value


def same_padding(n: int, k: int, s: int) -> tuple[int, int, int]:
    """(out, pad_before, pad_after) for TF `same` padding of one dimension."""
    out = -(-n // s)
    pad = max((out - 1) * s + k - n, 0)
    return out, pad // 2, pad - pad // 2


def window_out(n: int, k: int, s: int, padding: str) -> int:
    """Output size of one dimension for a window k, stride s (may be <= 0 for `valid`)."""
    if padding == "same":
        return -(-n // s)
    return (n - k) // s + 1


def projection_stride(h1: int, w1: int, h2: int, w2: int) -> int | None:
    """The stride of a 1x1 conv that maps h1 x w1 onto h2 x w2, or None if no integer does."""
    for s in range(1, max(h1, w1) + 1):
        if (h1 - 1) // s + 1 == h2 and (w1 - 1) // s + 1 == w2:
            return s
    return None


def hw_text(h: int, w: int) -> str:
    return str(h) if h == w else f"{h}x{w}"


def _dim_expr(n: int, k: int, s: int, padding: str, out: int) -> str:
    if padding == "same":
        return f"ceil({n}/{s}) = {out}"
    if s == 1:
        return f"({n} - {k})/1 + 1 = {out}"
    return f"floor(({n} - {k})/{s}) + 1 = {out}"


@dataclass
class _State:
    rank: int  # 3 for a [C, H, W] map, 1 for a vector [N]
    width: int | None  # C or N
    hw: tuple[int, int] | None
    rf: int = 1
    jump: int = 1
    flattened: bool = False  # a flatten happened upstream (on this path)
    vector_by: str = ""  # what turned the map into a vector

    def shape(self) -> Shape | None:
        if self.width is None:
            return None
        if self.rank == 1:
            return (self.width,)
        return None if self.hw is None else (self.width, *self.hw)

    def copy(self) -> "_State":
        return _State(self.rank, self.width, self.hw, self.rf, self.jump, self.flattened,
                      self.vector_by)


class _Walker:
    def __init__(self, arch: Architecture) -> None:
        self.arch = arch
        self.rows: list[LayerInfo | None] = []
        self.issues: list[Issue] = []
        self.last_map_rf: int | None = 1
        self._pending: dict[int, Layer] = {}

    def issue(self, rule: str, severity: str, row: int | None, text: str) -> None:
        if row is not None:
            layer = self.rows[row].layer if self.rows[row] is not None else self._pending[row]
            text = f"{layer_label(row, layer.type)}: {text}"
        self.issues.append(Issue(rule, severity, row, text))

    def walk(self, layers: list[Layer], prefix: str, depth: int, st: _State,
             parent: int | None, lr: float) -> _State:
        for i, layer in enumerate(layers):
            st = self.one(layer, f"{prefix}[{i}]", depth, st, parent, lr)
        return st

    def one(self, layer: Layer, path: str, depth: int, st: _State, parent: int | None,
            lr_parent: float) -> _State:
        row = len(self.rows)
        self.rows.append(None)
        self._pending[row] = layer
        own_lr = layer.params.get("lr_mult")
        lr = lr_parent if own_lr is None else float(own_lr)
        in_shape = st.shape()
        t = layer.type
        params = buffers = macs = 0
        formula = param_formula = ""
        projection = False
        proj_stride = None
        out = st.copy()
        if t == "conv2d" or t in ("maxpool2d", "avgpool2d"):
            is_conv = t == "conv2d"
            k = param(layer, "kernel_size" if is_conv else "pool_size")
            s = param(layer, "stride") or k
            pad = param(layer, "padding")
            if st.rank == 1:
                rule = "conv-after-flatten" if is_conv else "pool-after-flatten"
                self.issue(rule, "error", row,
                           f"needs a [C, H, W] map but gets a vector after {st.vector_by}; "
                           f"put it before the {st.vector_by}")
                out.rank, out.width, out.hw = 3, None, None
            if is_conv:
                filters = param(layer, "filters")
                if out.width is not None:
                    c = out.width
                    params = filters * c * k * k + filters
                    param_formula = f"{filters} x ({c} x {k} x {k}) + {filters} bias = {params:,}"
                out.width = filters
            if out.hw is not None:
                h, w = out.hw
                oh, ow = window_out(h, k, s, pad), window_out(w, k, s, pad)
                what = "kernel" if is_conv else "window"
                if oh <= 0 or ow <= 0:
                    short = max(k - h, k - w)
                    self.issue("spatial-collapse", "error", row,
                               f"the {k}x{k} {what} does not fit a {h}x{w} map "
                               f"(short by {short}); use padding same, a smaller {what}, "
                               f"or remove a pooling layer before it")
                    out.hw = None
                else:
                    out.hw = (oh, ow)
                    head = f"{hw_text(h, w)} -> {hw_text(oh, ow)}: {what} {k}"
                    head += f", stride {s}" if s != 1 else ""
                    head += f", padding {pad}: "
                    if h == w:
                        body = _dim_expr(h, k, s, pad, oh)
                    else:
                        body = (f"height {_dim_expr(h, k, s, pad, oh)}, "
                                f"width {_dim_expr(w, k, s, pad, ow)}")
                    if pad == "same":
                        _, before, after = same_padding(h, k, s)
                        if before or after:
                            body += f" (pads {before} before, {after} after)"
                    formula = head + body
                    if is_conv and params:
                        macs = params * oh * ow
            out.rf = st.rf + (k - 1) * st.jump
            out.jump = st.jump * s
        elif t == "dense":
            units = param(layer, "units")
            if st.rank == 3:
                self.issue("dense-before-flatten", "error", row,
                           f"gets a {shape_text(in_shape)} map; dense needs a vector: "
                           f"add flatten (or global_avgpool) before it")
                n = None
            else:
                n = st.width
            if n is not None:
                params = n * units + units
                macs = params
                param_formula = f"{n:,} x {units} + {units} bias = {params:,}"
                formula = f"{n:,} -> {units}"
            out.rank, out.width, out.hw = 1, units, None
            if st.rank == 3:
                out.vector_by = "dense"
        elif t == "batchnorm":
            if st.width is not None:
                params = buffers = 2 * st.width
                macs = params
                what = "channel" if st.rank == 3 else "feature"
                param_formula = f"2 x {st.width} {what}s (scale, shift) = {params:,}"
        elif t == "flatten":
            if st.flattened:
                self.issue("double-flatten", "error", row,
                           "a flatten came before on this path, so the data is already flat; "
                           "remove one of them")
            elif st.rank == 1:
                self.issue("flatten-redundant", "hint", row,
                           f"{st.vector_by} already gives a vector; this flatten does nothing")
            if st.rank == 3:
                if st.width is not None and st.hw is not None:
                    c, (h, w) = st.width, st.hw
                    out.width = c * h * w
                    formula = f"{c} x {h} x {w} = {out.width:,}"
                else:
                    out.width = None
                out.rank, out.hw = 1, None
                out.vector_by = "flatten"
            out.flattened = True
        elif t == "global_avgpool":
            if st.rank == 1:
                self.issue("pool-after-flatten", "error", row,
                           f"needs a [C, H, W] map but gets a vector after {st.vector_by}; "
                           f"use global_avgpool instead of the {st.vector_by}")
            else:
                if st.hw is not None:
                    h, w = st.hw
                    formula = f"average of each {h}x{w} map -> {st.width} values"
                out.rank, out.hw = 1, None
                out.vector_by = "global_avgpool"
        elif t == "residual":
            out, params, macs, formula, param_formula, projection, proj_stride = self.residual(
                layer, path, depth, st, row, lr)
        # dropout and activations: shape unchanged, no parameters
        out_shape = out.shape()
        memory = 0
        if out_shape is not None:
            memory = 4
            for d in out_shape:
                memory *= d
        rf = out.rf if out.rank == 3 else None
        if out.rank == 3 and out.hw is not None:
            self.last_map_rf = out.rf
        trainable = params if lr != 0 else 0
        self.rows[row] = _layer_info(
            row, path, depth, layer, in_shape, out_shape, params, trainable, buffers, macs,
            memory, rf, formula, projection, param_formula, parent, lr, proj_stride)
        return out

    def residual(self, layer: Layer, path: str, depth: int, st: _State, row: int, lr: float):
        inner = layer.layers or []
        params = macs = 0
        formula = param_formula = ""
        projection = False
        proj_stride = None
        if st.rank == 1:
            self.issue("residual-needs-map", "error", row,
                       f"a residual block needs a [C, H, W] map as input, but it comes after "
                       f"{st.vector_by}; move it before the {st.vector_by}")
            start = _State(3, None, None, st.rf, st.jump)
        else:
            start = st.copy()
        if not inner:
            self.issue("residual-empty", "hint", row,
                       "an empty block adds its input to itself (x + x); add layers inside it")
        end = self.walk(inner, f"{path}.layers", depth + 1, start, row, lr)
        out = end.copy()
        if end.rank == 1:
            if st.rank == 3:
                self.issue("residual-needs-map", "error", row,
                           f"the inner layers end as a vector ({end.vector_by} inside the "
                           f"block); the block's output must stay a [C, H, W] map to be added "
                           f"to its input")
            out = _State(3, None, None, end.rf, end.jump)
        if st.rank == 1:  # the error is reported; carry on as the vector it was
            out = st.copy()
            out.width = None
        if st.rank == 1 or end.rank == 1:
            return out, params, macs, formula, param_formula, projection, proj_stride
        a, b = start.shape(), end.shape()
        if st.rank == 3 and a is not None and b is not None:
            if a == b:
                formula = f"inner {shape_text(b)} + input {shape_text(a)} (identity shortcut)"
            else:
                (c1, h1, w1), (c2, h2, w2) = a, b
                s = projection_stride(h1, w1, h2, w2)
                if s is None:
                    self.issue("residual-mismatch", "error", row,
                               f"the inner layers turn {hw_text(h1, w1)} into "
                               f"{hw_text(h2, w2)} and no 1x1 projection stride maps "
                               f"{h1} onto {h2}; use padding same inside the block")
                    out.hw = None
                else:
                    projection, proj_stride = True, s
                    params = c1 * c2 + c2
                    macs = params * h2 * w2
                    param_formula = f"projection {c2} x ({c1} x 1 x 1) + {c2} bias = {params:,}"
                    formula = (f"inner {shape_text(b)} + projected input {shape_text(a)} "
                               f"(1x1 conv, {c1} -> {c2} channels"
                               + (f", stride {s}" if s != 1 else "") + ")")
        out.rf = max(end.rf, st.rf)
        out.jump = end.jump
        out.flattened = st.flattened
        return out, params, macs, formula, param_formula, projection, proj_stride


def infer(arch: Architecture) -> Analysis:
    """Shapes and sizes of every row of `arch`, with the issues shape inference finds (the
    teaching rules are added by `spec.analysis.analyze`)."""
    walker = _Walker(arch)
    c, h, w = arch.input
    end = walker.walk(arch.layers, "layers", 0, _State(3, c, (h, w)), None, 1.0)
    rows: list[LayerInfo] = walker.rows  # type: ignore[assignment]
    total_params = trainable = buffers = macs = memory = 0
    for r in rows:
        total_params += r.params
        trainable += r.trainable
        buffers += r.buffers
        macs += r.macs
        memory += r.memory_bytes
    return Analysis(arch, rows, end.shape(), total_params, trainable, buffers, macs, memory,
                    walker.last_map_rf, walker.issues)


def is_activation(layer: Layer) -> bool:
    return layer.type in ACTIVATIONS


def fused_activation(layer: Layer) -> str | None:
    if layer.type in ("conv2d", "dense"):
        return layer.params.get("activation")
    return None


__all__ = ["Analysis", "InvalidArchitecture", "Issue", "LayerInfo", "fused_activation", "hw_text",
           "infer", "is_activation", "param", "projection_stride", "same_padding", "shape_text",
           "window_out"]
