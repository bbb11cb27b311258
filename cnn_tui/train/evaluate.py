"""Test-set evaluation: loss, accuracy, confusion matrix, per-class and averaged P/R/F1, mistakes.

Everything is accumulated on the device (a confusion matrix via `bincount`, the most confident
wrong predictions via `topk`) and brought to the host once at the end.
"""

from __future__ import annotations

from cnn_tui.data.device import DeviceSplit


def evaluate_split(model, split: DeviceSplit, device_info=None, batch_size: int = 2048,
                   classes: int = 10, mistakes: int = 32, channels_last: bool = False) -> dict:
    """Evaluate `model` on `split`; returns plain Python values (see `metrics_from_confusion`)."""
    import torch
    import torch.nn.functional as F
    dev = split.labels.device
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
    confusion = torch.zeros(classes * classes, dtype=torch.int64, device=dev)
    wrong_conf, wrong_idx, wrong_pred = [], [], []
    autocast = device_info.autocast() if device_info is not None else None
    try:
        with torch.inference_mode():
            for idx in split.slices(batch_size):
                x, y = split.batch(idx, channels_last=channels_last)
                if autocast is not None:
                    with device_info.autocast():
                        logits = model(x)
                else:
                    logits = model(x)
                logits = logits.float()
                loss_sum += F.cross_entropy(logits, y, reduction="sum").double()
                probs = logits.softmax(1)
                conf, pred = probs.max(1)
                confusion += torch.bincount(y * classes + pred, minlength=classes * classes)
                wrong = pred != y
                wrong_conf.append(torch.where(wrong, conf, torch.full_like(conf, -1.0)))
                wrong_idx.append(idx)
                wrong_pred.append(pred)
    finally:
        model.train(was_training)
    n = len(split)
    out = metrics_from_confusion(confusion.view(classes, classes).cpu().tolist())
    out["loss"] = float(loss_sum.item()) / max(n, 1)
    if wrong_conf and mistakes:
        conf = torch.cat(wrong_conf)
        k = min(mistakes, conf.numel())
        top_conf, top_pos = conf.topk(k)
        pos = torch.cat(wrong_idx)[top_pos]
        preds = torch.cat(wrong_pred)[top_pos]
        rows = zip(top_conf.tolist(), split.indices[pos].tolist(), split.labels[pos].tolist(),
                   preds.tolist())
        out["mistakes"] = [{"index": int(i), "label": int(l), "pred": int(p), "confidence": float(c)}
                           for c, i, l, p in rows if c >= 0]
    else:
        out["mistakes"] = []
    return out


def metrics_from_confusion(confusion: list[list[int]]) -> dict:
    """accuracy, per-class precision/recall/F1/support, macro and weighted averages."""
    k = len(confusion)
    total = sum(sum(r) for r in confusion)
    correct = sum(confusion[i][i] for i in range(k))
    per_class = []
    for c in range(k):
        tp = confusion[c][c]
        support = sum(confusion[c])
        predicted = sum(confusion[r][c] for r in range(k))
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append({"class": c, "precision": precision, "recall": recall, "f1": f1,
                          "support": support})

    def avg(weights):
        wsum = sum(weights) or 1
        return {m: sum(w * row[m] for w, row in zip(weights, per_class)) / wsum
                for m in ("precision", "recall", "f1")}

    present = [1 if row["support"] else 0 for row in per_class]
    return {
        "accuracy": correct / total if total else 0.0,
        "confusion_matrix": confusion,
        "per_class": per_class,
        "macro": avg(present),
        "weighted": avg([row["support"] for row in per_class]),
        "count": total,
    }
