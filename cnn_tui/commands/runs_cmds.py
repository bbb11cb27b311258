"""`cnn-tui runs list|show|compare|export|rename|tag|delete`: the run store from the command line.

Stdlib only (the store is SQLite + JSON); ids may be given as unique prefixes, like git.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path

from cnn_tui import atomic
from cnn_tui.errors import CnnTuiError
from cnn_tui.spec.fmt import fmt_bytes
from cnn_tui.spec.fmt import percent as _pct
from cnn_tui.spec.text import printable

EPOCH_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds",
                 "images_per_s", "batch_size")


def register(subparsers: argparse._SubParsersAction) -> None:
    runs = subparsers.add_parser("runs", help="list, show, export or delete training runs",
                                 description="The run store: every training run and its metrics.")
    runs.add_argument("--runs-dir", metavar="DIR", help="run store folder")
    runs.set_defaults(func=lambda args: cmd_list(args))
    sub = runs.add_subparsers(dest="runs_command", metavar="ACTION")

    ls = sub.add_parser("list", help="all runs, newest first")
    ls.add_argument("--status", help="only runs with this status")
    ls.add_argument("--json", action="store_true", help="print the runs as a JSON list")
    ls.add_argument("--runs-dir", metavar="DIR", help="run store folder", default=argparse.SUPPRESS)
    ls.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="one run: config, epochs, evaluation")
    show.add_argument("run_id", metavar="ID", help="run id or a unique prefix of it")
    show.add_argument("--json", action="store_true", help="print the whole run as JSON")
    show.add_argument("--runs-dir", metavar="DIR", help="run store folder", default=argparse.SUPPRESS)
    show.set_defaults(func=cmd_show)

    compare = sub.add_parser(
        "compare", help="runs side by side; seed groups as mean ± sd, tested against the first",
        description="What the app's Compare shows, as text: each run's results, the seed groups "
        "among them (the runs of one experiment or sweep trial, 2 or more) as mean ± sd, and the "
        "first group against each other one (Welch's t-test, or the corrected paired t-test "
        "when both are k-fold runs over the same folds).")
    compare.add_argument("run_ids", metavar="ID", nargs="*", help="run ids or unique prefixes")
    compare.add_argument("--tag", action="append", default=[], metavar="TAG",
                         help="also every run with this tag (e.g. experiment:exp-…); repeatable")
    compare.add_argument("--metric", default="test_acc",
                         choices=("test_acc", "best_val_acc", "val_acc", "val_loss", "train_loss",
                                  "train_acc"),
                         help="the figure compared (per-epoch ones: at the last epoch)")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.add_argument("--runs-dir", metavar="DIR", help="run store folder",
                         default=argparse.SUPPRESS)
    compare.set_defaults(func=cmd_compare)

    export = sub.add_parser("export", help="a run's metrics as CSV (per epoch) or JSON (everything)")
    export.add_argument("run_id", metavar="ID", help="run id or a unique prefix of it")
    fmt = export.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--csv", action="store_true", help="one row per epoch")
    fmt.add_argument("--json", action="store_true",
                     help="everything: config, epochs, batch points, gradient norms, evaluation, "
                     "architecture")
    fmt.add_argument("--hdf5", action="store_true",
                     help="epochs, batch points, gradient norms and evaluation as HDF5 (needs "
                     "h5py: pip install 'cnn-tui[hdf5]'; without -o: <arch>-<id>.h5 here)")
    export.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    export.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    export.add_argument("--runs-dir", metavar="DIR", help="run store folder", default=argparse.SUPPRESS)
    export.set_defaults(func=cmd_export)

    _run_action(sub, "rename", "give a run a name (an empty NAME removes it)",
                cmd_rename).add_argument("name", metavar="NAME", help="the new name ('' removes it)")
    _run_action(sub, "tag", "set a run's tags (none given: removes them)",
                cmd_tag).add_argument("tags", metavar="TAG", nargs="*",
                                      help="the run's tags, replacing the ones it has")

    delete = sub.add_parser("delete", help="delete a run and its checkpoints")
    delete.add_argument("run_id", metavar="ID", help="run id or a unique prefix of it")
    delete.add_argument("--yes", action="store_true", help="do not ask")
    delete.add_argument("--runs-dir", metavar="DIR", help="run store folder", default=argparse.SUPPRESS)
    delete.set_defaults(func=cmd_delete)


def _run_action(sub, name: str, help: str, func) -> argparse.ArgumentParser:
    """`runs NAME ID [--runs-dir DIR]`, calling `func`."""
    action = sub.add_parser(name, help=help)
    action.add_argument("run_id", metavar="ID", help="run id or a unique prefix of it")
    action.add_argument("--runs-dir", metavar="DIR", help="run store folder",
                        default=argparse.SUPPRESS)
    action.set_defaults(func=func)
    return action


def _store(args):
    from cnn_tui.runs.store import RunStore
    return RunStore(getattr(args, "runs_dir", None))


def _when(ts) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def cmd_list(args: argparse.Namespace) -> int:
    records = _store(args).list_runs(status=getattr(args, "status", None))
    if getattr(args, "json", False):
        print(json.dumps([{k: v for k, v in r.to_dict().items() if k not in ("arch", "epochs")}
                          | {"arch_name": r.arch_name, "epochs_done": len(r.epochs)}
                          for r in records], indent=2))
        return 0
    if not records:
        print("no runs yet (train one: cnn-tui train template:beginner)")
        return 0
    header = (f"{'ID':<21} {'STATUS':<11} {'ARCH':<16} {'NAME':<14} {'EP':>4} {'VAL':>7} "
              f"{'TEST':>7} {'DATA':<11} {'DEVICE':<6} STARTED")
    print(header)
    for r in records:
        print(f"{r.id:<21} {r.status:<11} {printable(r.arch_name)[:16]:<16} "
              f"{printable(r.name or '')[:14]:<14} "
              f"{len(r.epochs):>4} {_pct(r.best_val_acc):>7} {_pct(r.test_acc):>7} "
              f"{_data_column(r.config):<11} {printable(r.device or '-'):<6} {_when(r.started)}")
    return 0


MNIST_TRAIN, MNIST_TEST, DEFAULT_VAL = 60_000, 10_000, 5_000


def _limits(config: dict) -> tuple[int | None, int | None]:
    """(training images, test images) a run was limited to; None where it used them all."""
    def count(key):
        value = config.get(key)
        return int(value) if isinstance(value, (int, float)) and value else None
    return count("limit_train"), count("limit_test")


def _data_column(config: dict) -> str:
    """`all`, or the subset as TRAIN/TEST image counts (`all` for a side not limited)."""
    train, test = _limits(config)
    if train is None and test is None:
        return "all"
    return f"{train if train is not None else 'all'}/{test if test is not None else 'all'}"


def _data_line(config: dict) -> str:
    """What `runs show` says of the data a run saw: everything, or which subset."""
    val = config.get("val_size", DEFAULT_VAL)
    val = int(val) if isinstance(val, (int, float)) else DEFAULT_VAL
    pool = MNIST_TRAIN - val
    train, test = _limits(config)
    if train is None and test is None:
        return f"all of MNIST: {pool:,} training, {val:,} validation, {MNIST_TEST:,} test images"
    trained = (f"{min(train, pool):,} of {pool:,} training images" if train is not None
               else f"all {pool:,} training images")
    tested = (f"{min(test, MNIST_TEST):,} of {MNIST_TEST:,} test images" if test is not None
              else f"all {MNIST_TEST:,} test images")
    return f"a subset: {trained}, {tested} ({val:,} validation images)"


def cmd_show(args: argparse.Namespace) -> int:
    record = _store(args).get(args.run_id, points=args.json)
    if args.json:
        print(json.dumps(record.to_dict(), indent=2))
        return 0
    print(f"run       {record.id}" + (f"  ({printable(record.name)})" if record.name else ""))
    print(f"status    {record.status}" + (f": {printable(record.message)}" if record.message else ""))
    print(f"arch      {printable(record.arch_name)}  ({record.params or 0:,} parameters)")
    print(f"device    {printable(record.device)} ({printable(record.device_name)})")
    print(f"started   {_when(record.started)}   ended {_when(record.ended)}")
    print(f"data      {_data_line(record.config)}")
    cfg = record.config
    print("config    " + ", ".join(f"{k}={printable(cfg[k])}" for k in (
        "optimizer", "learning_rate", "batch_size", "epochs", "schedule", "augment", "seed")
        if k in cfg))
    if record.epochs:
        print(f"\n{'epoch':>5} {'loss':>8} {'acc':>7} {'val_loss':>9} {'val_acc':>8} {'lr':>9} {'sec':>7}")
        for e in record.epochs:
            print(f"{e['epoch']:>5} {e['train_loss']:>8.4f} {_pct(e['train_acc']):>7} "
                  f"{_num(e.get('val_loss')):>9} {_pct(e.get('val_acc')):>8} "
                  f"{e.get('lr', 0):>9.3g} {e.get('seconds', 0):>7.1f}")
    ev = record.evaluation
    if ev:
        print(f"\ntest accuracy {_pct(ev.get('test_acc'))}   loss {_num(ev.get('test_loss'))}   "
              f"macro F1 {ev.get('macro', {}).get('f1', 0):.4f}")
    figures = []
    if record.images_per_s:
        figures.append(f"{record.images_per_s:,.0f} images/s")
    if record.peak_memory_bytes:
        figures.append(f"peak memory {fmt_bytes(record.peak_memory_bytes)}")
    if figures:
        print("measured  " + ", ".join(figures))
    for item in record.diagnosis:
        print(printable(f"diagnosis ({item.get('severity')}): {item.get('message')}; "
                        f"try {item.get('advice')}"))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from cnn_tui.experiments import seed_groups as sg
    store = _store(args)
    records = [store.get(run_id) for run_id in args.run_ids]
    every = store.list_runs() if args.tag else []  # read once, whatever the number of tags
    for tag in args.tag:
        found = [r for r in every if tag in (r.tags or [])]
        if not found:
            raise CnnTuiError(f"runs compare: no run has the tag {tag!r}")
        records += sorted(found, key=lambda r: r.started or 0)
    seen: set[str] = set()
    records = [r for r in records if not (r.id in seen or seen.add(r.id))]
    if len(records) < 2:
        raise CnnTuiError("runs compare: give two runs or more (ids, or --tag TAG)")
    groups = sg.seed_groups(records)
    names = sg.group_labels(groups)
    labels = {key: chr(ord("A") + i) if i < 26 else f"G{i + 1}" for i, key in enumerate(groups)}
    group_of = {r.id: key for key, runs in groups.items() for r in runs}
    tests = [(labels[key], sg.compare_groups(list(groups.values())[0], runs, args.metric))
             for key, runs in list(groups.items())[1:]]
    if args.json:
        print(json.dumps({
            "metric": args.metric,
            "runs": [{"run_id": r.id, "name": r.name, "group": labels.get(group_of.get(r.id)),
                      "value": sg.run_value(r, args.metric)} for r in records],
            "groups": [{"group": labels[key], "key": key, "label": names[key],
                        "runs": [r.id for r in runs],
                        "curve": vars(sg.group_curve(runs, "val_acc"))}
                       for key, runs in groups.items()],
            "tests": [{"a": "A", "b": label, **result.to_dict()} for label, result in tests],
        }, indent=2))
        return 0
    percent = args.metric.endswith("_acc")
    print(f"{'group':<5} {'run':<20} {sg.METRIC_NAMES[args.metric]:>14}  name")
    for r in records:
        value = sg.run_value(r, args.metric)
        shown = "-" if value is None else (_pct(value) if percent else f"{value:.4f}")
        print(f"{labels.get(group_of.get(r.id), ''):<5} {r.id:<20} {shown:>14}  "
              f"{printable(r.name or r.arch_name)}")
    if groups:
        print()
    for key, runs in groups.items():
        print(printable(f"{labels[key]}  {names[key]} ({key}): "
                        f"{sg.describe_group(runs, args.metric)}"))
    for label, result in tests:
        print(printable(sg.describe_comparison(result, "A", label)))
    if not groups:
        print("\nno seed groups among these runs (the runs of one experiment or sweep trial, "
              "2 or more)")
    return 0


def _num(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def cmd_export(args: argparse.Namespace) -> int:
    if args.hdf5:
        from cnn_tui.export.hdf5 import export_run
        written = export_run(_store(args), args.run_id, args.output, args.force)
        print(f"wrote {printable(written)} (hdf5, {written.stat().st_size:,} bytes)",
              file=sys.stderr)
        return 0
    record = _store(args).get(args.run_id, points=args.json)
    if args.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(EPOCH_COLUMNS)
        for e in record.epochs:
            writer.writerow(["" if e.get(c) is None else e.get(c) for c in EPOCH_COLUMNS])
        text = buf.getvalue()
    else:
        text = json.dumps(record.to_dict(), indent=2) + "\n"
    if args.output:
        path = Path(args.output).expanduser()
        atomic.check_overwrite(path, args.force)
        atomic.write_text(path, text, overwrite=args.force)
    else:
        sys.stdout.write(text)
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    store = _store(args)
    run_id = store.resolve(args.run_id)
    name = args.name.strip(" ")
    store.rename(run_id, name or None)  # the store refuses control characters
    print(f"run {run_id}: " + (f"named {name!r}" if name else "name removed"))
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    store = _store(args)
    run_id = store.resolve(args.run_id)
    tags = list(dict.fromkeys(t.strip() for t in args.tags if t.strip()))
    store.set_tags(run_id, tags)  # the store refuses control characters
    print(f"run {run_id}: tags " + (", ".join(tags) if tags else "removed"))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    store = _store(args)
    run_id = store.resolve(args.run_id)
    record = store.get(run_id)
    if record.status == "running":
        raise CnnTuiError(f"run {run_id} is still running (pid {record.pid}); stop it first")
    if not args.yes:
        if not sys.stdin.isatty():
            raise CnnTuiError(f"delete run {run_id}: add --yes to confirm (stdin is not a terminal)")
        answer = input(f"delete run {run_id} and its checkpoints? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("kept")
            return 1
    store.delete(run_id)
    print(f"deleted {run_id}")
    return 0
