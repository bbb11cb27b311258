"""Row-addressed edits: every edit returns a new architecture and the cursor row, blocks included."""

from __future__ import annotations

import pytest

from cnn_tui.errors import SpecError
from cnn_tui.spec import edit
from cnn_tui.spec.model import MAX_DEPTH, Architecture, Layer

L = Layer.make


def types(arch: Architecture) -> list[str]:
    """The rows as 'type' with one leading '.' per nesting level."""
    return ["." * depth + layer.type for depth, layer in arch.walk()]


@pytest.fixture
def flat() -> Architecture:
    return Architecture([L("conv2d"), L("relu"), L("flatten"), L("dense", units=10)])


@pytest.fixture
def nested() -> Architecture:
    # rows: 0 conv2d, 1 residual, 2 .conv2d, 3 .relu, 4 flatten
    block = L("residual", layers=[L("conv2d", padding="same"), L("relu")])
    return Architecture([L("conv2d", padding="same"), block, L("flatten")])


def test_insert_after_returns_new_architecture_and_cursor(flat):
    before = flat.to_dict()
    result = edit.insert_after(flat, 1, L("maxpool2d"))
    assert types(result.arch) == ["conv2d", "relu", "maxpool2d", "flatten", "dense"]
    assert result.row == 2
    assert flat.to_dict() == before  # the input is untouched


def test_insert_after_none_puts_the_layer_at_the_top_and_works_on_an_empty_list():
    empty = Architecture([])
    result = edit.insert_after(empty, None, L("conv2d"))
    assert types(result.arch) == ["conv2d"] and result.row == 0
    again = edit.insert_after(result.arch, None, L("relu"))
    assert types(again.arch) == ["relu", "conv2d"] and again.row == 0


def test_insert_before(flat):
    result = edit.insert_before(flat, 0, L("batchnorm"))
    assert types(result.arch)[:2] == ["batchnorm", "conv2d"]
    assert result.row == 0


def test_insert_after_a_block_goes_after_the_whole_block(nested):
    result = edit.insert_after(nested, 1, L("relu"))
    assert types(result.arch) == ["conv2d", "residual", ".conv2d", ".relu", "relu", "flatten"]
    assert result.row == 4


def test_insert_after_and_before_an_inner_row_stay_inside_the_block(nested):
    after = edit.insert_after(nested, 2, L("batchnorm"))
    assert types(after.arch) == ["conv2d", "residual", ".conv2d", ".batchnorm", ".relu", "flatten"]
    assert after.row == 3
    before = edit.insert_before(nested, 2, L("batchnorm"))
    assert types(before.arch) == ["conv2d", "residual", ".batchnorm", ".conv2d", ".relu",
                                  "flatten"]
    assert before.row == 2


def test_insert_after_an_empty_block_enters_it():
    arch = Architecture([L("residual"), L("flatten")])
    result = edit.insert_after(arch, 0, L("conv2d", padding="same"))
    assert types(result.arch) == ["residual", ".conv2d", "flatten"]
    assert result.row == 1


def test_delete_keeps_the_cursor_in_place_and_clamps_at_the_end(flat):
    middle = edit.delete(flat, 1)
    assert types(middle.arch) == ["conv2d", "flatten", "dense"] and middle.row == 1
    last = edit.delete(flat, 3)
    assert types(last.arch) == ["conv2d", "relu", "flatten"] and last.row == 2


def test_delete_the_only_layer_leaves_no_cursor():
    result = edit.delete(Architecture([L("relu")]), 0)
    assert result.arch.layers == [] and result.row is None


def test_delete_a_block_removes_its_inner_rows(nested):
    result = edit.delete(nested, 1)
    assert types(result.arch) == ["conv2d", "flatten"]
    assert result.row == 1


def test_delete_an_inner_row(nested):
    result = edit.delete(nested, 3)
    assert types(result.arch) == ["conv2d", "residual", ".conv2d", "flatten"]


