"""A short lesson per layer type for the Build screen's side panel: what it does, when to use it.

The facts follow the browser builder's teaching text; the wording is ours and kept short enough
to read in a narrow panel. `lesson(type_name)` always returns something, even for a type added
to the registry later without a lesson (its one-line summary then stands in).
"""

from __future__ import annotations

from dataclasses import dataclass

from cnn_tui.spec.layers import LAYER_TYPES


@dataclass(frozen=True)
class Lesson:
    what: str  # what the layer computes
    when: str  # where it belongs in a network
    typical: str  # values to start from


LESSONS: dict[str, Lesson] = {
    "conv2d": Lesson(
        "Each filter is a small grid of learned weights swept across the image. Wherever the "
        "patch underneath looks like the filter (an edge, a stroke end, a curve), the output "
        "map lights up. The same weights are reused at every position, so a conv layer has "
        "few parameters for what it sees, and it keeps the layout of the image.",
        "First layers of the network and after each pooling step. Grow the filter count as "
        "the map shrinks: early filters find edges, later ones combine them into digit parts.",
        "8-16 filters at first, doubling deeper (8 -> 16 -> 32 -> 64); kernel 3 (5 for wider "
        "patterns); stride 1 (2 shrinks the map instead of pooling); 'same' keeps the size, "
        "'valid' trims kernel-1 pixels."),
    "maxpool2d": Lesson(
        "Cuts the map into windows and keeps only the strongest response of each. The map "
        "gets smaller (less memory and compute), and a feature that moves by a pixel still "
        "gives the same output.",
        "After a conv (+ activation) block, to halve the map before the next block. Each "
        "pooling step also widens what the following layers see of the digit.",
        "pool 2, stride 2 (halves height and width); pool 3 with stride 2 overlaps windows."),
    "avgpool2d": Lesson(
        "Like max pooling, but each window is replaced by its average: every value counts a "
        "little instead of the strongest counting alone.",
        "Where a softer summary suits better than the peak, e.g. late in a network; max "
        "pooling is the usual choice for MNIST.",
        "pool 2, stride 2."),
    "batchnorm": Lesson(
        "Rescales each channel to zero mean and unit variance over the batch, then applies a "
        "learned scale and shift (2 parameters per channel). The running mean and variance "
        "it keeps for inference are buffers, not parameters.",
        "Usually between a conv (or dense) layer and its activation. It speeds up and "
        "steadies training, allows higher learning rates and regularises a little.",
        "no settings to choose; put one after each conv in deeper networks."),
    "dropout": Lesson(
        "While training, sets a random fraction of its inputs to zero (and scales up the "
        "rest), so the network cannot lean on any single unit. At test time it does nothing.",
        "Against overfitting: between dense layers and before the final classifier. Small "
        "conv networks on MNIST rarely need it between conv layers.",
        "rate 0.25-0.5 after dense layers, 0.1-0.2 after pooling; higher for bigger networks."),
    "flatten": Lesson(
        "Lays the C x H x W feature maps out as one long vector. Nothing is learned and "
        "nothing is lost: only the arrangement changes.",
        "Exactly once, where the convolutional part ends and the dense layers begin, "
        "usually right after the last pooling layer.",
        "no settings."),
    "global_avgpool": Lesson(
        "Averages each channel over its whole map, leaving one number per channel. Unlike "
        "Flatten it throws the layout away, which makes the following dense layer small.",
        "Instead of Flatten at the end of a deep conv stack (as ResNets do), when the "
        "channels already say what was found and where no longer matters.",
        "no settings; follow it with Dense(10)."),
    "dense": Lesson(
        "Every output unit takes a weighted sum of all inputs plus a bias. It combines what "
        "the conv layers found anywhere in the image into a decision. Parameters grow as "
        "inputs x units, so a dense layer after a large flatten dominates the count.",
        "After Flatten: one or two hidden dense layers, then the classifier whose units must "
        "equal the number of classes (10 for MNIST).",
        "64-128 hidden units (start larger, shrink toward the output); 10 units last."),
    "relu": Lesson(
        "Passes positive values unchanged and turns negatives into zero: max(0, x). This "
        "bend is what lets stacked layers learn more than one linear map; it is cheap and its "
        "gradient does not fade for positive inputs.",
        "After every conv and hidden dense layer; the default non-linearity.",
        "no settings."),
    "leaky_relu": Lesson(
        "Like ReLU, but negative inputs keep a small slope instead of becoming zero, so a "
        "unit that went negative can still learn.",
        "Where many ReLU units stop responding ('dying ReLU'), e.g. with high learning rates.",
        "negative slope 0.01 (up to 0.2)."),
    "gelu": Lesson(
        "A smooth version of ReLU: each input is weighted by how likely it is to be positive "
        "under a Gaussian. No sharp corner at zero.",
        "A drop-in for ReLU, common in modern networks; rarely changes much on MNIST.",
        "no settings."),
    "sigmoid": Lesson(
        "Squashes any value into (0, 1). For large inputs it flattens out, so gradients get "
        "very small and deep stacks of sigmoids learn slowly.",
        "Mostly of historical interest inside a CNN (LeNet era); ReLU trains faster.",
        "no settings."),
    "tanh": Lesson(
        "Squashes into (-1, 1), centred on zero, which suits the next layer better than "
        "sigmoid, but it saturates the same way.",
        "Classic networks such as LeNet-5; prefer ReLU for new designs.",
        "no settings."),
    "softmax": Lesson(
        "Exponentiates the class scores and divides by their sum, so the outputs are "
        "probabilities that add up to 1, with the largest score emphasised.",
        "Once, as the very last layer, right after the final Dense(10).",
        "no settings."),
    "residual": Lesson(
        "Runs its inner layers and adds the result to its own input: output = x + f(x). "
        "The shortcut lets gradients flow straight through, so much deeper networks train. "
        "If the inner layers change the shape, a 1x1 convolution projects the shortcut.",
        "For deep conv stacks: wrap two conv (+ batchnorm, ReLU) layers that keep the size "
        "with padding 'same'.",
        "inner: conv 3x3 'same' -> batchnorm -> relu -> conv 3x3 'same' -> batchnorm."),
}


def lesson(type_name: str) -> Lesson:
    found = LESSONS.get(type_name)
    if found is not None:
        return found
    kind = LAYER_TYPES.get(type_name)
    return Lesson(kind.summary if kind else type_name, "", "")
