"""Trained models out of cnn-tui: state_dict `.pt`, safetensors, a torch.export `.pt2`,
TorchScript and ONNX.

Each takes the built `nn.Module` (or, for the two weight-only formats, its state_dict) and writes
through `atomic.write_with`, so a failed export leaves nothing behind. The `.pt` file holds only
tensors (loads with `torch.load(weights_only=True)`: a weights file must never be code); the
safetensors, `.pt2` and ONNX files also carry the architecture JSON, so they describe themselves.
PyTorch's deprecation notices (TorchScript, the legacy ONNX exporter) are caught here: they
speak to cnn-tui's code, not to the user. torch is imported inside the functions, per the
layering rules.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


def _batch_dim():
    import torch

    return torch.export.Dim("batch", min=1)


def _arch_json(arch: Mapping[str, Any] | None) -> str | None:
    return None if arch is None else json.dumps(dict(arch), separators=(",", ":"))


def save_exported(model, path: str | Path, input_shape: tuple[int, ...] = (1, 28, 28),
                  arch: Mapping[str, Any] | None = None) -> Path:
    """A `torch.export` program (`.pt2`) of the model in eval mode, with a dynamic batch
    dimension: `torch.export.load(path).module()(x)` for any batch size, no cnn-tui needed. The
    architecture JSON travels inside as the extra file `architecture.json`."""
    import torch

    model = _eval_cpu_copy(model)
    extra = {"architecture.json": _arch_json(arch)} if arch is not None else None

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.export(model, (_example_input(input_shape),),
                                          dynamic_shapes=({0: _batch_dim()},), strict=False)
            with open(tmp, "wb") as fh:  # a file object: torch.export.save wants a .pt2 name
                torch.export.save(program, fh, extra_files=extra)

    return write_with(path, write, "torch.export")


def onnx_exporter() -> str:
    """"dynamo" (torch.export-based, PyTorch's current exporter) when onnxscript is installed,
    else "legacy" (the TorchScript-based one PyTorch deprecates, needing only onnx)."""
    import importlib.util

    return "dynamo" if importlib.util.find_spec("onnxscript") is not None else "legacy"


@contextlib.contextmanager
def _quiet_loggers(name: str):
    """Only errors from the `name` loggers while the block runs: the ONNX exporter logs its own
    notices as warnings ("torchvision is not installed. Skipping torchvision::nms" where
    torchvision is absent), which are PyTorch's business, not the user's."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


def _onnx_proto(model, input_shape: tuple[int, ...], exporter: str, opset: int):
    import io

    import onnx
    import torch

    args = (_example_input(input_shape),)
    names = {"input_names": ["image"], "output_names": ["logits"]}
    with warnings.catch_warnings(), torch.no_grad(), _quiet_loggers("torch.onnx"):
        warnings.simplefilter("ignore")  # the exporters' notices are PyTorch's, not the user's
        if exporter == "dynamo":
            program = torch.onnx.export(model, args, None, dynamo=True, verbose=False,
                                        opset_version=max(opset, 18), optimize=True,
                                        dynamic_shapes=({0: _batch_dim()},), **names)
            return program.model_proto
        buf = io.BytesIO()
        torch.onnx.export(model, args, buf, dynamo=False, opset_version=opset,
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, **names)
        return onnx.load_from_string(buf.getvalue())


def unshaped_values(proto) -> list[str]:
    """Names of the node outputs with no shape in `proto` (value_info, inputs or outputs)."""
    graph = proto.graph
    shaped = {v.name for v in (*graph.value_info, *graph.output, *graph.input)
              if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape")}
    return [o for node in graph.node for o in node.output if o and o not in shaped]


def save_onnx(model, path: str | Path, input_shape: tuple[int, ...] = (1, 28, 28),
              opset: int = 18, arch: Mapping[str, Any] | None = None,
              extra: Mapping[str, str] | None = None, exporter: str | None = None) -> Path:
    """ONNX model with a dynamic batch axis (input `image` [batch, C, H, W] float, normalised as
    for training; output `logits` [batch, classes]).

    Exported with PyTorch's torch.export-based exporter (needs onnxscript; the TorchScript-based
    one, deprecated by PyTorch, is the fallback when only onnx is installed). Before the file
    replaces the target: `onnx.shape_inference` gives every intermediate tensor its shape
    (value_info, what Netron shows on the edges; checked: none is left without one), the
    architecture JSON goes into `metadata_props`, and `onnx.checker` checks the whole model.
    """
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the 'onnx' package "
                          "(pip install 'cnn-tui[onnx]')") from None
    exporter = exporter or onnx_exporter()
    if exporter not in ("dynamo", "legacy"):
        raise ExportError(f"unknown ONNX exporter {exporter!r} (dynamo or legacy)")
    model = _eval_cpu_copy(model)
    meta = {"producer": "cnn-tui", "input": "image: [batch, C, H, W] float32, pixels as "
            "(x / 255 - 0.1307) / 0.3081 (MNIST: white digit on black)",
            "output": "logits: [batch, classes]; softmax gives the probabilities"}
    if arch is not None:
        meta["architecture"] = _arch_json(arch)
    meta.update({str(k): str(v) for k, v in (extra or {}).items()})

    def write(tmp: Path) -> None:
        proto = _onnx_proto(model, input_shape, exporter, opset)
        for key, value in meta.items():
            entry = next((p for p in proto.metadata_props if p.key == key), None)
            if entry is None:
                entry = proto.metadata_props.add()
                entry.key = key
            entry.value = value
        try:
            proto = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True,
                                                      data_prop=True)
            onnx.checker.check_model(proto, full_check=True)
        except Exception as exc:  # noqa: BLE001 - the checker's own exception types vary
            raise ExportError(f"ONNX export to {path} produced an invalid model: "
                              f"{str(exc).strip().splitlines()[0][:200]}") from None
        left = unshaped_values(proto)
        if left:
            raise ExportError(f"ONNX export to {path}: shape inference left {len(left)} "
                              f"intermediate values without a shape (first: {left[0]})")
        onnx.save(proto, str(tmp))

    return write_with(path, write, "ONNX export")
