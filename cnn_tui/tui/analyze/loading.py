"""What the Analyze screen computes from a stored run (torch and numpy imported in here only).

`load_analysis` is slow (it imports torch, reads MNIST and classifies the run's test images)
and runs in a worker thread; the per-image calls (`feature_maps`, `classify`) take
milliseconds and run on the UI thread when the user moves.

A run that was stopped before the end has no stored evaluation: its confusion matrix and
metrics are then computed here from the checkpoint's weights, and `computed` says so. A run
still training is not evaluated unless asked (`snapshot=True`: its latest checkpoint, on the
CPU, said to be a mid-training snapshot): `RunTraining` carries its record instead, so the
screen can say where it is and reload when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnn_tui.errors import CnnTuiError


@dataclass
class LayerChoice:
    index: int  # top-level layer index (model.layers[index])
    label: str  # "3:conv2d"
    shape: tuple  # output shape [C, H, W]


class RunTraining(CnnTuiError):
    """The run is training now: nothing is evaluated unless a snapshot is asked for."""

    def __init__(self, record) -> None:
        epochs = int(record.config.get("epochs") or 0)
        super().__init__(f"run {record.id} ({record.arch_name}) is training: epoch "
                         f"{len(record.epochs)}/{epochs} done")
        self.record = record


@dataclass
class RunAnalysis:
    record: Any  # RunRecord
    arch: Any
    model: Any  # CPU, eval mode
    images: Any  # numpy uint8 [N, 28, 28]: the test images the run was evaluated on
    labels: Any  # numpy int64 [N]
    probs: Any  # numpy float32 [N, classes]
    evaluation: dict  # confusion_matrix, per_class, macro, weighted, test_acc, mistakes
    computed: bool = False  # the evaluation was computed here (not stored with the run)
    snapshot: bool = False  # the run is still training: these are its latest checkpoint's
    grad_norms: list = field(default_factory=list)  # GradNorms events the run recorded
    layers: list[LayerChoice] = field(default_factory=list)
    histograms: dict = field(default_factory=dict)  # probes.weight_histograms of the model

    @property
    def preds(self):
        return self.probs.argmax(1)

    @property
    def confidence(self):
        return self.probs.max(1)

    def mistakes(self) -> list[int]:
        """Indices of wrong predictions, the most confident first."""
        import numpy as np
        wrong = np.nonzero(self.preds != self.labels)[0]
        order = np.argsort(-self.confidence[wrong], kind="stable")
        return [int(i) for i in wrong[order]]


def latest_run_id(runs_dir=None) -> str | None:
    """The newest run in the store that has weights to look at, or is training (None when the
    store is empty)."""
    from cnn_tui.runs.store import RunStore
    store = RunStore(runs_dir)
    try:
        records = sorted(store.list_runs(with_epochs=False), key=lambda r: r.started or 0.0,
                         reverse=True)  # ids sort by the second only; two runs may share one
        for record in records:
            if record.status == "running" or store.model_path(record.id).is_file() \
                    or store.checkpoint_path(record.id).is_file():
                return record.id
    finally:
        store.close()
    return None


def _to_input(images_u8):
    """uint8 [N,28,28] numpy -> normalised float [N,1,28,28] tensor, like the trainer's input."""
    import torch
    from cnn_tui.data.device import normalize
    return normalize(torch.as_tensor(images_u8))


def predict(model, images_u8, batch: int = 1000):
    import numpy as np
    import torch
    out = []
    with torch.inference_mode():
        for lo in range(0, len(images_u8), batch):
            logits = model(_to_input(images_u8[lo:lo + batch]))
            out.append(torch.softmax(logits.float(), 1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 10), dtype=np.float32)


def spatial_layers(model, arch) -> list[LayerChoice]:
    """Top-level layers whose output is an image stack [C, H, W] (what a feature map can show)."""
    import torch
    choices = []
    x = torch.zeros((1, *arch.input))
    with torch.inference_mode():
        for i, module in enumerate(model.layers):
            x = module(x)
            if x.dim() == 4:
                kind = getattr(module, "layer_type", None) or arch.layers[i].type
                choices.append(LayerChoice(i, f"{i}:{kind}", tuple(x.shape[1:])))
    return choices


