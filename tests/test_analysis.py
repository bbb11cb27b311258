"""Shape inference, formulas, parameter counts, mult-adds, memory and receptive field, by hand."""

from __future__ import annotations

import pytest

from cnn_tui.spec.analysis import (InvalidArchitecture, analyze, projection_stride,
                                   same_padding, window_out)
from cnn_tui.spec.model import Architecture, Layer

L = Layer.make


def arch(*layers, input=(1, 28, 28), classes=10) -> Architecture:
    return Architecture(list(layers), input=input, classes=classes)


def beginner() -> Architecture:
    """The Beginner net of the seed README, written out here so this test stands alone."""
    return arch(L("conv2d", filters=8, kernel_size=3), L("relu"), L("maxpool2d", pool_size=2),
                L("conv2d", filters=16, kernel_size=3), L("relu"), L("maxpool2d", pool_size=2),
                L("flatten"), L("dense", units=64), L("relu"), L("dropout", rate=0.25),
                L("dense", units=10), L("softmax"))


def test_conv_valid_28_to_26_with_its_formula():
    a = analyze(arch(L("conv2d", filters=8, kernel_size=3)))
    row = a.rows[0]
    assert row.in_shape == (1, 28, 28) and row.out_shape == (8, 26, 26)
    assert row.formula == "28 -> 26: kernel 3, padding valid: (28 - 3)/1 + 1 = 26"
    assert row.param_formula == "8 x (1 x 3 x 3) + 8 bias = 80"


@pytest.mark.parametrize("size,kernel,stride,padding,expected", [
    (28, 3, 1, "valid", 26),
    (28, 3, 2, "valid", 13),   # floor(25/2) + 1
    (28, 5, 1, "valid", 24),
    (28, 3, 2, "same", 14),
    (7, 3, 2, "same", 4),      # ceil(7/2)
    (28, 4, 3, "same", 10),    # ceil(28/3)
    (1, 11, 4, "same", 1),
    (5, 5, 1, "valid", 1),
])
def test_conv_output_sizes(size, kernel, stride, padding, expected):
    layer = L("conv2d", filters=4, kernel_size=kernel, stride=stride, padding=padding)
    a = analyze(arch(layer, input=(1, size, size)))
    assert a.rows[0].out_shape == (4, expected, expected)
    assert window_out(size, kernel, stride, padding) == expected


def test_same_formula_names_the_padding_split():
    a = analyze(arch(L("conv2d", filters=4, kernel_size=3, stride=2, padding="same"),
                     input=(1, 7, 7)))
    # TF: pad = (4 - 1)*2 + 3 - 7 = 2 -> 1 before, 1 after
    assert a.rows[0].formula == ("7 -> 4: kernel 3, stride 2, padding same: ceil(7/2) = 4 "
                                 "(pads 1 before, 1 after)")
    a = analyze(arch(L("maxpool2d", pool_size=3, stride=2, padding="same")))
    # pad = 13*2 + 3 - 28 = 1: the odd cell goes bottom/right
    assert a.rows[0].out_shape == (1, 14, 14)
    assert a.rows[0].formula.endswith("ceil(28/2) = 14 (pads 0 before, 1 after)")
    assert same_padding(28, 3, 2) == (14, 0, 1)
    assert same_padding(28, 2, 3) == (10, 0, 1)  # 9*3 + 2 - 28 = 1
    assert same_padding(28, 2, 4) == (7, 0, 0)  # 6*4 + 2 - 28 < 0: no padding at all


def test_pool_stride_defaults_to_the_pool_size():
    a = analyze(arch(L("maxpool2d", pool_size=3), L("avgpool2d", pool_size=2, stride=1)))
    assert a.rows[0].out_shape == (1, 9, 9)  # floor((28 - 3)/3) + 1
    assert a.rows[0].formula == "28 -> 9: window 3, stride 3, padding valid: floor((28 - 3)/3) + 1 = 9"
    assert a.rows[1].out_shape == (1, 8, 8)


