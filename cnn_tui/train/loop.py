"""The Trainer: spec + config -> a trained model and a stream of events. It only trains.

The loop is built for throughput:
- the data sits on the device (cnn_tui.data.device); a batch is `images[perm[i:i+B]]`;
- loss and accuracy are accumulated in device tensors and read back (one sync) only every
  `progress_every` steps and at the end of an epoch; nothing calls `.item()` per step;
- on CUDA: bf16 autocast, channels_last, cuDNN autotuning and fused optimizers;
- the training step runs the model's own modules through `fastpath.training_forward` (pool
  before a monotone activation, a channels_last gradient out of flatten, a cheaper dropout
  mask on the CPU): the same outputs and gradients, measured 1.3x faster on a 2-core CPU.

It knows nothing of stores, files or screens: everything else is a callback
(`cnn_tui.train.callbacks`): recording the run (`cnn_tui.runs.recorder`), checkpoints
(`checkpointing`), early stopping, the run's diagnosis, printing. It polls a `Control` between
steps (pause, resume, stop); a run stopped mid-epoch keeps its position (`stopped_at`: step,
the epoch's permutation, the partial sums) for the checkpoint callback to save.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cnn_tui.errors import TrainingError
from cnn_tui.train import checkpoint as ckpt
from cnn_tui.train.callbacks import Outcome, as_callbacks, dispatch
from cnn_tui.train.control import Control
from cnn_tui.train.events import (
    BatchEnd,
    DeviceStats,
    EpochEnd,
    EvalDone,
    GradNorms,
    Log,
    RunEnd,
    RunStart,
    Stage,
)

CHECKPOINT_FORMAT = "cnn-tui/checkpoint"


@dataclass
class RunOptions:
    data_dir: Any = None
    limit_train: int | None = None  # train on this many images (after the validation split)
    limit_test: int | None = None  # evaluate on the first this many test images
    device: str | None = None  # overrides the config's device
    progress_every: int | None = None  # steps between BatchEnd events (None: 10, 50 on CUDA)
    progress_seconds: float = 0.5  # ... and at least this often, however slow a step is
    grad_norms_every: int = 50  # steps between GradNorms events (0: never)
    compile: bool = False  # torch.compile the model (helps on GPU; not on CPU)
    mistakes: int = 32  # how many most-confident mistakes the evaluation keeps
    evaluate_test: bool = True  # evaluate on the test set at the end
    fold: tuple[int, int] | None = None  # (k, K): validate on fold k of K (cnn_tui.data.folds)


@dataclass
class RunResult:
    run_id: str | None
    status: str  # finished, stopped, failed
    device: str
    device_name: str = ""
    epochs: list[dict] = field(default_factory=list)
    test_acc: float | None = None
    test_loss: float | None = None
    images_per_s: float = 0.0
    confusion_matrix: list[list[int]] | None = None
    per_class: list[dict] | None = None
    macro: dict | None = None
    weighted: dict | None = None
    mistakes: list[dict] | None = None
    model: Any = None
    message: str = ""
    best_val_acc: float | None = None
    train_seconds: float = 0.0
    config: dict = field(default_factory=dict)
    peak_memory_bytes: int | None = None
    diagnosis: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        keys = ("run_id", "status", "message", "device", "device_name", "epochs", "test_acc",
                "test_loss", "images_per_s", "train_seconds", "best_val_acc", "confusion_matrix",
                "per_class", "macro", "weighted", "mistakes", "config", "peak_memory_bytes",
                "diagnosis")
        return {k: getattr(self, k) for k in keys}


@dataclass
class ResumeState:
    """A stopped or killed run to continue: its id, its last checkpoint (None when it was
    killed before its first one was written: it restarts from epoch 1), and the optimizer its
    checkpoint was made with."""

    run_id: str
    checkpoint: dict | None
    saved_optimizer: str | None = None


class _NonFinite(Exception):
    pass


class _Stopped(Exception):
    pass


def _import_dynamo() -> None:
    try:
        import torch._dynamo  # noqa: F401
    except Exception:  # noqa: BLE001 - the step imports it again and says what is wrong
        pass


def _is_oom(exc: BaseException) -> bool:
    import torch
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or "out of memory" in str(exc).lower()


def check_architecture(arch) -> None:
    """TrainingError naming the first problem when `arch` cannot be trained on MNIST."""
    from cnn_tui.spec.analysis import analyze
    from cnn_tui.spec.fmt import and_more
    analysis = analyze(arch)
    if not analysis.valid:
        errors = analysis.errors()
        raise TrainingError(f"cannot train {arch.name!r}: {errors[0].message}"
                            f"{and_more(len(errors) - 1)}")
    if tuple(arch.input) != (1, 28, 28) or arch.classes != 10:
        raise TrainingError(f"cannot train {arch.name!r} on MNIST: it needs input [1, 28, 28] and "
                            f"10 classes, not {list(arch.input)} and {arch.classes}")


def effective_config(arch, overrides: dict | None, device_kind: str) -> dict:
    """The file's training values over the defaults, then the overrides; a device batch size
    when neither the file nor the overrides set one."""
    from cnn_tui.spec.training import TRAINING_PARAMS
    from cnn_tui.train.device import default_batch_size
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = [k for k in overrides if TRAINING_PARAMS.get(k) is None]
    if unknown:
        raise TrainingError(f"unknown training setting {unknown[0]!r} "
                            f"(known: {', '.join(TRAINING_PARAMS.names())})")
    checked = TRAINING_PARAMS.check_object(overrides, "training") if overrides else {}
    config = arch.training_config()
    config.update({k: checked[k] for k in overrides})
    if "batch_size" not in arch.training and "batch_size" not in overrides:
        config["batch_size"] = default_batch_size(device_kind)
    return config


# run options that are counts: (smallest allowed value, what it counts)
_COUNT_OPTIONS = {"limit_train": 1, "limit_test": 1, "progress_every": 1, "grad_norms_every": 0,
                  "mistakes": 0}


def check_options(options: RunOptions) -> None:
    """Refuse a run option that is no whole number in its range (limit_train=0 would train on
    one image, limit_test=0 report 100% on one), before any run is recorded."""
    for name, least in _COUNT_OPTIONS.items():
        value = getattr(options, name)
        if value is None and (name.startswith("limit_") or name == "progress_every"):
            continue
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise TrainingError(f"{name}: must be a whole number >= {least}, got {value!r}")
        setattr(options, name, value)
    if options.fold is not None:
        from cnn_tui.data.folds import check_fold
        try:
            options.fold = check_fold(options.fold)
        except ValueError as exc:
            raise TrainingError(str(exc)) from None


def default_progress_every(device_kind: str) -> int:
    """Steps between progress events: 10 on the CPU (a sync there costs nothing), 50 on a GPU
    doing hundreds of steps a second (each event costs one device sync)."""
    return 50 if device_kind == "cuda" else 10


def memory_now(device) -> tuple[int | None, int | None]:
    """(current, peak) bytes: CUDA's allocator on CUDA; the process's resident set elsewhere."""
    import torch
    if device.kind == "cuda":
        return (int(torch.cuda.memory_allocated(device.torch_device)),
                int(torch.cuda.max_memory_allocated(device.torch_device)))
    current = peak = None
    try:
        import os
        with open("/proc/self/statm") as fh:
            current = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource
        import sys
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = int(rss if sys.platform == "darwin" else rss * 1024)
    except (ImportError, OSError):
        pass
    return current, peak


class Trainer:
    """`Trainer(arch, config, options, callbacks, control, resume).run()` -> RunResult.

    `config` overrides the file's training values; `resume` (a ResumeState) continues a run
    from its checkpoint. Attributes the callbacks use: `run_id` (set by the recorder in
    `on_setup`), `name`, `arch`, `config`, `options`, `model`, `optimizer`, `schedule`, `dev`, `data`,
    `history` (epoch rows), `best`, `params`, `stopped_at` (a mid-epoch stop's position) and
    `restore_point` (a function giving the latest checkpoint, for an out-of-memory retry).
    """

    def __init__(self, arch=None, config: dict | None = None, options: RunOptions | None = None,
                 callbacks: Iterable[Any] = (), control: Control | None = None,
                 resume: ResumeState | None = None, run_id: str | None = None,
                 name: str | None = None) -> None:
        self.arch = arch
        self.overrides = dict(config or {})
        self.options = options or RunOptions()
        check_options(self.options)
        self.callbacks = as_callbacks(callbacks)
        self.control = control or Control()
        self.resume = resume
        self.run_id = resume.run_id if resume is not None else run_id
        self.name = name
        self.history: list[dict] = []
        self.best = {"metric": None, "epoch": 0, "bad_epochs": 0, "val_acc": None}
        self.stopped_at: dict | None = None
        self.restore_point: Callable[[], dict] | None = None
        self.end_request: Outcome | None = None
        self.start_epoch = self.start_step = 0
        self.train_seconds, self.train_images = 0.0, 0
        self.evaluation: dict | None = None

    # ------------------------------------------------------------------ events
    def emit(self, event) -> None:
        dispatch(self.callbacks, self, event)

    def log(self, level: str, message: str) -> None:
        self.emit(Log(level, message))

    def stage(self, stage: str, message: str) -> None:
        self.emit(Stage(stage, message))

    def end_training(self, status: str, message: str) -> None:
        """Called by a callback (early stopping, diagnosis, pruning): training ends after the
        current epoch with `status` (finished, failed, or pruned: a sweep's trial stopped by
        its pruner; no test evaluation, recorded as such) and `message`."""
        self.end_request = Outcome(status, message)

    # ------------------------------------------------------------------ setup
    def prepare(self) -> None:
        """Device, config, data, model, optimizer; TrainingError/DataError before anything is
        recorded when something is wrong."""
        self.stage("import", "importing torch…")
        import torch
        # torch.optim's first step imports torch._dynamo (seconds on a small CPU): begin that
        # now, beside loading MNIST and building the model, instead of after them
        threading.Thread(target=_import_dynamo, name="import-dynamo", daemon=True).start()
        from cnn_tui.train.device import configure, resolve_device

        if self.arch is None:
            raise TrainingError("nothing to train: give an architecture or a run to resume")
        check_architecture(self.arch)
        requested = self.options.device or self.overrides.get("device") \
            or self.arch.training_config()["device"]
        self.dev = resolve_device(requested)
        configure(self.dev)
        self.config = effective_config(self.arch, self.overrides, self.dev.kind)
        state = self.resume.checkpoint if self.resume is not None else None
        if state is not None:
            if state.get("format") != CHECKPOINT_FORMAT:
                raise TrainingError(f"run {self.run_id}: not a cnn-tui checkpoint")
            self.config["batch_size"] = int(state.get("batch_size", self.config["batch_size"]))
        if self.options.progress_every is None:
            self.options.progress_every = default_progress_every(self.dev.kind)

        self.stage("data", "loading MNIST…")
        from cnn_tui.data import load_arrays
        from cnn_tui.data.device import to_device
        arrays = load_arrays(self.options.data_dir)
        self.data = to_device(arrays, self.dev.torch_device, val_size=self.config["val_size"],
                              seed=self.config["seed"], limit_train=self.options.limit_train,
                              limit_test=self.options.limit_test, fold=self.options.fold)

        self.stage("model", "building the model…")
        seed = int(self.config["seed"])
        torch.manual_seed(seed)
        random.seed(seed)
        try:
            import numpy as np
            np.random.seed(seed)
        except ImportError:
            pass

        from cnn_tui.train.build import build_model
        from cnn_tui.train.optim import LrSchedule, make_optimizer
        model = build_model(self.arch).to(self.dev.torch_device)
        if self.dev.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        if self.options.compile:
            # torch._dynamo wholly first (waiting for the import-dynamo thread if it is still at
            # it): torch.compile imports torch._inductor, which needs torch._dynamo, which needs
            # torch._inductor.utils; with the thread midway through torch._dynamo the two
            # imports deadlock and Python hands one of them a half-made module (seen on an
            # H200, torch 2.11: "cannot import name 'IndentedBuffer' from partially initialized
            # module 'torch._inductor.utils'")
            import torch._dynamo  # noqa: F401
            self.forward = torch.compile(model)
        else:
            from cnn_tui.train.fastpath import training_forward
            self.forward = training_forward(model, self.dev.kind)
        self.params = sum(p.numel() for p in model.parameters())
        self.optimizer = make_optimizer(model, self.arch, self.config, self.dev.kind)
        self.schedule = LrSchedule(self.config, self.config["epochs"])
        self.criterion = torch.nn.CrossEntropyLoss(
            label_smoothing=float(self.config.get("label_smoothing") or 0.0))
        if self.dev.kind == "cuda":
            torch.cuda.reset_peak_memory_stats(self.dev.torch_device)

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.data.train) / int(self.config["batch_size"])))

    @property
    def recorded_config(self) -> dict:
        """What the store records as the run's settings: the config, the subset sizes and, for
        a k-fold run, its fold [k, K]."""
        out = {**self.config, "limit_train": self.options.limit_train,
               "limit_test": self.options.limit_test}
        if self.options.fold is not None:
            out["fold"] = list(self.options.fold)
        return out

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self, epoch: int, step: int = 0, perm=None,
                         partial: dict | None = None) -> dict:
        """Everything a resume needs (see `cnn_tui.train.checkpoint`)."""
        return {
            "format": CHECKPOINT_FORMAT, "version": 1,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "optimizer_name": self.config["optimizer"],
            "schedule": self.schedule.state_dict(),
            "epoch": int(epoch), "step": int(step),
            "perm": perm.cpu() if perm is not None else None,
            "partial": partial or {},
            "batch_size": int(self.config["batch_size"]),
            "history": list(self.history),
            "best": dict(self.best),
            "rng": ckpt.rng_state(),
            "options": {"limit_train": self.options.limit_train,
                        "limit_test": self.options.limit_test,
                        "fold": list(self.options.fold) if self.options.fold else None},
        }

    def _restore(self, state: dict, rng: bool = True) -> None:
        try:
            self.model.load_state_dict(state["model"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise TrainingError(f"run {self.run_id}: its checkpoint does not fit this architecture "
                                f"({ckpt.mismatch_reason(state.get('model'), self.model, exc)})") from None
        self._restore_optimizer(state)
        self.schedule.load_state_dict(state.get("schedule", {}))
        self.history = [dict(h) for h in state.get("history", [])]
        self.best = dict(state.get("best") or self.best)
        if rng and state.get("rng"):
            ckpt.set_rng_state(state["rng"])

    def _restore_optimizer(self, state: dict) -> None:
        """The optimizer's running state (momenta, averages, step counts) from the checkpoint,
        with this run's settings: a resume may change the learning rate, weight decay or
        momentum, and those must be what trains, not the checkpoint's. Another optimizer than
        the checkpoint's starts afresh (its state would not fit), with a warning."""
        name = self.config["optimizer"]
        saved = state.get("optimizer_name") or (self.resume and self.resume.saved_optimizer) or name
        if saved != name:
            self.log("warning", f"the optimizer changed from {saved} to {name}: it starts "
                                "without the old one's running averages")
            return
        fresh = [{k: v for k, v in g.items() if k != "params"} for g in self.optimizer.param_groups]
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise TrainingError(f"run {self.run_id}: its checkpoint's optimizer state does not fit "
                                f"({str(exc).splitlines()[0][:160]})") from None
        for group, settings in zip(self.optimizer.param_groups, fresh):
            group.update(settings)

    def _resume_position(self) -> tuple[int, int, Any, dict]:
        """(epoch, step, permutation, partial sums) to continue from."""
        st = self.resume.checkpoint if self.resume is not None else None
        if st is None:
            return 0, 0, None, {}
        self._restore(st)
        start_epoch, start_step = int(st["epoch"]), int(st.get("step", 0))
        perm = st.get("perm")
        partial = dict(st.get("partial") or {})
        if perm is not None and perm.numel() != len(self.data.train):
            self.log("warning", "the training set changed size since the run stopped: "
                                f"epoch {start_epoch + 1} restarts from its beginning")
            perm, start_step, partial = None, 0, {}
        if perm is not None:
            perm = perm.to(self.dev.torch_device)
        return start_epoch, start_step, perm, partial

    # ------------------------------------------------------------------ run
    def run(self) -> RunResult:
        self.prepare()
        start_epoch, start_step, perm, partial = self._resume_position()
        self.start_epoch, self.start_step = start_epoch, start_step
        try:
            for cb in self.callbacks:
                cb.on_setup(self)
        except TrainingError as exc:
            self._end(Outcome("failed", str(exc)), 0.0)
            raise
        epochs = int(self.config["epochs"])
        t_run = time.perf_counter()
        try:
            self.emit(RunStart(self.run_id or "", self.dev.kind, self.dev.name, self.params,
                               len(self.data.train), len(self.data.val) if self.data.val else 0,
                               len(self.data.test), epochs, start_epoch,
                               int(self.config["batch_size"]), self.steps_per_epoch,
                               self.recorded_config, self.name, self.arch.name))
            status, message = self._epochs(start_epoch, epochs, start_step, perm, partial)
        except TrainingError as exc:
            status, message = "failed", str(exc)
        except BaseException as exc:  # a crash, or a second ctrl+c: the callbacks mark the run
            for cb in self.callbacks:
                try:
                    cb.on_exception(self, exc)
                except Exception:  # noqa: BLE001 - their trouble must not hide this one
                    pass
            raise
        return self._end(Outcome(status, message), time.perf_counter() - t_run)

    def _end(self, outcome: Outcome, seconds: float) -> RunResult:
        """on_train_end, the test evaluation of a finished run, RunEnd: the result."""
        for cb in self.callbacks:
            try:
                cb.on_train_end(self, outcome)
            except TrainingError as exc:  # a checkpoint that cannot be written, say
                if outcome.status != "failed":
                    outcome.status, outcome.message = "failed", str(exc)
                else:
                    outcome.message = f"{outcome.message}; {exc}"
        dev = getattr(self, "dev", None)
        result = RunResult(self.run_id, outcome.status, dev.kind if dev else "",
                           dev.name if dev else "", epochs=list(self.history),
                           model=getattr(self, "model", None), message=outcome.message,
                           config=dict(getattr(self, "config", {})),
                           train_seconds=self.train_seconds,
                           images_per_s=self.train_images / self.train_seconds
                           if self.train_seconds else 0.0)
        accs = [h["val_acc"] for h in self.history if h.get("val_acc") is not None]
        result.best_val_acc = max(accs) if accs else None
        if outcome.status == "failed":
            self.log("error", outcome.message)
        if outcome.status == "finished" and self.options.evaluate_test:
            self._evaluate_test(result)
        if dev is not None:
            result.peak_memory_bytes = memory_now(dev)[1]
        self.emit(RunEnd(self.run_id or "", outcome.status, outcome.message, result.best_val_acc,
                         result.test_acc, seconds))
        return result

    def _evaluate_test(self, result: RunResult) -> None:
        from cnn_tui.train.evaluate import evaluate_split
        ev = evaluate_split(self.model, self.data.test, self.dev, batch_size=self._eval_batch(),
                            mistakes=self.options.mistakes, channels_last=self.dev.channels_last)
        result.test_acc, result.test_loss = ev["accuracy"], ev["loss"]
        result.confusion_matrix, result.per_class = ev["confusion_matrix"], ev["per_class"]
        result.macro, result.weighted, result.mistakes = ev["macro"], ev["weighted"], ev["mistakes"]
        self.evaluation = {"test_acc": ev["accuracy"], "test_loss": ev["loss"],
                           "confusion_matrix": ev["confusion_matrix"], "per_class": ev["per_class"],
                           "macro": ev["macro"], "weighted": ev["weighted"],
                           "mistakes": ev["mistakes"], "test_size": ev["count"]}
        self.emit(EvalDone(ev["loss"], ev["accuracy"], ev["confusion_matrix"], ev["per_class"],
                           ev["macro"], ev["weighted"], ev["mistakes"]))

    def _eval_batch(self) -> int:
        return 8192 if self.dev.kind == "cuda" else 1024

    # ------------------------------------------------------------------ epochs
    def _epochs(self, start_epoch: int, epochs: int, start_step: int, perm, partial) -> tuple[str, str]:
        from cnn_tui.train.evaluate import evaluate_split
        monitor = self.config.get("monitor", "val_loss")
        for epoch in range(start_epoch, epochs):
            # an epoch resumed mid-way counts the training time it had before the stop
            t0 = time.perf_counter() - float(partial.get("seconds", 0.0))
            while True:
                try:
                    stats = self._train_epoch(epoch, epochs, start_step, perm, partial)
                    break
                except _Stopped as stop:
                    self.stopped_at = stop.args[0]
                    return "stopped", f"stopped during epoch {epoch + 1}; resume with --resume {self.run_id}"
                except _NonFinite as bad:
                    return "failed", (f"loss became {bad.args[0]} in epoch {epoch + 1}: training "
                                      f"diverged (try a lower learning rate, e.g. a tenth of "
                                      f"{self.config['learning_rate']:g}); the last good "
                                      f"checkpoint (epoch {epoch}) is kept")
                except RuntimeError as exc:
                    if not (self.dev.kind == "cuda" and _is_oom(exc)):
                        raise
                    self._handle_oom(epoch)
                    start_step, perm, partial = 0, None, {}
            start_step, perm, partial = 0, None, {}
            val = None
            if self.data.val is not None:
                val = evaluate_split(self.model, self.data.val, self.dev,
                                     batch_size=self._eval_batch(), mistakes=0,
                                     channels_last=self.dev.channels_last)
            val_loss = val["loss"] if val else None
            val_acc = val["accuracy"] if val else None
            if val_loss is not None and not math.isfinite(val_loss):
                return "failed", (f"validation loss became {val_loss} in epoch {epoch + 1}: training "
                                  f"diverged (try a lower learning rate); the last good "
                                  f"checkpoint (epoch {epoch}) is kept")
            metric = (val_acc if monitor == "val_acc" else val_loss) if val else \
                (stats["acc"] if monitor == "val_acc" else stats["loss"])
            self.schedule.observe(metric)
            prev = self.best["metric"]
            improved = prev is None or (metric > prev if monitor == "val_acc" else metric < prev)
            if improved:
                self.best.update(metric=float(metric), epoch=epoch + 1, bad_epochs=0,
                                 val_acc=val_acc)
            else:
                self.best["bad_epochs"] = int(self.best["bad_epochs"]) + 1
            seconds = time.perf_counter() - t0
            row = {"epoch": epoch + 1, "train_loss": stats["loss"], "train_acc": stats["acc"],
                   "val_loss": val_loss, "val_acc": val_acc, "seconds": seconds,
                   "train_seconds": stats["seconds"], "lr": stats["lr"],
                   "images_per_s": stats["images_per_s"], "batch_size": int(self.config["batch_size"])}
            self.history.append(row)
            current, peak = memory_now(self.dev)
            self.emit(EpochEnd(epoch + 1, epochs, stats["loss"], stats["acc"], val_loss, val_acc,
                               stats["lr"], seconds, stats["images_per_s"], improved))
            if peak is not None:
                self.emit(DeviceStats(current or 0, peak))
            if self.end_request is not None:
                ended, self.end_request = self.end_request, None
                return ended.status, ended.message
            if self.control.stop_requested:
                return "stopped", f"stopped after epoch {epoch + 1}; resume with --resume {self.run_id}"
        return "finished", ""

    def _handle_oom(self, epoch: int) -> None:
        import torch
        old = int(self.config["batch_size"])
        if old <= 1:
            raise TrainingError("CUDA out of memory even with batch size 1")
        if self.restore_point is None:
            raise TrainingError(f"CUDA out of memory at batch size {old}, and no checkpoint to "
                                "retry the epoch from (try a smaller --batch-size)")
        new = max(1, old // 2)
        self.optimizer.zero_grad(set_to_none=True)
        torch.cuda.empty_cache()
        self._restore(self.restore_point(), rng=False)
        self.config["batch_size"] = new
        self.log("warning", f"CUDA out of memory: batch size halved to {new}, retrying epoch {epoch + 1}")

    def _train_epoch(self, epoch: int, epochs: int, start_step: int, perm, partial: dict) -> dict:
        import torch

        from cnn_tui.train.probes import grad_norm_tensors
        model, opt, data, dev = self.model, self.optimizer, self.data.train, self.dev
        bs = int(self.config["batch_size"])
        n = len(data)
        steps = max(1, math.ceil(n / bs))
        if perm is None:
            perm = torch.randperm(n, device=dev.torch_device)
        augment_on = bool(self.config.get("augment"))
        every = max(1, int(self.options.progress_every))
        every_seconds = float(self.options.progress_seconds)
        grad_every = int(self.options.grad_norms_every or 0)
        want_grads = grad_every > 0 and bool(self.callbacks)
        model.train()
        zero = lambda dtype: torch.zeros((), dtype=dtype, device=dev.torch_device)
        win_loss, win_correct = zero(torch.float32), zero(torch.int64)
        seen = int(partial.get("seen", 0))
        tot_loss, tot_correct = float(partial.get("loss_sum", 0.0)), int(partial.get("correct", 0))
        train_seconds = float(partial.get("seconds", 0.0))
        win_seen, t_win = 0, time.perf_counter()
        t_start = time.perf_counter()
        lr = self.schedule.factor(epoch) * float(self.config["learning_rate"])
        control = self.control
        first = epoch == self.start_epoch and start_step == 0 and not self.history
        if first:
            self.stage("first_step", "first step…")

        def partial_state(step):
            dev.synchronize()
            return {"epoch": epoch, "step": step, "perm": perm,
                    "partial": {"seen": seen + win_seen,
                                "loss_sum": tot_loss + float(win_loss.item()),
                                "correct": tot_correct + int(win_correct.item()),
                                "seconds": train_seconds + time.perf_counter() - t_start}}

        for step in range(start_step, steps):
            if control.paused:
                dev.synchronize()
                paused_at = time.perf_counter()
                control.wait_if_paused()
                t_start += time.perf_counter() - paused_at
                t_win += time.perf_counter() - paused_at
            if control.stop_requested:
                raise _Stopped(partial_state(step))
            factor = self.schedule.apply(opt, epoch + step / steps)
            lr = factor * float(self.config["learning_rate"])
            lo = step * bs
            hi = min(lo + bs, n)
            x, y = data.batch(perm[lo:hi], augment_on, channels_last=dev.channels_last)
            with dev.autocast():
                logits = self.forward(x)
            loss = self.criterion(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if want_grads and step % grad_every == 0:
                labels, norms = grad_norm_tensors(model)
                if norms is not None:
                    self.emit(GradNorms(epoch + 1, step + 1, dict(zip(labels, norms.cpu().tolist()))))
            opt.step()
            count = hi - lo
            with torch.no_grad():
                win_loss += loss.detach() * count
                win_correct += (logits.argmax(1) == y).sum()
            win_seen += count
            if (step + 1) % every == 0 or step == steps - 1 or \
                    time.perf_counter() - t_win >= every_seconds:
                wl, wc = float(win_loss.item()), int(win_correct.item())  # the one sync
                now = time.perf_counter()
                if not math.isfinite(wl):
                    raise _NonFinite("nan" if wl != wl else "inf")
                tot_loss += wl
                tot_correct += wc
                seen += win_seen
                self.emit(BatchEnd(epoch + 1, step + 1, steps, wl / max(win_seen, 1),
                                   wc / max(win_seen, 1), lr, win_seen / max(now - t_win, 1e-9), seen))
                win_loss.zero_()
                win_correct.zero_()
                win_seen, t_win = 0, now
        dev.synchronize()
        seconds = train_seconds + time.perf_counter() - t_start
        self.train_seconds += time.perf_counter() - t_start
        self.train_images += seen - int(partial.get("seen", 0))
        return {"loss": tot_loss / max(seen, 1), "acc": tot_correct / max(seen, 1), "lr": lr,
                "seconds": seconds, "images_per_s": seen / max(seconds, 1e-9)}
