"""MNIST on the device: splits, normalisation and batched augmentation, on the real files."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from cnn_tui.data import load_arrays  # noqa: E402
from cnn_tui.data.device import MEAN, STD, augment, normalize, to_device  # noqa: E402


@pytest.fixture(scope="module")
def arrays():
    from conftest import require_mnist  # found before any test changed the environment
    return load_arrays(require_mnist())


def test_splits_are_disjoint_sized_and_seeded(arrays):
    data = to_device(arrays, "cpu", val_size=1000, seed=3, limit_train=5000, limit_test=700)
    assert len(data.train) == 5000 and len(data.val) == 1000 and len(data.test) == 700
    train_idx = set(data.train.indices.tolist())
    val_idx = set(data.val.indices.tolist())
    assert not train_idx & val_idx
    # labels and images are the file's, addressed by the recorded indices
    i = int(data.val.indices[10])
    assert torch.equal(data.val.images[10], torch.from_numpy(arrays.train_images[i].copy()))
    assert int(data.val.labels[10]) == int(arrays.train_labels[i])
    assert data.test.indices.tolist() == list(range(700))
    again = to_device(arrays, "cpu", val_size=1000, seed=3, limit_train=5000, limit_test=700)
    assert torch.equal(again.val.indices, data.val.indices)  # a resumed run gets the same split
    other = to_device(arrays, "cpu", val_size=1000, seed=4, limit_train=5000)
    assert not torch.equal(other.val.indices, data.val.indices)


def test_no_validation_split(arrays):
    data = to_device(arrays, "cpu", val_size=0, limit_train=100, limit_test=10)
    assert data.val is None and len(data.train) == 100


def test_batch_normalises_like_torchvision(arrays):
    data = to_device(arrays, "cpu", val_size=0, limit_train=256, limit_test=10)
    idx = torch.tensor([0, 5, 7])
    x, y = data.train.batch(idx)
    assert x.shape == (3, 1, 28, 28) and x.dtype == torch.float32
    expected = (data.train.images[idx].float() / 255.0 - MEAN) / STD
    assert torch.allclose(x[:, 0], expected, atol=1e-5)
    assert torch.equal(y, data.train.labels[idx])
    whole = normalize(data.train.images)
    assert abs(float(whole.mean()) - 0.0) < 0.15 and abs(float(whole.std()) - 1.0) < 0.15


def test_augmentation_is_batched_random_and_keeps_the_digit(arrays):
    x = torch.from_numpy(arrays.train_images[:64].copy()).unsqueeze(1).float() / 255.0
    gen = torch.Generator().manual_seed(0)
    out = augment(x, gen)
    assert out.shape == x.shape
    assert not torch.allclose(out, x)
    # mass (ink) roughly preserved: a shift/rotation/scale of 10% keeps the digit in frame
    ratio = out.sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert float(ratio.min()) > 0.7 and float(ratio.max()) < 1.35
    # identity transform returns the images (bilinear sampling at the pixel centres)
    same = augment(x, gen, max_shift=0.0, max_degrees=0.0, scale=(1.0, 1.0))
    assert torch.allclose(same, x, atol=1e-5)
    # the augmented batch path normalises after augmenting (background stays -MEAN/STD)
    data = to_device(arrays, "cpu", val_size=0, limit_train=64, limit_test=10)
    xb, _ = data.train.batch(torch.arange(64), augment_batch=True, generator=gen)
    assert torch.isclose(xb[:, :, 0, 0], torch.tensor(-MEAN / STD)).all()