def test_non_square_input_gets_both_dimensions():
    a = analyze(arch(L("conv2d", filters=2, kernel_size=3), input=(3, 28, 20)))
    assert a.rows[0].out_shape == (2, 26, 18)
    assert "height (28 - 3)/1 + 1 = 26" in a.rows[0].formula
    assert "width (20 - 3)/1 + 1 = 18" in a.rows[0].formula
    assert a.rows[0].params == 2 * 3 * 9 + 2


def test_beginner_params_macs_memory_receptive_field():
    a = analyze(beginner())
    assert [r.out_shape for r in a.rows] == [
        (8, 26, 26), (8, 26, 26), (8, 13, 13), (16, 11, 11), (16, 11, 11), (16, 5, 5),
        (400,), (64,), (64,), (64,), (10,), (10,)]
    assert [r.params for r in a.rows] == [80, 0, 0, 1168, 0, 0, 0, 25664, 0, 0, 650, 0]
    assert a.total_params == a.trainable_params == 27562
    # torchinfo's mult-adds: conv = params x H_out x W_out, dense = params
    assert a.rows[0].macs == 80 * 26 * 26 == 54080
    assert a.rows[3].macs == 1168 * 11 * 11
    assert a.rows[7].macs == 25664
    assert a.total_macs == 54080 + 141328 + 25664 + 650
    assert a.rows[0].memory_bytes == 8 * 26 * 26 * 4
    assert a.total_memory_bytes == 4 * sum(
        (r.out_shape[0] * (r.out_shape[1] * r.out_shape[2] if len(r.out_shape) == 3 else 1))
        for r in a.rows)
    # 3 -> pool 2: 3 + 1*1 = 4 (jump 2) -> conv 3: 4 + 2*2 = 8 -> pool 2: 8 + 1*2 = 10
    assert [r.receptive_field for r in a.rows[:6]] == [3, 3, 4, 8, 8, 10]
    assert a.rows[6].receptive_field is None and a.receptive_field == 10
    assert a.output_shape == (10,)
    assert a.rows[6].formula == "16 x 5 x 5 = 400"
    assert a.rows[7].param_formula == "400 x 64 + 64 bias = 25,664"
    assert a.valid and a.errors() == []


def test_batchnorm_params_and_buffers_on_maps_and_vectors():
    a = analyze(arch(L("conv2d", filters=16, kernel_size=3), L("batchnorm"), L("relu"),
                     L("flatten"), L("dense", units=32), L("batchnorm"), L("relu"),
                     L("dense", units=10)))
    assert a.rows[1].params == a.rows[1].buffers == 32
    assert a.rows[1].macs == 32  # torchinfo: batchnorm counts its parameters
    assert a.rows[5].params == a.rows[5].buffers == 64
    assert a.total_buffers == 96


def test_global_avgpool_gives_a_vector_of_channels():
    a = analyze(arch(L("conv2d", filters=12, kernel_size=3), L("global_avgpool"),
                     L("dense", units=10)))
    assert a.rows[1].out_shape == (12,)
    assert a.rows[1].formula == "average of each 26x26 map -> 12 values"
    assert a.rows[2].params == 12 * 10 + 10


def test_lr_mult_zero_freezes_and_blocks_pass_it_down():
    a = analyze(arch(
        L("conv2d", filters=4, kernel_size=3, lr_mult=0.0), L("relu"),
        L("residual", lr_mult=0.0, layers=[L("conv2d", filters=8, kernel_size=3, padding="same"),
                                           L("conv2d", filters=8, kernel_size=3, padding="same",
                                             lr_mult=2.0)]),
        L("flatten"), L("dense", units=10)))
    frozen = 40 + (4 * 8 + 8) + (8 * 4 * 9 + 8)  # conv, projection, the inheriting inner conv
    assert a.total_params - a.trainable_params == frozen
    assert [r.lr_mult for r in a.rows] == [0.0, 1.0, 0.0, 0.0, 2.0, 1.0, 1.0]


