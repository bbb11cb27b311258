"""The run's own diagnosis, from what it measured, as a callback.

After each epoch it looks at the epoch rows, the first batch losses and the latest gradient
norms, and says (a `Diagnosis` event: kept with the run, printed by the CLI, shown by the app):

- **diverged** (error: the run stops, status failed): after an epoch, the loss far above where
  an untrained network starts (ln of the class count, 2.30 for MNIST) and the accuracy at
  chance: a divergence that never reached NaN (LeNet-5 with SGD at learning rate 10 ends its
  first epoch at loss ~600 and 10% accuracy);
- **not learning** (warning): the accuracy at chance after an epoch, the loss not far off;
- **overfitting** (warning): the validation loss rising for two epochs while the training loss
  falls, with validation accuracy below training accuracy;
- **underfitting** (hint): after two epochs or more, training accuracy still low, validation as
  good as training, and the training loss barely moving;
- **vanishing / exploding gradients** (warning): a layer's gradient norm below 1e-6 or above
  1e3 (the thresholds the gradient-flow view flags).

Each kind is said once per run (a later, worse figure replaces it in the store).
"""

from __future__ import annotations

import math

from cnn_tui.spec.fmt import and_more
from cnn_tui.train.callbacks import Callback
from cnn_tui.train.events import Diagnosis

VANISHING, EXPLODING = 1e-6, 1e3
DIVERGED_FACTOR = 3.0  # epoch loss this many times an untrained network's (ln classes)
CHANCE_MARGIN = 1.5  # accuracy below this many times chance counts as chance
UNDERFIT_ACC = 0.90


class Diagnose(Callback):
    """`known`: what a resumed run's diagnosis said already (not said again)."""

    def __init__(self, known: list[dict] = ()) -> None:
        self.said: set[str] = {str(d.get("kind")) for d in known}
        self.grads: dict[str, float] = {}
        self.findings: list[Diagnosis] = []

    def on_grad_norms(self, trainer, event) -> None:
        self.grads = dict(event.norms)

    def _say(self, trainer, kind: str, severity: str, epoch: int, message: str, advice: str) -> None:
        if kind in self.said:
            return
        self.said.add(kind)
        finding = Diagnosis(kind, severity, epoch, message, advice)
        self.findings.append(finding)
        trainer.emit(finding)

    def on_epoch_end(self, trainer, event) -> None:
        classes = int(getattr(trainer.arch, "classes", 10) or 10)
        chance = 1.0 / classes
        lr = float(trainer.config.get("learning_rate", 0.0))
        at_chance = event.train_acc < CHANCE_MARGIN * chance
        start = math.log(classes)  # where an untrained network's cross-entropy starts
        if at_chance and event.train_loss > DIVERGED_FACTOR * start:
            message = (f"training diverged: after epoch {event.epoch} the loss is "
                       f"{event.train_loss:,.4g}, {event.train_loss / start:,.0f}x where an "
                       f"untrained network starts ({start:.2f}), and accuracy is at chance "
                       f"({100 * event.train_acc:.1f}%)")
            advice = f"a learning rate 10-100x lower than {lr:g}"
            self._say(trainer, "diverged", "error", event.epoch, message, advice)
            trainer.end_training("failed", f"{message}; try {advice}")
            return
        if at_chance:
            self._say(trainer, "not_learning", "warning", event.epoch,
                      f"not learning: accuracy is at chance ({100 * event.train_acc:.1f}%) after "
                      f"epoch {event.epoch}, loss {event.train_loss:.3f}",
                      f"another learning rate than {lr:g} (0.001 is a good start with Adam), "
                      "and check that the activations are not all dead or saturated")
        rows = trainer.history
        if len(rows) >= 3 and all(r.get("val_loss") is not None for r in rows[-3:]):
            a, b, c = rows[-3:]
            if c["val_loss"] > b["val_loss"] > a["val_loss"] and \
                    c["train_loss"] < b["train_loss"] < a["train_loss"] and \
                    (c.get("val_acc") or 0) < c["train_acc"]:
                self._say(trainer, "overfitting", "warning", event.epoch,
                          f"overfitting: validation loss rose for two epochs ({a['val_loss']:.4f} -> "
                          f"{c['val_loss']:.4f}) while training loss fell ({a['train_loss']:.4f} -> "
                          f"{c['train_loss']:.4f})",
                          "add dropout or augmentation, weight decay, or early stopping "
                          "(it restores the best epoch)")
        if len(rows) >= 2 and rows[-1].get("val_acc") is not None:
            prev, last = rows[-2], rows[-1]
            moving = (prev["train_loss"] - last["train_loss"]) / max(prev["train_loss"], 1e-12)
            if last["train_acc"] < UNDERFIT_ACC and abs(last["val_acc"] - last["train_acc"]) < 0.02 \
                    and moving < 0.02 and not at_chance:
                self._say(trainer, "underfitting", "hint", event.epoch,
                          f"underfitting: training accuracy {100 * last['train_acc']:.1f}% after "
                          f"{last['epoch']} epochs, validation as good, the loss barely moving "
                          f"({100 * moving:.1f}% in the last epoch)",
                          "a larger model (more filters or units), a higher learning rate, or "
                          "less regularisation (dropout, weight decay)")
        if self.grads:
            low = {k: v for k, v in self.grads.items() if v < VANISHING}
            high = {k: v for k, v in self.grads.items() if v > EXPLODING}
            if low:
                name, value = min(low.items(), key=lambda kv: kv[1])
                self._say(trainer, "vanishing_gradients", "warning", event.epoch,
                          f"vanishing gradients: layer {name} gradient norm {value:.2g} "
                          f"(below {VANISHING:g}){and_more(len(low) - 1)}",
                          "BatchNorm, ReLU instead of sigmoid/tanh, a residual block, or a "
                          "higher learning rate for those layers (lr_mult)")
            if high:
                name, value = max(high.items(), key=lambda kv: kv[1])
                self._say(trainer, "exploding_gradients", "warning", event.epoch,
                          f"exploding gradients: layer {name} gradient norm {value:.3g} "
                          f"(above {EXPLODING:g}){and_more(len(high) - 1)}",
                          f"a lower learning rate than {lr:g}, BatchNorm, or a warm-up")
