"""The layering of DESIGN.md, checked in fresh interpreters (as Harlequin's test_import_hygiene does).

- `cnn_tui.spec` and `cnn_tui.cli` (parser built, so every command module is imported) load
  neither torch nor textual nor numpy: `cnn-tui --help` must not wait for them.
- Nothing under data/, train/, runs/, export/ imports textual.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "textual", "numpy")


def _python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_spec_and_cli_import_light():
    code = (
        "import json, sys\n"
        "import cnn_tui.spec, cnn_tui.cli\n"
        "import cnn_tui.spec.io, cnn_tui.spec.browser, cnn_tui.spec.sharecode, cnn_tui.spec.templates\n"
        "import pkgutil, importlib\n"
        "for m in pkgutil.iter_modules(cnn_tui.spec.__path__):\n"
        "    importlib.import_module('cnn_tui.spec.' + m.name)\n"
        "cnn_tui.cli.build_parser()\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_help_answers_quickly():
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "cnn_tui", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    print(f"python -m cnn_tui --help: {elapsed:.3f} s (interpreter start included)")
    assert proc.returncode == 0, proc.stderr
    assert "usage: cnn-tui" in proc.stdout
    assert elapsed < 3.0  # a sanity bound only; the real figure is printed above


def test_engine_packages_never_import_textual():
    code = (
        "import importlib, json, pkgutil, sys\n"
        "report = {'checked': [], 'offender': None, 'failed': [], 'skipped': []}\n"
        "for pkg in ('cnn_tui.data', 'cnn_tui.train', 'cnn_tui.runs', 'cnn_tui.export', 'cnn_tui.api'):\n"
        "    try:\n"
        "        package = importlib.import_module(pkg)\n"
        "    except ModuleNotFoundError as exc:\n"
        "        if exc.name == pkg:\n"
        "            continue  # that package is not built yet\n"
        "        raise\n"
        "    names = [pkg] + [m.name for m in\n"
        "                     pkgutil.walk_packages(getattr(package, '__path__', []), pkg + '.')]\n"
        "    for name in names:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except ModuleNotFoundError as exc:\n"
        "            if exc.name in ('torch', 'torchvision', 'numpy', 'onnx', 'safetensors'):\n"
        "                report['skipped'].append(name)  # an optional heavy dependency is absent\n"
        "                continue\n"
        "            report['failed'].append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "            continue\n"
        "        except Exception as exc:\n"
        "            report['failed'].append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "            continue\n"
        "        report['checked'].append(name)\n"
        "        if 'textual' in sys.modules and report['offender'] is None:\n"
        "            report['offender'] = name\n"
        "print(json.dumps(report))\n"
    )
    proc = _python(code, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"checked {len(report['checked'])} modules: {', '.join(report['checked'])}")
    if report["skipped"]:
        print(f"skipped (a heavy dependency is not installed): {', '.join(report['skipped'])}")
    assert report["failed"] == []  # torch is installed here: every module must import
    assert report["offender"] is None, f"{report['offender']} imports textual"
