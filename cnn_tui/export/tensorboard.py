"""A run as TensorBoard event files, written without TensorFlow, TensorBoard or protobuf.

What goes in (one event file in the folder, readable by `tensorboard --logdir DIR` and therefore
by W&B's TensorBoard import, `wandb sync --sync-tensorboard DIR`):
- `epoch/train_loss`, `epoch/train_acc`, `epoch/val_loss`, `epoch/val_acc`, `epoch/lr`,
  `epoch/images_per_s`, `epoch/seconds` once per epoch, and `epoch` (the epoch number);
- `batch/loss`, `batch/acc`, `batch/lr`, `batch/images_per_s` at every stored batch point;
- `grad_norm/<layer>` (e.g. `grad_norm/0:conv2d`) at every stored gradient-norm sample;
- hparams (the hparams plugin's experiment, session start and end): the run's settings
  (optimizer, learning rate, batch size, subset sizes, ...) with its final metrics
  `hparams/test_acc`, `hparams/test_loss`, `hparams/best_val_acc`.
Every series uses one step axis, the global batch step (epoch-level values at their epoch's last
step, as PyTorch Lightning logs them), so the steps only ever grow: W&B drops steps that go back.
Wall times are rebuilt from the run's start and each epoch's duration.

The file format: TFRecord framing (little-endian uint64 length, masked CRC-32C of the length,
the bytes, masked CRC-32C of the bytes) around `tensorboard.Event` protobuf messages
(wall_time = 1 double, step = 2 int64, file_version = 3, summary = 5), whose `Summary.Value`s
carry `simple_value` (2, float) for scalars or hparams `SummaryMetadata` (9) with a null tensor
(8), exactly as TensorBoard's own writers do. The few protobuf fields needed are encoded here
by hand; the tests read the files back with TensorBoard's `EventAccumulator` and parse the
hparams with TensorBoard's own protobuf classes. Stdlib only.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cnn_tui.export.atomic import atomic_folder
from cnn_tui.export.formats import FORMATS
from cnn_tui.export.metrics import StepAxis

EPOCH_SERIES = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "images_per_s",
                "seconds")
BATCH_SERIES = ("loss", "acc", "lr", "images_per_s")
METRICS = ("test_acc", "test_loss", "best_val_acc")

# --------------------------------------------------------------------------- CRC-32C + framing

_CRC_TABLE: list[int] = []


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses."""
    if not _CRC_TABLE:
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC_TABLE.append(c)
    table = _CRC_TABLE
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    """One TFRecord: length, masked CRC of the length, data, masked CRC of the data."""
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", masked_crc(length)) + data
            + struct.pack("<I", masked_crc(data)))


# --------------------------------------------------------------------------- protobuf encoding

