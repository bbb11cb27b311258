"""The one list of export formats, read by the CLI (`cnn-tui export -f`, `runs export`) and by
the app's Export dialogs (architecture and run).

Each `Format` says what it starts from (`needs`: an architecture, a trained run's weights, or a
run's metrics), what it writes (`output`: text, a binary file, or a folder), the optional package
it needs and the extra that installs it, and its help. Whether a format can run here is asked
with `importlib.util.find_spec` (nothing is imported), so listing formats costs nothing at
start-up. Stdlib only.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass

from cnn_tui.errors import ExportError

# what a format starts from
ARCH, WEIGHTS, METRICS = "arch", "weights", "metrics"
# what it writes
TEXT, BINARY, FOLDER = "text", "binary", "folder"

NEEDS_TEXT = {ARCH: "an architecture (file, share code, template or run)",
              WEIGHTS: "a trained run (its saved weights)",
              METRICS: "a run's metrics"}


@dataclass(frozen=True)
class Format:
    name: str  # what `-f` takes
    suffix: str  # file suffix; for a folder format, what the default folder name ends with
    needs: str  # ARCH, WEIGHTS or METRICS
    output: str  # TEXT, BINARY or FOLDER
    label: str  # how the app's dialogs name it
    help: str  # one line for `cnn-tui export --help` and the README
    modules: tuple[str, ...] = ()  # importable packages it needs
    extra: str | None = None  # the cnn-tui extra that installs them
    all_runs: bool = False  # can export every run of the store at once (--all-runs)
    all_runs_label: str = ""  # how the dialogs name the every-run variant
    name_tag: str = ""  # added to the default file name's stem (keeps names apart)
    files: tuple[str, ...] = ()  # a folder format: glob patterns of the files it writes

    def owns(self, name: str) -> bool:
        """Whether a file called `name` is one this folder format writes (so `--force` may
        replace a folder holding only such files)."""
        import fnmatch

        return any(fnmatch.fnmatchcase(name, p) for p in self.files)

    @property
    def binary(self) -> bool:
        return self.output != TEXT

    @property
    def folder(self) -> bool:
        return self.output == FOLDER

    @property
    def kind(self) -> str:  # the older name of `needs`
        return self.needs

    def missing(self) -> list[str]:
        """The needed packages that cannot be imported here (without importing them)."""
        out = []
        for module in self.modules:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                out.append(module)
        return out

    @property
    def install_hint(self) -> str:
        if self.extra:
            return f"pip install 'cnn-tui[{self.extra}]'"
        return "pip install " + " ".join(self.modules)

    def unavailable(self) -> str | None:
        """None when the format can run here, else one line: what is missing and how to get it."""
        missing = self.missing()
        if not missing:
            return None
        return f"needs the {', '.join(missing)} package{'s' if len(missing) > 1 else ''} " \
               f"({self.install_hint})"


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("architecture", ".json", ARCH, TEXT, "Architecture file (native JSON)",
           "the native architecture file (cnn-tui JSON; opens in the app and every command)",
           name_tag="-architecture"),
    Format("share", ".txt", ARCH, TEXT, "Share code (shown and copied to the clipboard)",
           "share code (one line; `cnn-tui CODE` opens it)"),
    Format("pytorch", ".py", ARCH, TEXT, "PyTorch training script (.py)",
           "runnable PyTorch script: model, MNIST loading (finds `cnn-tui data fetch`'s copy), "
           "training loop"),
    Format("keras", "_keras.py", ARCH, TEXT, "Keras 3 script (.py)",
           "Keras 3 script (Sequential; functional API for residual blocks)"),
    Format("markdown", ".md", ARCH, TEXT, "Markdown summary (.md)",
           "architecture summary table as Markdown"),
    Format("pt", ".pt", WEIGHTS, BINARY, "Trained weights: state_dict (.pt)",
           "trained state_dict (torch.load(..., weights_only=True))"),
    Format("safetensors", ".safetensors", WEIGHTS, BINARY, "Trained weights: safetensors",
           "trained weights as safetensors, the architecture JSON in its metadata",
           modules=("safetensors",)),
    Format("export", ".pt2", WEIGHTS, BINARY, "Trained model: torch.export program (.pt2)",
           "torch.export program with a dynamic batch dimension (torch.export.load)"),
    Format("torchscript", ".torchscript.pt", WEIGHTS, BINARY,
           "Trained model: TorchScript (deprecated by PyTorch)",
           "TorchScript archive (torch.jit.load); deprecated by PyTorch: prefer -f export"),
    Format("onnx", ".onnx", WEIGHTS, BINARY, "Trained model: ONNX",
           "ONNX model: dynamic batch axis, every intermediate shape inferred, the "
           "architecture JSON in its metadata", modules=("onnx",), extra="onnx"),
    Format("tfjs", "-tfjs", WEIGHTS, FOLDER, "Trained model: TensorFlow.js layers model (folder)",
           "TensorFlow.js layers model: model.json (Keras topology, weights manifest) + "
           "group1-shard1of1.bin, as the browser builder loads",
           files=("model.json", "group*-shard*of*.bin")),
    Format("csv", ".csv", METRICS, TEXT, "Metrics per epoch (CSV)",
           "per-epoch metrics (one row per run and epoch)", all_runs=True,
           all_runs_label="Every run's metrics per epoch (CSV)"),
    Format("json", ".json", METRICS, TEXT, "The run's record (JSON)",
           "the run's record: settings, architecture, epochs, batch points, gradient norms, "
           "evaluation", all_runs=True, all_runs_label="Every run's record (JSON)"),
    Format("tensorboard", "-tensorboard", METRICS, FOLDER, "TensorBoard event files (folder)",
           "TensorBoard event files: epoch and batch curves, learning rate, gradient norms, "
           "hparams with the final metrics (tensorboard --logdir; W&B's TensorBoard import)",
           files=("events.out.tfevents.*",)),
    Format("hdf5", ".h5", METRICS, BINARY, "HDF5 file of everything measured",
           "HDF5: epochs, batch points, gradient norms, evaluation; config and architecture "
           "as attributes", modules=("h5py",), extra="hdf5"),
)}

TEXT_FORMATS = tuple(f.name for f in FORMATS.values() if f.output == TEXT)


def slug(text: str) -> str:
    """A file-name-safe form of an architecture name: `LeNet-5` -> `lenet-5`."""
    return re.sub(r"[^a-z0-9._-]+", "_", str(text).lower()).strip("._-")[:60] or "model"


def formats_for(needs: tuple[str, ...] = (ARCH, WEIGHTS, METRICS)) -> list[Format]:
    """The formats that start from one of `needs`, in registry order."""
    return [f for f in FORMATS.values() if f.needs in needs]


def get(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown export format {name!r} (known: {', '.join(FORMATS)})") \
            from None


__all__ = [
    "ARCH",
    "BINARY",
    "FOLDER",
    "FORMATS",
    "METRICS",
    "NEEDS_TEXT",
    "TEXT",
    "TEXT_FORMATS",
    "WEIGHTS",
    "Format",
    "formats_for",
    "get",
    "slug",
]
