"""`cnn-tui train FILE`: train headless, with a progress bar on a terminal, plain lines when piped.

FILE is an architecture file, a share code or `template:NAME`; `--resume RUN` alone continues a
run with the architecture stored in it. Flags override the file's `training` values; a batch
size set by neither the file nor `--batch-size` is chosen for the device (see train/device.py).

Ctrl-C (SIGINT) or SIGTERM (`kill`, `timeout`, systemd and container stops) once: finish the
current step, save a checkpoint, record the run as "stopped" (`--resume RUN` continues) and exit
130 (SIGINT) or 143 (SIGTERM). Twice: stop at once (the last epoch checkpoint stays).
Exit codes: 0 finished, 1 failed (NaN, divergence, out of memory at batch 1, ...), 2 bad input,
130 / 143 stopped.

The run is trained and recorded by `cnn_tui.runs.training.train_run`, as every other run is;
this module adds the command line and the printing (callbacks).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from cnn_tui.errors import CnnTuiError, TrainingError
from cnn_tui.train.callbacks import Callback

# flag -> training field (parsed and range-checked by the field's own Param)
TRAINING_FLAGS = {
    "epochs": "epochs", "batch_size": "batch_size", "lr": "learning_rate",
    "optimizer": "optimizer", "schedule": "schedule", "seed": "seed",
    "weight_decay": "weight_decay", "momentum": "momentum", "label_smoothing": "label_smoothing",
    "warmup_epochs": "warmup_epochs", "early_stopping": "early_stopping", "monitor": "monitor",
    "val_size": "val_size", "step_size": "step_size", "gamma": "gamma",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="train an architecture on MNIST (headless)",
        description="Train an architecture on MNIST and record the run in the run store. "
        "FILE: an architecture file, a share code or template:NAME. Flags override the file's "
        "training values.")
    p.add_argument("source", nargs="?", metavar="FILE",
                   help="architecture file, share code or template:NAME (optional with --resume)")
    p.add_argument("--epochs", metavar="N", help="epochs to train (default: the file's, else 10; "
                   "in all, for a resumed run)")
    p.add_argument("--batch-size", metavar="B", help="images per step (default: the file's, "
                   "else one suited to the device)")
    p.add_argument("--lr", metavar="X", help="learning rate")
    p.add_argument("--optimizer", metavar="NAME", help="adam, adamw, sgd, rmsprop, adagrad, adadelta")
    p.add_argument("--schedule", metavar="NAME", help="constant, step, cosine, onecycle, plateau")
    p.add_argument("--weight-decay", metavar="X", help="L2 penalty (decoupled for adamw)")
    p.add_argument("--momentum", metavar="X", help="momentum (sgd, rmsprop)")
    p.add_argument("--label-smoothing", metavar="X", help="label smoothing, 0 to 1")
    p.add_argument("--warmup-epochs", metavar="X", help="epochs of linear learning-rate warm-up")
    p.add_argument("--step-size", metavar="N", help="step schedule period / plateau patience")
    p.add_argument("--gamma", metavar="X", help="step / plateau decay factor")
    p.add_argument("--early-stopping", metavar="PATIENCE",
                   help="stop after PATIENCE epochs without improvement, restoring the best weights")
    p.add_argument("--monitor", metavar="METRIC", help="val_loss or val_acc")
    p.add_argument("--val-size", metavar="N", help="validation images held out of the training set")
    p.add_argument("--seed", metavar="S", help="random seed (split, initialisation, batches)")
    p.add_argument("--augment", action="store_true", default=None,
                   help="random shifts, rotations and scaling on the device")
    p.add_argument("--no-augment", dest="augment", action="store_false",
                   help="no augmentation, whatever the file says")
    p.add_argument("--device", metavar="D", help="auto, cuda, mps, cpu (or cuda:N)")
    p.add_argument("--limit-train", type=int, metavar="N", help="train on N images only")
    p.add_argument("--limit-test", type=int, metavar="N", help="evaluate on the first N test images")
    p.add_argument("--data-dir", metavar="DIR", help="MNIST root (torchvision layout)")
    p.add_argument("--runs-dir", metavar="DIR", help="run store folder")
    p.add_argument("--resume", metavar="RUN", help="continue a stopped or killed run (id or prefix)")
    p.add_argument("--name", help="a name for the run")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (GPU)")
    p.add_argument("--progress-every", type=int, default=None, metavar="STEPS",
                   help="steps between progress updates (default 10 on the CPU, 50 on CUDA; "
                        "at least every 0.5 s however slow a step is)")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.add_argument("--seeds", type=int, metavar="N", help="train N runs (seeds S..S+N-1) as one "
                   "experiment and print the mean ± 95%% confidence interval")
    p.add_argument("--folds", type=int, metavar="K", help="k-fold cross-validation: K runs, each "
                   "validating on one of K disjoint stratified folds of the training images")
    p.add_argument("--detach", action="store_true",
                   help="train in a background process that outlives this terminal (the app "
                        "attaches to it: Train screen, a); prints the run id and log file")
    # the app's training processes: the id it allocated, the file the architecture came from
    # (its version history), stage lines for the app to show while the run starts
    p.add_argument("--run-id", help=argparse.SUPPRESS)
    p.add_argument("--source-path", help=argparse.SUPPRESS)
    p.add_argument("--stages", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--overrides", help=argparse.SUPPRESS)  # training settings as a JSON object
    p.set_defaults(func=cmd_train)


def _overrides(args: argparse.Namespace) -> dict:
    from cnn_tui.spec.training import TRAINING_PARAMS
    out = {}
    for flag, name in TRAINING_FLAGS.items():
        text = getattr(args, flag)
        if text is not None:
            out[name] = TRAINING_PARAMS.get(name).parse_text(str(text), "--" + flag.replace("_", "-"))
    if args.augment is not None:
        out["augment"] = bool(args.augment)
    if args.overrides:
        try:
            given = json.loads(args.overrides)
        except ValueError as exc:
            raise CnnTuiError(f"--overrides: not JSON ({exc})") from None
        if not isinstance(given, dict):
            raise CnnTuiError("--overrides: must be a JSON object of training settings")
        out = {**TRAINING_PARAMS.check_object(given, "--overrides"), **out}
    return out


def _fmt(value, spec=".4f") -> str:
    return "-" if value is None else format(value, spec)


def _line(event) -> str | None:
    """The plain line for an event, or None for events that are not printed as lines."""
    from cnn_tui.train import events as E
    if isinstance(event, E.RunStart):
        sizes = f"{event.train_size:,} train / {event.val_size:,} val / {event.test_size:,} test images"
        limits = [f"{k.split('_')[1]} subset of {event.config[k]:,}" for k in ("limit_train", "limit_test")
                  if event.config.get(k)]
        return (f"run {event.run_id} on {event.device} ({event.device_name}): "
                f"{event.params:,} parameters, {sizes}"
                f"{' (' + ', '.join(limits) + ')' if limits else ''}, batch {event.batch_size}, "
                f"epochs {event.start_epoch + 1}-{event.epochs}")
    if isinstance(event, E.EpochEnd):
        return (f"epoch {event.epoch}/{event.epochs}  loss {event.train_loss:.4f}  "
                f"acc {event.train_acc:.4f}  val_loss {_fmt(event.val_loss)}  "
                f"val_acc {_fmt(event.val_acc)}  lr {event.lr:.3g}  {event.seconds:.1f}s  "
                f"{event.images_per_s:,.0f} img/s{'  *' if event.best else ''}")
    if isinstance(event, E.EvalDone):
        return f"test  loss {event.test_loss:.4f}  acc {event.test_acc:.4f}"
    if isinstance(event, E.Diagnosis):
        return f"diagnosis ({event.severity}): {event.message}; try {event.advice}"
    if isinstance(event, E.Log) and event.level != "error":  # errors end the run: said at the end
        return f"{event.level}: {event.message}"
    return None


class PlainPrinter(Callback):
    """One line per epoch (and the run's start, diagnosis and end), for pipes, logs and CI;
    `stages`: also a line for each start-up stage (the app reads them from a run's log)."""

    def __init__(self, stream, stages: bool = False) -> None:
        self.stream = stream
        self.stages = stages

    def _print(self, event) -> None:
        line = _line(event)
        if line:
            print(line, file=self.stream, flush=True)

    def on_stage(self, trainer, event) -> None:
        if self.stages:
            print(f"stage: {event.message}", file=self.stream, flush=True)

    on_run_start = on_epoch_end = on_eval = on_diagnosis = on_log = \
        lambda self, trainer, event: self._print(event)


class RichPrinter(Callback):
    """On a terminal: the start-up stage, then a progress bar for the current epoch with the
    run's ETA, refreshed twice a second whatever the pace of the steps; lines above it."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        self.console = Console(highlight=False)
        self.progress = Progress(TextColumn("{task.fields[what]}"), BarColumn(),
                                 TextColumn("{task.fields[count]}"), TextColumn("{task.fields[info]}"),
                                 TimeElapsedColumn(), console=self.console, transient=True,
                                 refresh_per_second=2)
        self.task = None
        self.start = None  # RunStart
        self.rate: float | None = None  # seconds per step, smoothed
        self._last: tuple[int, float] | None = None  # (step, time) of the last progress event

    def _bar(self, what: str, total, done: int, info: str) -> None:
        count = f"{done}/{total}" if total else ""
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("run", total=total, what=what, info=info,
                                               count=count)
        self.progress.update(self.task, completed=done, total=total, what=what, info=info,
                             count=count)

    def _clear(self) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.progress.stop()
            self.task = None

    def _print(self, event) -> None:
        line = _line(event)
        if line:
            self.console.print(line, markup=False)

    def on_stage(self, trainer, event) -> None:
        self._bar(event.message, None, 0, "")

    def on_run_start(self, trainer, event) -> None:
        self._clear()
        self.start = event
        self._print(event)

    def on_batch_end(self, trainer, event) -> None:
        import time
        now = time.monotonic()
        if self._last is not None:
            last_step, last_time = self._last
            if event.step > last_step:
                per_step = (now - last_time) / (event.step - last_step)
                self.rate = per_step if self.rate is None else 0.7 * self.rate + 0.3 * per_step
        self._last = (event.step if event.step < event.steps else 0, now)
        eta = ""
        if self.rate is not None and self.start is not None:
            left = (self.start.epochs - event.epoch) * event.steps + (event.steps - event.step)
            eta = f"  ETA {_duration(left * self.rate)}"
        info = (f"loss {event.loss:.4f}  acc {event.acc:.3f}  {event.images_per_s:,.0f} img/s{eta}")
        epochs = self.start.epochs if self.start is not None else event.epoch
        self._bar(f"epoch {event.epoch}/{epochs}", event.steps, event.step, info)

    def on_epoch_end(self, trainer, event) -> None:
        self._clear()
        self._print(event)

    def on_log(self, trainer, event) -> None:
        self._print(event)

    on_eval = on_diagnosis = on_epoch_end

    def close(self) -> None:
        self._clear()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class StopSignals:
    """SIGINT and SIGTERM once: stop cleanly (finish the step, save, record "stopped"); the
    second time: at once. `code` is the exit status a stop by signal asks for (130 / 143)."""

    def __init__(self, control) -> None:
        self.control = control
        self.code: int | None = None
        self._previous: dict[int, object] = {}

    def _handler(self, signum, frame) -> None:
        if self.control.stop_requested:
            self.restore()
            raise KeyboardInterrupt
        self.code = 128 + signum
        name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
        print(f"\nstopping ({name}): finishing the step and saving a checkpoint "
              "(again to abort)", file=sys.stderr, flush=True)
        self.control.stop()

    def install(self) -> StopSignals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not the main thread: the caller handles stops
                pass
        return self

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}


def _detach(args: argparse.Namespace, arch, settings) -> int:
    """Check what can be checked here (architecture, MNIST, the resumed run), then hand the same
    command line, minus --detach, to a child in its own session and report the run it records."""
    from cnn_tui.data import find_mnist
    from cnn_tui.session import process
    from cnn_tui.train.loop import check_architecture

    if arch is not None:
        check_architecture(arch)
    find_mnist(args.data_dir)
    argv = [a for a in getattr(args, "argv", [])[1:] if a != "--detach"]
    run_id = args.resume or None
    if args.runs_dir is None:
        argv += ["--runs-dir", str(settings.runs_dir)]
    child = process.start_child(settings, argv, run_id=run_id)
    record = child.wait_for_record()
    if record is None:
        raise TrainingError("the detached run did not start" +
                            (f": {child.last_line()}" if child.last_line() else "") +
                            f" (log: {child.log})")
    if args.json:
        print(json.dumps({"run_id": record.id, "pid": child.pid, "log": str(child.log)}))
    else:
        print(f"run {record.id} training in the background (pid {child.pid}); log: {child.log}\n"
              f"follow it: `cnn-tui` then 2 (Train) and a, or `cnn-tui runs show {record.id}`; "
              f"stop it: `kill {child.pid}` (resumable with --resume {record.id})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from cnn_tui import api
    from cnn_tui.settings import Settings
    from cnn_tui.runs.training import train_run
    from cnn_tui.train.control import Control
    from cnn_tui.train.loop import RunOptions

    if args.source is None and not args.resume:
        raise CnnTuiError("train: give an architecture FILE (or template:NAME), or --resume RUN")
    for flag in ("limit_train", "limit_test"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise CnnTuiError(f"--{flag.replace('_', '-')}: must be at least 1, got {value}")
    arch = api.load_architecture(args.source) if args.source is not None else None
    overrides = _overrides(args)
    settings = Settings.from_env(data_dir=args.data_dir, runs_dir=args.runs_dir)
    if args.detach:
        return _detach(args, arch, settings)
    if args.stages or args.run_id:  # a training process of the app's: a dropped terminal is no stop
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if args.json:
        printer = PlainPrinter(sys.stderr, stages=args.stages)
    elif sys.stdout.isatty():
        printer = RichPrinter()
    else:
        printer = PlainPrinter(sys.stdout, stages=args.stages)
    options = RunOptions(**{k: getattr(args, k) for k in ("limit_train", "limit_test", "device")
                            if getattr(args, k) is not None})
    options.compile = bool(args.compile)
    options.progress_every = args.progress_every
    control = Control()
    signals = StopSignals(control).install()  # until the end: a late signal must not cut the report
    source_path = args.source_path or (args.source if args.source and Path(args.source).is_file() else None)
    if args.seeds is not None or args.folds is not None:  # one experiment of several runs
        from cnn_tui.commands.sweep_cmds import run_group
        try:
            code = run_group(args, arch, overrides, settings, options, printer, control, source_path)
        finally:
            signals.restore()
            if isinstance(printer, RichPrinter):
                printer.close()
        return (signals.code or code) if code == 130 else code
    try:
        try:
            result = train_run(arch, overrides, settings=settings, options=options,
                               resume=args.resume, name=args.name, run_id=args.run_id,
                               source_path=source_path, callbacks=[printer], control=control)
        finally:
            if isinstance(printer, RichPrinter):
                printer.close()
        return _report(args, result, signals)
    finally:
        signals.restore()


def _report(args: argparse.Namespace, result, signals: StopSignals) -> int:
    if args.json:
        out = result.to_dict()
        out.pop("mistakes", None)
        out["mistakes"] = result.mistakes
        print(json.dumps(out, indent=2))
    else:
        stream = sys.stdout
        if result.status == "finished":
            print(f"run {result.run_id} finished: test accuracy {_fmt(result.test_acc)}, "
                  f"{result.images_per_s:,.0f} images/s on {result.device}", file=stream)
        elif result.status == "stopped":
            print(f"run {result.run_id} stopped: {result.message}", file=stream)
    if result.status == "failed":
        print(f"cnn-tui: error: run {result.run_id} failed: {result.message}", file=sys.stderr)
        return 1
    if result.status == "stopped":
        return signals.code or 130
    return 0
