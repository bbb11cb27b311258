"""The architecture model: layers, shapes, rules, templates and file formats. Stdlib only."""

from cnn_tui.spec.layers import LAYER_NAMES, LAYER_TYPES, LayerType
from cnn_tui.spec.model import FORMAT, VERSION, Architecture, Layer
from cnn_tui.spec.params import Param, ParamSet
from cnn_tui.spec.training import DEFAULT_TRAINING, TRAINING_PARAMS

__all__ = ["Architecture", "DEFAULT_TRAINING", "FORMAT", "LAYER_NAMES", "LAYER_TYPES", "Layer",
           "LayerType", "Param", "ParamSet", "TRAINING_PARAMS", "VERSION"]
