"""`cnn-tui new`, `templates`, `share` and `convert`: architectures in and out of files.

Stdlib and cnn_tui.spec only, so these answer without loading torch. Files are never
overwritten unless `--force` says so: an architecture may be hours of someone's work.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnn_tui import atomic
from cnn_tui.errors import CnnTuiError
from cnn_tui.spec import io, sharecode, templates
from cnn_tui.spec.text import check_label, printable


def register(sub: argparse._SubParsersAction) -> None:
    names = ", ".join(templates.TEMPLATES)
    p = sub.add_parser("new", help="start an architecture from a template",
                       description=f"Write a template's architecture as JSON (templates: {names}).")
    p.add_argument("--template", "-t", default="beginner", metavar="NAME",
                   help=f"one of {names} (default: beginner)")
    p.add_argument("--name", help="name to give the architecture (default: the template's)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("templates", help="list the built-in templates",
                       description="List the templates: layers, parameters and what each is for.")
    p.set_defaults(func=cmd_templates)

    p = sub.add_parser("share", help="print the share code of an architecture",
                       description="Print a short share code (cnn1:...) that anyone can open "
                       "with `cnn-tui CODE` or paste into the app.")
    p.add_argument("source", metavar="FILE", help="architecture file, share code or template:NAME")
    p.set_defaults(func=cmd_share)

    p = sub.add_parser("convert", help="convert a browser-builder export to the native format",
                       description="Read an architecture (a browser-builder JSON export, a native "
                       "file or a share code) and write it in the native format.")
    p.add_argument("source", metavar="IN", help="file to read (- for standard input)")
    p.add_argument("-o", "--output", metavar="OUT", help="file to write (default: standard output)")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.set_defaults(func=cmd_convert)


def _emit(arch, output: str | None, force: bool) -> None:
    if not output or output == "-":
        sys.stdout.write(io.dumps(arch))
        return
    path = Path(output)
    atomic.check_overwrite(path, force)
    io.write_file(arch, path, overwrite=force)
    print(f"wrote {printable(output)}", file=sys.stderr)


def cmd_new(args: argparse.Namespace) -> int:
    arch = templates.get_template(args.template)
    if args.name is not None:
        name = " ".join(check_label(args.name, "--name").split())
        if not name or len(name) > 200:
            raise CnnTuiError("--name: must be 1..200 characters")
        arch.name = name
    _emit(arch, args.output, args.force)
    return 0


def _total_params(arch) -> int | None:
    """Helper A's analysis when it is there; the table simply leaves the column out otherwise."""
    try:
        from cnn_tui.spec.analysis import analyze
    except ImportError:
        return None
    try:
        return analyze(arch).total_params
    except Exception:  # an analysis bug must not hide the template list
        return None


def cmd_templates(args: argparse.Namespace) -> int:
    rows = []
    for name in templates.TEMPLATES:
        arch = templates.get_template(name)
        layers = sum(1 for _ in arch.walk())
        rows.append((name, str(layers), _total_params(arch), templates.TEMPLATE_INFO[name]))
    show_params = all(r[2] is not None for r in rows)
    head = ("NAME", "LAYERS", "PARAMS", "DESCRIPTION") if show_params else ("NAME", "LAYERS", "DESCRIPTION")
    table = [(n, l, f"{p:,}", d) if show_params else (n, l, d) for n, l, p, d in rows]
    widths = [max(len(str(r[i])) for r in (head, *table)) for i in range(len(head) - 1)]
    for row in (head, *table):
        cells = [str(c).rjust(w) if head[i] in ("LAYERS", "PARAMS") else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join([*cells, row[-1]]))
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    print(sharecode.encode(io.load_source(args.source)))
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    arch = io.read_file(args.source) if not args.source.startswith(sharecode.PREFIX) \
        else sharecode.decode(args.source)
    _emit(arch, args.output, args.force)
    return 0