def test_residual_identity_and_projection():
    same = L("conv2d", filters=8, kernel_size=3, padding="same")
    a = analyze(arch(L("conv2d", filters=8, kernel_size=3), L("residual", layers=[same, L("relu")])))
    block = a.rows[1]
    assert not block.projection and block.params == 0 and block.out_shape == (8, 26, 26)
    assert [r.row for r in a.rows] == [0, 1, 2, 3]
    assert [r.path for r in a.rows] == ["layers[0]", "layers[1]", "layers[1].layers[0]",
                                        "layers[1].layers[1]"]
    assert [r.depth for r in a.rows] == [0, 0, 1, 1] and a.rows[2].parent == 1
    # channels 8 -> 16 and 26 -> 13: a 1x1 projection with stride 2 (floor(25/2) + 1 = 13)
    down = L("conv2d", filters=16, kernel_size=3, stride=2, padding="same")
    a = analyze(arch(L("conv2d", filters=8, kernel_size=3), L("residual", layers=[down])))
    block = a.rows[1]
    assert block.projection and block.projection_stride == 2
    assert block.params == 8 * 16 + 16 and block.out_shape == (16, 13, 13)
    assert block.macs == block.params * 13 * 13
    assert "1x1 conv, 8 -> 16 channels, stride 2" in block.formula
    assert a.total_params == 80 + (16 * 8 * 9 + 16) + 144


def test_projection_stride_search():
    assert projection_stride(28, 28, 28, 28) == 1
    assert projection_stride(28, 28, 14, 14) == 2
    assert projection_stride(7, 7, 4, 4) == 2
    assert projection_stride(28, 28, 13, 13) is None  # no stride maps 28 onto 13
    assert projection_stride(28, 20, 14, 10) == 2


def test_residual_errors():
    valid3 = L("conv2d", filters=8, kernel_size=3, stride=2)  # 28 -> 13: unmatched
    a = analyze(arch(L("residual", layers=[valid3]), L("flatten"), L("dense", units=10)))
    assert [i.rule for i in a.errors()] == ["residual-mismatch"]
    assert a.errors()[0].row == 0 and "28 into 13" in a.errors()[0].message
    a = analyze(arch(L("residual", layers=[L("flatten")]), L("dense", units=10)))
    assert "residual-needs-map" in [i.rule for i in a.errors()]
    a = analyze(arch(L("flatten"), L("residual", layers=[L("relu")]), L("dense", units=10)))
    assert [(i.rule, i.row) for i in a.errors()] == [("residual-needs-map", 1)]
    a = analyze(arch(L("residual"), L("flatten"), L("dense", units=10)))
    assert a.valid and [i.rule for i in a.issues if i.rule.startswith("residual")] == ["residual-empty"]


def test_spatial_collapse_says_which_layer_and_by_how_much():
    a = analyze(arch(L("conv2d", filters=8, kernel_size=5), L("maxpool2d", pool_size=4),
                     L("maxpool2d", pool_size=4), L("maxpool2d", pool_size=2),
                     L("conv2d", filters=8, kernel_size=3), L("flatten"), L("dense", units=10)))
    errors = a.errors()
    assert [(i.rule, i.row) for i in errors] == [("spatial-collapse", 3)]
    assert errors[0].message.startswith(
        "layer 4 (maxpool2d): the 2x2 window does not fit a 1x1 map (short by 1)")
    assert a.rows[3].out_shape is None and a.rows[4].in_shape is None
    assert a.rows[4].params == 8 * 8 * 9 + 8  # channels are still known
    assert a.rows[6].params == 0 and a.rows[6].out_shape == (10,)
    assert not a.valid and a.issues_for(3) == errors


def test_structural_errors_keep_analysing():
    a = analyze(arch(L("flatten"), L("conv2d"), L("flatten"), L("dense", units=10)))
    assert [(i.rule, i.row) for i in a.errors()] == [("conv-after-flatten", 1),
                                                      ("double-flatten", 2)]
    a = analyze(arch(L("conv2d", filters=4), L("dense", units=10)))
    assert [(i.rule, i.row) for i in a.errors()] == [("dense-before-flatten", 1)]
    assert "add flatten" in a.errors()[0].message


