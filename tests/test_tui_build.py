"""The Build screen driven by real key presses in the real app: every editing key, the form,
the pickers, undo/redo and the diagram."""

from __future__ import annotations

from cnn_tui.spec.model import Architecture, Layer
from cnn_tui.spec.templates import get_template
from cnn_tui.tui.app import CnnTuiApp
from cnn_tui.tui.build.layer_form import LayerForm
from cnn_tui.tui.build.layer_picker import LayerPicker
from cnn_tui.tui.build.template_picker import TemplatePicker
from cnn_tui.tui.common.document import Document
from cnn_tui.tui.build.screen import BuildScreen
from cnn_tui.tui.build.diagram import render_diagram
from cnn_tui.tui.build.layer_list import LayerList
from cnn_tui.spec.analysis import analyze

L = Layer.make
BEGINNER = [l.type for l in get_template("beginner").layers]


def _app(arch: Architecture | None = None, **kw) -> CnnTuiApp:
    kw.setdefault("offer_autosave", False)
    return CnnTuiApp(arch, **kw)


def types(app) -> list[str]:
    return ["." * depth + layer.type for depth, layer in app.document.arch.walk()]


def table_cell(app, row: int, column: str) -> str:
    table = app.build_screen().query_one(LayerList)
    return str(table.get_cell_at((row, table.get_column_index(column))))


async def test_opens_on_the_table_with_the_cursor_on_the_first_layer():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, BuildScreen)
        table = app.screen.query_one(LayerList)
        assert app.focused is table
        assert table.row_count == len(BEGINNER)
        assert table_cell(app, 0, "output") == "8x26x26"
        assert table_cell(app, 3, "params") == "1,168"
        assert app.screen.has_class("narrow")  # 80 columns: the panel sits below
        screen = app.screen
        await pilot.press("j", "j", "down")
        assert screen.cursor_row == 3
        await pilot.press("k", "up")
        assert screen.cursor_row == 1
        panel = str(screen.query_one("#panel-body").render())
        assert "2. ReLU" in panel and "What ReLU does" in panel


async def test_add_lists_suggestions_first_and_adds_after_the_cursor_insert_before():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        picker = app.screen
        assert isinstance(picker, LayerPicker)
        options = picker.query_one("#picker-options")
        first = options.get_option_at_index(0)
        assert first.id.startswith("suggested-") and "suggested" in str(first.prompt)
        await pilot.press("enter")
        assert isinstance(app.screen, BuildScreen)
        suggested_type = types(app)[1]
        assert types(app) == BEGINNER[:1] + [suggested_type] + BEGINNER[1:]
        assert app.screen.cursor_row == 1
        assert app.document.dirty
        await pilot.press("u", "a", "escape")  # escape adds nothing
        assert types(app) == BEGINNER
        await pilot.press("a")  # any type from the full list
        options = app.screen.query_one("#picker-options")
        options.highlighted = options.get_option_index("type-dropout")
        await pilot.press("enter")
        assert types(app)[:3] == ["conv2d", "relu", "dropout"]  # undo kept the cursor on row 1
        # i inserts before the cursor (now on the dropout)
        await pilot.press("i")
        assert isinstance(app.screen, LayerPicker)
        options = app.screen.query_one("#picker-options")
        options.highlighted = options.get_option_index("type-batchnorm")
        await pilot.press("enter")
        assert types(app)[:4] == ["conv2d", "relu", "batchnorm", "dropout"]
        assert app.screen.cursor_row == 2


async def test_delete_then_undo_and_redo():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("j", "d")
        assert types(app) == BEGINNER[:1] + BEGINNER[2:]
        assert app.screen.cursor_row == 1
        await pilot.press("u")
        assert types(app) == BEGINNER
        assert not app.document.dirty
        await pilot.press("ctrl+r")
        assert types(app) == BEGINNER[:1] + BEGINNER[2:]
        await pilot.press("u")
        # unbounded within the session
        for _ in range(8):
            await pilot.press("d")
        assert len(types(app)) == len(BEGINNER) - 8
        for _ in range(8):
            await pilot.press("u")
        assert types(app) == BEGINNER
        await pilot.press("u")  # nothing left: a warning, no change
        assert types(app) == BEGINNER


async def test_move_down_and_up_with_shift_j_k_and_copy_paste():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("J")
        assert types(app)[:2] == ["relu", "conv2d"]
        assert app.screen.cursor_row == 1
        await pilot.press("K")
        assert types(app) == BEGINNER
        assert app.screen.cursor_row == 0
        await pilot.press("K")  # already at the top: nothing to undo afterwards
        assert app.document.can_undo  # the two moves
        await pilot.press("u", "u")
        assert not app.document.can_undo
        # copy / paste
        await pilot.press("p")  # nothing copied yet: nothing happens
        assert types(app) == BEGINNER
        await pilot.press("y", "j", "p")
        assert types(app)[:3] == ["conv2d", "relu", "conv2d"]
        assert app.screen.cursor_row == 2
        await pilot.press("p")
        assert types(app)[:4] == ["conv2d", "relu", "conv2d", "conv2d"]


