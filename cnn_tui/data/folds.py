"""K-fold cross-validation splits of the training images: disjoint, stratified, seeded.

`fold_split(labels, fold, folds, seed, limit_train)` gives (training indices, validation
indices) for fold `fold` (0-based) of `folds`. The training file's images are put in a
stratified order (each class shuffled by `seed`, then all classes interleaved by their position
within the class, so any prefix of the order holds the classes in the file's proportions); then
each class's images are dealt round the K folds like cards. The K validation folds are therefore
disjoint, cover the pool and are stratified (a class's count, and a fold's size, differ by at
most one between folds); the test set is never touched.

`limit_train` (a subset for quick work) shrinks the pool to a stratified prefix of
ceil(limit_train * K / (K - 1)) images, so each fold trains on about `limit_train` images and
validates on the rest of the pool: still cross-validation, on a subset.
"""

from __future__ import annotations

import math

MAX_FOLDS = 50


def check_fold(fold, where: str = "fold") -> tuple[int, int]:
    """(k, K) from a pair, or ValueError saying what is wrong."""
    try:
        k, folds = (int(v) for v in fold)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: must be a pair (fold, folds), got {fold!r}") from None
    if not 2 <= folds <= MAX_FOLDS:
        raise ValueError(f"{where}: folds must be 2..{MAX_FOLDS}, got {folds}")
    if not 0 <= k < folds:
        raise ValueError(f"{where}: fold must be 0..{folds - 1}, got {k}")
    return k, folds


def stratified_order(labels, seed: int):
    """Indices of `labels` in a seeded order whose every run is stratified (see the module)."""
    import numpy as np
    labels = np.asarray(labels)
    n = labels.shape[0]
    rng = np.random.default_rng(int(seed))
    position = np.empty(n, dtype=np.float64)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        rng.shuffle(members)
        position[members] = (np.arange(members.size) + 0.5) / members.size
    tie = rng.permutation(n)  # classes at the same relative position: in a random order
    return np.lexsort((tie, position))


def fold_split(labels, fold: int, folds: int, seed: int, limit_train: int | None = None):
    """(train indices, validation indices), int64 numpy arrays, both in stratified order."""
    import numpy as np
    fold, folds = check_fold((fold, folds))
    order = stratified_order(labels, seed)
    if limit_train is not None:
        pool = min(order.size, math.ceil(int(limit_train) * folds / (folds - 1)))
        order = order[:max(folds, pool)]
    # deal each class's images (in their shuffled order) round the folds like cards, each class
    # going on where the previous one stopped: a class's count differs by at most one between
    # folds, and so do the folds' sizes
    labels = np.asarray(labels)[order]
    fold_of = np.empty(order.size, dtype=np.int64)
    dealt = 0
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        fold_of[members] = (np.arange(members.size) + dealt) % folds
        dealt += members.size
    mask = fold_of == fold
    val, train = order[mask], order[~mask]
    if limit_train is not None:
        train = train[:max(1, int(limit_train))]
    return train.astype(np.int64), val.astype(np.int64)


__all__ = ["MAX_FOLDS", "check_fold", "fold_split", "stratified_order"]
