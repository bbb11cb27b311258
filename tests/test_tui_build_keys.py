"""Build screen fixes driven by real key presses in the real app: a layer moved past its
identical twin, g/G/home/end, typing to filter the layer picker, the layer form under keys
typed in one burst, its dropdowns and tab stops, no stale toast over a form, and the side
panel's formulas kept whole."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual import events

from cnn_tui.spec.analysis import analyze
from cnn_tui.spec.layers import LAYER_TYPES
from cnn_tui.spec.templates import get_template
from cnn_tui.tui.app import CnnTuiApp
from cnn_tui.tui.build.layer_form import LayerForm
from cnn_tui.tui.build.layer_panel import formula_lines, panel_text
from cnn_tui.tui.build.layer_picker import LayerPicker, summary_width
from cnn_tui.tui.build.screen import BuildScreen

BEGINNER = [layer.type for layer in get_template("beginner").layers]


def _app(arch=None) -> CnnTuiApp:
    return CnnTuiApp(arch, offer_autosave=False)


def types(app) -> list[str]:
    return [layer.type for _, layer in app.document.arch.walk()]


async def burst(pilot, *keys: str) -> None:
    """Keys sent back to back, as a terminal delivers a fast burst (pilot.press waits for
    each key to be handled before sending the next)."""
    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
    await pilot.pause(0.2)


async def test_a_pasted_copy_moves_past_its_twin():
    """y p on a BatchNorm, then K K K: the copy goes past its twin and the layer above."""
    app = _app(get_template("intermediate"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        start = types(app)
        assert start[:3] == ["conv2d", "batchnorm", "relu"]
        await pilot.press("j", "y", "p")
        assert types(app)[:4] == ["conv2d", "batchnorm", "batchnorm", "relu"]
        assert screen.cursor_row == 2
        await pilot.press("K")  # past its twin: the same model, the cursor follows the layer
        assert types(app)[:4] == ["conv2d", "batchnorm", "batchnorm", "relu"]
        assert screen.cursor_row == 1
        await pilot.press("K")  # past the conv
        assert types(app)[:4] == ["batchnorm", "conv2d", "batchnorm", "relu"]
        assert screen.cursor_row == 0
        await pilot.press("K")  # at the top: nothing moves
        assert screen.cursor_row == 0
        await pilot.press("J", "J")  # and back down past the conv, then past its twin
        assert types(app)[:4] == ["conv2d", "batchnorm", "batchnorm", "relu"]
        assert screen.cursor_row == 2
        await pilot.press("u", "u", "u")  # the paste and the two real moves, nothing else
        assert types(app) == start and not app.document.can_undo


async def test_g_G_home_end_in_the_layer_list_and_the_diagram():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        last = len(BEGINNER) - 1
        await pilot.press("G")
        assert screen.cursor_row == last
        await pilot.press("g")
        assert screen.cursor_row == 0
        await pilot.press("end")
        assert screen.cursor_row == last
        await pilot.press("home")
        assert screen.cursor_row == 0
        await pilot.press("v")  # the diagram replaces the table: the same keys
        await pilot.press("G")
        assert screen.cursor_row == last
        await pilot.press("home")
        assert screen.cursor_row == 0


def _option_ids(picker) -> list[str]:
    options = picker.query_one("#picker-options")
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


async def test_typing_in_the_layer_picker_filters_it():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        picker = app.screen
        assert isinstance(picker, LayerPicker)
        everything = _option_ids(picker)
        await pilot.press("p", "o", "o")
        assert picker.query_text == "poo"
        assert _option_ids(picker) == ["type-maxpool2d", "type-avgpool2d", "type-global_avgpool"]
        assert "filter: poo" in str(picker.query_one("Label").render())
        await pilot.press("backspace", "backspace", "backspace", "d")
        shown = _option_ids(picker)
        assert shown[:2] == ["type-dropout", "type-dense"]  # names starting with d first
        assert "type-conv2d" in shown  # then those holding it ("Conv2D")
        await pilot.press("e")
        assert _option_ids(picker) == ["type-dense"]
        await pilot.press("escape")  # clears the filter first
        assert isinstance(app.screen, LayerPicker) and _option_ids(picker) == everything
        await pilot.press(*"batch", "enter")  # the first match is highlighted
        assert isinstance(app.screen, BuildScreen)
        assert types(app)[:3] == ["conv2d", "batchnorm", "relu"]
        await pilot.press("a", "escape")  # escape with no filter cancels
        assert isinstance(app.screen, BuildScreen)


async def test_layer_picker_summaries_are_whole_at_120_columns():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        options = app.screen.query_one("#picker-options")
        for name, kind in LAYER_TYPES.items():
            prompt = options.get_option(f"type-{name}").prompt
            assert kind.summary in Text(prompt).plain if isinstance(prompt, str) else \
                kind.summary in prompt.plain
        assert summary_width(120) >= max(len(k.summary) for k in LAYER_TYPES.values())
        # the box holds them: no option line wider than the list
        assert options.max_scroll_x == 0


async def _edit_row(pilot, row: int) -> LayerForm:
    for _ in range(row):
        await pilot.press("j")
    await pilot.press("enter")
    await pilot.pause()
    form = pilot.app.screen
    assert isinstance(form, LayerForm)
    return form


async def test_keys_typed_in_one_burst_apply_in_order():
    """A field holding 2, `backspace 3` in one burst: 3 (it was 2, or empty, before)."""
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = await _edit_row(pilot, 2)  # MaxPool2D, pool size 2
        field = form.query_one("#field-pool_size")
        assert app.focused is field and field.value == "2"
        await burst(pilot, "backspace", "3")
        assert field.value == "3"
        await burst(pilot, "end", "backspace", "4", "left", "5")
        assert field.value == "54" and "pool_size" in form.errors  # above 7: refused
        await burst(pilot, "end", "backspace", "backspace", "2", "enter")
        assert isinstance(app.screen, BuildScreen)
        assert app.document.arch.layers[2].params["pool_size"] == 2


async def test_dropdown_shows_a_typed_value_that_is_not_a_usual_one_and_up_down_step():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = await _edit_row(pilot, 0)  # Conv2D: filters 8, kernel 3
        field, pick = form.query_one("#field-filters"), form.query_one("#pick-filters")
        assert pick.value == 8
        await pilot.press("backspace", "2", "0")
        assert field.value == "20" and pick.value == 20  # not a usual value: shown anyway
        assert str(pick.query_one("#label").render()) == "20"
        await pilot.press("up")  # the next usual value above 20
        assert field.value == "32" and pick.value == 32
        await pilot.press("down", "down")
        assert field.value == "8"
        await pilot.press("down")  # none smaller: stays
        assert field.value == "8"
        assert "(was" not in str(form.query_one("#effect").render())
        await pilot.press("up")
        assert "16x26x26" in str(form.query_one("#effect").render())
        await pilot.press("backspace", "backspace")
        assert pick.is_blank()  # nothing valid typed
        pick.value = 64  # a pick with the mouse fills the field
        await pilot.pause()
        assert field.value == "64"


async def test_one_tab_stop_per_field():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = await _edit_row(pilot, 0)
        names = [p.name for p in LAYER_TYPES["conv2d"].params]
        assert [w.id for w in form.focus_chain] == [f"field-{n}" for n in names]
        for name in names[1:] + names[:1]:
            await pilot.press("tab")
            assert app.focused.id == f"field-{name}"
        await pilot.press("escape")
        await pilot.press("m")  # the model settings form too (then its effect, which scrolls)
        assert [w.id for w in app.screen.focus_chain][:6] == [
            "field-name", "field-channels", "field-height", "field-width", "field-classes",
            "resize-head"]


async def test_a_stale_toast_does_not_stay_over_the_form():
    app = _app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("y")  # "copied Conv2D ..."
        await pilot.pause()
        assert app.screen.query("Toast")
        await pilot.press("enter")
        await pilot.pause()
        # none on the form, and none showing through from the screen behind it
        assert isinstance(app.screen, LayerForm) and not app.screen.query("Toast")
        assert not app.build_screen().query("Toast")
        await pilot.press("escape", "y", "m")
        await pilot.pause()
        assert not app.screen.query("Toast") and not app.build_screen().query("Toast")


@pytest.mark.parametrize("width", [20, 30, 43, 60])
def test_formulas_break_only_between_their_parts(width):
    for name in ("beginner", "residual", "lenet5", "advanced"):
        analysis = analyze(get_template(name))
        for info in analysis.rows:
            for formula in filter(None, (info.formula, info.param_formula and
                                         f"params: {info.param_formula}")):
                lines = formula_lines(formula, width)
                assert " ".join(lines) == formula
                for line in lines:  # never cut inside brackets or parentheses
                    assert line.count("(") == line.count(")")
                    assert line.count("[") == line.count("]")
                    assert not line.endswith(("=", "+", "-", " x"))


async def test_the_panel_keeps_formulas_whole_and_does_not_repeat_the_shape():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        body = str(app.screen.query_one("#panel-body").render())
        lines = [line.strip() for line in body.splitlines()]
        assert "(28 - 3)/1 + 1 = 26" in lines  # whole, on its own line in the 46-column panel
        assert "28 -> 26: kernel 3, padding valid:" in lines
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("G", "k", "k", "k", "k")  # Dense 64
        await pilot.pause()
        body = str(app.screen.query_one("#panel-body").render())
        assert body.count("400 -> 64") == 1
    text = panel_text(analyze(get_template("beginner")), 7).plain
    assert text.count("400 -> 64") == 1 and "400 x 64 + 64 bias = 25,664" in text
