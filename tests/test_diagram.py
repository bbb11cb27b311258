"""The architecture diagram's residual shortcuts (pure render_diagram tests) and one pilot run.

The digests pin the diagram of every model without residual blocks to what it was before the
shortcuts were drawn (captured from that code over widths 20-120, both glyph sets, three
cursor positions): drawing shortcuts must not move a single character of those.
"""

from __future__ import annotations

import hashlib
import re

import pytest

from cnn_tui.spec.analysis import analyze
from cnn_tui.spec.model import MAX_DEPTH, Architecture, Layer
from cnn_tui.spec.templates import get_template
from cnn_tui.tui.app import CnnTuiApp
from cnn_tui.tui.build.diagram import Diagram, render_diagram, render_diagram_lines

L = Layer.make
BEFORE_SHORTCUTS = {
    "beginner": "84236cd5f1cc3f6a57996a042bd56c5ce5c6e1146e0f3c6d55256b610e5c7c42",
    "intermediate": "d1f9ad101128afd69134ed5b1b128cfdaea34d4d4a9acad95ca86ef67e5c0c22",
    "advanced": "85f634913a0be7af5ee82c1d9aee56a3933b5da2f6aea105dbec453c1ede4461",
    "lenet5": "243e5c7e099cb4dbfe0049bb3c8ea30068eae59cb511dab63267e9637107eb80",
    "empty": "44423903c470d4196ac8e3736527de167e7be72e175c9fc22b3e68e02738c88b",
}
BEGINNER_34_ASCII = """\
          input 1x28x28
 +----------------------------+
 | 1 Conv2D 8 3x3 s1 valid    |
 +--------- 8x26x26 ----------+
 +----------------------------+
 | 2 ReLU                     |
 +--------- 8x26x26 ----------+
   #========================#
   # 3 MaxPool2D 2x2 s2 va~ #
   #======= 8x13x13 ========#
  +-------------------------+
  | 4 Conv2D 16 3x3 s1 val~ |
  +------- 16x11x11 --------+
  +-------------------------+
  | 5 ReLU                  |
  +------- 16x11x11 --------+
    +---------------------+
    | 6 MaxPool2D 2x2 s2~ |
    +------ 16x5x5 -------+
    +---------------------+
    | 7 Flatten           |
    +-------- 400 --------+
      +-----------------+
      | 8 Dense 64      |
      +------ 64 -------+
      +-----------------+
      | 9 ReLU          |
      +------ 64 -------+
      +-----------------+
      | 10 Dropout 0.25 |
      +------ 64 -------+
         +------------+
         | 11 Dense ~ |
         +---- 10 ----+
         +------------+
         | 12 Softmax |
         +---- 10 ----+"""


def nested() -> Architecture:
    """Blocks inside blocks: a projection (stride 2) nested one deep, two blocks ending on the
    same row (two merges in a row) and an empty block."""
    return Architecture([
        L("conv2d", filters=8, kernel_size=3, padding="same"),
        L("residual", layers=[
            L("conv2d", filters=8, kernel_size=3, padding="same"),
            L("residual", layers=[
                L("conv2d", filters=16, kernel_size=3, padding="same", stride=2), L("relu"),
            ]),
            L("residual", layers=[L("relu"), L("residual", layers=[])]),
        ]),
        L("flatten"), L("dense", units=10),
    ], name="Nested")


def deepest() -> Architecture:
    """Residual blocks nested as deep as the file format allows."""
    inner = [L("conv2d", filters=4, kernel_size=3, padding="same")]
    for _ in range(MAX_DEPTH):
        inner = [L("residual", layers=inner)]
    return Architecture([*inner, L("flatten"), L("dense", units=10)], name="Deep")


