"""`cnn-tui history list|show|restore|diff`: the architecture history from the command line.

The app keeps every saved or trained architecture as a content-addressed version in runs.db
(`cnn_tui.runs.history`); this is the same history without the app, as `runs` is for the run
store. Versions are named by a unique prefix of their hash, like git commits. A run belongs to
the version whose hash is that of its stored architecture, so runs trained from the command line
(which keep no version themselves) are added as `run` versions whenever the history is listed,
as the app's Runs screen does.

Stdlib and spec at top level;
the history and run store are stdlib too, imported when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from cnn_tui import atomic
from cnn_tui.errors import CnnTuiError, RunStoreError
from cnn_tui.spec.fmt import and_more
from cnn_tui.spec.fmt import percent as _pct
from cnn_tui.spec.text import printable

EMPTY = ("no architecture versions kept yet: saving in the app (ctrl+s) or training "
         "(in the app or `cnn-tui train`) keeps one")


def _names_a_source(word: str) -> bool:
    """A word meant as an architecture: a path (existing or file-like), share code, template."""
    return (word == "-" or word.lower().startswith(("cnn1:", "template:"))
            or word.lower().endswith(".json") or "/" in word or Path(word).expanduser().exists())


def _runs_dir_option(parser: argparse.ArgumentParser, inherited: bool = True) -> None:
    extra = {"default": argparse.SUPPRESS} if inherited else {}
    parser.add_argument("--runs-dir", metavar="DIR", help="run store folder (holds runs.db)",
                        **extra)


def register(subparsers: argparse._SubParsersAction) -> None:
    history = subparsers.add_parser(
        "history", help="list, show, restore or diff kept architecture versions",
        description="The architecture history: every version saved or trained, named by its "
        "hash (any unique prefix of 4+ characters). `cnn-tui history list FILE` lists the "
        "versions of FILE.")
    _list_options(history, inherited=False)
    _runs_dir_option(history, inherited=False)
    history.set_defaults(func=cmd_list, file=None)
    sub = history.add_subparsers(dest="history_command", metavar="ACTION")

    ls = sub.add_parser("list", help="versions, newest first (of FILE, or of --name)",
                        description="Versions, newest first. With FILE (an architecture file, "
                        "share code or template:NAME): its own lineage and every version of its "
                        "name or saved to it; * marks the one FILE holds now.")
    ls.add_argument("file", metavar="FILE", nargs="?", help="only the versions related to FILE")
    _list_options(ls, inherited=True)
    _runs_dir_option(ls)
    ls.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="one version: layers, lineage and the runs that trained it",
                          description="One version, its parent chain, the versions edited from "
                          "it and the runs that trained it. --json prints its architecture file.")
    show.add_argument("version", metavar="HASH", help="a version hash or a unique prefix (4+)")
    show.add_argument("--json", action="store_true",
                      help="print the version's architecture JSON exactly (pipe it to a file)")
    _runs_dir_option(show)
    show.set_defaults(func=cmd_show)

    restore = sub.add_parser("restore", help="write a version as an architecture file",
                             description="Write a version as a native architecture file "
                             "(atomically). An existing FILE is kept unless --force.")
    restore.add_argument("version", metavar="HASH",
                         help="a version hash or a unique prefix (4+)")
    restore.add_argument("-o", "--output", metavar="FILE", required=True,
                         help="file to write (- for standard output)")
    restore.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    _runs_dir_option(restore)
    restore.set_defaults(func=cmd_restore)

    diff = sub.add_parser("diff", help="the layer-level difference between two versions",
                          description="How B differs from A, layer by layer (as the Compare "
                          "screen shows it). A and B are version hashes, or architecture files, "
                          "share codes or template:NAME.")
    diff.add_argument("old", metavar="A", help="the version compared from (hash, file, share "
                      "code or template:NAME)")
    diff.add_argument("new", metavar="B", help="the version compared to (the same kinds)")
    diff.add_argument("-c", "--changes-only", action="store_true",
                      help="leave out the layers both have unchanged")
    diff.add_argument("--json", action="store_true", help="print the difference as JSON")
    diff.add_argument("--exit-code", action="store_true",
                      help="exit 1 when the layers differ, 0 when they are the same (as git diff)")
    _runs_dir_option(diff)
    diff.set_defaults(func=cmd_diff)


def _list_options(parser: argparse.ArgumentParser, inherited: bool) -> None:
    # `history --json` and `history list --json` both work: the list parser's own defaults are
    # suppressed so they do not overwrite what was given before the action word.
    unset = argparse.SUPPRESS if inherited else None
    parser.add_argument("--name", metavar="NAME", default=unset,
                        help="only versions of this architecture name")
    parser.add_argument("-n", "--limit", metavar="N", type=_positive, default=unset,
                        help="at most N versions")
    parser.add_argument("--json", action="store_true", help="print the versions as JSON",
                        default=argparse.SUPPRESS if inherited else False)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


# ------------------------------------------------------------------------------ helpers

def _root(args) -> str | None:
    return getattr(args, "runs_dir", None)


def _history(args):
    from cnn_tui.runs.history import History
    return History(_root(args))


def _runs_by_version(args, link: bool, epochs: bool = False) -> dict[str, list]:
    """Every run, grouped by the hash of the architecture it trained (newest run first).

    With `link`, a store written by an older cnn-tui is first brought up to date (which keeps
    the version of every run in the history); one that cannot be written is read as it is."""
    from cnn_tui.runs.history import run_hash
    from cnn_tui.runs.store import RunStore

    store = RunStore(_root(args))
    try:
        if link:
            store.upgrade()
        records = store.list_runs(with_epochs=epochs)
    finally:
        store.close()
    out: dict[str, list] = {}
    for record in records:
        digest = run_hash(record)
        if digest is not None:
            out.setdefault(digest, []).append(record)
    return out


def resolve(history, text: str):
    """The version for a hash or unique prefix; one-line RunStoreError naming it otherwise."""
    prefix = str(text).strip().lower()
    if not _looks_like_hash(prefix) or len(prefix) > 64:
        raise RunStoreError(f"{str(text)[:70]!r} is not a version hash (4 to 64 hex digits, as "
                            "`cnn-tui history list` shows them)")
    found = history.get(prefix, missing_ok=True)
    if found is not None:
        return found
    if not history.db.is_file():
        raise RunStoreError(f"no architecture version {prefix!r}: the history in {history.root} "
                            "is empty")
    candidates = [v for v in history.versions(limit=1_000_000_000) if v.hash.startswith(prefix)]
    if candidates:
        shown = ", ".join(f"{v.short} ({v.name[:30]}, {_when(v.created)})" for v in candidates[:5])
        raise RunStoreError(f"architecture version {prefix!r} is ambiguous: {shown}"
                            f"{and_more(len(candidates) - 5)}")
    raise RunStoreError(f"no architecture version {prefix!r} in {history.db} "
                        "(see `cnn-tui history list`)")


def _when(ts, seconds: bool = False) -> str:
    if not ts:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M", time.localtime(ts))


def _params(n) -> str:
    return "?" if n is None else f"{n:,}"


def _arch(version):
    """The version's architecture; a stored text that no longer reads names the version."""
    try:
        return version.arch
    except CnnTuiError as err:
        raise RunStoreError(f"architecture version {version.short}: {err}") from None