def test_move_swaps_with_neighbours(flat):
    down = edit.move(flat, 0, +1)
    assert types(down.arch) == ["relu", "conv2d", "flatten", "dense"] and down.row == 1
    up = edit.move(down.arch, 1, -1)
    assert up.arch == flat and up.row == 0


def test_move_at_the_edges_of_the_list_changes_nothing(flat):
    assert edit.move(flat, 0, -1).arch == flat
    assert edit.move(flat, 3, +1).arch == flat
    assert edit.move(flat, 3, +1).row == 3


def test_move_a_block_moves_its_inner_rows_with_it(nested):
    result = edit.move(nested, 1, -1)
    assert types(result.arch) == ["residual", ".conv2d", ".relu", "conv2d", "flatten"]
    assert result.row == 0
    down = edit.move(nested, 0, +1)  # the conv swaps with the whole block
    assert types(down.arch) == ["residual", ".conv2d", ".relu", "conv2d", "flatten"]
    assert down.row == 3


def test_move_steps_out_of_a_block_at_its_edges(nested):
    up = edit.move(nested, 2, -1)
    assert types(up.arch) == ["conv2d", "conv2d", "residual", ".relu", "flatten"]
    assert up.row == 1
    down = edit.move(nested, 3, +1)
    assert types(down.arch) == ["conv2d", "residual", ".conv2d", "relu", "flatten"]
    assert down.row == 3


def test_move_refuses_other_steps(flat):
    with pytest.raises(ValueError):
        edit.move(flat, 0, 2)


def test_replace_keeps_position(flat):
    result = edit.replace(flat, 3, L("dense", units=32, activation="relu"))
    assert result.arch.layers[3].params["units"] == 32 and result.row == 3
    assert flat.layers[3].params["units"] == 10


def test_replace_inner_row(nested):
    result = edit.replace(nested, 3, L("gelu"))
    assert types(result.arch) == ["conv2d", "residual", ".conv2d", ".gelu", "flatten"]


def test_copy_and_paste_a_block_is_deep(nested):
    clip = edit.copy_layer(nested, 1)
    first = edit.paste_after(nested, 4, clip)
    assert types(first.arch)[-3:] == ["residual", ".conv2d", ".relu"]
    assert first.row == 5
    second = edit.paste_after(first.arch, 5, clip)  # the clipboard is still intact
    assert types(second.arch).count("residual") == 3
    second.arch.layers[-1].layers[0].params["filters"] = 99
    assert clip.layers[0].params["filters"] == 16
    assert first.arch.layers[-1].layers[0].params["filters"] == 16


def test_bad_rows_raise_one_line_spec_errors(flat):
    with pytest.raises(SpecError, match="no such layer"):
        edit.delete(flat, 4)
    with pytest.raises(SpecError, match="no such layer"):
        edit.replace(flat, -1, L("relu"))


def test_nesting_beyond_the_file_limit_is_refused():
    block = L("residual")
    for _ in range(MAX_DEPTH - 1):
        block = L("residual", layers=[block])
    arch = Architecture([block])
    deepest = edit.row_count(arch) - 1
    assert edit.row_depth(arch, deepest) == MAX_DEPTH - 1
    with pytest.raises(SpecError, match="nested too deep"):
        edit.insert_after(arch, deepest, L("residual"))


def test_every_edit_result_round_trips_through_the_file_format(nested):
    result = edit.paste_after(nested, 2, edit.copy_layer(nested, 1))
    assert Architecture.from_dict(result.arch.to_dict()) == result.arch


def test_layer_at_and_subtree_size(nested):
    assert edit.layer_at(nested, 3).type == "relu"
    assert edit.subtree_size(edit.layer_at(nested, 1)) == 3
    assert edit.row_count(nested) == 5


# -- property: any sequence of edits keeps a well-formed, file-valid architecture ---------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SIMPLE = ["conv2d", "relu", "batchnorm", "maxpool2d", "dropout", "flatten", "dense", "residual"]
OPS = st.tuples(st.sampled_from(["after", "before", "delete", "up", "down", "paste", "replace"]),
                st.integers(0, 40), st.sampled_from(SIMPLE))


