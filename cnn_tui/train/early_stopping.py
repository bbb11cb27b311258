"""Early stopping as a callback: stop when the monitored metric has not improved for `patience`
epochs (the run's `early_stopping` setting), then restore the best epoch's weights.

The trainer tracks the best epoch (`trainer.best`, kept in checkpoints so a resumed run goes on
counting); this callback keeps the best weights (`best.pt` in the run folder, so they survive a
kill and a resume; in memory when there is no folder) and ends training when patience runs out.
"""

from __future__ import annotations

from pathlib import Path

from cnn_tui.train import checkpoint as ckpt
from cnn_tui.train.callbacks import Callback, Outcome
from cnn_tui.train.checkpointing import BEST


class EarlyStopping(Callback):
    def __init__(self, folder: Path | None = None) -> None:
        self.path = Path(folder) / BEST if folder is not None else None
        self._best_state: dict | None = None

    @staticmethod
    def patience(trainer) -> int:
        return int(trainer.config.get("early_stopping") or 0)

    def on_epoch_end(self, trainer, event) -> None:
        patience = self.patience(trainer)
        if not patience:
            return
        if event.best:
            if self.path is not None:
                ckpt.save(self.path, trainer.model.state_dict())
            else:
                self._best_state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        if trainer.best["bad_epochs"] >= patience and event.epoch < event.epochs:
            monitor = trainer.config.get("monitor", "val_loss")
            trainer.log("info", f"early stopping after epoch {event.epoch}: no improvement of "
                                f"{monitor} for {patience} epochs (best: epoch {trainer.best['epoch']})")
            trainer.end_training("finished", f"early stopping after epoch {event.epoch} "
                                             f"(best epoch {trainer.best['epoch']})")

    def on_train_end(self, trainer, outcome: Outcome) -> None:
        if outcome.status != "finished" or not self.patience(trainer) or not trainer.best.get("epoch"):
            return
        state = self._best_state
        if state is None and self.path is not None and self.path.is_file():
            import torch
            state = torch.load(self.path, map_location=trainer.dev.torch_device, weights_only=True)
        if state is not None:
            trainer.model.load_state_dict(state)
            trainer.log("info", f"restored the best weights (epoch {trainer.best['epoch']})")
