"""Finding, verifying and loading the real MNIST files (cnn_tui.data.mnist)."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnn_tui import locations
from cnn_tui.data import FILES, MnistArrays, find_mnist, load_arrays, raw_dir, verify
from cnn_tui.data.mnist import file_in, idx_bytes, parse_idx
from cnn_tui.errors import DataError

TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def copy_root(src: Path, dest: Path, extract: tuple[str, ...] = ()) -> Path:
    """A private `.gz` copy of MNIST/raw under `dest`; files named in `extract` uncompressed
    (conftest's helper: the source may be the shared `.gz` copy or a fetched, extracted one)."""
    from conftest import copy_mnist

    return copy_mnist(src, dest, extract)


def test_load_arrays_reads_all_of_mnist(mnist_root):
    data = load_arrays(mnist_root)
    assert isinstance(data, MnistArrays)
    assert data.root == mnist_root
    assert data.train_images.shape == (60000, 28, 28) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (10000, 28, 28) and data.test_images.dtype == np.uint8
    assert data.train_labels.dtype == np.uint8 and data.test_labels.dtype == np.uint8
    assert np.bincount(data.train_labels).tolist() == TRAIN_COUNTS
    assert np.bincount(data.test_labels).tolist() == TEST_COUNTS
    assert data.train_images.max() == 255 and data.train_images.min() == 0
    assert not data.train_images.flags.writeable  # the shared cache cannot be altered


def test_second_load_is_served_from_the_process_cache(mnist_root):
    first = load_arrays(mnist_root)
    assert load_arrays(mnist_root) is first
    assert load_arrays(mnist_root, verify=False) is first


def test_verify_reports_every_file_ok(mnist_root, tmp_path):
    rows = verify(mnist_root)
    assert [name for name, _, _ in rows] == [file_in(raw_dir(mnist_root), n).name
                                             for n, _, _ in FILES.values()]
    assert all(ok for _, ok, _ in rows)
    rows = verify(copy_root(mnist_root, tmp_path / "gz"))
    assert [name for name, _, _ in rows] == [f"{n}.gz" for n, _, _ in FILES.values()]
    assert all(ok for _, ok, _ in rows)
    assert FILES["train_images"][2] in rows[0][2]


@pytest.mark.parametrize("given", ["root", "MNIST", "raw"])
def test_find_mnist_accepts_root_mnist_or_raw_folder(mnist_root, given):
    path = {"root": mnist_root, "MNIST": mnist_root / "MNIST", "raw": raw_dir(mnist_root)}[given]
    assert find_mnist(path) == mnist_root
    assert find_mnist(str(path)) == mnist_root


def test_search_order_env_then_cache(mnist_root, tmp_path, monkeypatch):
    cache = copy_root(mnist_root, locations.cache_dir())
    assert find_mnist() == cache
    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(mnist_root))
    assert find_mnist() == mnist_root
    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(tmp_path / "nowhere"))
    assert find_mnist() == cache  # an empty override falls through to the cache


def test_explicit_data_dir_is_the_only_place_looked(mnist_root, tmp_path):
    copy_root(mnist_root, locations.cache_dir())
    with pytest.raises(DataError) as err:
        find_mnist(tmp_path / "typo")
    message = str(err.value)
    assert "typo" in message and "cnn-tui data fetch" in message and "--data-dir" in message


def test_not_found_names_places_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(DataError) as err:
        load_arrays()
    message = str(err.value)
    assert str(tmp_path / "env") in message and str(locations.cache_dir()) in message
    assert "`cnn-tui data fetch`" in message and "`cnn-tui data import PATH`" in message
    assert err.value.exit_code == 2 and "\n" not in message


