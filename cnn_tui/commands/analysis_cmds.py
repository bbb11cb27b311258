"""`cnn-tui summary` and `cnn-tui validate`: shapes, sizes and rule messages without torch.

Exit codes: `validate` returns 0 for a valid architecture, 1 for one with errors (each printed,
one per line), 2 when the file cannot be read (a SpecError, printed by cli.main). `summary`
returns 0 whenever the file could be read: an invalid model still has a summary to show.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.text import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="layer table: shapes, parameters, mult-adds, rules",
                       description="Print a torchinfo-style table of an architecture: every "
                       "layer's output shape, parameters and mult-adds, the totals, the score and "
                       "the rule messages.")
    p.add_argument("source", metavar="FILE_OR_SHARECODE",
                   help="architecture file, share code (cnn1:...) or template:NAME")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    p.add_argument("--width", type=int, default=None,
                   help="table width in columns (default: the terminal's, 60..200)")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("validate", help="check an architecture: exit 0 valid, 1 invalid, "
                       "2 unreadable",
                       description="Check an architecture file. Prints each error (and, unless "
                       "--quiet, each warning and hint) on its own line. Exit status: 0 valid, "
                       "1 invalid, 2 unreadable.")
    p.add_argument("source", metavar="FILE", help="architecture file, share code or template:NAME")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 1)")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    p.set_defaults(func=cmd_validate)


def _load(source: str):
    from cnn_tui.spec.io import load_source

    return load_source(source)


def cmd_summary(args: argparse.Namespace) -> int:
    from cnn_tui.spec.analysis import analyze
    from cnn_tui.spec.summary import summary_json, summary_table

    analysis = analyze(_load(args.source))
    if args.json:
        json.dump(summary_json(analysis), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    width = args.width
    if width is None:
        width = min(max(shutil.get_terminal_size((100, 24)).columns, 60), 200)
    elif not 40 <= width <= 1000:
        raise CnnTuiError(f"--width: must be 40..1000, got {width}")
    print(summary_table(analysis, width))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from cnn_tui.spec.analysis import analyze

    arch = _load(args.source)
    analysis = analyze(arch)
    shown = [i for i in analysis.issues if not args.quiet or i.severity == "error"]
    source = printable(args.source)
    for issue in shown:
        print(f"{source}: {issue.severity}: {issue.message} [{issue.rule}]")
    failed = not analysis.valid or (args.strict and analysis.warnings())
    errors, warnings = len(analysis.errors()), len(analysis.warnings())
    if failed:
        why = f"{errors} error(s)" if errors else f"{warnings} warning(s) (--strict)"
        print(f"{source}: invalid: {why}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"{source}: valid: {len(analysis.rows)} layers, "
              f"{analysis.total_params:,} parameters, output {list(analysis.output_shape)}"
              + (f", {warnings} warning(s)" if warnings else ""))
    return 0


__all__ = ["cmd_summary", "cmd_validate", "register"]
