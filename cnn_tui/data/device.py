"""MNIST on the training device: uint8 once, normalised per batch, batched by permutation.

The whole training set (47 MB as uint8) is copied to the device once; a batch is an index
into a random permutation (`images[perm[i:i+B]]`), normalised and optionally augmented on the
device. There is no per-sample Python, no PIL and no DataLoader: on a GPU this is what lets a
small network train at hundreds of thousands of images per second.

Normalisation is the classic MNIST one, `(x / 255 - 0.1307) / 0.3081`, so a model trained here
behaves like one trained by the pytorch/examples loop.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

MEAN = 0.1307
STD = 0.3081


def normalize(images_u8, dtype=None):
    """uint8 [N,28,28] or [N,1,28,28] -> float [N,1,28,28] normalised like torchvision's example."""
    import torch
    x = images_u8
    if x.dim() == 3:
        x = x.unsqueeze(1)
    x = x.to(dtype or torch.float32)
    return x.mul_(1.0 / (255.0 * STD)).sub_(MEAN / STD)


def augment(x01, generator=None, max_shift: float = 2.0, max_degrees: float = 10.0,
            scale: tuple[float, float] = (0.9, 1.1)):
    """Random shift (pixels), rotation (degrees) and scale for each image of a [B,1,H,W] batch.

    Works on images in [0, 1] (background 0, so the zero padding of grid_sample is background).
    One affine_grid + grid_sample call for the whole batch, on the batch's device.
    """
    import torch
    import torch.nn.functional as F
    b, _, h, w = x01.shape
    dev = x01.device
    rand = torch.rand((b, 4), device=dev, generator=generator, dtype=torch.float32)
    angle = (rand[:, 0] * 2 - 1) * math.radians(max_degrees)
    s = scale[0] + rand[:, 1] * (scale[1] - scale[0])
    tx = (rand[:, 2] * 2 - 1) * (2.0 * max_shift / w)
    ty = (rand[:, 3] * 2 - 1) * (2.0 * max_shift / h)
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(x01.dtype), list(x01.shape), align_corners=False)
    return F.grid_sample(x01, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@dataclass
class DeviceSplit:
    """One split (train, val or test) on the device: uint8 images and int64 labels."""

    images: object  # torch uint8 [N,28,28]
    labels: object  # torch int64 [N]
    indices: object  # int64 [N]: index of each image in its source set (train or test file)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def batch(self, idx, augment_batch: bool = False, generator=None, channels_last=False):
        """(x float [B,1,28,28] normalised, y int64 [B]) for index tensor `idx` (on the device)."""
        import torch
        imgs = self.images.index_select(0, idx).unsqueeze(1)
        y = self.labels.index_select(0, idx)
        if augment_batch:
            x = augment(imgs.float().mul_(1 / 255.0), generator)
            x = x.sub_(MEAN).mul_(1.0 / STD)
        else:
            x = normalize(imgs)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def slices(self, batch_size: int):
        """Sequential batches (for evaluation): yields index tensors on the device."""
        import torch
        n = len(self)
        for start in range(0, n, batch_size):
            yield torch.arange(start, min(start + batch_size, n), device=self.labels.device)


@dataclass
class DeviceData:
    train: DeviceSplit
    val: DeviceSplit | None
    test: DeviceSplit
    root: object = None


def to_device(arrays, device, val_size: int = 5000, seed: int = 0,
              limit_train: int | None = None, limit_test: int | None = None,
              fold: tuple[int, int] | None = None) -> DeviceData:
    """Split `arrays` (cnn_tui.data.MnistArrays) and put every split on `device` once.

    The validation set is `val_size` images drawn from the training file with a generator seeded
    by `seed` (so a resumed run gets the same split); `limit_train` keeps that many of the
    remaining training images, `limit_test` the first that many test images.
    `fold=(k, K)`: k-fold cross-validation instead: the validation set is fold k of K disjoint
    stratified folds of the training file (`cnn_tui.data.folds`, seeded by `seed`; `val_size`
    is not used), the training set the other folds.
    """
    import numpy as np
    import torch

    with warnings.catch_warnings():  # read-only views: only ever indexed (copied), never written
        warnings.simplefilter("ignore", UserWarning)
        train_x = torch.from_numpy(np.ascontiguousarray(arrays.train_images))
        train_y = torch.from_numpy(np.ascontiguousarray(arrays.train_labels)).long()
        test_x = torch.from_numpy(np.ascontiguousarray(arrays.test_images))
        test_y = torch.from_numpy(np.ascontiguousarray(arrays.test_labels)).long()
    n = train_x.shape[0]
    if fold is not None:
        from cnn_tui.data.folds import fold_split
        train_np, val_np = fold_split(arrays.train_labels, fold[0], fold[1], seed, limit_train)
        train_idx, val_idx = torch.from_numpy(train_np), torch.from_numpy(val_np)
        val_size = int(val_idx.numel())
    else:
        val_size = max(0, min(int(val_size), n - 1))
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
        val_idx, train_idx = perm[:val_size], perm[val_size:]
        if limit_train is not None:
            train_idx = train_idx[: max(1, int(limit_train))]
    train_idx, _ = torch.sort(train_idx)
    val_idx, _ = torch.sort(val_idx)
    test_idx = torch.arange(test_x.shape[0])
    if limit_test is not None:
        test_idx = test_idx[: max(1, int(limit_test))]

    def split(x, y, idx):
        return DeviceSplit(x[idx].to(device), y[idx].to(device), idx.to(device))

    return DeviceData(
        train=split(train_x, train_y, train_idx),
        val=split(train_x, train_y, val_idx) if val_size else None,
        test=split(test_x, test_y, test_idx),
        root=getattr(arrays, "root", None),
    )
