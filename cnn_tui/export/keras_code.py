"""The architecture as a runnable Keras 3 script (`keras.Sequential`, or the functional API when
the model has residual blocks, which a Sequential cannot express).

Keras' own `padding="same"` is the TensorFlow meaning cnn-tui uses (extra pad bottom/right), so
every layer maps one to one. Keras is channels-last: the input is (H, W, C) and `Flatten` orders
features H, W, C, so weights do not transfer one to one from the PyTorch model, but layers and
trainable parameter counts match `analyze()` exactly. BatchNormalization gets PyTorch's
momentum (0.1 -> Keras 0.9) and epsilon (1e-5). Stdlib only: the generated text imports keras,
this module does not.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass
from typing import Any

from cnn_tui import __version__
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.text import docstring_safe

_ACT_LAYER = {
    "relu": "layers.ReLU()",
    "gelu": 'layers.Activation("gelu")',
    "sigmoid": 'layers.Activation("sigmoid")',
    "tanh": 'layers.Activation("tanh")',
    "softmax": "layers.Softmax()",
}
# Keras' fused "leaky_relu" has slope 0.2; PyTorch's LeakyReLU default (what cnn-tui builds for a
# fused leaky_relu) is 0.01, so the fused form becomes a separate layer with the right slope.
_FUSED_STRING = {"relu": "relu", "gelu": "gelu", "sigmoid": "sigmoid", "tanh": "tanh",
                 "softmax": "softmax"}
_OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop",
               "adagrad": "Adagrad", "adadelta": "Adadelta"}


def _py_name(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_").lower() or "model"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "m_" + name
    return name[:60]


def _activation_layer(name: str, slope: float | None = None) -> str:
    if name == "leaky_relu":
        return f"layers.LeakyReLU(negative_slope={0.01 if slope is None else slope!r})"
    return _ACT_LAYER[name]


def layer_exprs(layer: Layer, frozen: bool = False) -> list[str]:
    """Keras layer constructor expressions for one (non-residual) cnn-tui layer; `frozen`
    (an effective lr_mult of 0) makes its weights non-trainable."""
    exprs = _layer_exprs(layer)
    if frozen and layer.type in ("conv2d", "dense", "batchnorm"):
        head = exprs[0]
        exprs[0] = head[:-1] + (", " if not head.endswith("()") else "") + "trainable=False)"
    return exprs


def _layer_exprs(layer: Layer) -> list[str]:
    p = layer.params
    t = layer.type
    fused = p.get("activation")
    act_kw = f', activation="{_FUSED_STRING[fused]}"' if fused in _FUSED_STRING else ""
    tail = [_activation_layer("leaky_relu")] if fused == "leaky_relu" else []
    if t == "conv2d":
        return [f'layers.Conv2D({p["filters"]}, {p["kernel_size"]}, strides={p["stride"]}, '
                f'padding="{p["padding"]}"{act_kw})', *tail]
    if t in ("maxpool2d", "avgpool2d"):
        cls = "MaxPooling2D" if t == "maxpool2d" else "AveragePooling2D"
        stride = p.get("stride") or p["pool_size"]
        return [f'layers.{cls}({p["pool_size"]}, strides={stride}, padding="{p["padding"]}")']
    if t == "batchnorm":
        return ["layers.BatchNormalization(momentum=0.9, epsilon=1e-5)"]
    if t == "dropout":
        return [f'layers.Dropout({p["rate"]!r})']
    if t == "flatten":
        return ["layers.Flatten()"]
    if t == "global_avgpool":
        return ["layers.GlobalAveragePooling2D()"]
    if t == "dense":
        return [f'layers.Dense({p["units"]}{act_kw})', *tail]
    if t == "leaky_relu":
        return [_activation_layer("leaky_relu", p.get("negative_slope"))]
    if t in _ACT_LAYER:
        return [_activation_layer(t)]
    raise ValueError(f"no Keras form for layer type {t!r}")


def _has_residual(arch: Architecture) -> bool:
    return any(layer.type == "residual" for _, layer in arch.walk())


@dataclass
class _Facts:
    """What the analysis knows that the layer list does not say directly."""

    projections: dict[int, tuple[int, int]]  # id(residual) -> (out channels, stride)
    frozen: set[int]  # id(layer) whose effective lr_mult is 0


def _facts(arch: Architecture) -> _Facts:
    from cnn_tui.spec.analysis import analyze

    rows = analyze(arch).rows
    return _Facts({id(i.layer): (i.out_shape[0], i.projection_stride or 1)
                   for i in rows if i.projection and i.out_shape},
                  {id(i.layer) for i in rows if i.lr_mult == 0})


def _functional_lines(layers_: list[Layer], var: str, facts: _Facts, indent: str,
                      counter: list[int]) -> tuple[list[str], str]:
    lines: list[str] = []
    for layer in layers_:
        if layer.type != "residual":
            for expr in layer_exprs(layer, id(layer) in facts.frozen):
                lines.append(f"{indent}{var} = {expr}({var})")
            continue
        counter[0] += 1
        short = f"shortcut{counter[0]}"
        lines.append(f"{indent}{short} = {var}  # residual block {counter[0]}")
        inner, var_out = _functional_lines(layer.layers or [], var, facts, indent, counter)
        lines += inner
        if id(layer) in facts.projections:
            channels, stride = facts.projections[id(layer)]
            frozen = ", trainable=False" if id(layer) in facts.frozen else ""
            lines.append(f'{indent}{short} = layers.Conv2D({channels}, 1, strides={stride}, '
                         f'padding="valid"{frozen})({short})  # 1x1 projection')
        lines.append(f"{indent}{var_out} = layers.Add()([{var_out}, {short}])")
        var = var_out
    return lines, var


def model_code(arch: Architecture) -> str:
    """`build_model()` source for `arch`."""
    c, h, w = arch.input
    name = json.dumps(_py_name(arch.name))
    facts = _facts(arch)
    if not _has_residual(arch):
        exprs = [f"keras.Input(shape=({h}, {w}, {c}))"]
        for layer in arch.layers:
            exprs += layer_exprs(layer, id(layer) in facts.frozen)
        body = "".join(f"        {e},\n" for e in exprs)
        return ("def build_model():\n"
                "    \"\"\"The network as a Keras Sequential (channels-last input).\"\"\"\n"
                f"    return keras.Sequential([\n{body}    ], name={name})\n")
    lines, out = _functional_lines(arch.layers, "x", facts, "    ", [0])
    return ("def build_model():\n"
            "    \"\"\"The network with the functional API (residual blocks add a shortcut).\"\"\"\n"
            f"    inputs = keras.Input(shape=({h}, {w}, {c}))\n"
            "    x = inputs\n" + "\n".join(lines) + "\n"
            f"    return keras.Model(inputs, {out}, name={name})\n")


def ends_with_softmax(arch: Architecture) -> bool:
    if not arch.layers:
        return False
    last = arch.layers[-1]
    return last.type == "softmax" or last.params.get("activation") == "softmax"


_SCRIPT = '''\
"""@@TITLE@@ in Keras 3: generated by cnn-tui @@VERSION@@.

    pip install keras tensorflow      # or jax / torch: set KERAS_BACKEND
    python @@FILENAME@@ --data-dir ~/data --epochs 1

