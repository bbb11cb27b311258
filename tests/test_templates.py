"""The templates: the seed README's exact layer lists, valid shapes, fresh copies, lookups."""

from __future__ import annotations

import pytest

from cnn_tui.errors import SpecError
from cnn_tui.spec.analysis import analyze
from cnn_tui.spec.io import dumps, parse_json_text
from cnn_tui.spec.templates import TEMPLATE_INFO, TEMPLATES, get_template


def _short(layer) -> str:
    """A compact spelling of one layer, close to the seed README's notation."""
    p = layer.params
    if layer.type == "conv2d":
        return f"conv{p['filters']}/{p['kernel_size']}/{p['padding']}"
    if layer.type in ("maxpool2d", "avgpool2d"):
        return f"{layer.type[:3]}{p['pool_size']}"
    if layer.type == "dense":
        return f"dense{p['units']}"
    if layer.type == "dropout":
        return f"drop{p['rate']}"
    if layer.type == "residual":
        return "res[" + " ".join(_short(l) for l in layer.layers) + "]"
    return layer.type


def _seq(name: str) -> str:
    return " ".join(_short(l) for l in get_template(name).layers)


def _cbr(f: int, pad: str = "valid") -> str:
    return f"conv{f}/3/{pad} batchnorm relu"


def test_keys_are_ordered_and_described():
    assert list(TEMPLATES) == ["beginner", "intermediate", "advanced", "lenet5", "residual"]
    assert set(TEMPLATE_INFO) == set(TEMPLATES)
    assert all(TEMPLATE_INFO[k] and "\n" not in TEMPLATE_INFO[k] for k in TEMPLATES)


def test_beginner_is_the_seed_list():
    assert _seq("beginner") == (
        "conv8/3/valid relu max2 conv16/3/valid relu max2 flatten "
        "dense64 relu drop0.25 dense10 softmax")


def test_intermediate_is_the_seed_list():
    assert _seq("intermediate") == " ".join([
        _cbr(16), _cbr(16), "max2 drop0.1", _cbr(32), _cbr(32), "max2 drop0.1", "flatten",
        "dense128 relu drop0.3", "dense10 softmax"])


def test_advanced_is_the_seed_list_with_its_third_block_padded_same():
    assert _seq("advanced") == " ".join([
        _cbr(32), _cbr(32), "max2 drop0.1", _cbr(64), _cbr(64), "max2 drop0.1",
        _cbr(128, "same"), _cbr(128, "same"), "max2 drop0.2", "flatten",
        "dense256 relu drop0.4", "dense128 relu drop0.3", "dense10 softmax"])
    assert "same" in TEMPLATE_INFO["advanced"]


def test_advanced_all_valid_would_not_fit():
    """The reason for the padding decision: with Keras' default 'valid' the 6th conv has no room."""
    arch = get_template("advanced")
    for layer in arch.layers:
        if layer.type == "conv2d":
            layer.params["padding"] = "valid"
    assert not analyze(arch).valid


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_is_valid_and_ends_in_ten_classes(name):
    result = analyze(get_template(name))
    assert result.valid, [i.message for i in result.errors()]
    assert result.output_shape == (10,)


def test_parameter_counts_match_the_seed_table_where_it_gives_them():
    # Seed table: Simple ~25K, Intermediate ~85K (both with valid padding, as built here).
    assert analyze(get_template("beginner")).total_params == 27_562
    assert analyze(get_template("intermediate")).total_params == 83_514
    assert analyze(get_template("advanced")).total_params == 452_842
    assert analyze(get_template("lenet5")).total_params == 61_706  # LeCun's classic figure


def test_advanced_map_sizes():
    rows = analyze(get_template("advanced")).top_rows()
    sizes = [r.out_shape[1] for r in rows if r.layer.type in ("conv2d", "maxpool2d")]
    assert sizes == [26, 24, 12, 10, 8, 4, 4, 4, 2]


def test_lenet5_and_residual_shapes():
    assert _seq("lenet5") == ("conv6/5/same tanh avg2 conv16/5/valid tanh avg2 flatten "
                              "dense120 tanh dense84 tanh dense10 softmax")
    rows = analyze(get_template("residual")).rows
    blocks = [r for r in rows if r.layer.type == "residual"]
    assert len(blocks) == 2
    # The first block keeps 16 channels (identity shortcut), the second needs the projection.
    assert [b.projection for b in blocks] == [False, True]


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_templates_carry_training_and_round_trip(name):
    arch = get_template(name)
    assert {"optimizer", "learning_rate", "batch_size", "epochs"} <= set(arch.training)
    text = dumps(arch)
    assert parse_json_text(text, "t") == arch
    assert dumps(parse_json_text(text, "t")) == text


def test_advanced_training_defaults():
    assert get_template("advanced").training == {
        "optimizer": "adam", "learning_rate": 0.003, "batch_size": 128, "epochs": 12,
        "schedule": "onecycle"}


def test_each_call_is_a_fresh_copy():
    a = get_template("beginner")
    a.layers.pop()
    a.training["epochs"] = 1
    b = get_template("beginner")
    assert len(b.layers) == 12 and b.training["epochs"] == 10


@pytest.mark.parametrize("spelling", ["LeNet-5", "lenet_5", " LENET5 ", "lenet5"])
def test_lookup_is_forgiving(spelling):
    assert get_template(spelling).name == "LeNet-5"


def test_unknown_template_names_the_known_ones():
    with pytest.raises(SpecError) as err:
        get_template("alexnet")
    assert "alexnet" in str(err.value)
    for name in TEMPLATES:
        assert name in str(err.value)
