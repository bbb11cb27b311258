"""The sweep file: `{"format": "cnn-tui/sweep", "version": 1, ...}`, checked with the field path.

    {"format": "cnn-tui/sweep", "version": 1, "name": "beginner-lr",
     "base": "template:beginner", "kind": "search",
     "objective": {"metric": "val_acc", "direction": "maximize"},
     "sampler": "tpe", "pruner": "median", "trials": 20,
     "space": {"training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": true},
               "layers[0].filters": {"type": "int", "low": 4, "high": 32, "step": 4}},
     "data": {"limit_train": null, "limit_test": null, "folds": 1, "seeds": 1},
     "training": {"epochs": 3}}

Kinds: `search` (a `space` searched by a sampler, a pruner stopping poor trials early),
`ablation` (`remove`: layer paths, `replace`: {layer path: layer}: the base and one variant per
component, each x seeds x folds, queued up front) and `compare` (`variants`: {name: file or share
code}, each x seeds x folds). `load_sweep` refuses anything wrong with one line naming the field
(`sweep.json: space["layers[3].filterz"]: conv2d has no field filterz (fields: ...)`).

`Sweep.to_dict()` is the canonical definition stored in the study: the base and the variants as
architecture objects, so a worker on another machine needs only the sweep's name and storage.
Stdlib only (and the spec layer).
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnn_tui.errors import SpecError
from cnn_tui.spec.model import value_kind

FORMAT = "cnn-tui/sweep"
VERSION = 1
KINDS = ("search", "ablation", "compare")
SAMPLERS = ("grid", "random", "tpe", "cmaes")
PRUNERS = ("median", "hyperband", "none")
METRICS = {"val_acc": "maximize", "val_loss": "minimize"}
DIM_TYPES = ("float", "int", "categorical")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_TRIALS = 100_000
MAX_SEEDS = 100
MAX_GRID = 10_000
TOP_FIELDS = ("format", "version", "name", "base", "kind", "objective", "sampler", "pruner",
              "trials", "space", "data", "training", "remove", "replace", "variants")
_LAYER_STEP = re.compile(r"^layers\[(\d{1,4})\]$")
_FIELD = re.compile(r"^[a-z_]{1,40}$")


class _Where:
    """Raises the one-line error `SOURCE: FIELD: message`."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field_path: str, message: str):
        where = f"{self.source}: {field_path}" if field_path else self.source
        raise SpecError(where, message)


def _int(where: _Where, value: Any, path: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) and not (
            isinstance(value, float) and value.is_integer()):
        where.fail(path, f"must be an integer, got {value_kind(value)}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        where.fail(path, f"must be {lo}..{hi}, got {value}" if hi is not None
                   else f"must be >= {lo}, got {value}")
    return value


