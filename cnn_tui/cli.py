"""`cnn-tui`: argparse entry point.

Each subcommand group lives in `cnn_tui/commands/<name>.py` with two functions:
`register(subparsers)` adds its parser(s) and sets `func=` on them; the function receives the
parsed `argparse.Namespace` and returns an exit code. Command modules import only the stdlib at
top level: torch, numpy and textual are imported inside the functions that need them, so
`cnn-tui --help` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from cnn_tui import __version__
from cnn_tui.errors import CnnTuiError

# Order here is the order in `cnn-tui --help`.
COMMAND_MODULES = (
    "spec_cmds",      # new, templates, share, convert
    "analysis_cmds",  # summary, validate
    "data_cmds",      # data fetch|import|verify|path
    "train_cmds",     # train
    "runs_cmds",      # runs list|show|export|delete
    "export_cmds",    # export, predict
    "history_cmds",   # history list|show|restore|diff
    "sweep_cmds",     # sweep run|worker|list|status|best|report|stop|delete
)

# The top-level command names those modules register, known without importing them: a start
# of the app (`cnn-tui`, `cnn-tui FILE`) must not pay for building every command's parser
# (60-80 ms here). tests/test_cli_spec.py checks this list against the parser.
COMMAND_NAMES = frozenset({"new", "templates", "share", "convert", "summary", "validate", "data",
                           "train", "runs", "export", "predict", "history", "sweep"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnn-tui",
        description="Design, train and analyse convolutional networks on MNIST in the terminal. "
        "With no command (or a FILE / share code), opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"cnn-tui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"cnn_tui.commands.{name}")
        except ModuleNotFoundError as exc:  # a command group not built yet
            if exc.name == f"cnn_tui.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def _app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnn-tui", description="Open the cnn-tui app.")
    parser.add_argument("source", nargs="?", help="architecture file or share code to open")
    parser.add_argument("--no-mouse", action="store_true", help="do not capture the mouse")
    parser.add_argument("--theme", help="theme name (dark, light, high-contrast, monochrome, ...)")
    parser.add_argument("--data-dir", help="MNIST root (torchvision layout)")
    parser.add_argument("--runs-dir", help="run store folder")
    return parser


def _run_app(argv: list[str]) -> int:
    args = _app_parser().parse_args(argv)
    try:
        from cnn_tui.tui.launch import launch
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(("cnn_tui.tui", "textual")):
            raise CnnTuiError("the app is not available in this install (textual missing?)") from None
        raise
    return launch(args)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv or (argv[0] not in COMMAND_NAMES
                        and argv[0] not in ("-h", "--help", "--version")):
            return _run_app(argv)
        args = build_parser().parse_args(argv)
        args.argv = argv  # for commands that re-run themselves (train --detach)
        return int(args.func(args) or 0)
    except CnnTuiError as err:
        print(f"cnn-tui: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("cnn-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