def load_analysis(run_id: str | None, data_dir=None, runs_dir=None,
                  snapshot: bool = False) -> RunAnalysis:
    """Everything Analyze shows for `run_id` (the newest run when None); CnnTuiError if absent,
    RunTraining while it trains unless `snapshot`."""
    import numpy as np
    from cnn_tui.api import load_run
    from cnn_tui.data import load_arrays
    from cnn_tui.runs.store import RunStore
    from cnn_tui.train.evaluate import metrics_from_confusion
    from cnn_tui.train.events import GradNorms

    if run_id is None:
        run_id = latest_run_id(runs_dir)
        if run_id is None:
            raise CnnTuiError("no trained run yet: train one on the Train screen (2) first")
    store = RunStore(runs_dir)
    try:
        record = store.get(run_id)
        if record.status == "running" and not snapshot:
            raise RunTraining(record)
        grads = [GradNorms(g["epoch"], g["step"], g["layers"]) for g in store.grad_norms(record.id)]
    finally:
        store.close()
    loaded = load_run(record.id, runs_dir=runs_dir)
    record, model = loaded.record, loaded.model
    arrays = load_arrays(data_dir)
    stored = dict(record.evaluation or {}) if record.status != "running" else {}
    n = int(stored.get("test_size") or record.config.get("limit_test") or len(arrays.test_images))
    images = np.array(arrays.test_images[:n])
    labels = np.asarray(arrays.test_labels[:n], dtype=np.int64)
    probs = predict(model, images)
    computed = "confusion_matrix" not in stored
    if computed:
        k = probs.shape[1]
        confusion = np.zeros((k, k), dtype=np.int64)
        np.add.at(confusion, (labels, probs.argmax(1)), 1)
        metrics = metrics_from_confusion(confusion.tolist())
        stored = {"confusion_matrix": metrics["confusion_matrix"], "per_class": metrics["per_class"],
                  "macro": metrics["macro"], "weighted": metrics["weighted"],
                  "test_acc": metrics["accuracy"], "test_size": n}
    analysis = RunAnalysis(record, loaded.arch, model, images, labels, probs, stored, computed,
                           snapshot=record.status == "running", grad_norms=grads)
    analysis.layers = spatial_layers(model, loaded.arch)
    from cnn_tui.train.probes import weight_histograms
    analysis.histograms = weight_histograms(model)
    return analysis


def feature_maps(analysis: RunAnalysis, image: int, layer: int):
    """numpy float32 [C, H, W]: the output of top-level layer `layer` for test image `image`."""
    from cnn_tui.train.probes import feature_maps as probe
    x = _to_input(analysis.images[image:image + 1])
    return probe(analysis.model, x, layer)[0].numpy()


def centre(pixels):
    """Shift a drawing so its centre of mass sits in the middle, as MNIST's digits do."""
    import numpy as np
    a = np.asarray(pixels, dtype=np.float32)
    total = a.sum()
    if total <= 0:
        return a
    ys, xs = np.indices(a.shape)
    cy, cx = (ys * a).sum() / total, (xs * a).sum() / total
    dy, dx = int(round(a.shape[0] / 2 - 0.5 - cy)), int(round(a.shape[1] / 2 - 0.5 - cx))
    out = np.zeros_like(a)
    h, w = a.shape
    src = a[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    out[max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
    return out


def classify(model, pixels01) -> list[float]:
    """Class probabilities for a 28x28 drawing with values 0..1 (centred first)."""
    import numpy as np
    u8 = (np.clip(centre(pixels01), 0, 1) * 255).round().astype(np.uint8)[None]
    return [float(p) for p in predict(model, u8)[0]]


def canvas_maps(model, pixels01, layer: int):
    """Feature maps of a drawing (as `feature_maps` for a test image)."""
    import numpy as np
    from cnn_tui.train.probes import feature_maps as probe
    u8 = (np.clip(centre(pixels01), 0, 1) * 255).round().astype(np.uint8)[None]
    return probe(model, _to_input(u8), layer)[0].numpy()