@settings(max_examples=60, deadline=None)
@given(st.lists(OPS, max_size=25))
def test_random_edit_sequences_stay_valid(ops):
    arch = Architecture([L("conv2d"), L("residual", layers=[L("relu")]), L("flatten")])
    clip = None
    for op, pick, type_ in ops:
        n = edit.row_count(arch)
        row = pick % n if n else None
        layer = L(type_)
        if op == "after":
            result = edit.insert_after(arch, row, layer)
        elif op == "before":
            result = edit.insert_before(arch, row, layer)
        elif row is None:
            continue
        elif op == "delete":
            clip = edit.copy_layer(arch, row)
            result = edit.delete(arch, row)
        elif op in ("up", "down"):
            result = edit.move(arch, row, -1 if op == "up" else 1)
            moved = edit.layer_at(result.arch, result.row)
            assert moved == edit.layer_at(arch, row)  # the cursor follows the moved layer
        elif op == "paste":
            if clip is None:
                continue
            result = edit.paste_after(arch, row, clip)
        else:
            result = edit.replace(arch, row, layer)
        count = edit.row_count(result.arch)
        assert (result.row is None) == (count == 0)
        assert result.row is None or 0 <= result.row < count
        assert Architecture.from_dict(result.arch.to_dict()) == result.arch
        arch = result.arch


def test_change_type_keeps_the_settings_both_types_have():
    arch = Architecture([L("conv2d", filters=32, kernel_size=5, activation="relu"),
                         L("maxpool2d", pool_size=3, stride=2, padding="same"), L("flatten"),
                         L("dense", units=10)])
    to_avg = edit.change_type(arch, 1, "avgpool2d")
    assert to_avg.row == 1 and arch.layers[1].type == "maxpool2d"  # the input is untouched
    assert to_avg.arch.layers[1] == L("avgpool2d", pool_size=3, stride=2, padding="same")
    to_dense = edit.change_type(arch, 0, "dense")
    assert to_dense.arch.layers[0] == L("dense", activation="relu")  # units: the default
    to_pool = edit.change_type(arch, 0, "maxpool2d")  # kernel 5 is no pool size: nothing moves
    assert to_pool.arch.layers[0] == L("maxpool2d")


def test_change_type_fills_from_defaults_then_the_old_layer_wins():
    arch = Architecture([L("dense", units=64, activation="tanh"), L("dense", units=10)])
    got = edit.change_type(arch, 0, "conv2d", {"filters": 8, "kernel_size": 3,
                                               "activation": "relu"})
    assert got.arch.layers[0] == L("conv2d", filters=8, kernel_size=3, activation="tanh")
    bad = edit.change_type(arch, 0, "dropout", {"rate": 7})  # an invalid default is dropped
    assert bad.arch.layers[0] == L("dropout")


def test_change_type_to_residual_wraps_and_a_block_is_refused(nested):
    wrapped = edit.change_type(nested, 0, "residual")
    assert types(wrapped.arch) == ["residual", ".conv2d", "residual", ".conv2d", ".relu",
                                   "flatten"]
    inner = edit.change_type(nested, 3, "gelu")  # inside a block: stays there
    assert types(inner.arch) == ["conv2d", "residual", ".conv2d", ".gelu", "flatten"]
    assert inner.row == 3
    with pytest.raises(SpecError, match="layer 2: a residual block keeps its type"):
        edit.change_type(nested, 1, "conv2d")
    with pytest.raises(SpecError, match="unknown layer type 'conv3d'"):
        edit.change_type(nested, 0, "conv3d")
    assert edit.change_type(nested, 0, "conv2d").arch is nested  # the same type: no edit


def test_change_type_to_residual_respects_the_nesting_limit():
    layer = L("relu")
    for _ in range(MAX_DEPTH):
        layer = L("residual", layers=[layer])
    arch = Architecture([layer])
    deepest = len(list(arch.walk())) - 1
    with pytest.raises(SpecError):
        edit.change_type(arch, deepest, "residual")
