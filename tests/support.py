"""Test helpers shared by several test files (imported as `support`)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Opts:
    """Where a test run's data and store are, its subset and its run options."""

    data_dir: object = None
    runs_dir: object = None
    limit_train: int | None = None
    limit_test: int | None = None
    resume: str | None = None
    name: str | None = None
    device: str | None = None
    progress_every: int | None = None
    progress_seconds: float = 0.5
    grad_norms_every: int = 50
    mistakes: int = 32
    evaluate_test: bool = True


def train(arch, config: dict | None = None, opts: Opts | None = None, callbacks=(), control=None):
    """Train and record a run exactly as the CLI and the API do (session.training.train_run)."""
    from cnn_tui.settings import Settings
    from cnn_tui.runs.training import train_run
    from cnn_tui.train.loop import RunOptions
    opts = opts or Opts()
    run_fields = {f.name for f in fields(RunOptions)}
    options = RunOptions(**{f.name: getattr(opts, f.name) for f in fields(Opts)
                            if f.name in run_fields and f.name != "data_dir"})
    settings = Settings.from_env(data_dir=opts.data_dir, runs_dir=opts.runs_dir)
    return train_run(arch, config, settings=settings, options=options, resume=opts.resume,
                     name=opts.name, callbacks=callbacks, control=control)


def comparable(record) -> dict:
    """What must be the same however the run was started (not its id, times or speed)."""
    def rounded(value):
        return round(value, 9) if isinstance(value, float) else value

    return {
        "status": record.status, "config": record.config, "arch": record.arch,
        "version": record.version, "params": record.params, "sizes": record.sizes,
        "epochs": [{k: rounded(v) for k, v in e.items() if k not in
                    ("seconds", "train_seconds", "images_per_s")} for e in record.epochs],
        "batch_points": [{k: rounded(v) for k, v in p.items() if k not in ("images_per_s", "wall")}
                         for p in record.batch_points],
        "grad_norms": [{"epoch": g["epoch"], "step": g["step"],
                        "layers": {k: rounded(v) for k, v in g["layers"].items()}}
                       for g in record.grad_norms],
        "diagnosis": [d["kind"] for d in record.diagnosis],
        "test_acc": record.test_acc,
        "confusion": (record.evaluation or {}).get("confusion_matrix"),
    }