def _version_dict(version, runs: list) -> dict:
    return {"hash": version.hash, "short": version.short, "name": version.name,
            "created": version.created, "last_seen": version.last_seen,
            "source": version.source, "path": version.path, "parent": version.parent,
            "layers": version.layers, "params": version.params,
            "runs": [r.id for r in runs]}


# ------------------------------------------------------------------------------ list

def cmd_list(args: argparse.Namespace) -> int:
    from cnn_tui.runs.history import arch_hash

    source = getattr(args, "file", None)
    if source is not None and args.name is not None:
        raise CnnTuiError("history list: give FILE or --name, not both")
    current = None
    arch = None
    if source is not None:
        from cnn_tui.spec import io as spec_io

        arch = spec_io.load_source(source)
        current = arch_hash(arch)
    runs = _runs_by_version(args, link=True)
    history = _history(args)
    try:
        if arch is not None:
            path = Path(source).expanduser()
            versions = history.related(arch, path if source != "-" and path.is_file() else None)
        else:
            versions = history.versions(name=args.name, limit=1_000_000_000)
    finally:
        history.close()
    if args.limit:
        versions = versions[:args.limit]
    if args.json:
        rows = [_version_dict(v, runs.get(v.hash, [])) for v in versions]
        if current is not None:
            for row in rows:
                row["current"] = row["hash"] == current
        print(json.dumps(rows, indent=2))
        return 0
    if not versions:
        if source is not None:
            print(f"no versions of {printable(source)} kept yet (saving it in the app or training it "
                  "keeps one)")
        elif args.name is not None:
            print(f"no versions named {args.name!r} (see `cnn-tui history list`)")
        else:
            print(EMPTY)
        return 0
    mark = current is not None
    print(("  " if mark else "") + f"{'HASH':<10} {'CREATED':<16} {'SOURCE':<6} {'NAME':<20} "
          f"{'LAYERS':>6} {'PARAMS':>10} {'RUNS':>4} {'PARENT':<10} PATH")
    for v in versions:
        lead = ("* " if v.hash == current else "  ") if mark else ""
        print(f"{lead}{v.short:<10} {_when(v.created):<16} {v.source:<6} "
              f"{printable(v.name)[:20]:<20} "
              f"{v.layers:>6} {_params(v.params):>10} {len(runs.get(v.hash, [])):>4} "
              f"{(v.parent or '-')[:10]:<10} {printable(v.path or '-')}".rstrip())
    if mark and all(v.hash != current for v in versions):
        print(f"({printable(source)} holds a version not kept yet: {current[:10]})")
    return 0


