"""What an export starts from: an architecture file, a share code, a template, or a stored run;
and, for the weight formats, a run's trained model.

A run's weights are read from its `model.pt` (the final state_dict) or, for a run that never
finished, the `model` entry of its last `checkpoint.pt`, always with `torch.load(weights_only=
True)`: a weights file is never code. Missing, unreadable or mismatched weights are one-line
`ExportError`s naming the run and the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnn_tui.errors import CnnTuiError, ExportError, RunStoreError
from cnn_tui.spec.model import Architecture


@dataclass
class Source:
    arch: Architecture
    label: str  # a run id or the file / share code as typed
    record: Any = None  # the RunRecord when the source is a run
    store: Any = None  # the RunStore it came from

    @property
    def is_run(self) -> bool:
        return self.record is not None


def open_store(runs_dir: str | Path | None = None):
    from cnn_tui.runs.store import RunStore

    return RunStore(runs_dir)


def run_architecture(record) -> Architecture:
    """The run's architecture with the training settings the run actually used."""
    from cnn_tui.spec.training import TRAINING_PARAMS

    arch = Architecture.from_dict(record.arch)
    config = record.config or {}
    names = TRAINING_PARAMS.names()
    arch.training = {**arch.training, **{k: config[k] for k in names if k in config}}
    try:
        TRAINING_PARAMS.check_object(arch.training, "training")
    except CnnTuiError:  # a config the current version no longer accepts: keep the file's own
        arch = Architecture.from_dict(record.arch)
    return arch


def resolve(text: str, runs_dir: str | Path | None = None, need_run: bool = False) -> Source:
    """An existing file, a share code or `template:NAME` -> its architecture; otherwise a run id
    (or unique prefix, or run name) in the store. `need_run` skips the architecture forms."""
    from cnn_tui.spec import sharecode
    from cnn_tui.spec.io import load_source

    word = str(text).strip()
    is_arch = (word.startswith(sharecode.PREFIX) or word.lower().startswith("template:")
               or word == "-" or Path(word).expanduser().is_file())
    if is_arch and not need_run:
        return Source(load_source(word), word)
    if is_arch:
        raise ExportError(f"{word[:80]}: an architecture has no trained weights or metrics; "
                          "give a run id (train it first: cnn-tui train FILE)")
    store = open_store(runs_dir)
    try:
        record = store.get(word)
    except RunStoreError as exc:
        if need_run:
            raise
        raise ExportError(f"{word!r} is neither an architecture file, a share code nor a run "
                          f"({exc})") from None
    return Source(run_architecture(record), record.id, record, store)


def weights_file(source: Source) -> tuple[Path, bool]:
    """(path, is_checkpoint) of the run's trained weights; ExportError when there are none."""
    store, record = source.store, source.record
    model_path = Path(store.model_path(record.id))
    if model_path.is_file():
        return model_path, False
    ckpt = Path(store.checkpoint_path(record.id))
    if ckpt.is_file():
        return ckpt, True
    raise ExportError(f"run {record.id} ({record.status}) has no saved weights: neither "
                      f"{model_path} nor {ckpt} exists")


def load_state_dict(source: Source) -> dict:
    import torch

    path, is_checkpoint = weights_file(source)
    run = source.record.id
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol notices are not the user's
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"run {run}: weights file {path} is unreadable or corrupt "
                          f"({first})") from None
    state = data.get("model") if is_checkpoint and isinstance(data, dict) else data
    if isinstance(state, dict) and "model" in state and not is_checkpoint \
            and isinstance(state["model"], dict):
        state = state["model"]  # a model.pt written as a checkpoint-style dict
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ExportError(f"run {run}: {path} holds no model state_dict")
    return state


def load_trained(source: Source):
    """The run's model, built from its architecture, with its trained weights, in eval mode."""
    from cnn_tui.train.build import build_model

    if not source.is_run:
        raise ExportError(f"{source.label}: weights need a trained run, not an architecture "
                          "(train it first: cnn-tui train FILE)")
    state = load_state_dict(source)
    model = build_model(source.arch)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = (first[1].strip() if len(first) > 1 else first[0])[:160] if first else ""
        raise ExportError(f"run {source.record.id}: the saved weights do not fit its "
                          f"architecture ({detail})") from None
    return model.eval()
