"""Optimizers, learning-rate schedules (with warm-up) and per-layer learning-rate multipliers.

The schedule is a pure function of the position in training measured in epochs (a float:
epoch 2.5 = half way through the third epoch), evaluated before every step. Measuring in epochs
rather than steps keeps it right when an out-of-memory retry halves the batch size mid-run, and
its only state (the plateau scale) is three plain numbers, so checkpoints stay tensors and floats.

Schedules (the `schedule` field):
- constant: the learning rate as set.
- step: multiplied by `gamma` every `step_size` epochs (PyTorch's StepLR).
- cosine: cosine decay from the learning rate to 0 over all epochs.
- onecycle: cosine warm-up from lr/25 to lr over the first 25% of training, then cosine decay to
  lr/250,000 (PyTorch's OneCycleLR defaults, with pct_start 0.25).
- plateau: multiplied by `gamma` after `step_size` epochs without improvement of the monitored
  validation metric (`monitor`).
`warmup_epochs` > 0 adds a linear warm-up from 0 over that many epochs, on top of any schedule.

Per-layer multipliers: a layer's optional `lr_mult` scales the learning rate of its parameters
(0 freezes them); layers inside a residual block inherit the block's multiplier unless they set
their own.
"""

from __future__ import annotations

import math

from cnn_tui.errors import TrainingError


def _layer_params(arch_layers, modules, inherited: float, out: dict[int, float]) -> None:
    for layer, module in zip(arch_layers, modules):
        mult = layer.params.get("lr_mult")
        mult = inherited if mult is None else float(mult)
        for p in module.parameters(recurse=False):
            out[id(p)] = mult
        inner_modules = getattr(module, "layers", None)
        if layer.layers and inner_modules is not None and len(inner_modules) == len(layer.layers):
            _layer_params(layer.layers, list(inner_modules), mult, out)
        # anything the block holds that is not an inner layer (a projection shortcut, ...)
        for p in module.parameters():
            out.setdefault(id(p), mult)


def param_groups(model, arch, lr: float) -> list[dict]:
    """Parameter groups, one per distinct lr multiplier; each records its `base_lr`."""
    mults: dict[int, float] = {}
    layers = getattr(model, "layers", None)
    if layers is not None and len(layers) == len(arch.layers):
        _layer_params(arch.layers, list(layers), 1.0, mults)
    groups: dict[float, list] = {}
    for p in model.parameters():
        if p.requires_grad:
            groups.setdefault(mults.get(id(p), 1.0), []).append(p)
    out = []
    for mult, params in sorted(groups.items()):
        if mult == 0.0:
            for p in params:
                p.requires_grad_(False)
            continue
        out.append({"params": params, "lr": lr * mult, "base_lr": lr * mult, "lr_mult": mult})
    if not out:
        raise TrainingError("every layer has lr_mult 0: nothing to train")
    return out


def make_optimizer(model, arch, config: dict, device_kind: str = "cpu"):
    import torch
    name = config["optimizer"]
    lr = float(config["learning_rate"])
    wd = float(config.get("weight_decay") or 0.0)
    momentum = float(config.get("momentum") or 0.0)
    groups = param_groups(model, arch, lr)
    fused = {"fused": True} if device_kind == "cuda" else {}
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, weight_decay=wd, **fused)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, weight_decay=wd, **fused)
    if name == "sgd":
        nesterov = bool(config.get("nesterov"))
        if nesterov and momentum <= 0:
            raise TrainingError("training.nesterov: Nesterov needs momentum > 0")
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov,
                               weight_decay=wd, **fused)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, momentum=momentum, weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(groups, lr=lr, weight_decay=wd)
    if name == "adadelta":
        return torch.optim.Adadelta(groups, lr=lr, weight_decay=wd)
    raise TrainingError(f"training.optimizer: unknown optimizer {name!r}")


class LrSchedule:
    """factor(t) for t = position in epochs; `apply` sets every group's lr = base_lr * factor."""

    def __init__(self, config: dict, epochs: int) -> None:
        self.kind = config.get("schedule", "constant")
        self.epochs = max(1, int(epochs))
        self.gamma = float(config.get("gamma", 0.7))
        self.step_size = max(1, int(config.get("step_size", 1)))
        self.warmup = float(config.get("warmup_epochs") or 0.0)
        self.mode_max = config.get("monitor", "val_loss") == "val_acc"
        self.plateau_scale = 1.0
        self.plateau_best: float | None = None
        self.plateau_bad = 0

    def factor(self, t: float) -> float:
        f = 1.0
        if self.kind == "step":
            f = self.gamma ** (int(t) // self.step_size)
        elif self.kind == "cosine":
            f = 0.5 * (1.0 + math.cos(math.pi * min(1.0, t / self.epochs)))
        elif self.kind == "onecycle":
            p = min(1.0, t / self.epochs)
            lo, hi, end = 1 / 25, 1.0, 1 / 25 / 1e4
            if p < 0.25:
                f = hi + (lo - hi) * (1 + math.cos(math.pi * p / 0.25)) / 2
            else:
                f = end + (hi - end) * (1 + math.cos(math.pi * (p - 0.25) / 0.75)) / 2
        elif self.kind == "plateau":
            f = self.plateau_scale
        if self.warmup > 0 and t < self.warmup:
            f *= max(t, 1e-3 * self.warmup) / self.warmup
        return f

    def apply(self, optimizer, t: float) -> float:
        """Set the learning rates for position `t`; returns the unscaled (lr_mult 1) rate."""
        f = self.factor(t)
        for g in optimizer.param_groups:
            g["lr"] = g["base_lr"] * f
        return f

    def observe(self, metric: float | None) -> None:
        """Epoch end: feed the monitored validation metric to the plateau schedule."""
        if self.kind != "plateau" or metric is None or not math.isfinite(metric):
            return
        better = (self.plateau_best is None or
                  (metric > self.plateau_best if self.mode_max else metric < self.plateau_best))
        if better:
            self.plateau_best, self.plateau_bad = float(metric), 0
            return
        self.plateau_bad += 1
        if self.plateau_bad >= self.step_size:
            self.plateau_scale *= self.gamma
            self.plateau_bad = 0

    def state_dict(self) -> dict:
        return {"plateau_scale": self.plateau_scale, "plateau_best": self.plateau_best,
                "plateau_bad": self.plateau_bad}

    def load_state_dict(self, state: dict) -> None:
        self.plateau_scale = float(state.get("plateau_scale", 1.0))
        best = state.get("plateau_best")
        self.plateau_best = None if best is None else float(best)
        self.plateau_bad = int(state.get("plateau_bad", 0))
