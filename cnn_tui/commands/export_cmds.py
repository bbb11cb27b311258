"""`cnn-tui export` and `cnn-tui predict`: files out of cnn-tui, and the smallest deployment.

    cnn-tui export RUN_OR_FILE --format pytorch|keras|markdown|share|pt|safetensors|torchscript|onnx|csv|json
                   [-o PATH] [--name NAME] [--force] [--all-runs] [--summary] [--runs-dir DIR]
    cnn-tui predict RUN IMAGE... [--invert] [--json] [--runs-dir DIR]

Stdlib only at import time; the export package (and torch) load inside the functions.
"""

from __future__ import annotations

import argparse
import json
import sys

from cnn_tui.errors import ExportError
from cnn_tui.spec.text import printable

FORMAT_NAMES = ("pytorch", "keras", "markdown", "share", "pt", "safetensors", "torchscript",
                "onnx", "csv", "json")
TEXT_FORMATS = ("pytorch", "keras", "markdown", "share", "csv", "json")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="export code, weights, metrics or a summary",
        description="Export an architecture (file, share code, template:NAME or run) as PyTorch "
        "or Keras code, Markdown or a share code; a trained run's weights as pt, safetensors, "
        "TorchScript or ONNX; a run's metrics (or all runs') as CSV or JSON. Files are written "
        "atomically: on any error nothing is left behind.")
    p.add_argument("source", nargs="?", metavar="RUN_OR_FILE",
                   help="run id (or unique prefix or name), architecture file, share code, "
                   "template:NAME")
    p.add_argument("-f", "--format", required=True, choices=FORMAT_NAMES, metavar="FORMAT",
                   help="one of: " + ", ".join(FORMAT_NAMES))
    p.add_argument("-o", "--output", metavar="PATH",
                   help="file to write, or a folder (default: a name from the architecture in "
                   "the current folder); '-' prints text formats")
    p.add_argument("--name", metavar="NAME", help="file name (no folders) in the -o folder or here")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.add_argument("--all-runs", action="store_true", help="csv/json: every run in the store")
    p.add_argument("--summary", action="store_true",
                   help="csv: one row per run (settings, final figures) instead of per epoch")
    p.add_argument("--runs-dir", metavar="DIR", help="run store folder")
    p.set_defaults(func=cmd_export)

    q = subparsers.add_parser(
        "predict", help="classify 28x28 images with a trained run",
        description="Classify images with a trained run and print class and confidence. Images: "
        "28x28 PNG (colour is converted to grayscale) or .npy [28, 28] (uint8 0..255 or float "
        "0..1). MNIST's convention is a WHITE digit on a BLACK background; use --invert for a "
        "dark digit on light paper.")
    q.add_argument("run", metavar="RUN", help="run id, unique prefix or name")
    q.add_argument("images", nargs="+", metavar="IMAGE", help=".png or .npy files")
    q.add_argument("--invert", action="store_true", help="the images are dark digits on white")
    q.add_argument("--json", action="store_true", help="print a JSON list")
    q.add_argument("--top", type=int, default=1, metavar="K", help="also show the K best classes")
    q.add_argument("--runs-dir", metavar="DIR", help="run store folder")
    q.set_defaults(func=cmd_predict)


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cnn_tui import export
    from cnn_tui.atomic import check_overwrite

    fmt = args.format
    kind = export.FORMATS[fmt].kind
    if args.all_runs:
        if kind != "metrics":
            raise ExportError(f"--all-runs works with csv and json, not {fmt}")
        if args.source:
            raise ExportError("--all-runs exports every run: give no RUN_OR_FILE with it")
        source = None
    else:
        if not args.source:
            raise ExportError("give a run id, an architecture file or a share code "
                              "(or --all-runs for csv/json)")
        source = export.resolve(args.source, args.runs_dir, need_run=kind != "arch")
    if args.summary and fmt != "csv":
        raise ExportError("--summary is for csv")

    to_stdout = args.output == "-" or (fmt == "share" and args.output is None and not args.name)
    if to_stdout:
        if fmt not in TEXT_FORMATS:
            raise ExportError(f"{fmt} is a binary format: give -o FILE")
        text = (export.all_runs_text(fmt, args.runs_dir, args.summary) if source is None
                else export.text_for(source, fmt, summary=args.summary))
        sys.stdout.write(text)
        return 0

    path = export.output_path(args.output, args.name,
                              export.default_name(source, fmt, args.all_runs))
    check_overwrite(path, args.force, ExportError)
    if source is None:
        written = export.export_runs(fmt, path, args.runs_dir, args.summary)
    else:
        written = export.export_to(source, fmt, path, summary=args.summary)
    size = Path(written).stat().st_size
    print(f"wrote {printable(written)} ({fmt}, {size:,} bytes)")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from cnn_tui import export
    from cnn_tui.export.predict import classify, load_images
    from cnn_tui.export.source import weights_file

    if args.top < 1:
        raise ExportError("--top must be at least 1")
    source = export.resolve(args.run, args.runs_dir, need_run=True)
    # Every input is checked (from its header first) before torch and the model are loaded.
    _, h, w = source.arch.input
    arrays = load_images(args.images, (h, w), invert=args.invert)
    weights_file(source)  # a run without weights is refused before the model is built
    model = export.load_trained(source)
    results = classify(model, args.images, arrays, tuple(source.arch.input))
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    shown = [printable(r.path) for r in results]
    width = max(len(p) for p in shown)
    for path, r in zip(shown, results):
        line = f"{path:<{width}}  class {r.label}  confidence {r.confidence:.4f}"
        if args.top > 1:
            ranked = sorted(range(len(r.probabilities)), key=lambda i: -r.probabilities[i])
            line += "  (" + ", ".join(f"{i}: {r.probabilities[i]:.3f}"
                                      for i in ranked[:args.top]) + ")"
        print(line)
    return 0