async def test_edit_refuses_an_invalid_value_in_place_then_commits_a_valid_one():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        form = app.screen
        assert isinstance(form, LayerForm)
        field = form.query_one("#field-filters")
        assert app.focused is field and field.value == "8"
        await pilot.press("backspace", "0", "enter")
        assert app.screen is form  # refused: the form stays
        assert "filters" in form.errors
        message = str(form.query_one("#msg-filters").render())
        assert "refused" in message and "1..1024" in message
        assert app.document.arch.layers[0].params["filters"] == 8
        await pilot.press("backspace", "3", "2")
        assert not form.errors
        effect = str(form.query_one("#effect").render())
        assert "32x26x26" in effect and "(was 8x26x26)" in effect
        # the table behind the form already shows the effect
        build = app.build_screen()
        assert build.analysis.rows[0].out_shape == (32, 26, 26)
        assert app.document.arch.layers[0].params["filters"] == 8
        await pilot.press("enter")
        assert isinstance(app.screen, BuildScreen)
        assert app.document.arch.layers[0].params["filters"] == 32
        assert table_cell(app, 0, "output") == "32x26x26"
        await pilot.press("u")
        assert app.document.arch.layers[0].params["filters"] == 8


async def test_edit_with_selects_shows_new_errors_and_escape_cancels():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        form = app.screen
        form.query_one("#field-padding").value = "same"
        await pilot.pause()
        assert "28x28" in str(form.query_one("#effect").render())
        form.query_one("#field-kernel_size").value = "11"
        form.query_one("#field-stride").value = "4"  # 28 -> 5 -> pool 2 -> conv 3 cannot fit
        form.query_one("#field-padding").value = "valid"
        await pilot.pause()
        assert "new ✗" in str(form.query_one("#effect").render())
        assert any(table_cell(app, r, "marker") == "✗" for r in range(len(BEGINNER)))
        await pilot.press("escape")
        assert isinstance(app.screen, BuildScreen)
        assert app.document.arch.layers[0].params["padding"] == "valid"
        assert table_cell(app, 0, "output") == "8x26x26"  # the preview is withdrawn
        await pilot.press("enter")
        app.screen.query_one("#pick-kernel_size").value = 5
        await pilot.pause()
        assert app.screen.query_one("#field-kernel_size").value == "5"
        await pilot.press("ctrl+s")
        assert app.document.arch.layers[0].params["kernel_size"] == 5
        assert table_cell(app, 0, "output") == "8x24x24"


async def test_template_picker_loads_a_template_with_indented_residual_rows_and_diagram_toggle():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        assert isinstance(app.screen, TemplatePicker)
        options = app.screen.query_one("#template-options")
        options.highlighted = options.get_option_index("residual")
        await pilot.press("enter")
        assert app.document.arch.name == "Residual"
        inner = [r for r, t in enumerate(types(app)) if t.startswith(".")]
        assert inner and table_cell(app, inner[0], "layer").startswith("  └ ")
        await pilot.press("u")
        assert app.document.arch.name == "Beginner"
        # the diagram view
        screen = app.screen
        await pilot.press("v")
        assert screen.has_class("diagram")
        diagram = screen.query_one("#diagram")
        assert diagram.display and not screen.query_one(LayerList).display
        text = str(screen.query_one("#diagram-body").render())
        assert "input 1x28x28" in text and "┌" in text and "8x26x26" in text
        assert "╔" in text  # the cursor's layer is drawn double
        await pilot.press("j", "j")  # walks the layers: the table's cursor follows
        assert screen.cursor_row == 2
        assert "║ 3 MaxPool2D" in str(screen.query_one("#diagram-body").render())
        await pilot.press("k", "k", "d")  # edits apply to the cursor row and redraw
        assert "1 ReLU" in str(screen.query_one("#diagram-body").render())
        app.theme = "cnn-mono"  # monochrome: plain ASCII boxes
        await pilot.pause()
        text = str(screen.query_one("#diagram-body").render())
        assert "+---" in text and "┌" not in text
        await pilot.press("v")
        assert not screen.has_class("diagram")
        assert app.focused is screen.query_one(LayerList)


