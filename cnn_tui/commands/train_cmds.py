"""`cnn-tui train FILE`: train headless, with a progress bar on a terminal, plain lines when piped.

FILE is an architecture file, a share code or `template:NAME`; `--resume RUN` alone continues a
run with the architecture stored in it. Flags override the file's `training` values; a batch
size set by neither the file nor `--batch-size` is chosen for the device (see train/device.py).

Ctrl-C once: finish the current step, save a checkpoint, exit 130 (status "stopped";
`--resume RUN` continues). Twice: stop at once (the last epoch checkpoint stays).
Exit codes: 0 finished, 1 failed (NaN, out of memory at batch 1, ...), 2 bad input, 130 stopped.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from cnn_tui.errors import CnnTuiError, TrainingError

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
    p.add_argument("--epochs", metavar="N", help="epochs to train (default: the file's, else 10)")
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
                   help="steps between progress updates (default 50)")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.add_argument("--detach", action="store_true",
                   help="train in a background process that outlives this terminal (the app "
                        "attaches to it: Train screen, a); prints the run id and log file")
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
    return out


def _fmt(value, spec=".4f") -> str:
    return "-" if value is None else format(value, spec)


class PlainPrinter:
    """One line per epoch (and the run's start and end), for pipes, logs and CI."""

    def __init__(self, stream) -> None:
        self.stream = stream

    @staticmethod
    def format(event) -> str | None:
        name = type(event).__name__
        if name == "RunStart":
            return (f"run {event.run_id} on {event.device} ({event.device_name}): "
                    f"{event.params:,} parameters, {event.train_size:,} train / {event.val_size:,} "
                    f"val / {event.test_size:,} test images, batch {event.batch_size}, "
                    f"epochs {event.start_epoch + 1}-{event.epochs}")
        if name == "EpochEnd":
            return (f"epoch {event.epoch}/{event.epochs}  loss {event.train_loss:.4f}  "
                    f"acc {event.train_acc:.4f}  val_loss {_fmt(event.val_loss)}  "
                    f"val_acc {_fmt(event.val_acc)}  lr {event.lr:.3g}  {event.seconds:.1f}s  "
                    f"{event.images_per_s:,.0f} img/s{'  *' if event.best else ''}")
        if name == "EvalDone":
            return f"test  loss {event.test_loss:.4f}  acc {event.test_acc:.4f}"
        if name == "Log" and event.level != "error":  # errors end the run: said once, at the end
            return f"{event.level}: {event.message}"
        return None

    def __call__(self, event) -> None:
        line = self.format(event)
        if line:
            print(line, file=self.stream, flush=True)


class RichPrinter:
    """A rich progress bar for the current epoch; the epoch lines are printed above it."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn)
        self.console = Console()
        self.progress = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                 TimeElapsedColumn(), console=self.console, transient=True)
        self.task = None

    def __call__(self, event) -> None:
        if type(event).__name__ == "BatchEnd":
            info = f"loss {event.loss:.4f}  acc {event.acc:.3f}  {event.images_per_s:,.0f} img/s"
            if self.task is None:
                self.progress.start()
                self.task = self.progress.add_task("train", total=event.steps, epoch=event.epoch,
                                                   info=info)
            self.progress.update(self.task, completed=event.step, total=event.steps,
                                 epoch=event.epoch, info=info)
            return
        line = PlainPrinter.format(event)
        if line and self.task is not None and type(event).__name__ != "Log":
            self.progress.remove_task(self.task)
            self.progress.stop()
            self.task = None
        if line:
            self.console.print(line, highlight=False, markup=False)

    def close(self) -> None:
        if self.task is not None:
            self.progress.stop()
            self.task = None


def _install_sigint(control):
    """First Ctrl-C: stop cleanly (save, exit 130). Second: the default KeyboardInterrupt."""
    def handler(signum, frame):
        if control.stop_requested:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        print("\nstopping: finishing the step and saving a checkpoint (Ctrl-C again to abort)",
              file=sys.stderr, flush=True)
        control.stop()
    try:
        return signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        return None


def _detach(args: argparse.Namespace, arch) -> int:
    """Check what can be checked here (architecture, MNIST), then hand the same command line,
    minus --detach, to a child in its own session and report the run it records."""
    import os

    from cnn_tui.data import find_mnist
    from cnn_tui.runs import detached
    from cnn_tui.train.loop import check_architecture

    if arch is not None:
        check_architecture(arch)
    find_mnist(args.data_dir)
    if args.runs_dir:
        os.environ["CNN_TUI_RUNS_DIR"] = str(args.runs_dir)
    argv = [a for a in getattr(args, "argv", [])[1:] if a != "--detach"]
    log = detached._paths()[1]
    proc = detached.start(argv, log)
    record = detached.wait_for_run(proc)
    if record is None:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise TrainingError("the detached run did not start" + (f": {tail[0]}" if tail else "")
                            + f" (log: {log})")
    if args.json:
        print(json.dumps({"run_id": record.id, "pid": proc.pid, "log": str(log)}))
    else:
        print(f"run {record.id} training in the background (pid {proc.pid}); log: {log}\n"
              f"follow it: `cnn-tui` then 2 (Train) and a, or `cnn-tui runs show {record.id}`; "
              f"stop it: `kill -INT {proc.pid}` (resumable with --resume {record.id})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from cnn_tui import api
    from cnn_tui.train.control import Control

    if args.source is None and not args.resume:
        raise CnnTuiError("train: give an architecture FILE (or template:NAME), or --resume RUN")
    for flag in ("limit_train", "limit_test"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise CnnTuiError(f"--{flag.replace('_', '-')}: must be at least 1, got {value}")
    arch = api.load_architecture(args.source) if args.source is not None else None
    overrides = _overrides(args)
    if args.detach:
        return _detach(args, arch)
    if args.json:
        printer = PlainPrinter(sys.stderr)
    elif sys.stdout.isatty():
        printer = RichPrinter()
    else:
        printer = PlainPrinter(sys.stdout)
    options = {k: getattr(args, k) for k in ("data_dir", "runs_dir", "limit_train", "limit_test",
                                             "device", "resume", "name") if getattr(args, k) is not None}
    if args.data_dir is not None:  # found here, so a miss names --data-dir (api.train: data_dir)
        from cnn_tui.data import find_mnist
        options["data_dir"] = find_mnist(args.data_dir)
    if args.compile:
        options["compile"] = True
    if args.progress_every:
        options["progress_every"] = args.progress_every
    control = Control()
    previous = _install_sigint(control)
    try:
        result = api.train(arch, callbacks=[printer], control=control, **overrides, **options)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if isinstance(printer, RichPrinter):
            printer.close()
    if args.json:
        out = result.to_dict()
        out.pop("mistakes", None)
        out["mistakes"] = result.mistakes
        print(json.dumps(out, indent=2))
    else:
        stream = sys.stdout
        if result.status == "finished":
            speed = (f"{result.images_per_s:,.0f} images/s" if result.images_per_s else
                     "no epoch was left to train (--epochs N trains further)")
            print(f"run {result.run_id} finished: test accuracy {_fmt(result.test_acc)}, "
                  f"{speed} on {result.device}", file=stream)
        elif result.status == "stopped":
            print(f"run {result.run_id} stopped: {result.message}", file=stream)
    if result.status == "failed":
        print(f"cnn-tui: error: run {result.run_id} failed: {result.message}", file=sys.stderr)
        return 1
    return 130 if result.status == "stopped" else 0
