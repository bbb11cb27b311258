"""How long until the app shows its first frame, and what the imports cost.

    python benchmarks/tui_startup.py [--runs 7]

Each run is a fresh interpreter (as `cnn-tui` is): the wall time from just before the process
is spawned to the app's first refresh (headless, 80x24, the Build screen on the Beginner
template), with a bare `python -c pass` start measured the same way for reference. It also
prints the import time of `cnn_tui.tui.app` alone and checks torch was not imported.

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

    bare = [_once("pass", env)[0] for _ in range(args.runs)]
    minimal = [json.loads(_once(MINIMAL_TEXTUAL, env)[1].strip().splitlines()[-1])["first_frame"]
               for _ in range(args.runs)]
    results = [json.loads(_once(FIRST_FRAME, env)[1].strip().splitlines()[-1])
               for _ in range(args.runs)]

    def med(values):
        return statistics.median(values)

    first = [r["first_frame"] for r in results]
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
