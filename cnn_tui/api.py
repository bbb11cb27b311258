"""cnn-tui's public Python API, for notebooks and scripts (the CLI and the TUI use it too).

    from cnn_tui import api
    arch = api.load_architecture("template:beginner")     # a file path, share code or template:NAME
    result = api.train(arch, epochs=1, limit_train=5000, data_dir="~/mnist")
    print(result.test_acc, result.run_id)
    run = api.load_run(result.run_id)                        # record, arch, model (weights loaded)
    print(api.evaluate(run.model, limit=1000)["accuracy"])

Every function raises a `cnn_tui.errors.CnnTuiError` subclass with a one-line message when the
input is wrong (missing MNIST, invalid architecture, unknown run id, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable, Iterable

from cnn_tui.errors import CnnTuiError, TrainingError

if TYPE_CHECKING:
    from cnn_tui.spec.model import Architecture


def load_architecture(source) -> Architecture:
    """An Architecture from a path, share code (`cnn1:...`), `template:NAME`, a dict or an
    Architecture (returned as is)."""
    from cnn_tui.spec.model import Architecture
    if isinstance(source, Architecture):
        return source
    if isinstance(source, dict):
        return Architecture.from_dict(source)
    from cnn_tui.spec.io import load_source
    return load_source(str(source))


def build(arch):
    """The torch `nn.Module` for an architecture (source accepted too); logits out, no softmax."""
    from cnn_tui.train.build import build_model
    return build_model(load_architecture(arch))


RUN_OPTIONS = ("data_dir", "runs_dir", "limit_train", "limit_test", "device", "resume", "name",
               "tags", "progress_every", "grad_norms_every", "compile", "mistakes", "evaluate_test")


def train(arch_or_source, callbacks: Iterable[Callable] = (), control=None, **overrides):
    """Train and record a run; returns a `cnn_tui.train.loop.RunResult`.

    `overrides` are training settings (epochs, batch_size, learning_rate, optimizer, schedule,
    augment, seed, ...; they win over the file's) or run options (data_dir, runs_dir,
    limit_train, limit_test, device, resume, name, tags, progress_every, compile).
    `callbacks` are `cnn_tui.train.callbacks.Callback` objects (typed hooks) or plain functions
    that receive every event of `cnn_tui.train.events`; `control` is a
    `cnn_tui.train.control.Control`. Pass `arch_or_source=None` with `resume=RUN_ID` to continue
    a run. The run is recorded exactly as `cnn-tui train` records it.
    """
    from cnn_tui.data import find_mnist
    from cnn_tui.settings import Settings
    from cnn_tui.runs.training import train_run
    from cnn_tui.spec.training import TRAINING_PARAMS
    from cnn_tui.train.loop import RunOptions
    option_names = {f.name for f in fields(RunOptions)}
    options, config, run = {}, {}, {}
    for key, value in overrides.items():
        if key in ("runs_dir", "resume", "name", "tags"):
            run[key] = value
        elif key in option_names and key in RUN_OPTIONS:
            options[key] = value
        elif TRAINING_PARAMS.get(key) is not None:
            config[key] = value
        else:
            raise TrainingError(f"unknown setting {key!r} (training settings: "
                                f"{', '.join(TRAINING_PARAMS.names())}; run options: "
                                f"{', '.join(sorted(RUN_OPTIONS))})")
    if "device" in config:  # the device is both: the option wins, the config records it
        options.setdefault("device", config["device"])
    settings = Settings.from_env(data_dir=options.pop("data_dir", None),
                                 runs_dir=run.pop("runs_dir", None))
    arch = None if arch_or_source is None else load_architecture(arch_or_source)
    if settings.data_dir is not None:  # a miss names the argument, not a CLI flag
        find_mnist(settings.data_dir, option="data_dir")
    return train_run(arch, config, settings=settings, options=RunOptions(**options),
                     callbacks=callbacks, control=control, **run)


def evaluate(model_or_run_id, data_dir=None, limit: int | None = None, device: str | None = None,
             runs_dir=None) -> dict:
    """Test-set metrics for a model (nn.Module) or a stored run: accuracy, loss, confusion_matrix,
    per_class, macro, weighted, mistakes (indices into the MNIST test set), count."""
    import torch
    from cnn_tui.data import load_arrays
    from cnn_tui.data.device import to_device
    from cnn_tui.train.device import configure, resolve_device
    from cnn_tui.train.evaluate import evaluate_split
    model = model_or_run_id
    if isinstance(model_or_run_id, str):
        model = load_run(model_or_run_id, runs_dir=runs_dir).model
    if not isinstance(model, torch.nn.Module):
        raise TrainingError(f"evaluate: expected a model or a run id, got {type(model).__name__}")
    param = next(model.parameters(), None)
    if device is None and param is not None:
        dev = resolve_device(param.device.type)
    else:
        dev = resolve_device(device)
    configure(dev)
    model = model.to(dev.torch_device)
    data = to_device(load_arrays(data_dir, option="data_dir"), dev.torch_device, val_size=0,
                     limit_train=1, limit_test=limit)
    return evaluate_split(model, data.test, dev)


@dataclass
class LoadedRun:
    record: Any  # cnn_tui.runs.store.RunRecord
    arch: Any  # Architecture
    model: Any  # nn.Module on the CPU, final (best, with early stopping) weights loaded, eval mode
    config: dict


def load_run(run_id: str, runs_dir=None) -> LoadedRun:
    """A stored run: its record, architecture, config and the model with its weights."""
    import torch
    from cnn_tui.runs.store import RunStore
    from cnn_tui.spec.model import Architecture
    from cnn_tui.train.build import build_model
    store = RunStore(runs_dir)
    record = store.get(run_id)
    arch = Architecture.from_dict(record.arch)
    model = build_model(arch)
    path = store.model_path(record.id)
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
    else:
        ckpt_path = store.checkpoint_path(record.id)
        if not ckpt_path.is_file():
            raise CnnTuiError(f"run {record.id} has no saved weights")
        from cnn_tui.train.checkpoint import load
        state = load(ckpt_path)["model"]
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CnnTuiError(f"run {record.id}: weights do not fit its architecture "
                          f"({str(exc).splitlines()[0][:120]})") from None
    model.eval()
    return LoadedRun(record, arch, model, dict(record.config))


__all__ = ["LoadedRun", "build", "evaluate", "load_architecture", "load_run", "train"]
