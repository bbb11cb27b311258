"""The layer types: their parameters, ranges, defaults and a one-line description.

This registry is the single source for file validation, the editor's forms, the command palette
and the build step. `LAYER_TYPES[name].params` lists the parameters in file order.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnn_tui.spec.params import BOOL, CHOICE, FLOAT, INT, Param, ParamSet

ACTIVATIONS = ("relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softmax")
FUSED_ACTIVATIONS = ("relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softmax")
PADDINGS = ("valid", "same")

LR_MULT = Param(
    "lr_mult", FLOAT, None, lo=0.0, hi=100.0, optional=True,
    help="learning-rate multiplier for this layer's parameters (0 freezes them)",
)


def _act(help_: str) -> Param:
    return Param("activation", CHOICE, None, choices=FUSED_ACTIVATIONS, optional=True, help=help_)


@dataclass(frozen=True)
class LayerType:
    name: str
    category: str  # conv, pool, norm, regularization, structure, dense, activation, block
    params: ParamSet
    title: str  # how the UI names it: "Conv2D"
    summary: str  # one line: what it does
    has_weights: bool = False


def _t(name, category, title, summary, *params, has_weights=False) -> LayerType:
    return LayerType(name, category, ParamSet(tuple(params)), title, summary, has_weights)


LAYER_TYPES: dict[str, LayerType] = {
    t.name: t
    for t in (
        _t("conv2d", "conv", "Conv2D",
           "slides learned filters over the image; each filter answers to one local pattern",
           Param("filters", INT, 16, lo=1, hi=1024, suggested=(8, 16, 32, 64, 128, 256, 512),
                 help="number of filters = output channels"),
           Param("kernel_size", INT, 3, lo=1, hi=11, suggested=(3, 5, 7),
                 help="filter height and width"),
           Param("stride", INT, 1, lo=1, hi=4, suggested=(1, 2), help="step between positions"),
           Param("padding", CHOICE, "valid", choices=("valid", "same"),
                 help="valid: no border, the map shrinks; same: output = ceil(input / stride)"),
           _act("activation applied right after the convolution (optional)"),
           LR_MULT, has_weights=True),
        _t("maxpool2d", "pool", "MaxPool2D",
           "keeps the largest value of each window: smaller maps, small shifts forgiven",
           Param("pool_size", INT, 2, lo=1, hi=7, suggested=(2, 3), help="window height and width"),
           Param("stride", INT, None, lo=1, hi=7, optional=True, suggested=(1, 2, 3),
                 help="step between windows (default: the pool size)"),
           Param("padding", CHOICE, "valid", choices=("valid", "same"),
                 help="same pads with -inf so the padding never wins")),
        _t("avgpool2d", "pool", "AvgPool2D",
           "averages each window: a smoother way to shrink the map",
           Param("pool_size", INT, 2, lo=1, hi=7, suggested=(2, 3), help="window height and width"),
           Param("stride", INT, None, lo=1, hi=7, optional=True, suggested=(1, 2, 3),
                 help="step between windows (default: the pool size)"),
           Param("padding", CHOICE, "valid", choices=("valid", "same"),
                 help="same: padded cells are not counted in the average")),
        _t("batchnorm", "norm", "BatchNorm",
           "normalises each channel over the batch, then scales and shifts it (learned)",
           LR_MULT, has_weights=True),
        _t("dropout", "regularization", "Dropout",
           "zeroes a random fraction of values while training, so no unit is relied on alone",
           Param("rate", FLOAT, 0.25, lo=0.0, hi=1.0, hi_open=True,
                 suggested=(0.1, 0.2, 0.25, 0.3, 0.4, 0.5), help="fraction dropped, 0 <= rate < 1")),
        _t("flatten", "structure", "Flatten",
           "unrolls the C x H x W feature maps into one vector for the dense layers"),
        _t("global_avgpool", "structure", "GlobalAvgPool",
           "averages each channel over the whole map: one number per channel, no parameters"),
        _t("dense", "dense", "Dense",
           "connects every input to every unit: global patterns, many parameters",
           Param("units", INT, 64, lo=1, hi=8192, suggested=(10, 32, 64, 128, 256, 512),
                 help="number of output units"),
           _act("activation applied right after the layer (optional)"),
           LR_MULT, has_weights=True),
        _t("relu", "activation", "ReLU", "max(0, x): the default non-linearity"),
        _t("leaky_relu", "activation", "LeakyReLU",
           "like ReLU but lets a small slope through for negative inputs",
           Param("negative_slope", FLOAT, 0.01, lo=0.0, hi=1.0, suggested=(0.01, 0.1, 0.2),
                 help="slope for x < 0")),
        _t("gelu", "activation", "GELU", "a smooth ReLU, weighted by the Gaussian CDF"),
        _t("sigmoid", "activation", "Sigmoid", "squashes to (0, 1); saturates, so gradients fade"),
        _t("tanh", "activation", "Tanh", "squashes to (-1, 1); zero-centred but saturating"),
        _t("softmax", "activation", "Softmax",
           "turns the 10 class scores into probabilities that sum to 1"),
        _t("residual", "block", "Residual",
           "runs its inner layers and adds the result to its input (a shortcut)",
           LR_MULT, has_weights=True),
    )
}

LAYER_NAMES: tuple[str, ...] = tuple(LAYER_TYPES)

# What each parameter-free layer keeps as its "key parameters" text in a list row.
KEY_PARAMS: dict[str, tuple[str, ...]] = {
    "conv2d": ("filters", "kernel_size", "stride", "padding", "activation"),
    "maxpool2d": ("pool_size", "stride", "padding"),
    "avgpool2d": ("pool_size", "stride", "padding"),
    "dropout": ("rate",),
    "dense": ("units", "activation"),
    "leaky_relu": ("negative_slope",),
}

__all__ = ["ACTIVATIONS", "BOOL", "FUSED_ACTIVATIONS", "KEY_PARAMS", "LAYER_NAMES",
           "LAYER_TYPES", "LayerType", "PADDINGS"]
