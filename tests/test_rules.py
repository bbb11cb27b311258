"""Every rule: one model that triggers it (at the right row, with its severity) and one that does not."""

from __future__ import annotations

import pytest

from cnn_tui.spec.analysis import analyze
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.rules import RULES

L = Layer.make


def conv(filters=8, **kw):
    return L("conv2d", filters=filters, kernel_size=kw.pop("kernel_size", 3), **kw)


def head(units=10, softmax=True):
    return [L("flatten"), L("dense", units=units)] + ([L("softmax")] if softmax else [])


GOOD = [conv(), L("relu"), L("maxpool2d")] + head()

# rule id -> (triggering layers, expected row or None, non-triggering layers)
CASES = {
    "no-layers": ([], None, GOOD),
    "spatial-collapse": ([conv(kernel_size=11), L("relu"), L("maxpool2d", pool_size=7),
                          L("maxpool2d", pool_size=3)] + head(), 3,
                         [conv(kernel_size=11), L("relu"), L("maxpool2d", pool_size=7),
                          L("maxpool2d", pool_size=3, padding="same")] + head()),
    "conv-after-flatten": ([L("flatten"), conv(activation="relu"), L("dense", units=10)], 1,
                           [conv(activation="relu"), L("flatten"), L("dense", units=10)]),
    "pool-after-flatten": ([conv(activation="relu"), L("flatten"), L("maxpool2d"),
                            L("dense", units=10)], 2,
                           [conv(activation="relu"), L("maxpool2d"), L("flatten"),
                            L("dense", units=10)]),
    "dense-before-flatten": ([conv(activation="relu"), L("dense", units=10)], 1,
                             [conv(activation="relu")] + head()),
    "double-flatten": ([conv(activation="relu"), L("flatten"), L("dense", units=32,
                                                                 activation="relu"),
                        L("flatten"), L("dense", units=10)], 3,
                       [conv(activation="relu"), L("flatten"), L("dense", units=32,
                                                                 activation="relu"),
                        L("dense", units=10)]),
    "residual-needs-map": ([conv(activation="relu"), L("residual", layers=[L("flatten")]),
                            L("flatten"), L("dense", units=10)], 1,
                           [conv(activation="relu"), L("residual", layers=[L("relu")])]
                           + head()),
    "residual-mismatch": ([conv(activation="relu"),
                           L("residual", layers=[conv(16, stride=2), L("relu")])] + head(), 1,
                          [conv(activation="relu"),
                           L("residual", layers=[conv(16, stride=2, padding="same"),
                                                 L("relu")])] + head()),
    "wrong-class-count": ([conv(activation="relu")] + head(units=12), 3,
                          [conv(activation="relu")] + head(units=10)),
    "softmax-misplaced": ([conv(activation="relu"), L("softmax")] + head(), 1,
                          [conv(activation="relu")] + head()),
    "final-activation": ([conv(activation="relu"), L("flatten"), L("dense", units=10),
                          L("relu"), L("softmax")], 3,
                         [conv(activation="relu"), L("flatten"), L("dense", units=10),
                          L("softmax")]),
    "dropout-placement": ([L("dropout")] + GOOD, 0,
                          GOOD[:3] + [L("dropout")] + GOOD[3:]),
    "conv-no-activation": ([conv(), conv(activation="relu")] + head(), 0,
                           [conv(), L("batchnorm"), L("relu"), conv(activation="relu")]
                           + head()),
    "dense-no-activation": ([conv(activation="relu"), L("flatten"), L("dense", units=32),
                             L("dropout"), L("dense", units=10)], 2,
                            [conv(activation="relu"), L("flatten"),
                             L("dense", units=32), L("relu"), L("dense", units=10)]),
    "double-activation": ([conv(), L("relu"), L("gelu")] + head(), 2,
                          [conv(), L("relu"), L("maxpool2d"), L("gelu")] + head()),
    "dense-too-large": ([conv(32, padding="same", activation="relu"), L("flatten"),
                         L("dense", units=256, activation="relu"),
                         L("dense", units=10)], 2,
                        [conv(32, padding="same", activation="relu"), L("maxpool2d"),
                         L("maxpool2d"), L("flatten"), L("dense", units=256,
                                                          activation="relu"),
                         L("dense", units=10)]),
    "softmax-missing": ([conv(activation="relu")] + head(softmax=False), None,
                        [conv(activation="relu"), L("flatten"),
                         L("dense", units=10, activation="softmax")]),
    "bn-after-activation": ([conv(), L("relu"), L("batchnorm")] + head(), 2,
                            [conv(), L("batchnorm"), L("relu")] + head()),
    "saturating-activations": ([conv(), L("sigmoid"), conv(), L("tanh"), L("flatten"),
                                L("dense", units=32, activation="sigmoid"),
                                L("dense", units=10)], None,
                               [conv(), L("batchnorm"), L("sigmoid"), conv(), L("tanh"),
                                L("flatten"), L("dense", units=32, activation="sigmoid"),
                                L("dense", units=10)]),
    "stride-skips-input": ([conv(kernel_size=2, stride=3, activation="relu")] + head(), 0,
                           [conv(kernel_size=3, stride=3, activation="relu")] + head()),
    "kernel-larger-than-map": ([conv(activation="relu"), L("maxpool2d", pool_size=7),
                                conv(kernel_size=5, padding="same", activation="relu")]
                               + head(), 2,
                               [conv(activation="relu"), L("maxpool2d", pool_size=7),
                                conv(kernel_size=3, padding="same", activation="relu")]
                               + head()),
    "flatten-redundant": ([conv(activation="relu"), L("global_avgpool"), L("flatten"),
                           L("dense", units=10)], 2,
                          [conv(activation="relu"), L("global_avgpool"),
                           L("dense", units=10)]),
    "residual-empty": ([conv(activation="relu"), L("residual")] + head(), 1,
                       [conv(activation="relu"), L("residual", layers=[L("relu")])] + head()),
    "no-conv": ([L("flatten"), L("dense", units=64, activation="relu"),
                 L("dense", units=10)], None, GOOD),
}


