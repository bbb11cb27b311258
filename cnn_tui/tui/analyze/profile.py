"""Per-layer forward and backward time and activation memory, measured on a device.

Each top-level layer of a copy of the model is timed on a random batch: forward by running the
layers one at a time (synchronising the device around each), backward from hooks on each
layer's output (the gradient of output i is ready when layer i+1's backward has finished). The
activation memory is the measured output tensor's size for the batch; beside it, the summary's
estimate (`spec.analysis`: float32 output of one image, times the batch) and its mult-adds.
The first pass is a warm-up and not counted (cuDNN autotuning, allocator, lazy init).
"""

from __future__ import annotations

import copy
import csv
import io
import time
from dataclasses import dataclass


@dataclass
class LayerProfile:
    label: str
    shape: tuple
    forward_ms: float
    backward_ms: float
    memory_bytes: int  # measured: the output tensor for the whole batch
    estimate_bytes: int  # the summary's float32 output for one image x the batch
    macs: int  # the summary's mult-adds for one image


def _sync(device) -> None:
    import torch
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def profile_model(model, arch, batch: int = 64, repeats: int = 5, device: str | None = None
                  ) -> tuple[str, list[LayerProfile]]:
    """(device name, one LayerProfile per top-level layer); the model itself is not touched."""
    import torch
    from cnn_tui.spec.analysis import analyze

    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    m = copy.deepcopy(model).to(dev).train()
    layers = list(m.layers)
    n = len(layers)
    fwd, bwd = [0.0] * n, [0.0] * n
    sizes: list[int] = [0] * n
    shapes: list[tuple] = [()] * n
    x = torch.randn(batch, *arch.input, device=dev)
    for r in range(repeats + 1):
        stamps = [0.0] * n
        h, outs = x, []
        for i, layer in enumerate(layers):
            _sync(dev)
            t0 = time.perf_counter()
            h = layer(h)
            _sync(dev)
            if r:
                fwd[i] += time.perf_counter() - t0
            sizes[i] = h.numel() * h.element_size()
            shapes[i] = tuple(h.shape[1:])
            if h.requires_grad:
                def stamp(grad, i=i, stamps=stamps):
                    _sync(dev)
                    stamps[i] = time.perf_counter()
                h.register_hook(stamp)
            outs.append(h)
        loss = h.float().sum()
        _sync(dev)
        start = time.perf_counter()
        loss.backward()
        _sync(dev)
        end = time.perf_counter()
        m.zero_grad(set_to_none=True)
        if r:
            for i in range(n):
                # layer i's backward runs between the gradient of its output and of its input
                after = stamps[i] or start
                before = stamps[i - 1] if i > 0 and stamps[i - 1] else end
                bwd[i] += max(0.0, before - after)
    rows = analyze(arch).top_rows()
    out = []
    for i in range(n):
        info = rows[i] if i < len(rows) else None
        label = f"{i}:{getattr(layers[i], 'layer_type', None) or type(layers[i]).__name__.lower()}"
        out.append(LayerProfile(label, shapes[i], 1000 * fwd[i] / repeats, 1000 * bwd[i] / repeats,
                                sizes[i], (info.memory_bytes * batch) if info else 0,
                                info.macs if info else 0))
    return name, out


def profile_csv(rows: list[LayerProfile]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["layer", "output_shape", "forward_ms", "backward_ms", "activation_bytes",
                "estimate_bytes", "mult_adds_per_image"])
    for r in rows:
        w.writerow([r.label, "x".join(map(str, r.shape)), f"{r.forward_ms:.4f}",
                    f"{r.backward_ms:.4f}", r.memory_bytes, r.estimate_bytes, r.macs])
    return buf.getvalue()


def profile_table(device: str, batch: int, rows: list[LayerProfile]):
    from rich.table import Table

    from cnn_tui.spec.fmt import fmt_bytes
    table = Table(title=f"per-layer profile on {device}, batch {batch} (mean of the timed passes)",
                  title_justify="left", box=None, pad_edge=False)
    for col in ("layer", "output", "forward ms", "backward ms", "activations", "estimate",
                "mult-adds/img"):
        table.add_column(col, justify="left" if col in ("layer", "output") else "right")
    for r in rows:
        table.add_row(r.label, "x".join(map(str, r.shape)), f"{r.forward_ms:.3f}",
                      f"{r.backward_ms:.3f}", fmt_bytes(r.memory_bytes), fmt_bytes(r.estimate_bytes),
                      f"{r.macs:,}")
    total_f = sum(r.forward_ms for r in rows)
    total_b = sum(r.backward_ms for r in rows)
    table.add_row("total", "", f"{total_f:.3f}", f"{total_b:.3f}",
                  fmt_bytes(sum(r.memory_bytes for r in rows)),
                  fmt_bytes(sum(r.estimate_bytes for r in rows)), f"{sum(r.macs for r in rows):,}",
                  style="bold")
    return table