def test_incomplete_folder_names_the_missing_file(mnist_root, tmp_path):
    root = copy_root(mnist_root, tmp_path / "m")
    (raw_dir(root) / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        find_mnist(root)


def test_extracted_and_gz_files_mixed(mnist_root, tmp_path):
    root = copy_root(mnist_root, tmp_path / "m", extract=("train-labels-idx1-ubyte",
                                                          "t10k-images-idx3-ubyte"))
    data = load_arrays(root)
    reference = load_arrays(mnist_root)
    assert np.array_equal(data.test_images, reference.test_images)
    assert np.array_equal(data.train_labels, reference.train_labels)
    assert verify(root)[1][:2] == ("train-labels-idx1-ubyte", True)


def test_corrupt_extracted_file_is_named_and_never_used(mnist_root, tmp_path):
    root = copy_root(mnist_root, tmp_path / "m", extract=("t10k-labels-idx1-ubyte",))
    path = raw_dir(root) / "t10k-labels-idx1-ubyte"
    data = bytearray(path.read_bytes())
    data[5000] ^= 1  # one label flipped
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as err:
        load_arrays(root)
    assert str(path) in str(err.value) and "md5" in str(err.value)
    rows = {name: (ok, detail) for name, ok, detail in verify(root)}
    assert rows["t10k-labels-idx1-ubyte"][0] is False
    assert sum(ok for ok, _ in rows.values()) == 3
    load_arrays(root, verify=False)  # only the md5 is skipped on request


@pytest.mark.parametrize("extract", [True, False])
def test_corrupt_file_says_which_md5_was_expected_and_which_found(mnist_root, tmp_path, extract):
    name = "t10k-labels-idx1-ubyte"
    root = copy_root(mnist_root, tmp_path / "m", extract=(name,) if extract else ())
    path = raw_dir(root) / (name if extract else f"{name}.gz")
    data = bytearray(path.read_bytes() if extract else gzip.decompress(path.read_bytes()))
    data[100] ^= 1
    path.write_bytes(bytes(data) if extract else gzip.compress(bytes(data), 1))
    found, expected = hashlib.md5(bytes(data)).hexdigest(), FILES["test_labels"][2]
    what = "" if extract else "uncompressed "
    line = f"{path}: corrupt ({what}md5 {found} where {expected} is expected)"
    rows = {row[0]: row for row in verify(root)}
    assert rows[path.name][1:] == (False, line)
    with pytest.raises(DataError) as err:
        load_arrays(root)
    assert str(err.value).startswith(line + "; replace it with `cnn-tui data fetch`")
    assert "\n" not in str(err.value)


def test_wrong_size_says_what_size_was_expected(mnist_root, tmp_path):
    root = copy_root(mnist_root, tmp_path / "m", extract=("train-labels-idx1-ubyte",))
    path = raw_dir(root) / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\0")
    assert verify(root)[1] == (path.name, False,
                               f"{path}: too long (60,009 bytes where 60,008 are expected)")


@pytest.mark.parametrize("given, inside", [("root", "MNIST/raw "), ("MNIST", "raw "),
                                           ("raw", "")])
def test_missing_file_message_is_one_sentence(mnist_root, tmp_path, given, inside):
    root = copy_root(mnist_root, tmp_path / "m")
    (raw_dir(root) / "t10k-labels-idx1-ubyte.gz").unlink()
    path = {"root": root, "MNIST": root / "MNIST", "raw": raw_dir(root)}[given]
    with pytest.raises(DataError) as err:
        find_mnist(path)
    assert str(err.value) == (f"MNIST not found in --data-dir {path} ({inside}lacks "
                              "t10k-labels-idx1-ubyte): run `cnn-tui data fetch` or "
                              "`cnn-tui data import PATH`, or pass --data-dir")


def test_truncated_gz_is_named(mnist_root, tmp_path):
    root = copy_root(mnist_root, tmp_path / "m")
    path = raw_dir(root) / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:10000])
    with pytest.raises(DataError) as err:
        load_arrays(root, verify=False)
    assert str(path) in str(err.value) and "truncated" in str(err.value)


def test_file_changed_after_load_is_read_again(mnist_root, tmp_path):
    root = copy_root(mnist_root, tmp_path / "m")
    load_arrays(root)
    path = raw_dir(root) / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"not gzip at all")
    os.utime(path, ns=(1, 1))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        load_arrays(root)


def test_idx_round_trip_and_bad_header():
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    assert np.array_equal(parse_idx(idx_bytes(images), "x"), images)
    labels = np.array([3, 1, 4], dtype=np.uint8)
    assert np.array_equal(parse_idx(idx_bytes(labels), "x"), labels)
    with pytest.raises(DataError, match="not an IDX"):
        parse_idx(b"\x00\x00\x0c\x03" + bytes(20), "bad.idx")
    with pytest.raises(DataError, match="holds"):
        parse_idx(idx_bytes(labels)[:-1], "short.idx")


def test_importing_data_package_pulls_in_no_numpy_or_torch():
    code = ("import sys, cnn_tui.data, cnn_tui.data.fetch, cnn_tui.data.imports, "
            "cnn_tui.commands.data_cmds; "
            "heavy = [m for m in ('numpy', 'torch', 'textual') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