async def test_empty_model_can_be_built_from_nothing():
    app = _app(Architecture([], name="Empty"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("d", "enter", "J")  # nothing to act on: no change, no crash
        assert app.document.arch.layers == []
        await pilot.press("a", "enter")
        assert len(app.document.arch.layers) == 1


async def test_palette_entry_points_add_a_type_and_load_a_template():
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.action_add_layer("batchnorm")
        await pilot.pause()
        assert types(app)[1] == "batchnorm"
        await app.action_load_template("lenet5")
        await pilot.pause()
        assert app.document.arch.name == "LeNet-5"
        await pilot.press("j", "enter")  # a tanh has no settings: no form opens
        assert isinstance(app.screen, BuildScreen)


async def test_change_type_keeps_shared_settings_refuses_a_block_and_undoes():
    arch = Architecture([L("conv2d", filters=8, kernel_size=3), L("relu"),
                         L("maxpool2d", pool_size=3, stride=2, padding="same"),
                         L("residual", layers=[L("conv2d", filters=8, padding="same")]),
                         L("flatten"), L("dense", units=10)])
    app = _app(arch)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("j", "j", "c")
        picker = app.screen
        assert isinstance(picker, LayerPicker)
        assert "Change layer 3 (MaxPool2D) to" in str(picker.compose_title())
        ids = [picker.query_one("#picker-options").get_option_at_index(i).id
               for i in range(picker.query_one("#picker-options").option_count)]
        assert "type-maxpool2d" not in ids  # its own type is not offered
        picker.query_one("#picker-options").highlighted = ids.index("type-avgpool2d")
        await pilot.press("enter")
        assert isinstance(app.screen, BuildScreen)
        assert app.document.arch.layers[2] == L("avgpool2d", pool_size=3, stride=2,
                                                padding="same")
        assert app.screen.cursor_row == 2 and table_cell(app, 2, "layer") == "AvgPool2D"
        await pilot.press("j", "c")  # the residual block: refused with the reason, no picker
        await pilot.pause()
        assert isinstance(app.screen, BuildScreen)
        assert any("keeps its type" in str(n.message) for n in app._notifications)
        await pilot.press("u")
        assert app.document.arch.layers[2].type == "maxpool2d"
        await pilot.press("k", "c", "escape")  # escape: nothing changes
        assert app.document.arch.layers[2].type == "maxpool2d"
        await app.action_change_layer_type()  # the palette's entry point
        await pilot.pause()
        assert isinstance(app.screen, LayerPicker)


def test_diagram_widths_follow_size_and_ascii_mode_is_plain():
    analysis = analyze(get_template("beginner"))
    text = render_diagram(analysis, width=70, ascii=True)
    assert all(ord(c) < 128 for c in text)
    boxes = [line.strip() for line in text.splitlines() if line.strip().startswith("+")]
    first, last = len(boxes[0]), len(boxes[-1])
    assert first > last  # 8x26x26 is drawn wider than the 10 outputs
    assert max(len(line) for line in text.splitlines()) <= 70


def test_document_history_and_dirty_flag():
    a, b = get_template("beginner"), get_template("lenet5")
    doc = Document(a)
    seen = []
    unsubscribe = doc.subscribe(lambda: seen.append(doc.version))
    doc.apply(b, "swap")
    assert doc.dirty and doc.arch is b
    assert doc.undo() == "swap" and not doc.dirty and doc.arch is a
    assert doc.redo() == "swap" and doc.arch is b
    doc.apply(a, "back")  # a new change forgets nothing behind it, drops the redo branch
    assert doc.redo() is None and doc.arch is a
    from pathlib import Path

    doc.load(b, Path("x.json"))
    assert not doc.dirty and doc.path == Path("x.json")
    doc.undo()
    assert doc.dirty
    doc.mark_saved(Path("y.json"))
    assert not doc.dirty
    unsubscribe()
    doc.apply(b, "more")
    assert len(seen) == 7


# -- fuzz: whatever is typed into a form field is refused in one line or previews cleanly -------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cnn_tui.errors import SpecError  # noqa: E402
from cnn_tui.spec import edit  # noqa: E402
from cnn_tui.spec.layers import LAYER_TYPES  # noqa: E402
from cnn_tui.spec.params import FLOAT, INT  # noqa: E402
from cnn_tui.tui.build.layer_form import effect_text, parse_value  # noqa: E402

NUMERIC = [(t, p) for t, kind in LAYER_TYPES.items() if t != "residual"
           for p in kind.params if p.kind in (INT, FLOAT)]
TYPED = st.one_of(st.text(max_size=12), st.integers(-10**6, 10**6).map(str),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.sampled_from(["", " 3 ", "1e3", "0x10", "-0", "nan", "inf", "3.0", "½"]))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(NUMERIC), TYPED)
def test_typed_field_values_are_refused_in_one_line_or_preview_cleanly(target, text):
    type_name, p = target
    try:
        value = parse_value(p, text)
    except SpecError as err:
        assert str(err) and "\n" not in str(err)
        return
    arch = get_template("beginner")
    layer = Layer.make(type_name, **{p.name: value})
    before, after = analyze(arch), analyze(edit.replace(arch, 3, layer).arch)
    assert effect_text(before, after, 3).plain.startswith("Effect: output")
