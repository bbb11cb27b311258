"""How long until the app shows its first frame, and what the imports cost.

    python benchmarks/tui_startup.py [--runs 7]

Two measurements, each run a fresh interpreter as `cnn-tui` is:
- in a terminal: `cnn-tui` started in a pseudo-terminal of 80x24, timed from just before the
  process is spawned until the terminal has received the Build screen's totals line (the last
  widget of the first frame that shows the model); the same for a minimal Textual app (header,
  static, footer) until its text arrives. This is what a user waits for.
- headless: the app's first refresh in Textual's headless mode, split into interpreter start,
  import of `cnn_tui.tui.app` and app start to first refresh; torch must not be imported.

The runs use compiled bytecode, as an installed cnn-tui does (pip writes the .pyc files at
install time): a first, uncounted run compiles every module into a temporary
PYTHONPYCACHEPREFIX, whatever PYTHONDONTWRITEBYTECODE says (some machines set it, and then every
start recompiles the sources, about 0.1 s here).
Target (issue 4): first frame < 0.5 s. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

FIRST_FRAME = r"""
import json, os, sys, time
T0 = float(os.environ["CNN_TUI_BENCH_T0"])
t_import = time.time()
from cnn_tui.tui.app import CnnTuiApp
t_imported = time.time()

class Probe(CnnTuiApp):
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.first_frame)

    def first_frame(self):
        self.result = {"first_frame": time.time() - T0,
                       "interpreter": t_import - T0,
                       "import_app": t_imported - t_import,
                       "screen": type(self.screen).__name__,
                       "torch": "torch" in sys.modules}
        self.exit()

app = Probe(offer_autosave=False)
app.run(headless=True, size=(80, 24))
print(json.dumps(app.result))
"""


TOTALS_MARKER = b"receptive field"  # the Build screen's totals line

MINIMAL_TEXTUAL = r"""
import json, os, sys, time
T0 = float(os.environ["CNN_TUI_BENCH_T0"])
from textual.app import App
from textual.widgets import Footer, Header, Static

class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("hello")
        yield Footer()

    def on_mount(self):
        self.call_after_refresh(self.first_frame)

    def first_frame(self):
        self.result = {"first_frame": time.time() - T0}
        self.exit()

app = Minimal()
app.run(headless=True, size=(80, 24))
print(json.dumps(app.result))
"""


def _once(code: str, env: dict) -> tuple[float, str]:
    env = {**env, "CNN_TUI_BENCH_T0": repr(time.time())}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{out.stderr[-2000:]}")
    return wall, out.stdout


PTY_MINIMAL = r"""
from textual.app import App
from textual.widgets import Footer, Header, Static

class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("hello from textual")
        yield Footer()

Minimal().run()
"""


def _pty_once(argv: list[str], env: dict, marker: bytes, size=(24, 80),
              timeout: float = 30.0) -> float:
    """Seconds from spawning `argv` in a pseudo-terminal of `size` until `marker` is output."""
    import fcntl
    import pty
    import select
    import signal
    import struct
    import termios

    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of the given size, then the program
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    seen = b""
    try:
        while True:
            left = timeout - (time.perf_counter() - start)
            if left <= 0:
                raise SystemExit(f"no {marker!r} within {timeout} s from {argv}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                raise SystemExit(f"{argv} ended before showing {marker!r}: {seen[-500:]!r}")
            seen += chunk
            if marker in seen:
                return time.perf_counter() - start
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "CNN_TUI_HOME": tempfile.mkdtemp(prefix="cnn-tui-bench-"),
           "PYTHONPYCACHEPREFIX": tempfile.mkdtemp(prefix="cnn-tui-bench-pyc-")}
    env.pop("NO_COLOR", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    _once(FIRST_FRAME, env)  # compile into the .pyc cache and warm the file cache; not counted
    _once(MINIMAL_TEXTUAL, env)
    app_argv = [sys.executable, "-m", "cnn_tui"]
    minimal_argv = [sys.executable, "-c", PTY_MINIMAL]
    term_env = {**env, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    _pty_once(app_argv, term_env, TOTALS_MARKER)
    _pty_once(minimal_argv, term_env, b"hello from textual")
    pty_app, pty_minimal, pty_installed = [], [], []
    # `cnn-tui` as this machine runs it: the console script, the environment untouched (so with
    # PYTHONDONTWRITEBYTECODE where it is set), the .pyc files `make install` wrote
    installed_argv = [os.path.join(os.path.dirname(sys.executable), "cnn-tui")]
    installed_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    installed_env.update(CNN_TUI_HOME=env["CNN_TUI_HOME"], TERM="xterm-256color")
    has_script = os.path.exists(installed_argv[0])
    for _ in range(args.runs):  # interleaved, so all see the same machine load
        pty_app.append(_pty_once(app_argv, term_env, TOTALS_MARKER))
        pty_minimal.append(_pty_once(minimal_argv, term_env, b"hello from textual"))
        if has_script:
            pty_installed.append(_pty_once(installed_argv, installed_env, TOTALS_MARKER))

    bare = [_once("pass", env)[0] for _ in range(args.runs)]
    minimal = [json.loads(_once(MINIMAL_TEXTUAL, env)[1].strip().splitlines()[-1])["first_frame"]
               for _ in range(args.runs)]
    results = [json.loads(_once(FIRST_FRAME, env)[1].strip().splitlines()[-1])
               for _ in range(args.runs)]

    def med(values):
        return statistics.median(values)

    first = [r["first_frame"] for r in results]
    print(f"cnn-tui in a terminal (80x24 pseudo-terminal, {args.runs} runs):")
    print(f"  first frame (totals line received)  median {med(pty_app):.3f} s   "
          f"min {min(pty_app):.3f}  max {max(pty_app):.3f}   (target < 0.5 s)")
    print(f"  minimal Textual app, its text       median {med(pty_minimal):.3f} s   "
          f"min {min(pty_minimal):.3f}  max {max(pty_minimal):.3f}")
    print(f"  ratio cnn-tui / minimal Textual app: {med(pty_app) / med(pty_minimal):.2f}")
    if pty_installed:
        dont_write = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "not set"
        print(f"  the `cnn-tui` script, environment as is (PYTHONDONTWRITEBYTECODE {dont_write})"
              f"  median {med(pty_installed):.3f} s   min {min(pty_installed):.3f}  "
              f"max {max(pty_installed):.3f}")
    print(f"cnn-tui first frame ({args.runs} runs, headless 80x24, {results[0]['screen']}):")
    print(f"  first frame after process start   median {med(first):.3f} s   "
          f"min {min(first):.3f}  max {max(first):.3f}   (target < 0.5 s)")
    print(f"  of which: interpreter start        median {med([r['interpreter'] for r in results]):.3f} s")
    print(f"            import cnn_tui.tui.app   median {med([r['import_app'] for r in results]):.3f} s")
    rest = [r["first_frame"] - r["interpreter"] - r["import_app"] for r in results]
    print(f"            app start to first frame median {med(rest):.3f} s")
    print(f"  bare `python -c pass` process      median {med(bare):.3f} s")
    print(f"  minimal Textual app (Header, Static, Footer) first frame  median {med(minimal):.3f} s")
    print(f"  ratio cnn-tui / minimal Textual app: {med(first) / med(minimal):.2f}")
    print(f"  torch imported before first frame: {any(r['torch'] for r in results)}")
    print(f"  ratio first frame / 0.5 s target:  {med(first) / 0.5:.2f}")
    try:
        print(f"  load average now: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
