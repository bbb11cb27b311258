"""A finished run in a real run store, without training (for tests of commands that only read
the store or a run's files)."""

from __future__ import annotations

from pathlib import Path

from cnn_tui.runs.store import RunStore
from cnn_tui.spec.templates import get_template


def finished_run(root: Path, name: str = "r", test_acc: float = 0.9) -> tuple[Path, str]:
    """(root, run id) of a finished Beginner run recorded in the store at `root`; it has no
    weights or checkpoint."""
    store = RunStore(root)
    arch = get_template("beginner")
    run_id = store.create_run(arch.to_dict(), arch.training_config(), "cpu", name=name)
    store.finish(run_id, "finished", {"test_acc": test_acc})
    return root, run_id