# ------------------------------------------------------------------------------ show

def cmd_show(args: argparse.Namespace) -> int:
    history = _history(args)
    try:
        version = resolve(history, args.version)
        if args.json:
            sys.stdout.write(version.text)
            return 0
        lineage = history.lineage(version.hash)
        children = [v for v in history.versions(limit=1_000_000_000) if v.parent == version.hash]
    finally:
        history.close()
    runs = _runs_by_version(args, link=False, epochs=True).get(version.hash, [])
    _print_version(version, lineage[1:], children, runs)
    return 0


def _line(v) -> str:
    return (f"{v.short}  {_when(v.created, True)}  {v.source:<5} {printable(v.name)[:24]:<24} "
            f"{v.layers:>3} layers {_params(v.params):>10} params  "
            f"{printable(v.path or '')}").rstrip()


def _print_version(version, ancestors: list, children: list, runs: list) -> None:
    from cnn_tui.spec.analysis import analyze
    from cnn_tui.spec.fmt import shape_text
    from cnn_tui.spec.summary import describe_layer

    print(f"version   {version.hash}")
    print(f"name      {printable(version.name)}")
    print(f"kept      {_when(version.created, True)} by {version.source}"
          + (f", last seen {_when(version.last_seen, True)}"
             if version.last_seen != version.created else ""))
    print(f"file      {printable(version.path or '-')}")
    print(f"size      {version.layers} layers, {_params(version.params)} parameters")
    arch = _arch(version)
    try:
        rows = analyze(arch).rows
    except CnnTuiError:
        rows = []
    if rows:
        print(f"\n{'#':>3}  {'layer':<28} {'output':<14} {'params':>10}")
        for r in rows:
            label = "  " * r.depth + describe_layer(r.layer)
            print(f"{r.number:>3}  {label:<28} {shape_text(r.out_shape):<14} {r.params:>10,}")
    print("\nparents (newest first)")
    if ancestors:
        print("\n".join(f"  {_line(v)}" for v in ancestors))
    elif version.parent:
        print(f"  {version.parent[:10]} (no longer in the history)")
    else:
        print("  none: the first version")
    if children:
        print("\nedited into")
        print("\n".join(f"  {_line(v)}" for v in children))
    print("\nruns that trained it")
    if not runs:
        print("  none")
        return
    print(f"  {'ID':<21} {'STATUS':<11} {'NAME':<14} {'EP':>4} {'VAL':>7} {'TEST':>7} STARTED")
    for r in runs:
        print(f"  {r.id:<21} {r.status:<11} {printable(r.name or '')[:14]:<14} {len(r.epochs):>4} "
              f"{_pct(r.best_val_acc):>7} {_pct(r.test_acc):>7} {_when(r.started)}")


