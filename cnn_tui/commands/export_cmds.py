"""`cnn-tui export` and `cnn-tui predict`: files out of cnn-tui, and the smallest deployment.

    cnn-tui export RUN_OR_FILE -f FORMAT [-o PATH] [--name NAME] [--force] [--all-runs]
                   [--summary] [--runs-dir DIR]
    cnn-tui predict RUN IMAGE... [--invert] [--json] [--runs-dir DIR]

The formats, their help and what they need come from `cnn_tui.export.formats` (the registry
the app's Export dialogs read too). Without `-o`, a text format is printed (as `runs export`
does) and a binary file or folder gets its default name in the current folder; where it went
is said on stderr, so stdout only ever carries the export itself.

Stdlib only at import time; the writers (and torch) load inside the functions.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from cnn_tui.errors import ExportError
from cnn_tui.spec.text import printable
from cnn_tui.export.formats import FORMATS, NEEDS_TEXT

FORMAT_NAMES = tuple(FORMATS)


def _formats_epilog() -> str:
    width = max(len(n) for n in FORMATS)
    lines = ["formats (what each starts from and writes; a package not installed with cnn-tui",
             "names the extra that installs it):"]
    for f in FORMATS.values():
        needs = {"arch": "architecture", "weights": "trained run", "metrics": "run"}[f.needs]
        out = {"text": "text", "binary": "file", "folder": "folder"}[f.output]
        lines += textwrap.wrap(f"{f.name:<{width}}  {needs} -> {out}: {f.help}", 78,
                               initial_indent="  ", subsequent_indent=" " * (width + 4))
        if f.extra:
            lines.append(" " * (width + 4) + f"needs {', '.join(f.modules)}: {f.install_hint}")
    return "\n".join(lines)


DESCRIPTION = (
    "Export an architecture (file, share code, template:NAME or run) as a native file, PyTorch "
    "or Keras code, Markdown or a share code; a trained run's model as pt, safetensors, a "
    "torch.export .pt2, TorchScript, ONNX or a TensorFlow.js layers model; a run's metrics as "
    "CSV, JSON, TensorBoard event files or HDF5. Without -o a text format is printed and a "
    "file or folder gets its default name here (said on stderr). Files and folders are written "
    "atomically: on any error nothing is left behind.")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="export code, models, metrics or a summary",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(DESCRIPTION, 78),
        epilog=_formats_epilog())
    p.add_argument("source", nargs="?", metavar="RUN_OR_FILE",
                   help="run id (or unique prefix or name), architecture file, share code, "
                   "template:NAME")
    p.add_argument("-f", "--format", required=True, choices=FORMAT_NAMES, metavar="FORMAT",
                   help="one of: " + ", ".join(FORMAT_NAMES) + " (see below)")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="file to write, or an existing folder to write the default name in; "
                   "for tensorboard and tfjs the folder to create; '-' prints a text format "
                   "(the default for text formats)")
    p.add_argument("--name", metavar="NAME", help="file name (no folders) in the -o folder or "
                   "here; given without -o, a text format is written to this file")
    p.add_argument("--force", action="store_true",
                   help="replace an existing file (or a folder holding a previous export of "
                   "the same format)")
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


def _target(args, source, fmt):
    """Where a file or folder export goes (None: print to stdout)."""
    from pathlib import Path

    from cnn_tui import export

    f = FORMATS[fmt]
    if args.output == "-":
        if f.output != "text":
            raise ExportError(f"{fmt} writes a {'folder' if f.folder else 'binary file'}: "
                              "give -o PATH (or no -o for its default name here)")
        return None
    if args.output is None and args.name is None and f.output == "text":
        return None
    default = export.default_name(source, fmt, args.all_runs)
    if not f.folder:
        return export.output_path(args.output, args.name, default)
    if args.name is not None:
        export.check_bare_name(args.name, "--name")
    if args.output is None:
        return Path(args.name or default)
    base = Path(args.output).expanduser()
    return base / args.name if args.name else base


def _size(path) -> str:
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        total = sum(p.stat().st_size for p in files)
        return f"{len(files)} file{'s' if len(files) != 1 else ''}, {total:,} bytes"
    return f"{path.stat().st_size:,} bytes"


def cmd_export(args: argparse.Namespace) -> int:
    from cnn_tui import export
    from cnn_tui.atomic import check_overwrite
    from cnn_tui.export.atomic import check_folder_target

    fmt = args.format
    f = export.check_available(fmt)
    if args.all_runs:
        if not f.all_runs:
            raise ExportError(f"--all-runs works with csv and json, not {fmt}")
        if args.source:
            raise ExportError("--all-runs exports every run: give no RUN_OR_FILE with it")
        source = None
    else:
        if not args.source:
            raise ExportError(f"give {NEEDS_TEXT[f.needs]} to export "
                              "(or --all-runs for csv/json)")
        source = export.resolve(args.source, args.runs_dir, need_run=f.needs != "arch")
    if args.summary and fmt != "csv":
        raise ExportError("--summary is for csv")

    path = _target(args, source, fmt)
    if path is None:
        text = (export.all_runs_text(fmt, args.runs_dir, args.summary) if source is None
                else export.text_for(source, fmt, summary=args.summary))
        sys.stdout.write(text)
        return 0
    if f.folder:  # refused now rather than after the export's work
        check_folder_target(path, args.force, f.owns, f"{fmt} export")
    else:
        check_overwrite(path, args.force, ExportError)
    if source is None:
        written = export.export_runs(fmt, path, args.runs_dir, args.summary)
    else:
        written = export.export_to(source, fmt, path, summary=args.summary, force=args.force)
    print(f"wrote {printable(written)} ({fmt}, {_size(written)})", file=sys.stderr)
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