def blocks_of(analysis, lines: list[str], tops: list[int],
              ascii: bool = False) -> list[tuple[int, int, int]]:
    """(first line, merge line, column) of every shortcut in the order they merge: a merge
    line closes the innermost block box opened above it."""
    marker, end = ("(+)", "+") if ascii else ("⊕", "└")
    opens = {tops[r.row] + 2 for r in analysis.rows if r.layer.type == "residual"}
    found, stack = [], []
    for i, line in enumerate(lines):
        if i in opens:
            stack.append(i)  # the block box's bottom border, where the line leaves
        if marker in line:
            found.append((stack.pop(), i, line.rindex(end, 0, line.index(marker))))
    assert not stack
    return found


def test_models_without_residual_blocks_render_exactly_as_before():
    for name, expected in BEFORE_SHORTCUTS.items():
        arch = Architecture([], name="E") if name == "empty" else get_template(name)
        analysis = analyze(arch)
        h = hashlib.sha256()
        for width in range(20, 121):
            for ascii in (False, True):
                for sel in (None, 0, len(analysis.rows) - 1):
                    text = render_diagram(analysis, width, ascii=ascii, selected=sel)
                    h.update(text.encode() + b"\0")
        assert h.hexdigest() == expected, name
    assert render_diagram(analyze(get_template("beginner")), 34, True, 2) == BEGINNER_34_ASCII


def test_residual_template_shortcuts_span_exactly_each_block():
    analysis = analyze(get_template("residual"))
    lines, tops = render_diagram_lines(analysis, 70)
    blocks = [r for r in analysis.rows if r.layer.type == "residual"]
    assert [b.row for b in blocks] == [3, 11]
    found = blocks_of(analysis, lines, tops)
    assert len(found) == 2 and "".join(lines).count("⊕") == 2
    for block, (start, end, col) in zip(blocks, found):
        inner = [r.row for r in analysis.rows if r.parent == block.row]
        assert start == tops[block.row] + 2  # leaves the block's box...
        assert end == tops[inner[-1]] + 3  # ...and merges right after the last inner box
        assert lines[start][col] in "┬├┴"
        assert all(lines[i][col] == "│" for i in range(start + 1, end))
        assert lines[end][col] == "└"
        # nothing above the block's box (the previous bottom border) or below its merge
        assert lines[tops[block.row] - 1].ljust(col + 1)[col] in " ─"
        assert lines[end + 1][col] in "─┌"  # the next box's top border
        # the marker sits under the last inner box's output shape, where the flow goes on
        marker = lines[end].index("⊕")
        shape_at = lines[end - 1].index(" 16x28x28 " if block.row == 3 else " 32x14x14 ")
        assert shape_at < marker < shape_at + 9
        # every inner box lies right of the line, every row below the merge is untouched
        for row in inner:
            assert all(lines[tops[row] + k].index(c) > col
                       for k, c in ((0, "┌"), (1, f"{row + 1} "), (2, "┘")))
    # one row more per block than three lines a layer: the cursor's row is found by `tops`
    assert tops[4] == tops[3] + 3 and tops[9] == tops[8] + 4 and tops[12] == tops[11] + 3
    for info in analysis.rows:
        assert f" {info.number} " in lines[tops[info.row] + 1]


def test_projection_label_only_where_analysis_has_a_projection():
    analysis = analyze(get_template("residual"))
    assert [r.projection for r in analysis.rows if r.layer.type == "residual"] == [False, True]
    lines, tops = render_diagram_lines(analysis, 70)
    (first, second) = blocks_of(analysis, lines, tops)
    assert "1x1 conv" not in lines[first[1]]
    assert "1x1 conv → 32x14x14" in lines[second[1]]  # stride 1: no "s1"
    assert render_diagram(analysis, 70).count("1x1 conv") == 1
    assert "1x1 conv -> 32x14x14" in render_diagram(analysis, 70, ascii=True)
    text = render_diagram(analyze(nested()), 70)
    assert text.count("1x1 conv s2 → 16x14x14") == 2  # the outer block and the nested one
    identity = Architecture([L("conv2d", filters=4, kernel_size=3, padding="same"),
                             L("residual", layers=[L("relu")])])
    text = render_diagram(analyze(identity), 70)
    assert "⊕" in text and "1x1" not in text