def test_every_rule_has_a_case():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_triggers_at_its_row_and_not_on_the_fixed_model(rule):
    bad, row, good = CASES[rule]
    a = analyze(Architecture(list(bad)))
    hits = [i for i in a.issues if i.rule == rule]
    assert hits, f"{rule} not triggered: {[i.rule for i in a.issues]}"
    assert hits[0].row == row
    assert hits[0].severity in ("error", "warning", "hint")
    assert hits[0].severity == RULES[rule].severity or rule == "dropout-placement"
    assert "\n" not in hits[0].message and len(hits[0].message) < 300
    if row is not None:
        assert hits[0].message.startswith(f"layer {row + 1} (")
    fixed = analyze(Architecture(list(good)))
    assert rule not in [i.rule for i in fixed.issues]
    if RULES[rule].severity == "error":
        assert not a.valid


@pytest.mark.parametrize("layers,fragment", [
    ([L("dropout")] + GOOD, "first layer"),
    (GOOD[:-1] + [L("dropout"), L("softmax")], "after the output layer"),
    (GOOD[:3] + [L("dropout"), L("dropout")] + GOOD[3:], "two dropouts"),
    (GOOD[:3] + [L("dropout", rate=0.9)] + GOOD[3:], "rate 0.9"),
])
def test_dropout_placement_variants(layers, fragment):
    a = analyze(Architecture(layers))
    messages = [i.message for i in a.issues if i.rule == "dropout-placement"]
    assert any(fragment in m for m in messages), messages


def test_wrong_class_count_on_a_map_says_what_to_add():
    a = analyze(Architecture([conv(activation="relu")]))
    (issue,) = [i for i in a.issues if i.rule == "wrong-class-count"]
    assert "[8, 26, 26] map" in issue.message and "flatten, dense(10)" in issue.message


def test_classes_follow_the_architecture():
    a = analyze(Architecture([conv(activation="relu")] + head(units=3), classes=3))
    assert a.valid
    a = analyze(Architecture([conv(activation="relu")] + head(units=10), classes=3))
    assert [i.rule for i in a.errors()] == ["wrong-class-count"]


def test_double_softmax_is_an_error():
    a = analyze(Architecture([conv(activation="relu"), L("flatten"),
                              L("dense", units=10, activation="softmax"), L("softmax")]))
    assert [(i.rule, i.row) for i in a.errors()] == [("softmax-misplaced", 2)]


def test_conv_at_the_end_of_a_block_needs_no_activation():
    a = analyze(Architecture([conv(activation="relu"),
                              L("residual", layers=[conv(padding="same", activation="relu"),
                                                    conv(padding="same"), L("batchnorm")]),
                              L("relu")] + head()))
    assert a.valid and not [i for i in a.issues if i.severity != "hint"]