def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 negatives are ten-byte varints
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _int(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(int(value))


def _double(field: int, value: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", float(value))


def _float(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", float(value))


def _bytes(field: int, value: bytes | str) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return _key(field, 2) + _varint(len(data)) + data


def event(wall_time: float, step: int, summary: bytes | None = None,
          file_version: str | None = None) -> bytes:
    """A serialized `tensorboard.Event`."""
    out = _double(1, wall_time) + _int(2, step)
    if file_version is not None:
        out += _bytes(3, file_version)
    if summary is not None:
        out += _bytes(5, summary)
    return out


def scalar_summary(tag: str, value: float) -> bytes:
    """`Summary{value: [{tag, simple_value}]}`."""
    return _bytes(1, _bytes(1, tag) + _float(2, value))


# DT_FLOAT tensor of shape [0]: what TensorBoard puts beside an hparams summary's metadata
_NULL_TENSOR = _int(1, 1) + _bytes(2, _bytes(2, _int(1, 0)))


def _hparams_summary(tag: str, plugin_content: bytes) -> bytes:
    plugin_data = _bytes(1, "hparams") + _bytes(2, plugin_content)
    metadata = _bytes(1, plugin_data)
    return _bytes(1, _bytes(1, tag) + _bytes(9, metadata) + _bytes(8, _NULL_TENSOR))


def _proto_value(value: Any) -> bytes:
    """`google.protobuf.Value` holding a number, a string or a bool."""
    if isinstance(value, bool):
        return _int(4, int(value))
    if isinstance(value, (int, float)):
        return _double(2, value)
    return _bytes(3, str(value))


def _data_type(value: Any) -> int:  # tensorboard.hparams.DataType
    if isinstance(value, bool):
        return 2
    if isinstance(value, (int, float)):
        return 3
    return 1


def hparams_summaries(hparams: dict[str, Any], metrics: Iterable[str], start: float,
                      end: float | None, status: int) -> list[tuple[str, bytes]]:
    """(tag, Summary bytes) for the hparams plugin's experiment, session start and end."""
    version = _int(1, 0)  # HParamsPluginData.version
    infos = b"".join(_bytes(4, _bytes(1, name) + _int(4, _data_type(value)))
                     for name, value in hparams.items())
    infos += b"".join(_bytes(5, _bytes(1, _bytes(2, tag))) for tag in metrics)
    experiment = version + _bytes(2, infos + _double(3, start))
    entries = b"".join(_bytes(1, _bytes(1, name) + _bytes(2, _proto_value(value)))
                       for name, value in hparams.items())
    start_info = version + _bytes(3, entries + _double(5, start))
    end_info = version + _bytes(4, _int(1, status) + _double(2, end or start))
    return [("_hparams_/experiment", _hparams_summary("_hparams_/experiment", experiment)),
            ("_hparams_/session_start_info",
             _hparams_summary("_hparams_/session_start_info", start_info)),
            ("_hparams_/session_end_info",
             _hparams_summary("_hparams_/session_end_info", end_info))]


# --------------------------------------------------------------------------- a run's events

def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _hparams_of(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted((record.config or {}).items()):
        if value is None:
            continue
        if isinstance(value, (list, dict, tuple)):
            value = json.dumps(value, separators=(",", ":"))
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        out[str(key)] = value
    arch = record.arch if isinstance(record.arch, dict) else {}
    out.setdefault("architecture", str(arch.get("name", "")))
    if record.params is not None:
        out.setdefault("params", int(record.params))
    out.setdefault("device", str(record.device or ""))
    out.setdefault("run_id", str(record.id))
    return out


def run_events(record: Any) -> list[tuple[float, int, bytes]]:
    """(wall_time, step, Summary bytes) of every value, ordered by step (then time)."""
    steps = StepAxis(record)
    start = float(record.started or 0.0)
    epoch_end_time: dict[int, float] = {}
    epoch_seconds: dict[int, float] = {}
    clock = start
    for row in sorted(record.epochs or [], key=lambda r: int(r["epoch"])):
        e = int(row["epoch"])
        epoch_seconds[e] = float(_number(row.get("seconds")) or 0.0)
        clock += epoch_seconds[e]
        epoch_end_time[e] = clock

    def time_at(epoch: int, step: int) -> float:
        end = epoch_end_time.get(epoch)
        if end is None:
            return start
        total = steps.steps.get(epoch) or 1
        return end - epoch_seconds.get(epoch, 0.0) * (1 - min(step, total) / total)

    out: list[tuple[float, int, bytes]] = []
    for row in record.epochs or []:
        e = int(row["epoch"])
        step, when = steps.end_of(e), epoch_end_time.get(e, start)
        out.append((when, step, scalar_summary("epoch", e)))
        for name in EPOCH_SERIES:
            value = _number(row.get(name))
            if value is not None:
                out.append((when, step, scalar_summary(f"epoch/{name}", value)))
    for p in record.batch_points or []:
        e, s = int(p["epoch"]), int(p["step"])
        when = _number(p.get("wall")) or time_at(e, s)  # when it was measured, where recorded
        for name in BATCH_SERIES:
            value = _number(p.get(name))
            if value is not None:
                out.append((when, steps.at(e, s), scalar_summary(f"batch/{name}", value)))
    for g in record.grad_norms or []:
        e, s = int(g["epoch"]), int(g["step"])
        for layer, norm in (g.get("layers") or {}).items():
            value = _number(norm)
            if value is not None:
                out.append((time_at(e, s), steps.at(e, s),
                            scalar_summary(f"grad_norm/{layer}", value)))
    out.sort(key=lambda item: (item[1], item[0]))
    return out


def final_metrics(record: Any) -> dict[str, float]:
    evaluation = record.evaluation or {}
    values = {"test_acc": record.test_acc if record.test_acc is not None
              else evaluation.get("test_acc"),
              "test_loss": evaluation.get("test_loss"), "best_val_acc": record.best_val_acc}
    return {k: float(v) for k, v in values.items() if _number(v) is not None}


_STATUS = {"finished": 1, "failed": 2, "running": 3}  # tensorboard.hparams.Status


def event_file_bytes(record: Any) -> bytes:
    """The whole event file of a run (a RunRecord with batch points and gradient norms)."""
    start = float(record.started or 0.0)
    events = run_events(record)
    last_step = max((step for _, step, _ in events), default=0)
    last_time = max((when for when, _, _ in events), default=start)
    chunks = [tfrecord(event(start, 0, file_version="brain.Event:2"))]
    for when, step, summary in events:
        chunks.append(tfrecord(event(when, step, summary)))
    metrics = final_metrics(record)
    for _tag, summary in hparams_summaries(_hparams_of(record),
                                           [f"hparams/{m}" for m in metrics], start,
                                           record.ended or last_time,
                                           _STATUS.get(record.status, 0)):
        chunks.append(tfrecord(event(start, 0, summary)))
    for name, value in metrics.items():
        chunks.append(tfrecord(event(record.ended or last_time, last_step,
                                     scalar_summary(f"hparams/{name}", value))))
    return b"".join(chunks)


def file_name(record: Any) -> str:
    return f"events.out.tfevents.{int(record.started or 0)}.cnn-tui.{record.id}"


def write_tensorboard(record: Any, folder: str | Path, force: bool = False) -> Path:
    """Write the run's event file into `folder` (created; atomically, see `atomic_folder`)."""
    data = event_file_bytes(record)
    with atomic_folder(folder, force, FORMATS["tensorboard"].owns,
                       "tensorboard export") as tmp:
        (tmp / file_name(record)).write_bytes(data)
    return Path(folder).expanduser()


__all__ = ["crc32c", "event_file_bytes", "masked_crc", "run_events", "tfrecord",
           "write_tensorboard"]