# ------------------------------------------------------------------------------ restore

def cmd_restore(args: argparse.Namespace) -> int:
    from cnn_tui.runs.history import remember
    from cnn_tui.spec import io as spec_io

    history = _history(args)
    try:
        version = resolve(history, args.version)
    finally:
        history.close()
    arch = _arch(version)
    if args.output == "-":
        sys.stdout.write(version.text)
        return 0
    path = Path(args.output).expanduser()
    atomic.check_overwrite(path, args.force)
    spec_io.write_file(arch, path, overwrite=args.force)
    # The file now holds this version: keeping it as seen there makes it the parent of the
    # next version saved to that file (not the one the restore replaced).
    problem = remember(arch, "save", path, root=_root(args))
    print(f"wrote {printable(args.output)}: version {version.short} of {version.name!r} "
          f"({version.layers} layers, {_params(version.params)} parameters)")
    if problem:
        print(f"cnn-tui: warning: {problem}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------ diff

def _looks_like_hash(text: str) -> bool:
    word = text.strip().lower()
    return len(word) >= 4 and all(c in "0123456789abcdef" for c in word)


def _operand(history, text: str):
    """(label, Architecture) for a version hash, or a file / share code / template:NAME."""
    from cnn_tui.spec import io as spec_io

    word = text.strip()
    if _looks_like_hash(word) and not Path(word).expanduser().exists():
        version = resolve(history, word)
        label = (f"{version.short} {printable(version.name)} "
                 f"({version.source} {_when(version.created)})")
        return label, _arch(version)
    if not _names_a_source(word):
        raise CnnTuiError(f"{text!r}: neither a version hash nor an architecture file")
    return printable(text), spec_io.load_source(text)


def _side_dict(side) -> dict | None:
    if side is None:
        return None
    return {"number": side.number, "depth": side.depth, "label": side.label,
            "shape": list(side.shape) if side.shape is not None else None, "params": side.params}


def cmd_diff(args: argparse.Namespace) -> int:
    from cnn_tui.runs.compare import arch_diff

    history = _history(args)
    try:
        old_label, old = _operand(history, args.old)
        new_label, new = _operand(history, args.new)
    finally:
        history.close()
    try:
        diff = arch_diff(old, new)
    except CnnTuiError as err:
        raise CnnTuiError(f"cannot compare {args.old} and {args.new}: {err}") from None
    if args.json:
        print(json.dumps({
            "old": old_label, "new": new_label, "identical": diff.identical,
            "old_params": diff.old_params, "new_params": diff.new_params,
            "added": diff.count("added"), "removed": diff.count("removed"),
            "changed": diff.count("changed"),
            "rows": [{"op": r.op, "old": _side_dict(r.old), "new": _side_dict(r.new),
                      "changes": list(r.changes), "param_delta": r.param_delta}
                     for r in diff.rows
                     if not args.changes_only or r.op != "same" or r.shape_changed]},
            indent=2, ensure_ascii=False))
    else:
        print(f"--- {old_label}")
        print(f"+++ {new_label}")
        print("\n".join(diff.lines(include_same=not args.changes_only)))
    return 1 if args.exit_code and not diff.identical else 0
