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
from cnn_tui.spec.text import printable

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


# The themes `--help` names (tests/test_cli_help.py checks each is one the app offers).
THEMES_SHOWN = ("cnn-dark", "cnn-light", "cnn-high-contrast", "cnn-mono", "cnn-solarized-dark",
                "cnn-solarized-light", "ansi-dark", "ansi-light", "nord", "gruvbox", "dracula",
                "tokyo-night", "monokai", "catppuccin-mocha", "solarized-dark", "textual-dark")
THEME_HELP = (f"colour theme: {', '.join(THEMES_SHOWN[:6])} (ours; cnn-dark is the default), a "
              "theme file's name, or one of Textual's: ansi-dark and ansi-light (the terminal's "
              f"own colours), {', '.join(THEMES_SHOWN[8:])}, ... (all of them: ctrl+p, Theme)")
USAGE = ("cnn-tui [FILE | SHARECODE] [--theme NAME] [--no-mouse] [--data-dir DIR] "
         "[--runs-dir DIR]\n       cnn-tui COMMAND [options]   (cnn-tui COMMAND --help)\n"
         "       cnn-tui --print-completion {bash,zsh}")


def _add_app_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-mouse", action="store_true", help="do not capture the mouse")
    parser.add_argument("--theme", metavar="NAME", help=THEME_HELP)
    parser.add_argument("--data-dir", metavar="DIR",
                        help="MNIST root (torchvision layout); the only place looked")
    parser.add_argument("--runs-dir", metavar="DIR", help="run store folder")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnn-tui", usage=USAGE,
        description="Design, train and analyse convolutional networks on MNIST in the terminal. "
        "With no command (or a FILE / share code / template:NAME), opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"cnn-tui {__version__}")
    parser.add_argument("--print-completion", metavar="SHELL", choices=("bash", "zsh"),
                        help="print a shell completion script: bash or zsh (add "
                        "`source <(cnn-tui --print-completion bash)` to ~/.bashrc)")
    _add_app_options(parser.add_argument_group(
        "the app (cnn-tui [FILE | SHARECODE] [options])"))
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
    parser = argparse.ArgumentParser(
        prog="cnn-tui", description="Open the cnn-tui app. Commands: cnn-tui --help.")
    parser.add_argument("source", nargs="?", metavar="FILE | SHARECODE",
                        help="architecture file, share code or template:NAME to open")
    _add_app_options(parser)
    return parser


def _did_you_mean(word: str) -> str | None:
    """The command `word` is a typo of, when it is not something the app could open."""
    import difflib
    import os

    if word.startswith("-") or ":" in word or os.path.exists(os.path.expanduser(word)):
        return None
    if "/" in word or "." in word:  # a path that does not exist: the app says so
        return None
    close = difflib.get_close_matches(word.lower(), sorted(COMMAND_NAMES), n=1, cutoff=0.6)
    return close[0] if close else None


def _run_app(argv: list[str]) -> int:
    args = _app_parser().parse_args(argv)
    try:
        from cnn_tui.tui.launch import launch
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(("cnn_tui.tui", "textual")):
            raise CnnTuiError("the app is not available in this install (textual missing?)") from None
        raise
    return launch(args)


def _print_completion(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cnn-tui")
    parser.add_argument("--print-completion", metavar="SHELL", choices=("bash", "zsh"),
                        required=True)
    args = parser.parse_args(argv)
    from cnn_tui.completion import completion_script

    sys.stdout.write(completion_script(build_parser(), args.print_completion))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0].split("=", 1)[0] == "--print-completion":
            return _print_completion(argv)
        if argv and argv[0] not in COMMAND_NAMES and (command := _did_you_mean(argv[0])):
            print(f"cnn-tui: error: {argv[0]!r} is not a command or a file; did you mean "
                  f"{command!r}? (cnn-tui --help lists the commands)", file=sys.stderr)
            return 2
        if not argv or (argv[0] not in COMMAND_NAMES
                        and argv[0] not in ("-h", "--help", "--version")):
            return _run_app(argv)
        args = build_parser().parse_args(argv)
        args.argv = argv  # for commands that re-run themselves (train --detach)
        return int(args.func(args) or 0)
    except CnnTuiError as err:
        print(f"cnn-tui: error: {printable(err)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("cnn-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
