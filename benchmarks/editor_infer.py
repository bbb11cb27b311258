"""How long the editor takes to re-infer a 60-layer model after an edit (budget: one frame, 16 ms).

Prints, for a valid 60-row model (three conv stages, a residual block, a dense head):
- analyze(): shapes, parameters, mult-adds and rule messages for every row;
- table_rows(): the text of every table row;
- the editor's refresh in the real app (headless): analyze() + updating the DataTable (only the
  cells that changed) + totals + side panel, i.e. what one keystroke in the layer form costs
  before Textual paints; and the same with all 60 table rows re-added (a row count change);
- an edit round trip: spec.edit.replace + Document.apply, which re-renders through the
  document subscription (the suggestions for the panel included).
Run: .venv/bin/python benchmarks/editor_infer.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from cnn_tui.spec import edit
from cnn_tui.spec.analysis import analyze
from cnn_tui.spec.model import Architecture, Layer

BUDGET_MS = 16.0


def sixty_layers() -> Architecture:
    L = Layer.make
    layers: list[Layer] = []
    for filters in (16, 32, 64):
        for _ in range(5):
            layers += [L("conv2d", filters=filters, padding="same"), L("batchnorm"), L("relu")]
        layers.append(L("maxpool2d", pool_size=2))
    layers.append(L("dropout", rate=0.1))
    layers.append(L("residual", layers=[L("conv2d", filters=64, padding="same"), L("batchnorm"),
                                        L("relu"), L("conv2d", filters=64, padding="same")]))
    layers += [L("flatten"), L("dense", units=128), L("relu"), L("dropout", rate=0.3),
               L("dense", units=10), L("softmax")]
    arch = Architecture(layers, name="Sixty")
    assert edit.row_count(arch) == 60, edit.row_count(arch)
    return arch


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    median = statistics.median(samples)
    print(f"{name:<46} min {samples[0]:6.2f}  median {median:6.2f}  p95 {p95:6.2f}  "
          f"max {samples[-1]:6.2f} ms  (median = {median / BUDGET_MS:4.0%} of 16 ms)")


async def in_app(arch: Architecture, repeat: int) -> tuple[list[float], list[float], list[float]]:
    from cnn_tui.tui.app import CnnTuiApp

    app = CnnTuiApp(arch, offer_autosave=False)
    from cnn_tui.tui.build.layer_list import LayerList

    refresh: list[float] = []
    rebuild: list[float] = []
    round_trip: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.build_screen()
        # what a keystroke in the layer form does: a changed filter count (row 15) changes
        # that row, the next rows' parameters and the totals
        variants = [edit.replace(arch, 15, Layer.make("conv2d", filters=f, padding="same")).arch
                    for f in (32, 48)]
        for i in range(repeat):
            start = time.perf_counter()
            screen.show_analysis(analyze(variants[i % 2]), 30, suggestions=False)
            refresh.append((time.perf_counter() - start) * 1000)
            await pilot.pause()
        table = screen.query_one(LayerList)
        for i in range(repeat):
            start = time.perf_counter()
            table.show(analyze(variants[i % 2]), 30, rebuild=True)
            rebuild.append((time.perf_counter() - start) * 1000)
            await pilot.pause()
        for i in range(repeat):
            layer = Layer.make("conv2d", filters=(32, 48)[i % 2], padding="same")
            start = time.perf_counter()
            result = edit.replace(app.document.arch, 15, layer)
            app.document.apply(result.arch, "bench")
            round_trip.append((time.perf_counter() - start) * 1000)
            await pilot.pause()
    return refresh, rebuild, round_trip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    arch = sixty_layers()
    analysis = analyze(arch)
    print(f"model: {len(analysis.rows)} rows, {analysis.total_params:,} params, "
          f"{len(analysis.issues)} rule messages, valid={analysis.valid}")
    from cnn_tui.tui.build.layer_list import table_rows

    analyze(arch)  # warm the imports
    report("analyze()", timed(lambda: analyze(arch), args.repeat))
    report("table_rows(analysis)", timed(lambda: table_rows(analysis), args.repeat))
    report("analyze() + table_rows()", timed(lambda: table_rows(analyze(arch)), args.repeat))
    refresh, rebuild, round_trip = asyncio.run(in_app(arch, args.repeat))
    report("app: analyze + table cells + totals/panel", refresh)
    report("app: analyze + all 60 table rows re-added", rebuild)
    report("app: edit + Document.apply (panel after paint)", round_trip)


if __name__ == "__main__":
    main()
