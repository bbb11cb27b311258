"""The run store: every training run's architecture, config, metrics, evaluation and checkpoints."""

from cnn_tui.runs.store import RunRecord, RunStore

__all__ = ["RunRecord", "RunStore"]
