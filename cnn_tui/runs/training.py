"""Train and record one run here, in this process: what `cnn-tui train`, `api.train`, the
app's training process and every sweep trial call (it sits in runs/, beside the recorder it
assembles, so that experiments/ and session/ above can both use it).

`train_run` checks what it can before anything is recorded (the architecture, the options, a
writable store, what a resume continues), assembles the standard callbacks in their order:

    Recorder (the store) -> EarlyStopping -> Checkpointing -> EpochRows -> RemoteControl
        -> yours -> Diagnose

(the epoch's row is written after its checkpoint, so an epoch the store shows is one a resume
keeps) and runs the Trainer. Every run, whoever starts it, therefore records the same things: the run,
its version link, epochs, batch points, gradient norms, peak memory, throughput, diagnosis and
evaluation.

Resuming (`resume=RUN`): the stored architecture and settings, with `overrides` over them, from
the run's last checkpoint. A run killed before its first checkpoint was written starts again
from epoch 1 with its stored settings (said in a warning). A run that finished every epoch it
asks for is refused without touching its record (`--epochs N` trains further).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from cnn_tui.errors import CnnTuiError, TrainingError
from cnn_tui.settings import Settings
from cnn_tui.train.callbacks import Callback
from cnn_tui.train.loop import ResumeState, RunOptions, RunResult, Trainer, check_options


class _Say(Callback):
    """Hands warnings found before the run started to the callbacks, as the run's own logs."""

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings

    def on_run_start(self, trainer, event) -> None:
        for warning in self.warnings:
            trainer.log("warning", warning)


def _resume_state(store, run_id: str, arch, overrides: dict, options: RunOptions,
                  warnings: list[str]):
    """(ResumeState, architecture, training settings, the record) for continuing `run_id`."""
    from cnn_tui.spec.model import Architecture
    from cnn_tui.train import checkpoint as ckpt
    record = store.get(run_id)
    if record.status == "running":
        raise TrainingError(f"run {record.id} is still training (pid {record.pid} on "
                            f"{record.host or 'this host'}): stop it first")
    if arch is None:
        arch = Architecture.from_dict(record.arch)
    stored = dict(record.config)
    stored.update({k: v for k, v in overrides.items() if v is not None})
    settings = {k: v for k, v in stored.items() if k in arch.training_config()}
    path = store.checkpoint_path(record.id)
    state = ckpt.load(path) if path.is_file() else None
    saved = (state or {}).get("options") or {}
    for key in ("limit_train", "limit_test"):
        if getattr(options, key) is None:
            value = saved.get(key) if state is not None else record.config.get(key)
            if value is not None:
                setattr(options, key, int(value))
    fold = saved.get("fold") if state is not None else record.config.get("fold")
    if options.fold is None and fold:
        options.fold = tuple(int(v) for v in fold)  # a k-fold run resumes on its own fold
    done = len(record.epochs)
    epochs = int(settings.get("epochs") or arch.training_config()["epochs"])
    if record.status == "finished" and done >= epochs:
        raise CnnTuiError(f"run {record.id} finished all its {done} epochs: nothing to train "
                          f"(--epochs N with N > {done} trains it further)")
    if state is None:
        warnings.append(f"run {record.id} has no checkpoint (it was stopped before its first "
                        "one was written): it starts again from epoch 1 with its recorded "
                        "settings")
    return ResumeState(record.id, state, record.config.get("optimizer")), arch, settings, record


def train_run(arch, overrides: dict | None = None, *, settings: Settings | None = None,
              options: RunOptions | None = None, resume: str | None = None,
              name: str | None = None, run_id: str | None = None,
              source_path: Path | str | None = None, tags: list[str] | None = None,
              callbacks: Iterable[Any] = (), control=None) -> RunResult:
    """Train `arch` (an Architecture; None with `resume`) and record it; returns the result.

    Raises TrainingError / DataError / SpecError before anything is recorded when the input is
    wrong; a run that fails while training returns status "failed" with the reason.
    """
    from cnn_tui.runs.recorder import EpochRows, Recorder
    from cnn_tui.runs.remote import RemoteControl
    from cnn_tui.spec.text import check_label
    from cnn_tui.train.checkpointing import Checkpointing
    from cnn_tui.train.diagnosis import Diagnose
    from cnn_tui.train.early_stopping import EarlyStopping
    from cnn_tui.train.loop import check_architecture

    settings = settings or Settings.from_env()
    options = options or RunOptions()
    if options.data_dir is None and settings.data_dir is not None:
        options.data_dir = settings.data_dir
    check_options(options)
    if name is not None:
        name = check_label(name, "run name")
    for tag in tags or ():
        check_label(tag, "tag")
    overrides = dict(overrides or {})
    from cnn_tui.runs.store import RunStore
    store = RunStore(settings.runs_dir)
    try:
        store.ensure_writable()
    except CnnTuiError as exc:
        raise TrainingError(str(exc)) from None
    warnings: list[str] = []
    state, known = None, []
    if resume:
        state, arch, overrides, record = _resume_state(store, resume, arch, overrides, options,
                                                       warnings)
        run_id, known = record.id, record.diagnosis
        if name is None:
            name = record.name
    elif arch is None:
        raise TrainingError("nothing to train: give an architecture or a run to resume")
    check_architecture(arch)
    if run_id is None:
        from cnn_tui.runs.store import new_run_id
        run_id = new_run_id()
    folder = store.run_dir(run_id)
    # the diagnosis last: what it says about an epoch comes after the epoch's own line
    recorder = Recorder(store, name=name, run_id=run_id, source_path=source_path, tags=tags)
    ordered = [recorder, EarlyStopping(folder), Checkpointing(folder), EpochRows(recorder),
               RemoteControl(store), _Say(warnings), *callbacks, Diagnose(known)]
    trainer = Trainer(arch, overrides, options, ordered, control, resume=state, run_id=run_id,
                      name=name)
    try:
        return trainer.run()
    finally:
        store.close()
