"""Trained weights out of cnn-tui: state_dict `.pt`, safetensors, TorchScript and ONNX.

Each takes the built `nn.Module` (or, for the two weight-only formats, its state_dict) and writes
through `atomic.write_with`, so a failed export leaves nothing behind. The `.pt` file holds only
tensors (loads with `torch.load(weights_only=True)`: a weights file must never be code); the
safetensors file also carries the architecture JSON in its metadata, so it describes itself.
torch is imported inside the functions, per the layering rules.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Mapping

from cnn_tui.errors import ExportError
from cnn_tui.export.atomic import write_with


def plain_state_dict(model_or_state: Any) -> dict[str, Any]:
    """A CPU, contiguous, unshared copy of the tensors (what every weight format needs)."""
    import torch

    state = (model_or_state.state_dict() if isinstance(model_or_state, torch.nn.Module)
             else model_or_state)
    if not isinstance(state, Mapping):
        raise ExportError(f"expected a model or a state_dict, got {type(state).__name__}")
    out: dict[str, Any] = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise ExportError(f"state_dict entry {key!r} is not a tensor")
        out[str(key)] = value.detach().to("cpu").contiguous().clone()
    return out


def save_state_dict(model_or_state: Any, path: str | Path) -> Path:
    """`torch.save` of the plain state_dict; `torch.load(path, weights_only=True)` reads it."""
    import torch

    state = plain_state_dict(model_or_state)
    return write_with(path, lambda tmp: torch.save(state, tmp), "state_dict export")


def save_safetensors(model_or_state: Any, path: str | Path,
                     arch: Mapping[str, Any] | None = None,
                     extra: Mapping[str, str] | None = None) -> Path:
    """safetensors file; metadata holds `format`, the architecture JSON and any `extra` strings."""
    try:
        from safetensors.torch import save_file
    except ImportError:
        raise ExportError("safetensors export needs the 'safetensors' package "
                          "(pip install safetensors)") from None
    state = plain_state_dict(model_or_state)
    metadata = {"format": "pt", "producer": "cnn-tui"}
    if arch is not None:
        metadata["architecture"] = json.dumps(dict(arch), separators=(",", ":"))
    metadata.update({str(k): str(v) for k, v in (extra or {}).items()})
    return write_with(path, lambda tmp: save_file(state, str(tmp), metadata=metadata),
                      "safetensors export")


def _example_input(input_shape: tuple[int, ...], batch: int = 2):
    import torch

    return torch.zeros((batch, *input_shape), dtype=torch.float32)


def _eval_cpu_copy(model):
    import copy

    return copy.deepcopy(model).to("cpu").float().eval()


def to_torchscript(model, input_shape: tuple[int, ...] = (1, 28, 28)):
    """A ScriptModule of `model` in eval mode: `torch.jit.script` when the code allows it (keeps
    any shape logic general), else `torch.jit.trace` on a 2-image batch."""
    import torch

    model = _eval_cpu_copy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notices are not the user's
        try:
            return torch.jit.script(model)
        except Exception:
            with torch.no_grad():
                return torch.jit.trace(model, _example_input(input_shape), check_trace=False)


def save_torchscript(model, path: str | Path, input_shape: tuple[int, ...] = (1, 28, 28)) -> Path:
    """TorchScript archive loadable with `torch.jit.load(path)` and no cnn-tui installed."""
    import torch

    def write(tmp: Path) -> None:
        scripted = to_torchscript(model, input_shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.jit.save(scripted, str(tmp))

    return write_with(path, write, "TorchScript export")


def save_onnx(model, path: str | Path, input_shape: tuple[int, ...] = (1, 28, 28),
              opset: int = 17) -> Path:
    """ONNX graph with a dynamic batch axis (input `image` [N,C,H,W] float, output `logits`).

    Uses the TorchScript-based exporter (`dynamo=False`), which needs only the `onnx` package;
    torch >= 2.9 defaults to the dynamo exporter, which also needs `onnxscript`. The written
    model is checked with `onnx.checker` before it replaces the target.
    """
    import torch

    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the 'onnx' package (pip install onnx)") from None
    model = _eval_cpu_copy(model)

    def write(tmp: Path) -> None:
        args = (_example_input(input_shape),)
        kwargs: dict[str, Any] = dict(
            input_names=["image"], output_names=["logits"], opset_version=opset,
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        )
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(model, args, str(tmp), dynamo=False, **kwargs)
            except TypeError:  # a torch without the `dynamo` switch: it is the legacy exporter
                torch.onnx.export(model, args, str(tmp), **kwargs)
        try:
            onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)
        except Exception as exc:  # noqa: BLE001 - the checker's own exception types vary
            raise ExportError(f"ONNX export to {path} produced an invalid model: "
                              f"{str(exc).splitlines()[0][:200]}") from None

    return write_with(path, write, "ONNX export")
