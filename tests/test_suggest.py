"""Next-layer suggestions fit the cursor's context and never break a model; the score explains itself."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnn_tui.spec.analysis import analyze
from cnn_tui.spec.edit import insert_after
from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.suggest import Score, Suggestion, score, suggest

L = Layer.make


def types(arch, row):
    return [s.type for s in suggest(arch, row)]


def test_after_a_conv_comes_batchnorm_or_relu_first():
    arch = Architecture([L("conv2d", filters=8, kernel_size=3)])
    assert types(arch, 0)[:2] == ["batchnorm", "relu"]


def test_after_an_activation_comes_pool_or_conv():
    arch = Architecture([L("conv2d", filters=8, kernel_size=3), L("relu")])
    got = suggest(arch, 1)
    assert got[0].type == "maxpool2d" and "conv2d" in [s.type for s in got]
    conv = next(s for s in got if s.type == "conv2d")
    assert conv.params["filters"] == 16  # twice the channels


def test_small_map_offers_flatten_and_global_avgpool_and_no_shrinking_pool():
    arch = Architecture([L("conv2d", filters=8, kernel_size=3, activation="relu"),
                         L("maxpool2d", pool_size=4), L("maxpool2d", pool_size=6)])
    assert analyze(arch).rows[-1].out_shape == (8, 1, 1)
    got = types(arch, 2)
    assert got[:2] == ["flatten", "global_avgpool"]
    assert "maxpool2d" not in got and "avgpool2d" not in got
    arch = Architecture([L("conv2d", filters=8, kernel_size=3, activation="relu"),
                         L("maxpool2d", pool_size=4)])  # 6x6
    assert types(arch, 1)[:2] == ["flatten", "global_avgpool"]


def test_after_flatten_comes_dense_and_at_the_end_softmax():
    base = [L("conv2d", filters=8, kernel_size=3, activation="relu"), L("maxpool2d"),
            L("flatten")]
    got = suggest(Architecture(base), 2)
    assert got[0].type == "dense" and any(s.params.get("units") == 10 for s in got
                                          if s.type == "dense")
    arch = Architecture(base + [L("dense", units=10)])
    assert [(s.type, s.params) for s in suggest(arch, 3)] == [("softmax", {})]
    assert suggest(Architecture(base + [L("dense", units=10), L("softmax")]), 4) == []
    assert suggest(Architecture(base + [L("dense", units=10), L("softmax")]), 3) == []


def test_start_of_an_empty_model_and_an_empty_block():
    got = suggest(Architecture([]), None)
    assert got and got[0].type == "conv2d"
    arch = Architecture([L("conv2d", filters=8, kernel_size=3, activation="relu"),
                         L("residual")])
    first = suggest(arch, 1)[0]
    assert first.type == "conv2d" and first.params == {"filters": 8, "kernel_size": 3,
                                                         "padding": "same"}


def test_suggestion_params_create_the_layer():
    s = Suggestion("dense", {"units": 10}, "output")
    assert s.layer().params["units"] == 10 and s.label() == "dense(units=10)"


def test_a_row_out_of_range_gets_no_suggestions():
    assert suggest(Architecture([L("relu")]), 5) == []
    assert suggest(Architecture([]), 0) == []


LAYERS = st.one_of(
    st.builds(lambda f, k, s, p, a: L("conv2d", filters=f, kernel_size=k, stride=s, padding=p,
                                      activation=a),
              st.sampled_from([4, 8]), st.integers(1, 7), st.integers(1, 3),
              st.sampled_from(["valid", "same"]), st.sampled_from([None, "relu"])),
    st.builds(lambda t, k: L(t, pool_size=k), st.sampled_from(["maxpool2d", "avgpool2d"]),
              st.integers(2, 5)),
    st.sampled_from(["relu", "batchnorm", "dropout", "flatten", "global_avgpool", "softmax",
                     "residual"]).map(lambda t: L(t)),
    st.builds(lambda u: L("dense", units=u), st.sampled_from([10, 32])),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LAYERS, max_size=8), st.data())
def test_a_suggestion_never_adds_an_error_or_a_warning(layers, data):
    arch = Architecture(layers)
    a = analyze(arch)
    row = data.draw(st.sampled_from([None] + list(range(len(a.rows)))))
    for s in suggest(arch, row):
        edit = insert_after(arch, row, s.layer())
        b = analyze(edit.arch)
        assert len(b.errors()) <= len(a.errors()), (s, [i.message for i in b.errors()])
        assert len(b.warnings()) <= len(a.warnings()), s
        assert not [i for i in b.issues_for(edit.row) if i.rule != "wrong-class-count"], s
        assert s.reason and "\n" not in s.reason


def test_score_ranks_templates_high_and_broken_models_low():
    from cnn_tui.spec.templates import TEMPLATES

    for name, factory in TEMPLATES.items():
        sc = score(analyze(factory()))
        assert isinstance(sc, Score) and 80 <= sc.value <= 100, (name, sc)
        assert sc.reasons[0].startswith("+30 valid")
    broken = analyze(Architecture([L("conv2d", filters=8, kernel_size=3), L("dense", units=10)]))
    sc = score(broken)
    assert sc.value <= 40 and any(r.startswith("-15 error dense-before-flatten at layer 2")
                                  for r in sc.reasons)
    assert score(analyze(Architecture([]))).value < 20


def test_score_reasons_add_up_and_penalise_a_huge_dense():
    arch = Architecture([L("conv2d", filters=32, kernel_size=3, padding="same",
                           activation="relu"), L("flatten"),
                         L("dense", units=256, activation="relu"), L("dense", units=10),
                         L("softmax")])
    sc = score(analyze(arch))
    assert "-15 warning dense-too-large at layer 3" in sc.reasons
    total = sum(int(r.split()[0]) for r in sc.reasons)
    assert sc.value == max(0, min(100, total))