def test_nested_blocks_run_side_by_side_without_touching_a_box():
    analysis = analyze(nested())
    for width in (20, 26, 40, 70, 120):
        for ascii in (False, True):
            lines, tops = render_diagram_lines(analysis, width, ascii, selected=3)
            found = blocks_of(analysis, lines, tops, ascii)
            assert len(found) == 4
            for a_start, a_end, a_col in found:  # blocks open at once have their own columns
                for b_start, b_end, b_col in found:
                    if (a_start, a_end) != (b_start, b_end) and a_start < b_start < a_end:
                        assert a_end > b_end and a_col < b_col
                        assert all(lines[i][a_col] in "│|" for i in range(b_start, b_end + 1))
            for info in analysis.rows:  # boxes intact, lines only left of them
                top, label, bottom = (lines[tops[info.row] + k] for k in range(3))
                left = re.search(r"[┌╔+#][─═=-]", top).start()
                right = re.search(r"[─═=-][┐╗+#]", top).end() - 1
                assert set(top[:left]) <= set(" │|")
                assert set(label[:left]) <= set(" │|")
                assert set(bottom[:left]) <= set(" │|┌─+-")
                assert label[left] in "│║|#" and label[right] in "│║|#"
                assert bottom[right] in "┘╝+#"
                assert re.fullmatch(r"[┌╔+#][─═=-]+[┐╗+#]", top[left:right + 1])


def test_every_line_fits_the_width_and_ascii_stays_ascii():
    models = {"residual": analyze(get_template("residual")), "nested": analyze(nested()),
              "deepest": analyze(deepest())}
    for name, analysis in models.items():
        merges = sum(r.layer.type == "residual" for r in analysis.rows)
        for width in range(20, 121):
            for ascii in (False, True):
                middle = len(analysis.rows) // 2
                text = render_diagram(analysis, width, ascii=ascii, selected=middle)
                lines = text.splitlines()
                assert max(len(line) for line in lines) <= width, (name, width)
                assert text.count("(+)" if ascii else "⊕") == merges, (name, width)
                if ascii:
                    assert all(ord(c) < 128 for c in text), (name, width)
                if not ascii:  # every layer keeps its box, bottom corner and all
                    ends = sum(1 for line in lines if re.search(r"[┘╝] ?.?$", line))
                    assert ends == len(analysis.rows), (name, width)
    narrow = render_diagram(models["residual"], 20)
    assert "1x1 conv" not in narrow and narrow.count("⊕") == 2  # the label goes first


@pytest.mark.parametrize("size", [(120, 40)])
async def test_diagram_key_shows_the_shortcuts_and_follows_the_cursor(size):
    app = CnnTuiApp(get_template("residual"), offer_autosave=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        diagram = screen.query_one(Diagram)
        text = str(screen.query_one("#diagram-body").render())
        assert text.count("⊕") == 2 and "1x1 conv → 32x14x14" in text
        assert "╔" in text  # the cursor's row still drawn double
        for _ in range(21):  # to the last layer: below two merge lines the old 3-lines-a-row
            await pilot.press("j")  # arithmetic would be off by two
        await pilot.pause()
        await pilot.pause()
        assert screen.cursor_row == 21
        lines = str(screen.query_one("#diagram-body").render()).splitlines()
        top = next(i for i, line in enumerate(lines) if "║ 22 Softmax" in line) - 1
        seen = diagram.scroll_offset.y
        assert seen <= top and top + 3 <= seen + diagram.scrollable_content_region.height
        app.theme = "cnn-mono"
        await pilot.pause()
        text = str(screen.query_one("#diagram-body").render())
        assert "(+)" in text and "⊕" not in text and all(ord(c) < 128 for c in text)