def _number(where: _Where, value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        where.fail(path, f"must be a finite number, got {value_kind(value)}")
    return value


def _object(where: _Where, value: Any, path: str, allowed: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        where.fail(path, f"must be an object, got {value_kind(value)}")
    for key in value:
        if key not in allowed:
            where.fail(f"{path}.{key}" if path else str(key)[:60],
                       f"unknown field (allowed: {', '.join(allowed)})")
    return value


# ---------------------------------------------------------------- paths

def parse_layer_path(path: str) -> tuple[list[int], str | None]:
    """`layers[2].layers[0].kernel_size` -> ([2, 0], "kernel_size"); `layers[9]` -> ([9], None).
    ValueError when it is not such a path."""
    parts = str(path).split(".")
    indices: list[int] = []
    for i, part in enumerate(parts):
        m = _LAYER_STEP.match(part)
        if m:
            if indices and i != len(indices):
                raise ValueError("a layer index after a field")
            indices.append(int(m.group(1)))
        elif i == len(parts) - 1 and indices and _FIELD.match(part):
            return indices, part
        else:
            raise ValueError("not a layer path")
    if not indices:
        raise ValueError("not a layer path")
    return indices, None


def _layer_at(arch: dict, indices: list[int]) -> tuple[list, int] | str:
    """(the list holding the layer, its index), or why the path does not name a layer."""
    layers = arch["layers"]
    walked = "layers"
    for depth, index in enumerate(indices):
        if index >= len(layers):
            have = f"layers[0]..layers[{len(layers) - 1}]" if layers else "none"
            return f"no layer {walked}[{index}] (the base has {len(layers)} there: {have})"
        if depth == len(indices) - 1:
            return layers, index
        layer = layers[index]
        if layer.get("type") != "residual":
            return f"{walked}[{index}] is a {layer.get('type')}, not a residual block with layers"
        layers = layer.get("layers", [])
        walked = f"{walked}[{index}].layers"
    raise AssertionError("unreachable")


def param_of(arch: dict, path: str):
    """(Param, current value) that a space key names, or a string saying why it names none."""
    from cnn_tui.spec.layers import LAYER_TYPES
    from cnn_tui.spec.training import TRAINING_PARAMS
    if path.startswith("training."):
        name = path.split(".", 1)[1]
        param = TRAINING_PARAMS.get(name)
        if param is None:
            return f"unknown training setting (known: {', '.join(TRAINING_PARAMS.names())})"
        return param, {**TRAINING_PARAMS.defaults(), **arch.get("training", {})}.get(name)
    try:
        indices, name = parse_layer_path(path)
    except ValueError:
        return "not a parameter path: training.FIELD or a layer path such as layers[3].filters"
    if name is None:
        return "names a layer, not one of its fields (e.g. layers[3].filters)"
    found = _layer_at(arch, indices)
    if isinstance(found, str):
        return found
    holder, index = found
    layer = holder[index]
    kind = LAYER_TYPES[layer["type"]]
    param = kind.params.get(name)
    if param is None:
        names = ", ".join(kind.params.names()) or "none"
        return f"{layer['type']} has no field {name} (fields: {names})"
    return param, layer.get(name)


def apply_params(arch: dict, params: dict[str, Any]) -> tuple[dict, dict]:
    """(architecture dict, training overrides) with `params` ({space key: value}) applied to a
    copy of `arch`: layer fields in the layers, `training.X` in the overrides."""
    out = json.loads(json.dumps(arch))
    training: dict[str, Any] = {}
    for key, value in params.items():
        if key.startswith("training."):
            training[key.split(".", 1)[1]] = value
            continue
        indices, name = parse_layer_path(key)
        holder, index = _layer_at(out, indices)  # checked when the sweep was read
        if value is None:
            holder[index].pop(name, None)
        else:
            holder[index][name] = value
    return out, training


def remove_layer(arch: dict, path: str) -> dict:
    out = json.loads(json.dumps(arch))
    holder, index = _layer_at(out, parse_layer_path(path)[0])
    del holder[index]
    return out


def replace_layer(arch: dict, path: str, layer: dict) -> dict:
    out = json.loads(json.dumps(arch))
    holder, index = _layer_at(out, parse_layer_path(path)[0])
    holder[index] = json.loads(json.dumps(layer))
    return out


# ---------------------------------------------------------------- the space

@dataclass(frozen=True)
class Dimension:
    key: str  # training.FIELD or a layer path
    type: str  # float, int, categorical
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    def to_dict(self) -> dict:
        if self.type == "categorical":
            return {"type": "categorical", "choices": list(self.choices)}
        out: dict[str, Any] = {"type": self.type, "low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out

    def grid_values(self) -> list | None:
        """Every value a grid takes (None: a continuous float without a step)."""
        if self.type == "categorical":
            return list(self.choices)
        if self.type == "int":
            step = int(self.step or 1)
            if self.log:
                return None
            return list(range(int(self.low), int(self.high) + 1, step))
        if self.step is None:
            return None
        count = round((self.high - self.low) / self.step) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]

    def sample(self, rng: random.Random) -> Any:
        """A value drawn uniformly (log-uniformly with `log`), for checking a space."""
        if self.type == "categorical":
            return rng.choice(self.choices)
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        if self.step:
            value = self.low + round((value - self.low) / self.step) * self.step
        return round(value) if self.type == "int" else min(max(value, self.low), self.high)


def _dimension(where: _Where, arch: dict, key: Any, spec: Any) -> Dimension:
    from cnn_tui.spec.params import BOOL, CHOICE, INT
    path = f"space[{json.dumps(key)}]"
    if not isinstance(key, str):
        where.fail(path, "must be a parameter path")
    found = param_of(arch, key)
    if isinstance(found, str):
        where.fail(path, found)
    param, _ = found
    if not isinstance(spec, dict):
        where.fail(path, f"must be an object with a \"type\", got {value_kind(spec)}")
    kind = spec.get("type")
    if kind not in DIM_TYPES:
        where.fail(f"{path}.type", f"must be one of {', '.join(DIM_TYPES)}, got {value_kind(kind)}")
    allowed = {"float": ("type", "low", "high", "log", "step"),
               "int": ("type", "low", "high", "log", "step"),
               "categorical": ("type", "choices")}[kind]
    _object(where, spec, path, allowed)
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            where.fail(f"{path}.choices", "must be a non-empty list of values")
        seen = []
        for i, choice in enumerate(choices):
            if choice is not None and not isinstance(choice, (bool, int, float, str)):
                where.fail(f"{path}.choices[{i}]", f"must be a number, string, boolean or null, "
                                                  f"got {value_kind(choice)}")
            checked = param.check(choice, f"{where.source}: {path}.choices[{i}]")
            if checked in seen:
                where.fail(f"{path}.choices[{i}]", f"{value_kind(choice)} is listed twice")
            seen.append(checked)
        return Dimension(key, kind, choices=tuple(choices))
    if param.kind in (CHOICE, BOOL):
        what = "true/false" if param.kind == BOOL else param.range_text()
        where.fail(f"{path}.type", f"{key} takes {what}: use \"categorical\" with choices")
    if kind == "float" and param.kind == INT:
        where.fail(f"{path}.type", f"{key} is an integer field: use \"int\"")
    for bound in ("low", "high"):
        if bound not in spec:
            where.fail(f"{path}.{bound}", "is required")
    low = _number(where, spec["low"], f"{path}.low")
    high = _number(where, spec["high"], f"{path}.high")
    if kind == "int":
        low = _int(where, low, f"{path}.low", -2**31)
        high = _int(where, high, f"{path}.high", -2**31)
    param.check(low, f"{where.source}: {path}.low")
    param.check(high, f"{where.source}: {path}.high")
    if low > high:
        where.fail(path, f"low > high ({low} > {high})")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        where.fail(f"{path}.log", f"must be true or false, got {value_kind(log)}")
    if log and low <= 0:
        where.fail(f"{path}.low", f"must be > 0 with \"log\": true, got {low}")
    step = spec.get("step")
    if step is not None:
        if log:
            where.fail(f"{path}.step", "cannot be combined with \"log\": true")
        step = _number(where, step, f"{path}.step")
        if kind == "int":
            step = _int(where, step, f"{path}.step", 1)
        if step <= 0:
            where.fail(f"{path}.step", f"must be > 0, got {step}")
        span = (high - low) / step
        if abs(span - round(span)) > 1e-9:
            where.fail(f"{path}.step", f"high - low ({high - low:g}) is not a multiple of {step:g}")
    return Dimension(key, kind, low, high, log, step)


# ---------------------------------------------------------------- the sweep

@dataclass
class Sweep:
    name: str
    kind: str
    base: dict | None  # architecture object (None: a compare without base)
    base_source: str = ""
    metric: str = "val_acc"
    direction: str = "maximize"
    sampler: str | None = "tpe"
    pruner: dict = field(default_factory=lambda: {"type": "none"})
    trials: int = 0
    space: dict[str, Dimension] = field(default_factory=dict)
    limit_train: int | None = None
    limit_test: int | None = None
    folds: int = 1
    seeds: int = 1
    training: dict = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)
    replace: dict[str, dict] = field(default_factory=dict)
    variants: dict[str, dict] = field(default_factory=dict)  # compare: name -> architecture

    # ------------------------------------------------------------ derived
    @property
    def queued(self) -> bool:
        """Every trial is known up front and queued (ablation, compare, grid)."""
        return self.kind != "search" or self.sampler == "grid"

    @property
    def reference(self) -> str | None:
        """The variant the others are compared with (ablation, compare)."""
        if self.kind == "search":
            return None
        return "base" if self.base is not None else next(iter(self.variants))

    def first_seed(self) -> int:
        from cnn_tui.spec.training import TRAINING_PARAMS
        if "seed" in self.training:
            return int(self.training["seed"])
        arch = self.base or next(iter(self.variants.values()))
        return int({**TRAINING_PARAMS.defaults(), **arch.get("training", {})}["seed"])

    def seed_values(self) -> list[int]:
        first = self.first_seed()
        return [first + i for i in range(self.seeds)]

    def variant_archs(self) -> dict[str, dict]:
        """name -> architecture object: the reference first (ablation: the base, then one
        variant per removed and per replaced layer)."""
        if self.kind == "compare":
            out = {"base": self.base} if self.base is not None else {}
            out.update(self.variants)
            return out
        if self.kind != "ablation":
            return {}
        out = {"base": self.base}
        for path in self.remove:
            holder, index = _layer_at(self.base, parse_layer_path(path)[0])
            out[f"remove {path} ({holder[index]['type']})"] = remove_layer(self.base, path)
        for path, layer in self.replace.items():
            holder, index = _layer_at(self.base, parse_layer_path(path)[0])
            out[f"replace {path} ({holder[index]['type']} -> {layer['type']})"] = \
                replace_layer(self.base, path, layer)
        return out

    def queue(self) -> list[dict]:
        """The params of every trial queued up front (empty for a sampled search)."""
        if self.kind == "search":
            if self.sampler != "grid":
                return []
            keys = list(self.space)
            points = [dict(zip(keys, combo)) for combo in
                      itertools.product(*(self.space[k].grid_values() for k in keys))]
            if self.trials < len(points):  # a sample of the grid, the same for every worker
                points = random.Random(0).sample(points, self.trials)
            return points
        folds = range(self.folds) if self.folds > 1 else [None]
        out = []
        for name in self.variant_archs():
            for seed in self.seed_values():
                for fold in folds:
                    params: dict[str, Any] = {"variant": name, "seed": seed}
                    if fold is not None:
                        params["fold"] = fold
                    out.append(params)
        return out

    def runs_of_trial(self, params: dict) -> list[tuple[int, int | None]]:
        """(seed, fold) of each run one trial trains: a search trial every seed x fold; a queued
        ablation / compare trial one."""
        if self.kind != "search":
            return [(int(params["seed"]), params.get("fold"))]
        folds = list(range(self.folds)) if self.folds > 1 else [None]
        return [(s, f) for s in self.seed_values() for f in folds]

    def epochs(self) -> int:
        """The epochs each run trains (the sweep's training section, else the base's)."""
        from cnn_tui.spec.training import TRAINING_PARAMS
        if "epochs" in self.training:
            return int(self.training["epochs"])
        arch = self.base or next(iter(self.variants.values()))
        return int({**TRAINING_PARAMS.defaults(), **arch.get("training", {})}["epochs"])

    def worst_value(self) -> float:
        return 0.0 if self.metric == "val_acc" else math.inf

    def better(self, a: float, b: float) -> bool:
        return a > b if self.direction == "maximize" else a < b

    def to_dict(self) -> dict:
        out: dict[str, Any] = {
            "format": FORMAT, "version": VERSION, "name": self.name, "kind": self.kind,
            "base": self.base, "base_source": self.base_source,
            "objective": {"metric": self.metric, "direction": self.direction},
            "data": {"limit_train": self.limit_train, "limit_test": self.limit_test,
                     "folds": self.folds, "seeds": self.seeds},
            "training": dict(self.training),
        }
        if self.kind == "search":
            out.update(sampler=self.sampler, pruner=dict(self.pruner), trials=self.trials,
                       space={k: d.to_dict() for k, d in self.space.items()})
        elif self.kind == "ablation":
            out.update(remove=list(self.remove), replace=dict(self.replace))
        else:
            out.update(variants=dict(self.variants))
        return out


def _architecture(where: _Where, value: Any, path: str, base_dir: Path | None) -> tuple[dict, str]:
    """(canonical architecture object, how it was given) for `base` or a variant."""
    from cnn_tui.spec.io import load_source
    from cnn_tui.spec.model import Architecture
    try:
        if isinstance(value, dict):
            return Architecture.from_dict(value).to_dict(), ""
        if not isinstance(value, str) or not value.strip():
            where.fail(path, "must be a file, a share code or template:NAME")
        text = value
        if base_dir is not None and not value.startswith(("cnn1:", "template:")) \
                and not Path(value).is_absolute() and (base_dir / value).exists():
            text = str(base_dir / value)
        return load_source(text).to_dict(), value
    except SpecError as err:
        where.fail(path, err.message)


def _pruner(where: _Where, value: Any) -> dict:
    if value is None:
        value = "median"
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        where.fail("pruner", f"must be one of {', '.join(PRUNERS)} (or an object with a \"type\"), "
                             f"got {value_kind(value)}")
    kind = value.get("type")
    if kind not in PRUNERS:
        where.fail("pruner" if "type" not in value or len(value) == 1 else "pruner.type",
                   f"unknown pruner {kind!r:.40} (known: {', '.join(PRUNERS)})")
    if kind == "median":
        _object(where, value, "pruner", ("type", "startup_trials", "warmup_epochs"))
        return {"type": "median",
                "startup_trials": _int(where, value.get("startup_trials", 5), "pruner.startup_trials", 0),
                "warmup_epochs": _int(where, value.get("warmup_epochs", 0), "pruner.warmup_epochs", 0)}
    if kind == "hyperband":
        _object(where, value, "pruner", ("type", "reduction_factor"))
        return {"type": "hyperband",
                "reduction_factor": _int(where, value.get("reduction_factor", 3),
                                         "pruner.reduction_factor", 2, 10)}
    _object(where, value, "pruner", ("type",))
    return {"type": "none"}


def parse_sweep(obj: Any, source: str, base_dir: Path | None = None) -> Sweep:
    """A checked Sweep from a sweep object (a file's, or a definition stored in a study)."""
    from cnn_tui.spec.training import TRAINING_PARAMS
    where = _Where(source)
    if not isinstance(obj, dict):
        where.fail("", f"a sweep must be a JSON object, got {value_kind(obj)}")
    allowed = TOP_FIELDS + ("base_source",)
    _object(where, obj, "", allowed)
    if obj.get("format") != FORMAT:
        where.fail("format", f"must be {FORMAT!r}, got {value_kind(obj.get('format'))}")
    version = obj.get("version")
    if version != VERSION or isinstance(version, bool):
        where.fail("version", f"unsupported sweep version {version!r:.40} "
                              f"(this cnn-tui reads version {VERSION})")
    name = obj.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        where.fail("name", "must be 1-100 letters, digits, '.', '_' or '-' (starting with a letter "
                           f"or digit), got {value_kind(name)}")
    kind = obj.get("kind", "search")
    if kind not in KINDS:
        where.fail("kind", f"must be one of {', '.join(KINDS)}, got {value_kind(kind)}")
    for key, kinds in (("space", ("search",)), ("sampler", ("search",)), ("trials", ("search",)),
                       ("remove", ("ablation",)), ("replace", ("ablation",)),
                       ("variants", ("compare",))):
        if key in obj and kind not in kinds:
            where.fail(key, f"not used by a{'n' if kind[0] == 'a' else ''} {kind} sweep "
                            f"(only by {' / '.join(kinds)})")
    if kind != "search" and _pruner(where, obj.get("pruner", "none"))["type"] != "none":
        where.fail("pruner", f"a {kind} sweep trains every variant in full: no pruner")

    base, base_source = None, str(obj.get("base_source", ""))
    if "base" in obj and obj["base"] is not None:
        base, given = _architecture(where, obj["base"], "base", base_dir)
        base_source = base_source or given
    elif kind != "compare":
        where.fail("base", "is required: a file, a share code or template:NAME")

    objective = _object(where, obj.get("objective", {}), "objective", ("metric", "direction"))
    metric = objective.get("metric", "val_acc")
    if metric not in METRICS:
        where.fail("objective.metric", f"must be a validation metric: {', '.join(METRICS)} "
                                       f"(never test accuracy), got {value_kind(metric)}")
    direction = objective.get("direction", METRICS[metric])
    if direction != METRICS[metric]:
        where.fail("objective.direction", f"{metric} is {METRICS[metric]}d, got {value_kind(direction)}")

    data = _object(where, obj.get("data", {}), "data", ("limit_train", "limit_test", "folds", "seeds"))
    limits = {}
    for key in ("limit_train", "limit_test"):
        value = data.get(key)
        limits[key] = None if value is None else _int(where, value, f"data.{key}", 1, 60000)
    folds = _int(where, data.get("folds", 1), "data.folds", 1, 50)
    seeds = _int(where, data.get("seeds", 1), "data.seeds", 1, MAX_SEEDS)

    training = _object(where, obj.get("training", {}), "training", TRAINING_PARAMS.names())
    training = {k: TRAINING_PARAMS.get(k).check(v, f"{source}: training.{k}")
                for k, v in training.items()}
    if folds == 1 and training.get("val_size", (base or {}).get("training", {}).get("val_size", 1)) == 0:
        where.fail("training.val_size", "0 leaves no validation set for the objective")

    sweep = Sweep(name=name, kind=kind, base=base, base_source=base_source, metric=metric,
                  direction=direction, sampler=None, limit_train=limits["limit_train"],
                  limit_test=limits["limit_test"], folds=folds, seeds=seeds, training=training)
    if kind == "search":
        _search(where, obj, sweep)
    elif kind == "ablation":
        _ablation(where, obj, sweep)
    else:
        _compare(where, obj, sweep, base_dir)
    return sweep


def _search(where: _Where, obj: dict, sweep: Sweep) -> None:
    space = obj.get("space")
    if not isinstance(space, dict):
        where.fail("space", f"must be an object of parameter paths, got {value_kind(space)}")
    if not space:
        where.fail("space", "is empty: a search needs at least one parameter to vary")
    sweep.space = {key: _dimension(where, sweep.base, key, spec) for key, spec in space.items()}
    sampler = obj.get("sampler", "tpe")
    if sampler not in SAMPLERS:
        where.fail("sampler", f"unknown sampler {sampler!r:.40} (known: {', '.join(SAMPLERS)})")
    sweep.sampler = sampler
    sweep.pruner = _pruner(where, obj.get("pruner", "median"))
    if sampler == "grid":
        size = 1
        for key, dim in sweep.space.items():
            values = dim.grid_values()
            if values is None:
                where.fail(f"space[{json.dumps(key)}]", "a grid needs choices, or a step (and no "
                                                        "log) for a float")
            size *= len(values)
            if size > MAX_GRID:
                where.fail("space", f"the grid has more than {MAX_GRID:,} points")
        trials = obj.get("trials", size)
        sweep.trials = _int(where, trials, "trials", 1, size)
    else:
        if "trials" not in obj:
            where.fail("trials", "is required: how many trials to run")
        sweep.trials = _int(where, obj["trials"], "trials", 1, MAX_TRIALS)


def _ablation(where: _Where, obj: dict, sweep: Sweep) -> None:
    from cnn_tui.spec.model import layer_from_dict
    remove = obj.get("remove", [])
    if not isinstance(remove, list):
        where.fail("remove", f"must be a list of layer paths, got {value_kind(remove)}")
    for i, path in enumerate(remove):
        _layer_path(where, sweep.base, path, f"remove[{i}]")
        if remove.index(path) != i:
            where.fail(f"remove[{i}]", f"{path} is listed twice")
    replace = obj.get("replace", {})
    if not isinstance(replace, dict):
        where.fail("replace", f"must be an object {{layer path: layer}}, got {value_kind(replace)}")
    checked = {}
    for path, layer in replace.items():
        field_path = f"replace[{json.dumps(path)}]"
        _layer_path(where, sweep.base, path, field_path)
        try:
            checked[path] = layer_from_dict(layer, field_path).to_dict()
        except SpecError as err:
            where.fail("", err.message)
    if not remove and not checked:
        where.fail("remove", "an ablation needs at least one layer to remove or replace")
    sweep.remove, sweep.replace = list(remove), checked
    sweep.trials = len(sweep.queue())


def _layer_path(where: _Where, arch: dict, path: Any, field_path: str) -> None:
    if not isinstance(path, str):
        where.fail(field_path, f"must be a layer path such as layers[9], got {value_kind(path)}")
    try:
        indices, name = parse_layer_path(path)
    except ValueError:
        where.fail(field_path, f"{path[:60]!r} is not a layer path such as layers[9]")
    if name is not None:
        where.fail(field_path, f"{path} names a field; give the layer (layers[...])")
    found = _layer_at(arch, indices)
    if isinstance(found, str):
        where.fail(field_path, found)


def _compare(where: _Where, obj: dict, sweep: Sweep, base_dir: Path | None) -> None:
    variants = obj.get("variants")
    if not isinstance(variants, dict) or not variants:
        where.fail("variants", "must be an object {name: file, share code or template:NAME}")
    out = {}
    for name, source in variants.items():
        path = f"variants[{json.dumps(name)}]"
        if not isinstance(name, str) or not name.strip() or len(name) > 60 \
                or any(ord(c) < 32 for c in name):
            where.fail(path, "a variant name must be 1-60 printable characters")
        if name == "base" and sweep.base is not None:
            where.fail(path, "\"base\" is the name of the base architecture; choose another")
        out[name] = _architecture(where, source, path, base_dir)[0]
    if len(out) + (sweep.base is not None) < 2:
        where.fail("variants", "a comparison needs at least two architectures (a base and a "
                               "variant, or two variants)")
    sweep.variants = out
    sweep.trials = len(sweep.queue())


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file."""
    from cnn_tui.spec.io import safe_loads
    shown = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(4 * 1024 * 1024 + 1)
    except FileNotFoundError:
        raise SpecError(shown, "no such file") from None
    except IsADirectoryError:
        raise SpecError(shown, "is a folder, not a sweep file") from None
    except OSError as exc:
        raise SpecError(shown, f"cannot read ({exc.strerror or exc})") from None
    if len(data) > 4 * 1024 * 1024:
        raise SpecError(shown, "too large for a sweep file (over 4 MiB)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(shown, "not UTF-8 text") from None
    return parse_sweep(safe_loads(text, shown), shown, Path(path).resolve().parent)


def check_space(sweep: Sweep, samples: int = 64) -> tuple[int, int, str]:
    """(invalid, checked, first rule message) over a sample of the space (a search) or every
    variant (ablation, compare): what `sweep run` warns about before training."""
    from cnn_tui.errors import CnnTuiError
    from cnn_tui.spec.model import Architecture
    from cnn_tui.train.loop import check_architecture
    if sweep.kind == "search":
        rng = random.Random(0)
        archs = [apply_params(sweep.base, {k: d.sample(rng) for k, d in sweep.space.items()})[0]
                 for _ in range(samples)]
    else:
        archs = list(sweep.variant_archs().values())
    bad, first = 0, ""
    for arch in archs:
        try:
            check_architecture(Architecture.from_dict(arch))
        except CnnTuiError as err:
            bad += 1
            first = first or err.message
    return bad, len(archs), first


__all__ = ["FORMAT", "VERSION", "Dimension", "Sweep", "apply_params", "check_space",
           "load_sweep", "param_of", "parse_layer_path", "parse_sweep"]