def test_empty_model_is_an_error():
    a = analyze(arch())
    assert a.output_shape == (1, 28, 28) and [i.rule for i in a.errors()] == ["no-layers"]
    with pytest.raises(InvalidArchitecture) as err:
        a.raise_if_invalid()
    assert err.value.exit_code == 1


def test_issues_come_errors_first_then_by_row():
    a = analyze(arch(L("dropout"), L("conv2d"), L("maxpool2d", pool_size=7),
                     L("maxpool2d", pool_size=7), L("flatten"), L("dense", units=10)))
    order = {"error": 0, "warning": 1, "hint": 2}
    keys = [(order[i.severity], -1 if i.row is None else i.row) for i in a.issues]
    assert keys == sorted(keys)


def test_sixty_layer_model_analyses():
    layers = []
    for _ in range(10):
        layers += [L("conv2d", filters=16, kernel_size=3, padding="same"), L("batchnorm"),
                   L("relu"), L("residual", layers=[L("conv2d", filters=16, kernel_size=3,
                                                      padding="same"), L("relu")])]
    layers += [L("global_avgpool"), L("dense", units=10), L("softmax")]
    a = analyze(arch(*layers))
    assert len(a.rows) == 63 and a.valid and a.output_shape == (10,)
    assert a.total_params == sum(r.params for r in a.rows)


def _any_layer(depth: int = 0):
    from hypothesis import strategies as st

    leaf = st.one_of(
        st.builds(lambda f, k, s, p, a: L("conv2d", filters=f, kernel_size=k, stride=s,
                                          padding=p, activation=a),
                  st.integers(1, 64), st.integers(1, 11), st.integers(1, 4),
                  st.sampled_from(["valid", "same"]),
                  st.sampled_from([None, "relu", "softmax", "sigmoid"])),
        st.builds(lambda t, k, s, p: L(t, pool_size=k, stride=s, padding=p),
                  st.sampled_from(["maxpool2d", "avgpool2d"]), st.integers(1, 7),
                  st.sampled_from([None, 1, 2, 7]), st.sampled_from(["valid", "same"])),
        st.builds(lambda u, a: L("dense", units=u, activation=a), st.integers(1, 8192),
                  st.sampled_from([None, "relu", "softmax"])),
        st.sampled_from(["batchnorm", "dropout", "flatten", "global_avgpool", "relu", "tanh",
                         "softmax", "leaky_relu", "gelu", "sigmoid"]).map(lambda t: L(t)),
    )
    if depth >= 2:
        return leaf
    return st.one_of(leaf, st.builds(lambda inner: L("residual", layers=inner),
                                     st.lists(_any_layer(depth + 1), max_size=4)))


def test_any_layer_list_analyses_summarises_and_scores_without_crashing():
    import json

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cnn_tui.spec.suggest import score
    from cnn_tui.spec.summary import summary_json, summary_table

    @settings(max_examples=150, deadline=None)
    @given(st.lists(_any_layer(), max_size=10), st.integers(1, 4), st.integers(1, 64),
           st.integers(1, 64), st.integers(2, 20))
    def check(layers, c, h, w, classes):
        a = analyze(arch(*layers, input=(c, h, w), classes=classes))
        assert len(a.rows) == sum(1 for _ in a.arch.walk())
        assert [r.row for r in a.rows] == list(range(len(a.rows)))
        assert a.total_params == sum(r.params for r in a.rows)
        assert a.trainable_params <= a.total_params
        for issue in a.issues:
            assert issue.severity in ("error", "warning", "hint") and "\n" not in issue.message
        for r in a.rows:
            assert r.out_shape is None or all(d >= 1 for d in r.out_shape)
        assert 0 <= score(a).value <= 100
        json.dumps(summary_json(a))
        assert summary_table(a, 80)

    check()