Reads MNIST from the four IDX files in DATA_DIR or DATA_DIR/MNIST/raw (nothing is downloaded).
Keras is channels-last, so the input is (H, W, C); layers and trainable parameter counts match
cnn-tui's PyTorch model. Not carried over: learning-rate schedules other than constant,
per-layer learning-rate multipliers other than 0 (a layer with lr_mult 0 is trainable=False),
label smoothing, early stopping and augmentation.
"""

import argparse
import gzip
import os

import keras
import numpy as np
from keras import layers

TRAINING = @@TRAINING@@


@@MODEL@@

def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir, prefix, limit=None):
    arrays = []
    for stem in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"):
        for folder in (data_dir, os.path.join(data_dir, "MNIST", "raw")):
            found = [os.path.join(folder, n) for n in (stem, stem + ".gz")
                     if os.path.isfile(os.path.join(folder, n))]
            if found:
                arrays.append(read_idx(found[0]))
                break
        else:
            raise SystemExit(f"error: {stem}[.gz] not found in {data_dir}")
    images, labels = arrays
    images = ((images[:limit].astype("float32") / 255.0 - 0.1307) / 0.3081)[..., None]
    return images, labels[:limit].astype("int64")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    parser.add_argument("--limit-train", type=int, default=None)
    parser.add_argument("--limit-test", type=int, default=None)
    args = parser.parse_args(argv)
    model = build_model()
    model.summary()
    optimizer = keras.optimizers.@@OPTIMIZER@@
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=@@FROM_LOGITS@@)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    x_train, y_train = load_split(args.data_dir, "train", args.limit_train)
    x_test, y_test = load_split(args.data_dir, "t10k", args.limit_test)
    val = min(TRAINING["val_size"], len(x_train) // 10) if args.limit_train else TRAINING["val_size"]
    model.fit(x_train, y_train, batch_size=TRAINING["batch_size"], epochs=args.epochs,
              validation_split=val / len(x_train) if val else 0.0)
    loss_value, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f}  loss {loss_value:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
'''


def _optimizer_expr(cfg: dict[str, Any]) -> str:
    name = cfg["optimizer"]
    lr = cfg["learning_rate"]
    args = [f"learning_rate={lr!r}"]
    wd = cfg.get("weight_decay") or 0.0
    if name in ("sgd", "rmsprop") and cfg.get("momentum"):
        args.append(f"momentum={cfg['momentum']!r}")
    if name == "sgd" and cfg.get("nesterov"):
        args.append("nesterov=True")
    if wd:
        args.append(f"weight_decay={wd!r}")
    return f"{_OPTIMIZERS.get(name, 'Adam')}({', '.join(args)})"


def keras_script(arch: Architecture, filename: str = "model_keras.py") -> str:
    """The whole runnable Keras script for `arch` (model + IDX reading + compile/fit)."""
    cfg = arch.training_config()
    training = {k: cfg[k] for k in ("optimizer", "learning_rate", "batch_size", "epochs",
                                     "weight_decay", "val_size")}
    text = _SCRIPT
    for key, value in {
        "TITLE": docstring_safe(arch.name, "Model"),
        "VERSION": __version__, "FILENAME": filename,
        "TRAINING": repr(training),
        "MODEL": model_code(arch),
        "OPTIMIZER": _optimizer_expr(cfg),
        "FROM_LOGITS": "False" if ends_with_softmax(arch) else "True",
    }.items():
        text = text.replace(f"@@{key}@@", str(value))
    return text
