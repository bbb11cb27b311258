"""Shared fixtures. Every test runs with its own CNN_TUI_HOME, so nothing touches user folders.

MNIST is found once, at import, before any test swaps the environment, where the product looks:
`CNN_TUI_DATA_DIR`, then `../shared/data` if present, then the user cache (see
`mnist_for_tests.py`, which `make test` runs first to fetch it when none of those has it).
Without it the tests that need it are skipped with one message, said at the start and the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import mnist_for_tests

REPO = Path(__file__).resolve().parent.parent

_FOUND = mnist_for_tests.find()
MNIST_ROOT: Path | None = _FOUND[0] if _FOUND else None
MNIST_MISSING = mnist_for_tests.missing_line()


def require_mnist() -> Path:
    """The MNIST root, or skip the calling test (or module fixture) with the one message."""
    if MNIST_ROOT is None:
        pytest.skip(MNIST_MISSING)
    return MNIST_ROOT


_GZ: dict[str, bytes] = {}


def copy_mnist(src: Path, dest: Path, extract: tuple[str, ...] = ()) -> Path:
    """A private copy of MNIST/raw under `dest` in torchvision's download layout (`.gz` files),
    the files named in `extract` written uncompressed, whichever layout `src` has: the shared
    copy keeps `.gz` files, `cnn-tui data fetch` leaves them extracted."""
    import gzip

    from cnn_tui.data import FILES, raw_dir
    from cnn_tui.data.mnist import file_in, read_file

    raw = raw_dir(dest)
    raw.mkdir(parents=True)
    for name, size, _ in FILES.values():
        data = read_file(file_in(raw_dir(src), name), size)
        if name in extract:
            (raw / name).write_bytes(data)
            continue
        if name not in _GZ:
            _GZ[name] = gzip.compress(data, compresslevel=1)
        (raw / f"{name}.gz").write_bytes(_GZ[name])
    return dest


def pytest_sessionstart(session):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    if _FOUND is None:
        reporter.write_line(f"{MNIST_MISSING}: the tests that need it are skipped", yellow=True)
    elif reporter.verbosity >= 0:
        reporter.write_line(f"MNIST for the tests: {_FOUND[0]} ({_FOUND[1]})")


def pytest_terminal_summary(terminalreporter):
    if _FOUND is None:
        terminalreporter.write_line(f"the tests that need MNIST were skipped: {MNIST_MISSING}",
                                    yellow=True)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """A fresh CNN_TUI_HOME per test; CNN_TUI_DATA_DIR is removed so tests choose explicitly."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CNN_TUI_HOME", str(home))
    for var in ("CNN_TUI_DATA_DIR", "CNN_TUI_RUNS_DIR",
                "CNN_TUI_CONFIG_DIR", "CNN_TUI_CACHE_DIR", "CNN_TUI_STATE_DIR"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def with_mnist(monkeypatch) -> Path:
    """A user with MNIST in place (CNN_TUI_DATA_DIR): for tests of screens and themes, where
    the app's start-up note about a missing MNIST would only be noise in the picture."""
    root = require_mnist()
    monkeypatch.setenv("CNN_TUI_DATA_DIR", str(root))
    return root


@pytest.fixture
def mnist_root() -> Path:
    """The real MNIST copy (see the module's docstring for where it is looked for)."""
    return require_mnist()


@pytest.fixture(scope="session")
def mnist_mirror(tmp_path_factory):
    """`http://127.0.0.1:PORT/`: a mirror serving the four real MNIST files, gzipped."""
    import gzip
    import http.server
    import threading
    from functools import partial

    from cnn_tui.data import FILES, raw_dir
    from cnn_tui.data.mnist import file_in, read_file

    root = require_mnist()
    folder = tmp_path_factory.mktemp("mirror")
    for name, size, _ in FILES.values():
        data = read_file(file_in(raw_dir(root), name), size)
        (folder / f"{name}.gz").write_bytes(gzip.compress(data, compresslevel=1))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def pytest_sessionfinish(session, exitstatus):
    """Training and sweep processes outlive the app that starts them (by design); a test that
    fails before stopping its run would leave one training for minutes on the machine's cores,
    slowing every later run. Whatever still runs with this session's temporary folder in its
    command line is killed here, and named."""
    import os
    import signal

    try:
        base = str(session.config._tmp_path_factory.getbasetemp())
    except (AttributeError, OSError):
        return
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        line = " ".join(a.decode(errors="replace") for a in argv if a)
        if base in line and "cnn_tui" in line:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                print(f"\nconftest: killed a process a test left running: {line[:160]}")
            except OSError:
                pass
