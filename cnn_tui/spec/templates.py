"""Ready-made starting points: the browser builder's three examples, LeNet-5 and a small ResNet.

The Beginner, Intermediate and Advanced templates carry exactly the layers the browser
builder's README lists, one layer per item (Conv2D -> BatchNorm -> ReLU is three layers,
Dense(10) -> Softmax two). Its convolutions are Keras' default `padding="valid"`, which is
also what makes the README's parameter figures come out (Beginner 27,562 ~ "25K",
Intermediate 83,514 ~ "85K"). The Advanced list cannot be all `valid`: the map would go
28 26 24 12 10 8 4 2 0 and the sixth convolution would not fit. Its third block (the two
128-filter convolutions, on a 4x4 map) therefore pads `same`, so the map goes
28 26 24 12 10 8 4 4 4 2 and the flatten has 2x2x128 = 512 values.

Each template is built fresh on every call (callers may edit what they get).
"""

from __future__ import annotations

from typing import Callable

from cnn_tui.errors import SpecError
from cnn_tui.spec.model import Architecture, Layer

L = Layer.make


def _arch(name: str, layers: list[Layer], **training) -> Architecture:
    # Through from_dict, so the training values are checked and stored as a file would hold them.
    return Architecture.from_dict(Architecture(layers, name, training=training).to_dict())


def _conv_bn_relu(filters: int, padding: str = "valid") -> list[Layer]:
    return [L("conv2d", filters=filters, kernel_size=3, padding=padding), L("batchnorm"), L("relu")]


def beginner() -> Architecture:
    return _arch("Beginner", [
        L("conv2d", filters=8, kernel_size=3), L("relu"),
        L("maxpool2d", pool_size=2),
        L("conv2d", filters=16, kernel_size=3), L("relu"),
        L("maxpool2d", pool_size=2),
        L("flatten"),
        L("dense", units=64), L("relu"),
        L("dropout", rate=0.25),
        L("dense", units=10), L("softmax"),
    ], optimizer="adam", learning_rate=0.001, batch_size=64, epochs=10)


def intermediate() -> Architecture:
    return _arch("Intermediate", [
        *_conv_bn_relu(16), *_conv_bn_relu(16),
        L("maxpool2d", pool_size=2), L("dropout", rate=0.1),
        *_conv_bn_relu(32), *_conv_bn_relu(32),
        L("maxpool2d", pool_size=2), L("dropout", rate=0.1),
        L("flatten"),
        L("dense", units=128), L("relu"), L("dropout", rate=0.3),
        L("dense", units=10), L("softmax"),
    ], optimizer="adam", learning_rate=0.001, batch_size=64, epochs=10)


def advanced() -> Architecture:
    return _arch("Advanced", [
        *_conv_bn_relu(32), *_conv_bn_relu(32),
        L("maxpool2d", pool_size=2), L("dropout", rate=0.1),
        *_conv_bn_relu(64), *_conv_bn_relu(64),
        L("maxpool2d", pool_size=2), L("dropout", rate=0.1),
        *_conv_bn_relu(128, "same"), *_conv_bn_relu(128, "same"),
        L("maxpool2d", pool_size=2), L("dropout", rate=0.2),
        L("flatten"),
        L("dense", units=256), L("relu"), L("dropout", rate=0.4),
        L("dense", units=128), L("relu"), L("dropout", rate=0.3),
        L("dense", units=10), L("softmax"),
    ], optimizer="adam", learning_rate=0.003, schedule="onecycle", batch_size=128, epochs=12)


def lenet5() -> Architecture:
    """LeCun et al. 1998 on 28x28 input: the first conv pads `same` to stand in for the 32x32 border."""
    return _arch("LeNet-5", [
        L("conv2d", filters=6, kernel_size=5, padding="same"), L("tanh"),
        L("avgpool2d", pool_size=2),
        L("conv2d", filters=16, kernel_size=5), L("tanh"),
        L("avgpool2d", pool_size=2),
        L("flatten"),
        L("dense", units=120), L("tanh"),
        L("dense", units=84), L("tanh"),
        L("dense", units=10), L("softmax"),
    ], optimizer="adam", learning_rate=0.001, batch_size=64, epochs=10)


def residual() -> Architecture:
    """Two residual blocks: the first keeps 16 channels (identity shortcut), the second widens to
    32, so its shortcut needs the 1x1 projection."""
    return _arch("Residual", [
        *_conv_bn_relu(16, "same"),
        L("residual", layers=[
            *_conv_bn_relu(16, "same"),
            L("conv2d", filters=16, kernel_size=3, padding="same"), L("batchnorm"),
        ]),
        L("relu"),
        L("maxpool2d", pool_size=2),
        L("residual", layers=[
            *_conv_bn_relu(32, "same"),
            L("conv2d", filters=32, kernel_size=3, padding="same"), L("batchnorm"),
        ]),
        L("relu"),
        L("maxpool2d", pool_size=2),
        L("global_avgpool"),
        L("dense", units=10), L("softmax"),
    ], optimizer="adam", learning_rate=0.003, schedule="onecycle", batch_size=128, epochs=8)


TEMPLATES: dict[str, Callable[[], Architecture]] = {
    "beginner": beginner,
    "intermediate": intermediate,
    "advanced": advanced,
    "lenet5": lenet5,
    "residual": residual,
}

TEMPLATE_INFO: dict[str, str] = {
    "beginner": "two small convs and a dense layer; the browser builder quoted 97-98% accuracy",
    "intermediate": "conv-BatchNorm-ReLU pairs with dropout; the browser builder quoted 98-99% accuracy",
    "advanced": "three conv-BatchNorm-ReLU blocks (the third padded 'same' so the 4x4 map fits), "
                "two dense layers; the browser builder quoted 99%+ (99.2% in its table)",
    "lenet5": "LeCun's classic: tanh, average pooling, dense 120-84-10",
    "residual": "two residual blocks, identity shortcut then a 1x1 projection shortcut, "
                "global average pooling",
}


def get_template(name: str) -> Architecture:
    """A fresh copy of template `name` (case-insensitive; '-', '_' and spaces ignored)."""
    key = "".join(str(name).lower().split()).replace("-", "").replace("_", "")
    factory = TEMPLATES.get(key)
    if factory is None:
        raise SpecError("template", f"unknown template {str(name)[:40]!r} (known: {', '.join(TEMPLATES)})")
    return factory()


__all__ = ["TEMPLATES", "TEMPLATE_INFO", "get_template"]
