"""`cnn-tui data path|verify|import|fetch` through the real CLI entry point."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cnn_tui import locations
from cnn_tui.cli import main
from cnn_tui.data import raw_dir


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_path_prints_the_root(capsys, mnist_root):
    code, out, _ = run(capsys, "data", "path", "--data-dir", str(raw_dir(mnist_root)))
    assert (code, out.strip()) == (0, str(mnist_root))


def test_path_not_found_says_how_to_fix(capsys):
    code, out, err = run(capsys, "data", "path")
    assert code == 2 and out == ""
    assert err.startswith("cnn-tui: error: MNIST not found")
    assert "`cnn-tui data fetch`" in err and str(locations.cache_dir()) in err
    assert err.count("\n") == 1


def test_verify_ok_table(capsys, mnist_root, tmp_path):
    from conftest import copy_mnist  # the `.gz` layout, whichever the found copy has

    root = copy_mnist(mnist_root, tmp_path / "m")
    code, out, _ = run(capsys, "data", "verify", "--data-dir", str(root))
    assert code == 0
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [row[:2] for row in rows] == [
        ["train-images-idx3-ubyte.gz", "OK"], ["train-labels-idx1-ubyte.gz", "OK"],
        ["t10k-images-idx3-ubyte.gz", "OK"], ["t10k-labels-idx1-ubyte.gz", "OK"]]


def test_verify_bad_file_exits_1_and_names_it(capsys, mnist_root, tmp_path):
    from conftest import copy_mnist  # the `.gz` layout, whichever the found copy has

    root = copy_mnist(mnist_root, tmp_path / "m")
    victim = raw_dir(root) / "train-labels-idx1-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:-100])
    code, out, err = run(capsys, "data", "verify", "--data-dir", str(root))
    assert code == 1
    bad = [line for line in out.splitlines() if " BAD " in line]
    assert len(bad) == 1 and "train-labels-idx1-ubyte.gz" in bad[0] and "truncated" in bad[0]
    assert "1 of 4 files bad" in err


def test_verify_not_found_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "data", "verify", "--data-dir", str(tmp_path))
    assert code == 2 and "MNIST not found in --data-dir" in err


def test_import_then_path_uses_the_cache(capsys, mnist_root):
    code, out, err = run(capsys, "data", "import", str(mnist_root))
    assert (code, out.strip()) == (0, str(locations.cache_dir()))
    assert "verifying" in err
    code, out, _ = run(capsys, "data", "path")
    assert (code, out.strip()) == (0, str(locations.cache_dir()))
    code, out, err = run(capsys, "data", "fetch")  # a valid copy is kept, no network needed
    assert code == 0 and "already present" in err


def test_import_bad_source_is_one_line(capsys, tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\0" * 10)
    code, _, err = run(capsys, "data", "import", str(tmp_path / "x.bin"))
    assert code == 2 and err.count("\n") == 1 and "x.bin: not an MNIST source" in err


def test_fetch_rejects_unknown_source(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "fetch", "--source", "ftp"])
    assert exc.value.code == 2
    assert "invalid choice: 'ftp'" in capsys.readouterr().err


def test_data_help_lists_the_actions():
    out = subprocess.run([sys.executable, "-m", "cnn_tui", "data", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for action in ("fetch", "import", "verify", "path"):
        assert action in out
