"""`cnn-tui sweep run|worker|list|status|best|report|stop|delete`, and the experiment of
`cnn-tui train --seeds N / --folds K`.

`sweep run FILE` creates the sweep when it is new (joins it when it exists with the same
definition), runs trials until the number wanted is done over every worker on every machine,
and shows a live table on a terminal (a line per finished trial when piped; `--json`: one object
at the end). `--workers W` starts W worker processes on this box; `--gpus all|LIST --per-gpu K`
one process per GPU slot with CUDA_VISIBLE_DEVICES set. `sweep worker NAME --storage URL` joins
from another box. The engine is `cnn_tui.experiments`; this module parses flags and prints.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from cnn_tui.errors import CnnTuiError
from cnn_tui.experiments.worker import PER_GPU_DEFAULT

DEFAULT_HEARTBEAT = 30


def _common(p: argparse.ArgumentParser, runs: bool = True) -> None:
    p.add_argument("--storage", metavar="URL",
                   help="where the sweep lives: a journal file path (default: sweeps.journal "
                        "beside the run store), postgresql://USER@HOST/DB, or sqlite:///PATH "
                        "(one worker only)")
    if runs:
        p.add_argument("--runs-dir", metavar="DIR", help="run store folder")


def _training(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", metavar="DIR", help="MNIST root (torchvision layout)")
    p.add_argument("--device", metavar="D", help="auto, cuda, mps, cpu (or cuda:N) for the runs")
    p.add_argument("--heartbeat", type=int, default=DEFAULT_HEARTBEAT, metavar="S",
                   help="seconds between a worker's heartbeats (default 30): a trial whose worker "
                        "is silent for 4 of them is failed and re-queued (at once when its "
                        "worker's process is gone on the same host)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sweep", help="hyperparameter searches, ablations and comparisons (Optuna)",
        description="Sweeps: many runs of one architecture, searched, ablated or compared. "
        "Each trial is an ordinary run in the run store, tagged sweep:NAME and trial:N.")
    sub = p.add_subparsers(dest="sweep_command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="create (or join) a sweep and run its trials",
                         description="Create the sweep of FILE if new (join it if it exists with "
                         "the same definition) and run trials until the number wanted is done.")
    run.add_argument("file", metavar="FILE", help="a cnn-tui/sweep file")
    run.add_argument("--trials", type=int, metavar="N", help="trials wanted (a search; default: "
                     "the file's)")
    run.add_argument("--workers", type=int, metavar="W", help="worker processes on this box "
                     "(default 1, trained in this process)")
    run.add_argument("--gpus", metavar="all|LIST", help="workers on these GPUs (all, or indices "
                     "such as 0,1), --per-gpu of them on each, each seeing only its GPU "
                     "(CUDA_VISIBLE_DEVICES)")
    run.add_argument("--per-gpu", type=int, metavar="K",
                     help=f"workers per GPU with --gpus (default {PER_GPU_DEFAULT}: measured "
                     "best on an H200 for MNIST-sized trials)")
    _common(run)
    _training(run)
    run.add_argument("--json", action="store_true", help="print one JSON object at the end")
    run.set_defaults(func=cmd_run)

    worker = sub.add_parser("worker", help="join a sweep from this box (or GPU)",
                            description="Run trials of sweep NAME until it has the number it "
                            "wants. The definition is stored with the sweep: the name and the "
                            "storage are all a worker needs.")
    worker.add_argument("name", metavar="NAME", help="the sweep's name (as in its file)")
    _common(worker)
    _training(worker)
    worker.set_defaults(func=cmd_worker)

    lst = sub.add_parser("list", help="the sweeps in a storage")
    _common(lst)
    lst.add_argument("--json", action="store_true", help="one JSON object per sweep, in a list")
    lst.set_defaults(func=cmd_list)

    status = sub.add_parser("status", help="a sweep's trials")
    status.add_argument("name", metavar="NAME", help="the sweep's name (as in its file)")
    _common(status)
    status.add_argument("--json", action="store_true", help="the sweep and its trials as one JSON object")
    status.set_defaults(func=cmd_status)

    best = sub.add_parser("best", help="a sweep's best trial (-o: as an architecture file)")
    best.add_argument("name", metavar="NAME", help="the sweep's name (as in its file)")
    best.add_argument("-o", "--output", metavar="FILE",
                      help="write the best trial's architecture, training settings included")
    best.add_argument("--force", action="store_true", help="overwrite FILE")
    _common(best)
    best.add_argument("--json", action="store_true", help="the best trial as one JSON object")
    best.set_defaults(func=cmd_best)

    report = sub.add_parser("report", help="what a sweep found: trials, importance, statistics")
    report.add_argument("name", metavar="NAME", help="the sweep's name (as in its file)")
    fmt = report.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="one row per trial (a search) or variant")
    fmt.add_argument("--json", action="store_true", help="the report as one JSON object")
    _common(report)
    report.set_defaults(func=cmd_report)

    stop = sub.add_parser("stop", help="workers take no new trial (running ones finish)")
    stop.add_argument("name", metavar="NAME", help="the sweep's name (as in its file)")
    _common(stop)
    stop.set_defaults(func=cmd_stop)

    delete = sub.add_parser("delete", help="delete a sweep (its runs stay in the run store)")
    delete.add_argument("name", metavar="NAME", help="the sweep's name (as in its file)")
    delete.add_argument("--yes", action="store_true", help="do not ask")
    _common(delete)
    delete.set_defaults(func=cmd_delete)


# ---------------------------------------------------------------- opening

def _settings(args):
    from cnn_tui.settings import Settings
    return Settings.from_env(data_dir=getattr(args, "data_dir", None),
                             runs_dir=getattr(args, "runs_dir", None))


def _backend(args, settings, workers: int = 1, must_exist: bool = True):
    """The storage's Backend; None when it is the default journal and there is none yet (and
    `must_exist` is False)."""
    from cnn_tui.experiments.optuna_backend import Backend
    from cnn_tui.experiments.storage import parse_storage
    ref = parse_storage(args.storage, settings.runs_dir, workers=workers)
    if ref.kind == "journal" and not Path(ref.target).exists():
        if must_exist:
            raise CnnTuiError(f"no sweeps in {ref.shown} (no journal file there; give --storage "
                              "or --runs-dir)")
        return None
    return Backend(ref, heartbeat=getattr(args, "heartbeat", DEFAULT_HEARTBEAT))


def _open(args):
    settings = _settings(args)
    backend = _backend(args, settings)
    return backend, backend.open(args.name)


# ---------------------------------------------------------------- printing

def _fmt(value, spec=".4f") -> str:
    import math
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return format(value, spec)


def _trial_line(sweep, t) -> str:
    from cnn_tui.experiments.report import params_text
    value = f"{sweep.metric} {_fmt(t.value)}" if t.state in ("complete", "pruned") else ""
    extra = " (diverged: worst value)" if t.diverged else ""
    parts = [f"trial {t.number:<3} {t.state:<8}", value + extra, params_text(t.params)]
    if t.run_id:
        parts.append(f"run {t.run_id}")
    if t.worker:
        parts.append(f"on {t.worker}" + (f" gpu {t.gpu}" if t.gpu else ""))
    if t.message and t.state in ("failed", "invalid", "pruned"):
        parts.append(f"({t.message})")
    return "  ".join(p for p in parts if p)


def _header(study, views) -> str:
    from cnn_tui.experiments.report import best_trial, summary_counts
    sweep = study.sweep
    counts = summary_counts(views)
    what = sweep.kind
    if sweep.kind == "search":
        what += f", {sweep.sampler} sampler, {sweep.pruner['type']} pruner"
    done = sum(counts[s] for s in ("complete", "pruned", "failed", "invalid"))
    best = best_trial(sweep, views)
    line = (f"sweep {sweep.name} ({what}): {done}/{study.target} done, {counts['running']} "
            f"running")
    if counts["pruned"] or counts["failed"] or counts["invalid"]:
        line += (f" ({counts['complete']} complete, {counts['pruned']} pruned, "
                 f"{counts['failed']} failed, {counts['invalid']} invalid)")
    if best is not None:
        line += f"; best trial {best.number}: {sweep.metric} {_fmt(best.value)}"
    return line


def _table(study, views):
    from rich.table import Table

    from cnn_tui.experiments.report import best_trial, counted, params_text
    sweep = study.sweep
    best = best_trial(sweep, views)
    table = Table(title=_header(study, views), title_justify="left", expand=False)
    for col, justify in (("#", "right"), ("state", "left"), (sweep.metric, "right"),
                         ("epoch", "right"), ("parameters", "left"), ("run", "left"),
                         ("worker", "left")):
        table.add_column(col, justify=justify, no_wrap=col != "parameters")
    shown = [t for t in counted(views) if t.state != "waiting"][-40:]
    for t in shown:
        value = t.value if t.state in ("complete", "pruned") else (
            t.intermediate[max(t.intermediate)] if t.intermediate else None)
        epoch = str(max(t.intermediate)) if t.intermediate else "-"
        mark = " *" if best is not None and t.number == best.number else ""
        table.add_row(str(t.number), t.state + mark, _fmt(value), epoch,
                      params_text(t.params, 60), t.run_id or "-",
                      t.worker + (f" gpu {t.gpu}" if t.gpu else ""))
    return table


class Monitor:
    """Follows a sweep in its storage: a line per trial as it finishes (plain) or a live table
    (`live`, on a terminal), polled every second."""

    def __init__(self, study, stream, live: bool) -> None:
        self.study = study
        self.stream = stream
        self.seen: set[int] = set()
        self.live = None
        if live:
            from rich.console import Console
            from rich.live import Live
            self.live = Live(console=Console(file=stream), refresh_per_second=2, transient=False)
        self._lock = threading.Lock()

    def start(self) -> Monitor:
        if self.live is not None:
            self.live.start()
        return self

    def note(self, text: str) -> None:
        with self._lock:
            if self.live is not None:
                self.live.console.print(text, markup=False, highlight=False)
            else:
                print(text, file=self.stream, flush=True)

    def poll(self) -> list:
        views = self.study.trials()
        with self._lock:
            if self.live is not None:
                self.live.update(_table(self.study, views))
            else:
                for t in views:
                    if t.counted and t.state not in ("running", "waiting") and t.number not in self.seen:
                        self.seen.add(t.number)
                        print(_trial_line(self.study.sweep, t), file=self.stream, flush=True)
        return views

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


class _Poller:
    """Calls `monitor.poll()` every `every` seconds on a thread (the in-process worker trains)."""

    def __init__(self, monitor: Monitor, every: float = 1.0) -> None:
        self.monitor, self.every = monitor, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweep-monitor", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.monitor.poll()
            except Exception:  # noqa: BLE001 - a failed refresh must not stop the sweep
                pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _result(study, backend, views=None) -> dict:
    """The object `--json` prints (and `sweep status --json`)."""
    from cnn_tui.experiments.report import best_trial, comparison, counted
    sweep = study.sweep
    views = views if views is not None else study.trials()
    best = best_trial(sweep, views)
    out = {"name": sweep.name, "kind": sweep.kind, "storage": backend.ref.shown,
           "metric": sweep.metric, "direction": sweep.direction, "target": study.target,
           "stopped": study.stopped,
           "trials": [t.to_dict() for t in counted(views)],
           "requeued": [{"number": t.number, "worker": t.worker, "message": t.message,
                         "retried_as": t.requeued_as} for t in views if t.requeued_as is not None],
           "best": None}
    if best is not None:
        out["best"] = {"number": best.number, "value": best.to_dict()["value"],
                       "params": best.params, "run_id": best.run_id}
    if sweep.kind == "search":
        importance, why = study.importance()
        out["importance"] = importance
        if importance is None:
            out["importance_note"] = why
    else:
        out["report"] = comparison(sweep, views)
    return out


# ---------------------------------------------------------------- sweep run / worker

def _plans(args):
    from cnn_tui.experiments.worker import plan_workers
    gpu_count = 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if args.gpus is not None:
        if visible is not None:  # the GPUs named there are the ones to share out
            gpu_count = len([v for v in visible.split(",") if v.strip()])
        else:
            import torch
            gpu_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if args.device and args.device not in ("auto", "cuda", "cuda:0"):
            raise CnnTuiError(f"--gpus with --device {args.device}: each GPU worker trains on its "
                              "own GPU (leave --device out)")
    elif args.per_gpu is not None:
        raise CnnTuiError("--per-gpu: only with --gpus")
    return plan_workers(args.workers, args.gpus, args.per_gpu, visible=visible, gpu_count=gpu_count,
                        threads=os.environ.get("CNN_TUI_THREADS") or None)


def cmd_run(args: argparse.Namespace) -> int:
    from cnn_tui.data import find_mnist
    from cnn_tui.experiments.storage import parse_storage
    from cnn_tui.experiments.sweepfile import check_space, load_sweep

    sweep = load_sweep(args.file)
    settings = _settings(args)
    plans = _plans(args)
    spawn = len(plans) > 1 or args.gpus is not None
    ref = parse_storage(args.storage, settings.runs_dir, workers=len(plans))
    if args.trials is not None:
        if sweep.queued:
            raise CnnTuiError(f"--trials: a{'n' if sweep.kind[0] == 'a' else ''} "
                              f"{'grid' if sweep.kind == 'search' else sweep.kind} sweep runs "
                              f"its {sweep.trials} queued trials")
        if args.trials < 1:
            raise CnnTuiError(f"--trials: must be at least 1, got {args.trials}")
    if args.heartbeat < 1:
        raise CnnTuiError(f"--heartbeat: must be at least 1 second, got {args.heartbeat}")
    find_mnist(settings.data_dir)
    say = sys.stderr if args.json or not sys.stdout.isatty() else sys.stdout
    bad, checked, first = check_space(sweep)
    if bad and bad * 2 >= checked:
        what = "sampled architectures" if sweep.kind == "search" else "variants"
        print(f"warning: {bad} of {checked} {what} break a rule and will not train (their trials "
              f"are recorded as invalid); first: {first}", file=sys.stderr, flush=True)
    from cnn_tui.experiments.optuna_backend import Backend
    backend = Backend(ref, heartbeat=args.heartbeat)
    study, created = backend.create(sweep, args.trials)
    study.resume()
    print(f"sweep {sweep.name}: {'created' if created else 'joined'} in {ref.shown}: "
          f"{study.target} trials; runs in {settings.runs_dir}", file=say, flush=True)
    live = not args.json and sys.stdout.isatty()
    monitor = Monitor(study, sys.stdout if not args.json else sys.stderr, live=live)
    if spawn:
        code = _run_children(args, study, ref, settings, plans, monitor)
    else:
        code = _run_here(args, study, settings, monitor)
    views = study.trials()
    if args.json:
        print(json.dumps(_result(study, backend, views), indent=2))
    else:
        print(_header(study, views), flush=True)
    return code


def _run_here(args, study, settings, monitor: Monitor) -> int:
    from cnn_tui.commands.train_cmds import StopSignals
    from cnn_tui.experiments.worker import Identity, work
    from cnn_tui.train.control import Control
    control = Control()
    signals = StopSignals(control).install()
    identity = Identity.here(args.heartbeat)
    monitor.start()
    try:
        with _Poller(monitor):
            summary = work(study, settings, identity, device=args.device, control=control,
                           on_note=monitor.note)
        monitor.poll()
    finally:
        signals.restore()
        monitor.stop()
    if summary.reason == "interrupted":
        return signals.code or 130
    return 0


def _worker_argv(study, ref, settings, args) -> list[str]:
    argv = [sys.executable, "-m", "cnn_tui", "sweep", "worker", study.name,
            "--storage", ref.argument, "--runs-dir", str(settings.runs_dir),
            "--heartbeat", str(args.heartbeat)]
    if settings.data_dir is not None:
        argv += ["--data-dir", str(settings.data_dir)]
    if args.device:
        argv += ["--device", args.device]
    return argv


def _run_children(args, study, ref, settings, plans, monitor: Monitor) -> int:
    """Start one worker process per plan, follow the sweep until they all end."""
    logs = settings.state_dir / "sweeps" / study.name
    try:
        logs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CnnTuiError(f"{logs}: cannot create ({exc.strerror or exc})") from None
    children = []
    for i, plan in enumerate(plans):
        log = logs / f"worker-{i + 1}.log"
        env = {**os.environ, **plan.env}
        with open(log, "ab") as fh:
            proc = subprocess.Popen(_worker_argv(study, ref, settings, args), env=env,
                                    stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        children.append((plan, proc, log))
        monitor.note(f"{plan.label}: pid {proc.pid}, log {log}")
    stopping = {"code": None}

    def forward(signum, frame) -> None:
        if stopping["code"] is not None:  # twice: at once
            for _, proc, _ in children:
                if proc.poll() is None:
                    proc.kill()
            return
        stopping["code"] = 128 + signum
        monitor.note("stopping: each worker finishes its step, saves, re-queues its trial "
                     "(again to kill them)")
        for _, proc, _ in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    monitor.start()
    try:
        while any(proc.poll() is None for _, proc, _ in children):
            monitor.poll()
            time.sleep(1.0)
        monitor.poll()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        monitor.stop()
    failed = [(plan, proc, log) for plan, proc, log in children if proc.returncode not in (0,)]
    for plan, proc, log in failed:
        if stopping["code"] is None:
            print(f"cnn-tui: {plan.label} (pid {proc.pid}) exited with status {proc.returncode}: "
                  f"{_last_line(log)} (log: {log})", file=sys.stderr)
    if stopping["code"] is not None:
        return stopping["code"]
    counts = study.counts()
    if counts.done < study.target and not study.stopped:
        return 1
    return 0


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def cmd_worker(args: argparse.Namespace) -> int:
    from cnn_tui.commands.train_cmds import StopSignals
    from cnn_tui.experiments.optuna_backend import Backend
    from cnn_tui.experiments.storage import parse_storage
    from cnn_tui.experiments.worker import Identity, work
    from cnn_tui.train.control import Control
    if args.heartbeat < 1:
        raise CnnTuiError(f"--heartbeat: must be at least 1 second, got {args.heartbeat}")
    settings = _settings(args)
    # a worker joining a sweep is one of several: SQLite is refused (see storage.SQLITE_REASON)
    ref = parse_storage(args.storage, settings.runs_dir, workers=2)
    if ref.kind == "journal" and not Path(ref.target).exists():
        raise CnnTuiError(f"no sweep {args.name!r}: no journal file {ref.target}")
    backend = Backend(ref, heartbeat=args.heartbeat)
    study = backend.open(args.name)
    identity = Identity.here(args.heartbeat)
    print(f"worker {identity.key}{' gpu ' + identity.gpu if identity.gpu else ''} joins sweep "
          f"{study.name} in {ref.shown}; runs in {settings.runs_dir}", flush=True)
    control = Control()
    signals = StopSignals(control).install()

    def on_trial(number, outcome) -> None:
        for view in study.trials():
            if view.number == number:
                print(_trial_line(study.sweep, view), flush=True)

    try:
        summary = work(study, settings, identity, device=args.device, control=control,
                       on_trial=on_trial, on_note=lambda text: print(text, flush=True))
    finally:
        signals.restore()
    print(f"worker {identity.key}: {len(summary.trials)} trials; {summary.reason}", flush=True)
    if summary.reason == "interrupted":
        return signals.code or 130
    return 0


# ---------------------------------------------------------------- reading commands

def cmd_list(args: argparse.Namespace) -> int:
    from cnn_tui.experiments.report import best_trial
    settings = _settings(args)
    backend = _backend(args, settings, must_exist=False)
    rows = []
    for name in backend.names() if backend is not None else []:
        try:
            study = backend.open(name, wait=0)
        except CnnTuiError as err:
            rows.append({"name": name, "error": err.message})
            continue
        views = study.trials()
        counts = study.counts(views)
        best = best_trial(study.sweep, views)
        rows.append({"name": name, "kind": study.sweep.kind, "target": study.target,
                     "done": counts.done, "running": counts.running, "stopped": study.stopped,
                     "metric": study.sweep.metric,
                     "best": None if best is None else best.to_dict()["value"]})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        where = backend.ref.shown if backend else "the default journal (none yet)"
        print(f"no sweeps in {where}")
        return 0
    print(f"{'name':<30} {'kind':<9} {'done':>9} {'running':>7}  best")
    for r in rows:
        if "error" in r:
            print(f"{r['name'][:30]:<30} ({r['error']})")
            continue
        state = " stopped" if r["stopped"] else ""
        print(f"{r['name'][:30]:<30} {r['kind']:<9} {str(r['done']) + '/' + str(r['target']):>9} "
              f"{r['running']:>7}  {r['metric']} {_fmt(r['best'])}{state}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    backend, study = _open(args)
    views = study.trials()
    if args.json:
        print(json.dumps(_result(study, backend, views), indent=2))
        return 0
    from cnn_tui.experiments.report import counted
    print(_header(study, views) + (" [stopped]" if study.stopped else ""))
    for t in counted(views):
        print(_trial_line(study.sweep, t))
    for t in views:
        if t.requeued_as is not None:
            print(f"trial {t.number} re-queued as {t.requeued_as}: {t.message}")
    return 0


def _best_arch(study, best):
    """The best trial's architecture with its training settings (the sweep's and the sampled
    ones) written into its `training` section."""
    from cnn_tui.experiments.trial import trial_setup
    from cnn_tui.spec.model import Architecture
    arch_dict, overrides = trial_setup(study.sweep, best.params)
    arch = Architecture.from_dict(arch_dict)
    arch.training = {**arch.training, **overrides}
    if best.runs and best.runs[0].get("seed") is not None:
        arch.training["seed"] = int(best.runs[0]["seed"])
    return Architecture.from_dict(arch.to_dict())


def cmd_best(args: argparse.Namespace) -> int:
    from cnn_tui.experiments.report import best_trial, params_text
    _, study = _open(args)
    if args.output and Path(args.output).exists() and not args.force:
        raise CnnTuiError(f"{args.output}: exists (use --force to overwrite)")
    best = best_trial(study.sweep, study.trials())
    if best is None:
        raise CnnTuiError(f"sweep {study.name}: no complete trial yet")
    if args.output:
        from cnn_tui.spec.io import write_file
        write_file(_best_arch(study, best), args.output)
    if args.json:
        print(json.dumps({"number": best.number, "value": best.to_dict()["value"],
                          "params": best.params, "run_id": best.run_id,
                          "runs": best.to_dict()["runs"], "output": args.output}, indent=2))
        return 0
    print(f"best trial {best.number}: {study.sweep.metric} {_fmt(best.value)}  "
          f"{params_text(best.params)}  run {best.run_id or '-'}")
    if args.output:
        print(f"wrote {args.output}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from cnn_tui.experiments.report import (
        comparison,
        comparison_lines,
        counted,
        params_text,
    )
    backend, study = _open(args)
    sweep = study.sweep
    views = study.trials()
    if args.json:
        print(json.dumps(_result(study, backend, views), indent=2))
        return 0
    if args.csv:
        import csv
        writer = csv.writer(sys.stdout, lineterminator="\n")
        if sweep.kind == "search":
            keys = list(sweep.space)
            writer.writerow(["number", "state", sweep.metric, "test_acc", *keys, "run_id",
                             "worker", "message"])
            for t in counted(views):
                writer.writerow([t.number, t.state, _csv(t.value), _csv(t.test_acc),
                                 *[t.params.get(k, "") for k in keys], t.run_id or "",
                                 t.worker, t.message])
        else:
            writer.writerow(["variant", "runs", f"{sweep.metric}_mean", f"{sweep.metric}_low",
                             f"{sweep.metric}_high", "effect", "p", "p_holm", "test_acc_mean",
                             "test_acc_low", "test_acc_high", "test_acc_effect", "test_acc_p_holm"])
            for row in comparison(sweep, views)["variants"]:
                obj, acc = row["objective"] or {}, row["test_acc"] or {}
                eff, aeff = row.get("effect") or {}, row.get("test_acc_effect") or {}
                writer.writerow([row["variant"], row["runs"], _csv(obj.get("mean")),
                                 _csv(obj.get("low")), _csv(obj.get("high")), _csv(eff.get("diff")),
                                 _csv(eff.get("p")), _csv(eff.get("p_holm")), _csv(acc.get("mean")),
                                 _csv(acc.get("low")), _csv(acc.get("high")),
                                 _csv(aeff.get("diff")), _csv(aeff.get("p_holm"))])
        return 0
    print(_header(study, views))
    if sweep.kind != "search":
        for line in comparison_lines(comparison(sweep, views)):
            print(line)
        return 0
    ranked = sorted((t for t in counted(views) if t.state == "complete"),
                    key=lambda t: t.value, reverse=sweep.direction == "maximize")
    print(f"{'#':>4}  {sweep.metric:>8}  {'test acc':>8}  parameters")
    for t in ranked:
        print(f"{t.number:>4}  {_fmt(t.value):>8}  {_fmt(t.test_acc):>8}  {params_text(t.params)}"
              + ("  (diverged)" if t.diverged else ""))
    importance, why = study.importance()
    if importance:
        print("parameter importance (Optuna PED-ANOVA): " +
              ", ".join(f"{k} {v:.2f}" for k, v in importance.items()))
    else:
        print(f"parameter importance: none ({why})")
    return 0


def _csv(value) -> str:
    import math
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def cmd_stop(args: argparse.Namespace) -> int:
    _, study = _open(args)
    study.stop()
    running = study.counts().running
    print(f"sweep {study.name}: stopped: workers take no new trial; {running} running "
          f"trial{'s' if running != 1 else ''} finish (`cnn-tui sweep run` starts it again)")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    backend, study = _open(args)
    counts = study.counts()
    if counts.running:
        raise CnnTuiError(f"sweep {study.name}: {counts.running} trial(s) running: "
                          f"`cnn-tui sweep stop {study.name}` and let them finish first")
    if not args.yes:
        if not sys.stdin.isatty():
            raise CnnTuiError(f"delete sweep {study.name}: add --yes to confirm (stdin is not a "
                              "terminal)")
        answer = input(f"delete sweep {study.name} from {backend.ref.shown}? Its runs stay in "
                       "the run store. [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("not deleted")
            return 1
    runs = sum(len(t.runs) for t in study.trials())
    backend.delete(study.name)
    print(f"deleted sweep {study.name} from {backend.ref.shown}; its {runs} runs stay in the run "
          f"store (tag sweep:{study.name})")
    return 0


# ---------------------------------------------------------------- train --seeds / --folds

def run_group(args, arch, overrides, settings, options, printer, control, source_path) -> int:
    """`cnn-tui train FILE --seeds N --folds K`: the runs, then mean ± 95% CI (exit as train)."""
    from cnn_tui.experiments.groups import plan, train_group
    seeds, folds = args.seeds or 1, args.folds or 1
    if not 1 <= seeds <= 100:
        raise CnnTuiError(f"--seeds: must be 1..100, got {seeds}")
    if args.folds is not None and not 2 <= folds <= 50:
        raise CnnTuiError(f"--folds: must be 2..50, got {folds}")
    for flag in ("resume", "detach", "run_id"):
        if getattr(args, flag, None):
            raise CnnTuiError(f"--{flag.replace('_', '-')}: not with --seeds / --folds")
    say = sys.stderr if args.json else sys.stdout
    total = len(plan(0, seeds, folds))

    def on_run(run) -> None:
        where = " ".join(f"{k} {run[k]}" for k in ("seed", "fold") if run[k] is not None)
        print(f"run {run['run_id']} ({where}; {len(group_runs) + 1}/{total}): {run['status']}, "
              f"best val_acc {_fmt(run['val_acc'])}, test_acc {_fmt(run['test_acc'])}",
              file=say, flush=True)
        group_runs.append(run)

    group_runs: list = []
    result = train_group(arch, overrides, settings, options, seeds=seeds, folds=folds,
                         name=args.name, callbacks=[printer], control=control, on_run=on_run,
                         source_path=source_path)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(f"experiment {result.experiment} (tag experiment:{result.experiment}): "
              f"{len(result.runs)} runs")
        for key in ("val_acc", "test_acc"):
            interval = result.interval(key)
            if interval is None:
                continue
            if interval.low is None:
                print(f"  {key}: {interval.mean:.4f} (one run: no interval)")
            else:
                print(f"  {key}: {interval.mean:.4f} ± {interval.half_width:.4f} (95% CI "
                      f"{interval.low:.4f}-{interval.high:.4f}, sd {interval.sd:.4f}, "
                      f"n={interval.n})")
    if result.status == "failed":
        print(f"cnn-tui: error: run {result.runs[-1]['run_id']} failed: {result.message}",
              file=sys.stderr)
        return 1
    if result.status == "stopped":
        return 130
    return 0
