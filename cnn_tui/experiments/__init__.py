"""Experiments: sweeps, ablations, comparisons, k-fold cross-validation and seed statistics.

Every trial, seed and fold is an ordinary run, trained and recorded by
`cnn_tui.runs.training.train_run` (the one way every front end trains), tagged `sweep:NAME`,
`trial:N` (and `seed:S` / `fold:F`). The search engine is Optuna; every Optuna call is in
`optuna_backend` (the only module of the package that imports optuna). The rest is free of it:

- `sweepfile`: the `cnn-tui/sweep` file (version 1), checked with the field path;
- `stats`: Student-t intervals, Welch / paired / Nadeau-Bengio corrected t-tests, Holm (numpy);
- `trial`: one trial: its architecture, its runs, pruning and divergence as callbacks;
- `worker`: the loop a worker process runs, heartbeats, which workers to start on which GPU;
- `report`: the trials table, the best trial, the ablation / comparison statistics;
- `groups`: `cnn-tui train --seeds N / --folds K`: one experiment of several runs;
- `seed_groups`: such groups read back for Compare: mean ± sd curves, the test between two.

Layering (DESIGN.md): experiments sits above runs and export (it trains through
`runs.training.train_run`) and below session and the front ends, which may use it; see
tests/test_layering.py.
"""
