"""The model settings form (m on the Build screen, "Model settings…" in the palette), driven by
real key presses in the real app: rename and undo, a new input shape re-analysed live, refused
values shown in place, escape, the final-dense option, and the form's ranges against the file
format's."""

from __future__ import annotations

import pytest

from cnn_tui.errors import SpecError
from cnn_tui.spec.model import MAX_NAME, Architecture, Layer
from cnn_tui.spec.templates import get_template
from cnn_tui.tui.app import CnnTuiApp
from cnn_tui.tui.build.model_form import (NUMBER_FIELDS, ModelForm, change_label,
                                            final_dense, parse_name, spec_check, with_settings)
from cnn_tui.tui.build.screen import BuildScreen
from cnn_tui.tui.build.layer_list import LayerList

L = Layer.make


def _app(arch: Architecture | None = None) -> CnnTuiApp:
    return CnnTuiApp(arch, offer_autosave=False)


def table_cell(app, row: int, column: str) -> str:
    table = app.build_screen().query_one(LayerList)
    return str(table.get_cell_at((row, table.get_column_index(column))))


def text_of(form, selector: str) -> str:
    return str(form.query_one(selector).render())


async def open_form(pilot) -> ModelForm:
    await pilot.press("m")
    form = pilot.app.screen
    assert isinstance(form, ModelForm)
    return form


async def retype(pilot, form, field: str, text: str) -> None:
    """Focus a field, empty it and type `text` key by key, as a user would."""
    widget = form.query_one(f"#field-{field}")
    widget.focus()
    widget.value = ""
    await pilot.press(*(text or ()))
    await pilot.pause()


async def test_rename_applies_once_updates_the_title_and_undoes():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = await open_form(pilot)
        name = form.query_one("#field-name")
        assert app.focused is name and name.value == "Beginner"
        await pilot.press("end", *" v2")
        assert "Beginner v2 | input 1x28x28" in text_of(app.build_screen(), "#input-line")
        assert app.document.arch.name == "Beginner"  # a preview only, not applied
        await pilot.press("enter")
        assert isinstance(app.screen, BuildScreen)
        assert app.document.arch.name == "Beginner v2"
        assert app.document.dirty and "Beginner v2" in app.sub_title
        assert text_of(app.screen, "#input-line").startswith("Beginner v2 | input 1x28x28")
        await pilot.press("u")
        assert app.document.arch.name == "Beginner" and not app.document.dirty
        assert text_of(app.screen, "#input-line").startswith("Beginner | input")
        # no change (spaces around the name are trimmed): nothing recorded
        await open_form(pilot)
        await pilot.press("end", "space", "enter")
        assert isinstance(app.screen, BuildScreen)
        assert app.document.arch.name == "Beginner"
        assert app.document.can_redo and not app.document.dirty  # the redo branch survives


async def test_colour_input_is_reanalysed_live_then_applied_and_undone():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = await open_form(pilot)
        form.query_one("#pick-channels").value = 3  # the usual values sit beside the field
        await pilot.pause()
        assert form.query_one("#field-channels").value == "3"
        await retype(pilot, form, "height", "32")
        await retype(pilot, form, "width", "32")
        assert form.query_one("#pick-width").value == 32  # the usual value follows the typing
        effect = text_of(form, "#effect")
        assert "input 3x32x32 (was 1x28x28)" in effect
        assert "params 38,970 (was 27,562)" in effect  # conv1 sees 3 channels, dense1 6x6x16
        assert "Not MNIST-shaped" in effect and "not trained on MNIST here" in effect
        build = app.build_screen()
        assert build.analysis.total_params == 38_970  # the table behind already shows it
        assert table_cell(app, 0, "output") == "8x30x30"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, BuildScreen)
        assert app.document.arch.input == (3, 32, 32)
        assert table_cell(app, 0, "params") == "224"
        assert table_cell(app, 3, "output") == "16x13x13"
        assert "input 3x32x32" in text_of(app.screen, "#input-line")
        await pilot.press("u")
        assert app.document.arch.input == (1, 28, 28)
        assert table_cell(app, 0, "output") == "8x26x26"


async def test_refused_values_stay_in_the_form_with_their_reason_and_escape_cancels():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        version = app.document.version
        form = await open_form(pilot)
        await retype(pilot, form, "name", "")
        await retype(pilot, form, "channels", "0")
        await retype(pilot, form, "height", "abc")
        assert set(form.errors) == {"name", "channels", "height"}
        assert "refused: must not be empty" in text_of(form, "#msg-name")
        assert "refused: must be 1..16, got 0" in text_of(form, "#msg-channels")
        assert "refused: must be an integer, got 'abc'" in text_of(form, "#msg-height")
        assert "3 refused" in text_of(form, "#effect")
        await pilot.press("enter")  # refused: the form stays, the focus goes to the first bad one
        assert app.screen is form and app.focused is form.query_one("#field-name")
        await pilot.press("ctrl+s")
        assert app.screen is form
        await retype(pilot, form, "classes", "1")
        assert "refused: must be 2..10000, got 1" in text_of(form, "#msg-classes")
        await pilot.press("escape")
        assert isinstance(app.screen, BuildScreen)
        assert app.document.version == version and not app.document.can_undo
        assert app.document.arch == get_template("beginner")


