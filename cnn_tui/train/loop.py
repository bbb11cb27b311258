"""The Trainer: spec + config -> a trained model, a run in the store, and a stream of events.

The loop is built for throughput:
- the data sits on the device (cnn_tui.data.device); a batch is `images[perm[i:i+B]]`;
- loss and accuracy are accumulated in device tensors and read back (one sync) only every
  `progress_every` steps and at the end of an epoch; nothing calls `.item()` per step;
- on CUDA: bf16 autocast, channels_last, cuDNN autotuning and fused optimizers;
- the training step runs the model's own modules through `fastpath.training_forward` (pool
  before a monotone activation, a channels_last gradient out of flatten, a cheaper dropout
  mask on the CPU): the same outputs and gradients, measured 1.3x faster on a 2-core CPU.

It knows nothing of any UI: it calls `callbacks` with the dataclasses of `events.py` and polls a
`Control` between steps. After every epoch it writes a checkpoint atomically; a run stopped
mid-epoch saves its position (step and the epoch's permutation) so resuming continues there.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from cnn_tui.errors import CnnTuiError, TrainingError
from cnn_tui.train import checkpoint as ckpt
from cnn_tui.train.control import Control
from cnn_tui.train.events import (BatchEnd, DeviceStats, EpochEnd, EvalDone, GradNorms, Log,
                                  RunEnd, RunStart)

CHECKPOINT_FORMAT = "cnn-tui/checkpoint"


@dataclass
class RunOptions:
    data_dir: Any = None
    runs_dir: Any = None
    limit_train: int | None = None  # train on this many images (after the validation split)
    limit_test: int | None = None  # evaluate on the first this many test images
    device: str | None = None  # overrides the config's device
    resume: str | None = None  # run id (or unique prefix) to continue
    name: str | None = None
    progress_every: int = 50  # steps between BatchEnd events (each costs one device sync)
    grad_norms_every: int = 50  # steps between GradNorms events (0: never)
    compile: bool = False  # torch.compile the model (helps on GPU; not on CPU)
    mistakes: int = 32  # how many most-confident mistakes the evaluation keeps
    evaluate_test: bool = True  # evaluate on the test set at the end


@dataclass
class RunResult:
    run_id: str
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

    def to_dict(self) -> dict:
        keys = ("run_id", "status", "message", "device", "device_name", "epochs", "test_acc",
                "test_loss", "images_per_s", "train_seconds", "best_val_acc", "confusion_matrix",
                "per_class", "macro", "weighted", "mistakes", "config")
        return {k: getattr(self, k) for k in keys}


class _NonFinite(Exception):
    pass


class _Stopped(Exception):
    pass


def _is_oom(exc: BaseException) -> bool:
    import torch
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or "out of memory" in str(exc).lower()


def check_architecture(arch) -> None:
    """TrainingError naming the first problem when `arch` cannot be trained on MNIST."""
    from cnn_tui.spec.analysis import analyze
    analysis = analyze(arch)
    if not analysis.valid:
        errors = analysis.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise TrainingError(f"cannot train {arch.name!r}: {errors[0].message}{more}")
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
        if value is None and name.startswith("limit_"):
            continue
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise TrainingError(f"{name}: must be a whole number >= {least}, got {value!r}")
        setattr(options, name, value)


class Trainer:
    def __init__(self, arch=None, config: dict | None = None, options: RunOptions | None = None,
                 callbacks: Iterable[Callable] = (), control: Control | None = None) -> None:
        self.arch = arch
        self.overrides = dict(config or {})
        self.options = options or RunOptions()
        check_options(self.options)
        self.callbacks = list(callbacks)
        self.control = control or Control()
        self.run_id: str | None = None

    # ------------------------------------------------------------------ events
    def emit(self, event) -> None:
        for cb in self.callbacks:
            cb(event)

    def log(self, level: str, message: str) -> None:
        self.emit(Log(level, message))

    # ------------------------------------------------------------------ setup
    def _open_store(self):
        from cnn_tui.runs.store import RunStore
        store = RunStore(self.options.runs_dir)
        try:
            store.ensure_writable()
        except CnnTuiError as exc:
            raise TrainingError(str(exc)) from None
        return store

    def _prepare(self):
        import torch
        from cnn_tui.spec.model import Architecture
        from cnn_tui.train.device import configure, resolve_device

        self.store = store = self._open_store()
        self.resume_state = None
        self._saved_optimizer = None  # the optimizer a resumed run's checkpoint was made with
        if self.options.resume:
            record = store.get(self.options.resume)
            self.run_id = record.id
            self._saved_optimizer = record.config.get("optimizer")
            if self.arch is None:
                self.arch = Architecture.from_dict(record.arch)
            stored = dict(record.config)
            stored.update({k: v for k, v in self.overrides.items() if v is not None})
            self.overrides = {k: v for k, v in stored.items() if k in self.arch.training_config()}
            path = store.checkpoint_path(record.id)
            if not path.is_file():
                raise TrainingError(f"run {record.id} has no checkpoint to resume from ({path})")
            self.resume_state = ckpt.load(path)
            # the same data as before: a subset run resumes on the same subset
            saved = self.resume_state.get("options") or {}
            for key in ("limit_train", "limit_test"):
                if getattr(self.options, key) is None and saved.get(key) is not None:
                    setattr(self.options, key, int(saved[key]))
        if self.arch is None:
            raise TrainingError("nothing to train: give an architecture or a run to resume")
        check_architecture(self.arch)
        requested = self.options.device or self.overrides.get("device") \
            or self.arch.training_config()["device"]
        self.dev = resolve_device(requested)
        configure(self.dev)
        self.config = effective_config(self.arch, self.overrides, self.dev.kind)
        if self.resume_state is not None:
            self.config["batch_size"] = int(self.resume_state.get("batch_size",
                                                                  self.config["batch_size"]))

        from cnn_tui.data import load_arrays
        from cnn_tui.data.device import to_device
        arrays = load_arrays(self.options.data_dir)
        self.data = to_device(arrays, self.dev.torch_device, val_size=self.config["val_size"],
                              seed=self.config["seed"], limit_train=self.options.limit_train,
                              limit_test=self.options.limit_test)

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
            self.forward = torch.compile(model)
        else:
            from cnn_tui.train.fastpath import training_forward
            self.forward = training_forward(model, self.dev.kind)
        self.params = sum(p.numel() for p in model.parameters())
        self.optimizer = make_optimizer(model, self.arch, self.config, self.dev.kind)
        self.schedule = LrSchedule(self.config, self.config["epochs"])
        self.criterion = torch.nn.CrossEntropyLoss(
            label_smoothing=float(self.config.get("label_smoothing") or 0.0))

    # ------------------------------------------------------------------ checkpoints
    def _state(self, epoch: int, step: int = 0, perm=None, partial: dict | None = None) -> dict:
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
                        "limit_test": self.options.limit_test},
        }

    def _recorded_config(self) -> dict:
        """What the store records as the run's settings."""
        return {**self.config, "limit_train": self.options.limit_train,
                "limit_test": self.options.limit_test}

    def _save(self, **kwargs) -> None:
        ckpt.save(self.store.checkpoint_path(self.run_id), self._state(**kwargs))

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
        saved = state.get("optimizer_name") or self._saved_optimizer or name
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

    # ------------------------------------------------------------------ run
    def run(self) -> RunResult:
        self.history: list[dict] = []
        self.best = {"metric": None, "epoch": 0, "bad_epochs": 0, "val_acc": None}
        self._prepare()
        store, opts = self.store, self.options
        start_epoch, start_step, perm, partial = 0, 0, None, {}
        if self.resume_state is not None:
            st = self.resume_state
            if st.get("format") != CHECKPOINT_FORMAT:
                raise TrainingError(f"run {self.run_id}: not a cnn-tui checkpoint")
            self._restore(st)
            start_epoch, start_step = int(st["epoch"]), int(st.get("step", 0))
            perm = st.get("perm")
            partial = dict(st.get("partial") or {})
            if perm is not None and perm.numel() != len(self.data.train):
                self.log("warning", f"the training set changed size since the run stopped: "
                                    f"epoch {start_epoch + 1} restarts from its beginning")
                perm, start_step, partial = None, 0, {}
            if perm is not None:
                perm = perm.to(self.dev.torch_device)
            store.mark_running(self.run_id, self.dev.kind, self.dev.name, self._recorded_config())
            store.truncate_epochs(self.run_id, start_epoch)
            self.resume_state = None
        else:
            self.run_id = store.create_run(self.arch.to_dict(), self._recorded_config(), self.dev.kind,
                                           name=opts.name, device_name=self.dev.name,
                                           params=self.params)
            try:
                self._save(epoch=0)  # proves the run folder is writable before any training
            except TrainingError as exc:
                store.finish(self.run_id, "failed", None, str(exc))
                raise
        epochs = int(self.config["epochs"])
        self.emit(RunStart(self.run_id, self.dev.kind, self.dev.name, self.params,
                           len(self.data.train), len(self.data.val) if self.data.val else 0,
                           len(self.data.test), epochs, start_epoch, int(self.config["batch_size"])))
        t_run = time.perf_counter()
        status, message = "finished", ""
        self.train_seconds, self.train_images = 0.0, 0
        try:
            status, message = self._epochs(start_epoch, epochs, start_step, perm, partial)
        except KeyboardInterrupt:
            store.set_status(self.run_id, "stopped", "interrupted; resume from the last checkpoint")
            raise
        except TrainingError as exc:
            status, message = "failed", str(exc)
        except BaseException as exc:
            try:
                store.finish(self.run_id, "failed", None,
                             f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}")
            except CnnTuiError:
                pass  # the store's own trouble (a full disk) must not hide what went wrong
            raise
        result = RunResult(self.run_id, status, self.dev.kind, self.dev.name,
                           epochs=list(self.history), model=self.model, message=message,
                           config=dict(self.config), train_seconds=self.train_seconds,
                           images_per_s=self.train_images / self.train_seconds
                           if self.train_seconds else 0.0)
        accs = [h["val_acc"] for h in self.history if h.get("val_acc") is not None]
        result.best_val_acc = max(accs) if accs else None
        if status == "failed":
            self.log("error", message)
        evaluation = None
        if status == "finished":
            if self.config.get("early_stopping") and self.best.get("epoch"):
                self._load_best()
            self._write_model()
            if opts.evaluate_test:
                evaluation = self._evaluate_test(result)
        try:
            store.finish(self.run_id, status, evaluation, message)
        except CnnTuiError as err:
            if status != "failed":
                raise
            # both said: why training stopped (a checkpoint that could not be written, say)
            # and why the store could not record it; the checkpoint on disk stays resumable
            raise TrainingError(f"{message}; the run store could not record it either: {err}") from None
        self.emit(RunEnd(self.run_id, status, message, result.best_val_acc, result.test_acc,
                         time.perf_counter() - t_run))
        return result

    def _load_best(self) -> None:
        import torch
        path = self.store.best_path(self.run_id)
        if path.is_file():
            state = torch.load(path, map_location=self.dev.torch_device, weights_only=True)
            self.model.load_state_dict(state)
            self.log("info", f"restored the best weights (epoch {self.best['epoch']})")

    def _write_model(self) -> None:
        ckpt.save(self.store.model_path(self.run_id), self.model.state_dict())

    def _evaluate_test(self, result: RunResult) -> dict:
        from cnn_tui.train.evaluate import evaluate_split
        ev = evaluate_split(self.model, self.data.test, self.dev, batch_size=self._eval_batch(),
                            mistakes=self.options.mistakes, channels_last=self.dev.channels_last)
        result.test_acc, result.test_loss = ev["accuracy"], ev["loss"]
        result.confusion_matrix, result.per_class = ev["confusion_matrix"], ev["per_class"]
        result.macro, result.weighted, result.mistakes = ev["macro"], ev["weighted"], ev["mistakes"]
        self.emit(EvalDone(ev["loss"], ev["accuracy"], ev["confusion_matrix"], ev["per_class"],
                           ev["macro"], ev["weighted"], ev["mistakes"]))
        return {"test_acc": ev["accuracy"], "test_loss": ev["loss"],
                "confusion_matrix": ev["confusion_matrix"], "per_class": ev["per_class"],
                "macro": ev["macro"], "weighted": ev["weighted"], "mistakes": ev["mistakes"],
                "test_size": ev["count"]}

    def _eval_batch(self) -> int:
        return 8192 if self.dev.kind == "cuda" else 1024

    # ------------------------------------------------------------------ epochs
    def _epochs(self, start_epoch: int, epochs: int, start_step: int, perm, partial) -> tuple[str, str]:
        import torch
        from cnn_tui.train.evaluate import evaluate_split
        patience = self.config.get("early_stopping")
        monitor = self.config.get("monitor", "val_loss")
        for epoch in range(start_epoch, epochs):
            # an epoch resumed mid-way counts the training time it had before the stop
            t0 = time.perf_counter() - float(partial.get("seconds", 0.0))
            while True:
                try:
                    stats = self._train_epoch(epoch, epochs, start_step, perm, partial)
                    break
                except _Stopped as stop:
                    self._save(**stop.args[0])
                    return "stopped", f"stopped during epoch {epoch + 1}; resume with --resume {self.run_id}"
                except _NonFinite as bad:
                    return "failed", (f"loss became {bad.args[0]} in epoch {epoch + 1}: training "
                                      f"diverged (try a lower learning rate); the last good "
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
                if patience:
                    ckpt.save(self.store.best_path(self.run_id), self.model.state_dict())
            else:
                self.best["bad_epochs"] = int(self.best["bad_epochs"]) + 1
            seconds = time.perf_counter() - t0
            row = {"epoch": epoch + 1, "train_loss": stats["loss"], "train_acc": stats["acc"],
                   "val_loss": val_loss, "val_acc": val_acc, "seconds": seconds,
                   "train_seconds": stats["seconds"], "lr": stats["lr"],
                   "images_per_s": stats["images_per_s"], "batch_size": int(self.config["batch_size"])}
            self.history.append(row)
            self._save(epoch=epoch + 1)
            self.store.log_epoch(self.run_id, row)
            self.emit(EpochEnd(epoch + 1, epochs, stats["loss"], stats["acc"], val_loss, val_acc,
                               stats["lr"], seconds, stats["images_per_s"], improved))
            if self.dev.kind == "cuda":
                self.emit(DeviceStats(torch.cuda.memory_allocated(self.dev.torch_device),
                                      torch.cuda.max_memory_allocated(self.dev.torch_device)))
            if patience and self.best["bad_epochs"] >= patience and epoch + 1 < epochs:
                self.log("info", f"early stopping after epoch {epoch + 1}: no improvement of "
                                 f"{monitor} for {patience} epochs (best: epoch {self.best['epoch']})")
                return "finished", f"early stopping after epoch {epoch + 1} (best epoch {self.best['epoch']})"
            if self.control.stop_requested:
                return "stopped", f"stopped after epoch {epoch + 1}; resume with --resume {self.run_id}"
        return "finished", ""

    def _handle_oom(self, epoch: int) -> None:
        import torch
        old = int(self.config["batch_size"])
        if old <= 1:
            raise TrainingError("CUDA out of memory even with batch size 1")
        new = max(1, old // 2)
        self.optimizer.zero_grad(set_to_none=True)
        torch.cuda.empty_cache()
        state = ckpt.load(self.store.checkpoint_path(self.run_id), map_location=self.dev.torch_device)
        self._restore(state, rng=False)
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
        grad_every = int(self.options.grad_norms_every or 0)
        want_grads = grad_every > 0 and bool(self.callbacks)
        model.train()
        zero = lambda dtype: torch.zeros((), dtype=dtype, device=dev.torch_device)  # noqa: E731
        win_loss, win_correct = zero(torch.float32), zero(torch.int64)
        seen = int(partial.get("seen", 0))
        tot_loss, tot_correct = float(partial.get("loss_sum", 0.0)), int(partial.get("correct", 0))
        train_seconds = float(partial.get("seconds", 0.0))
        win_seen, t_win = 0, time.perf_counter()
        t_start = time.perf_counter()
        lr = self.schedule.factor(epoch) * float(self.config["learning_rate"])
        control = self.control

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
            if (step + 1) % every == 0 or step == steps - 1:
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


def train(arch, config: dict | None = None, options: RunOptions | None = None,
          callbacks: Iterable[Callable] = (), control: Control | None = None) -> RunResult:
    """Train `arch` (an Architecture; None with options.resume) and record the run in the store.

    `config` overrides the file's training values (e.g. {"epochs": 3}); `options` says where the
    data and the run store are, the subset sizes and what to resume. Raises TrainingError (or
    DataError) before training when something is wrong; a run that fails during training (NaN)
    returns status "failed" with the reason in `message`.
    """
    return Trainer(arch, config, options, callbacks, control).run()
