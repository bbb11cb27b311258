"""One formatting module (issue 11.8): a byte size, a duration, a shape, a percentage reads the
same in the CLI, the app and the exports; and nothing formats them a second way."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from cnn_tui.spec.fmt import (and_more, fmt_bytes, fmt_count, fmt_duration, image_size,
                              layer_label, percent, shape_cell, shape_text, short_count)

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("n, text", [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"),
                                     (1536, "1.5 KiB"), (68_200, "66.6 KiB"),
                                     (3 * 2**20, "3.0 MiB"), (5 * 2**30 // 2, "2.5 GiB"),
                                     (2**50, "1024.0 TiB"), (None, "—"), (-1, "—")])
def test_bytes(n, text):
    assert fmt_bytes(n) == text


@pytest.mark.parametrize("s, text", [(0, "0:00"), (45.4, "0:45"), (185, "3:05"),
                                     (3723, "1:02:03"), (None, "—"), (float("nan"), "—"),
                                     (-3, "—")])
def test_durations(s, text):
    assert fmt_duration(s) == text


def test_the_rest():
    assert shape_text((8, 26, 26)) == "[8, 26, 26]" and shape_text(None) == "?"
    assert shape_cell((8, 26, 26)) == "8x26x26" and shape_cell([10]) == "10"
    assert image_size(64, 48) == "64x48"
    assert percent(0.97541) == "97.54%" and percent(None) == "—" and percent(1) == "100.00%"
    assert fmt_count(27562) == "27,562" and short_count(221_952) == "222K"
    assert and_more(0) == "" and and_more(3) == " (and 3 more)"
    assert layer_label(2) == "layer 3" and layer_label(2, "conv2d") == "layer 3 (conv2d)"


def test_the_cli_summary_and_the_app_show_one_byte_size():
    from cnn_tui.spec.analysis import analyze
    from cnn_tui.spec.summary import summary_table
    from cnn_tui.spec.templates import get_template
    from cnn_tui.tui.build.totals import totals_text

    analysis = analyze(get_template("beginner"))
    table = summary_table(analysis, 100)
    cli = re.search(r"Activation memory \(one image, float32\): (.+)", table).group(1).strip()
    app = re.search(r"memory (.+)/image", str(totals_text(analysis, 80))).group(1)
    assert cli == app == fmt_bytes(analysis.total_memory_bytes)


def test_the_runs_table_and_compare_show_one_duration():
    from cnn_tui.runs.compare import metrics_table
    from cnn_tui.tui.runs.runs_table import COLUMNS

    runs = [SimpleNamespace(id=f"r{i}", name=f"r{i}", status="finished", started=1000.0,
                            ended=1000.0 + 185 + i, epochs=[], config={}, evaluation=None,
                            test_acc=0.9754, best_val_acc=0.97, arch={"name": "x"},
                            arch_name="x", params=10, device="cpu", tags=[])
            for i in range(2)]
    cell = next(c for c in COLUMNS if c.key == "time").cell(runs[0])
    time_row = next(r for r in metrics_table(runs) if r.label == "time")
    assert cell == time_row.cells[0] == "3:05"
    acc = next(c for c in COLUMNS if c.key == "test").cell(runs[0])
    assert acc == next(r for r in metrics_table(runs) if r.label == "test acc").cells[0] == "97.54%"


def test_no_second_home_for_formatting():
    """The old helpers are gone and nothing spells a unit table, a clock or an '(and N more)'
    of its own."""
    offenders = []
    patterns = {
        "byte units": re.compile(r"""["'](?:KiB|MiB|GiB|KB|kB|MB|GB)["']"""),
        "a formatting helper": re.compile(r"^def (?:fmt_bytes|fmt_duration|human_bytes|bytes_str|"
                                          r"shape_str|count_str|short_count|_pct|shape_text|_shape|"
                                          r"_more)\(", re.M),
        "'(and N more)'": re.compile(r"\(and \{"),
    }
    for path in sorted((REPO / "cnn_tui").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel == "cnn_tui/spec/fmt.py" or rel.endswith("script_template.py"):
            continue
        text = path.read_text()
        for what, pattern in patterns.items():
            if pattern.search(text):
                offenders.append(f"{rel}: {what}")
    assert offenders == []