async def test_input_too_small_shows_the_errors_it_causes_before_applying_at_80x24():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(pilot)
        await retype(pilot, form, "height", "4")
        pick = form.query_one("#pick-height")  # 4 is not one of the usual values: shown anyway
        assert pick.value == 4 and "4" in str(pick.query_one("#label").render())
        effect = text_of(form, "#effect")
        assert "new ✗ layer 4 (conv2d): the 3x3 kernel does not fit" in effect
        await pilot.pause()
        keys = form.query_one("#form-keys")  # still on screen under the long effect
        assert keys.region.height == 1 and keys.region.bottom <= 24
        assert form.query_one("#effect-box").region.height >= 3
        assert any(table_cell(app, r, "marker") == "✗" for r in range(12))
        await pilot.press("escape")  # the preview is withdrawn
        assert not any(table_cell(app, r, "marker") == "✗" for r in range(12))
        assert app.document.arch.input == (1, 28, 28)


async def test_classes_also_resize_the_final_dense_layer_in_one_undoable_step():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = await open_form(pilot)
        head = form.query_one("#resize-head")
        assert head.value and "dense layer 11's units (10) follow the classes" in str(head.label)
        await retype(pilot, form, "classes", "5")
        effect = text_of(form, "#effect")
        assert "output 5 (was 10)" in effect and "new ✗" not in effect
        head.value = False  # without it the model no longer ends in one score per class
        await pilot.pause()
        assert "there are 5 classes: end with dense(5)" in text_of(form, "#effect")
        head.value = True
        await pilot.pause()
        await retype(pilot, form, "classes", "9000")  # a dense layer holds at most 8192 units
        assert "refused: layer 11 units: must be 1..8192" in text_of(form, "#msg-head")
        await retype(pilot, form, "classes", "5")
        await pilot.press("enter")
        assert app.document.arch.classes == 5
        assert app.document.arch.layers[10].params["units"] == 5
        await pilot.press("u")
        assert app.document.arch.classes == 10
        assert app.document.arch.layers[10].params["units"] == 10


async def test_palette_entry_opens_the_form_from_another_screen():
    from textual.command import CommandInput, CommandList, CommandPalette

    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.press("ctrl+p")
        await pilot.pause()
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        palette.query_one(CommandInput).value = "Model settings"
        for _ in range(50):
            await pilot.pause(0.05)
            if palette.query_one(CommandList).option_count:
                break
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.current_mode == "build" and isinstance(app.screen, ModelForm)
        await retype(pilot, app.screen, "name", "From the palette")
        await pilot.press("enter")
        assert app.document.arch.name == "From the palette"


@pytest.mark.parametrize("field,lo,hi", [(p.name, int(p.lo), int(p.hi)) for p in NUMBER_FIELDS])
def test_the_form_ranges_are_the_file_formats(field, lo, hi):
    def check(value: int) -> None:
        values = {"channels": 1, "height": 28, "width": 28, "classes": 10, field: value}
        spec_check("m", (values["channels"], values["height"], values["width"]),
                   values["classes"])

    check(lo)
    check(hi)
    for bad in (lo - 1, hi + 1):
        with pytest.raises(SpecError):
            check(bad)


def test_names_are_trimmed_and_held_to_the_file_formats_length():
    assert parse_name("  Tiny  ") == "Tiny"
    assert parse_name("x" * MAX_NAME) == "x" * MAX_NAME
    for bad in ("", "   ", "x" * (MAX_NAME + 1), "bad \udc80"):
        with pytest.raises(SpecError):
            parse_name(bad)


def test_final_dense_skips_trailing_activations_and_dropout_only():
    beginner = get_template("beginner")
    assert final_dense(beginner) == (10, 10)
    ends_in_conv = Architecture([L("conv2d", filters=4, kernel_size=3), L("relu")])
    assert final_dense(ends_in_conv) is None
    block = Architecture([L("residual", layers=[L("conv2d", filters=1, kernel_size=3,
                                                   padding="same")]),
                          L("flatten"), L("dense", units=10), L("dropout", rate=0.1)])
    assert final_dense(block) == (2, 3)  # the block's inner row counts in the table's rows


def test_undo_labels_name_what_changed():
    old = get_template("beginner")
    new = with_settings(old, "Tiny", (3, 32, 32), 5, resize_head=True)
    assert change_label(old, new) == ("model: rename to 'Tiny', input 3x32x32, 5 classes, "
                                      "final dense units")
    assert old.classes == 10 and old.layers[10].params["units"] == 10  # old left untouched
    assert change_label(old, with_settings(old, "Beginner", (1, 28, 28), 10)) == "model: no change"


async def test_the_key_can_be_rebound_and_help_lists_it():
    from cnn_tui import locations

    folder = locations.config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text('[keys]\n"build.model" = "f6"\n', encoding="utf-8")
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")  # rebound: m no longer opens it
        assert isinstance(app.screen, BuildScreen)
        await pilot.press("f6")
        assert isinstance(app.screen, ModelForm)
        await pilot.press("escape", "f1")
        keys = app.screen.context.keys_here
        assert any(d == "Model settings" and i == "build.model" for _k, d, i in keys)
