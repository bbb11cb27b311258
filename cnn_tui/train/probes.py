"""Looking inside a model for the TUI: gradient norms, feature maps, weight histograms.

All three work on `model.layers[i]` (the module for the architecture's top-level layer i) and
return plain Python values or CPU tensors. Gradient norms are computed on the device for every
layer at once and brought back with one transfer, so recording them every N steps is cheap.
"""

from __future__ import annotations


def layer_label(index: int, module) -> str:
    kind = getattr(module, "layer_type", None) or type(module).__name__.lower()
    return f"{index}:{kind}"


def grad_norm_tensors(model):
    """(labels, 1-D tensor of L2 gradient norms on the device) for layers that have gradients."""
    import torch
    labels, norms = [], []
    for i, module in enumerate(getattr(model, "layers", [])):
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            continue
        labels.append(layer_label(i, module))
        norms.append(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(g.detach().float()) for g in grads])))
    if not norms:
        return [], None
    return labels, torch.stack(norms)


def grad_norms(model) -> dict[str, float]:
    """{"0:conv2d": 0.12, ...}: the gradient norm of each top-level layer with parameters."""
    labels, norms = grad_norm_tensors(model)
    if norms is None:
        return {}
    return dict(zip(labels, norms.float().cpu().tolist()))


def feature_maps(model, images, layer_index: int):
    """Output of top-level layer `layer_index` for `images` (float [B,1,28,28], already normalised).

    Runs the model's layers in order up to and including `layer_index`, in eval mode and without
    gradients; returns a float32 CPU tensor ([B,C,H,W] for conv-like layers, [B,N] after flatten).
    """
    import torch
    layers = list(getattr(model, "layers", []))
    if not 0 <= layer_index < len(layers):
        raise IndexError(f"layer {layer_index} out of range (model has {len(layers)} layers)")
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        x = images.to(param.device) if param is not None else images
        with torch.inference_mode():
            for module in layers[: layer_index + 1]:
                x = module(x)
    finally:
        model.train(was_training)
    return x.detach().float().cpu()


def weight_histograms(model, bins: int = 30) -> dict[str, dict]:
    """Per top-level layer with weights: {"counts": [...], "edges": [...], "mean", "std", "count"}."""
    import torch
    out: dict[str, dict] = {}
    for i, module in enumerate(getattr(model, "layers", [])):
        params = [p.detach().float().flatten() for p in module.parameters()]
        if not params:
            continue
        values = torch.cat(params).cpu()
        lo, hi = float(values.min()), float(values.max())
        if hi <= lo:
            hi = lo + 1e-6
        counts = torch.histc(values, bins=bins, min=lo, max=hi)
        step = (hi - lo) / bins
        out[layer_label(i, module)] = {
            "counts": [int(c) for c in counts.tolist()],
            "edges": [lo + step * k for k in range(bins + 1)],
            "mean": float(values.mean()),
            "std": float(values.std()) if values.numel() > 1 else 0.0,
            "count": int(values.numel()),
        }
    return out
