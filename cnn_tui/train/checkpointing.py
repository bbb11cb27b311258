"""The checkpoint callback: a run's files in its folder, written atomically.

- `checkpoint.pt` (see `cnn_tui.train.checkpoint`): written before the first step (which also
  proves the folder writable before any training), after every epoch, and when a run is stopped
  mid-epoch (with its position, so a resume continues at that step);
- `model.pt`: the final weights of a finished run (after early stopping restored the best).

Temp files left by a process killed during a write (`.checkpoint.pt.XXXX.tmp`) are removed
when the run starts or resumes (`cnn_tui.atomic.remove_stale_temps`).
"""

from __future__ import annotations

from pathlib import Path

from cnn_tui.atomic import remove_stale_temps
from cnn_tui.train import checkpoint as ckpt
from cnn_tui.train.callbacks import Callback, Outcome

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
MODEL = "model.pt"


class Checkpointing(Callback):
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @property
    def checkpoint_path(self) -> Path:
        return self.folder / CHECKPOINT

    def save(self, trainer, **position) -> None:
        ckpt.save(self.checkpoint_path, trainer.checkpoint_state(**position))

    def on_setup(self, trainer) -> None:
        from cnn_tui.errors import TrainingError
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrainingError(f"cannot create the run folder {self.folder}: "
                                f"{exc.strerror or exc}") from None
        for name in (CHECKPOINT, BEST, MODEL):  # what a write killed midway left behind
            remove_stale_temps(self.folder, name)
        resume = trainer.resume
        if resume is None or resume.checkpoint is None:
            self.save(trainer, epoch=0)  # proves the run folder is writable before any training
        trainer.restore_point = lambda: ckpt.load(self.checkpoint_path,
                                                  map_location=trainer.dev.torch_device)

    def on_epoch_end(self, trainer, event) -> None:
        self.save(trainer, epoch=event.epoch)

    def on_train_end(self, trainer, outcome: Outcome) -> None:
        if outcome.status == "stopped" and trainer.stopped_at is not None:
            self.save(trainer, **trainer.stopped_at)
        elif outcome.status == "finished":
            ckpt.save(self.folder / MODEL, trainer.model.state_dict())
