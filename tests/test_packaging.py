"""The wheel is the whole product: built from this tree, it holds every file the package has
(themes, .tcss, ...), and installed on its own it starts the app in a bundled theme. Also: the
metadata says what is true (Python 3.11+, no torchvision, the extras), and `.[test]` brings
every third-party module the tests import."""

from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def _package_files() -> set[str]:
    """Every file of the package as the wheel names it (cnn_tui/...), caches left out."""
    root = REPO / "cnn_tui"
    return {path.relative_to(REPO).as_posix() for path in root.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
            and path.suffix not in (".pyc", ".pyo")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from this tree with the project's own backend (hatchling), offline."""
    pytest.importorskip("hatchling", reason="hatchling (in .[test]) builds the wheel")
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(out), str(REPO)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    wheels = sorted(out.glob("cnn_tui-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_holds_every_file_of_the_package(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = _package_files()
    data = {name for name in expected if not name.endswith(".py")}
    # what the package reads at run time besides its modules: the stylesheets and themes
    assert {"cnn_tui/tui/app.tcss", "cnn_tui/themes/cnn-solarized-dark.toml",
            "cnn_tui/themes/cnn-solarized-light.toml"} <= data
    assert not expected - names, sorted(expected - names)
    assert not [n for n in names if n.startswith("themes/")]  # nothing beside the package


def test_installed_wheel_starts_the_app_in_a_bundled_theme(wheel, tmp_path):
    """Installed with --no-deps into its own folder (the venv's packages do the rest), away
    from this checkout: the bundled themes load from inside the install, the app draws."""
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--disable-pip-version-check", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    script = """
import asyncio, sys
from pathlib import Path
import cnn_tui
from cnn_tui import locations
from cnn_tui.tui.app import CnnTuiApp
target = Path(sys.argv[1]).resolve()
assert Path(cnn_tui.__file__).resolve().is_relative_to(target), cnn_tui.__file__
assert locations.bundled_themes_dir().is_relative_to(target), locations.bundled_themes_dir()

async def main():
    app = CnnTuiApp(theme="cnn-solarized-dark", offer_autosave=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        problems = [str(n.message) for n in app._notifications
                    if n.title != "No MNIST yet"]  # no data here: said, and not a theme problem
        assert app.theme == "cnn-solarized-dark" and not problems, (app.theme, problems)
        assert "Beginner" in app.export_screenshot()
    print("ok", len(app.theme_names))

asyncio.run(main())
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), CNN_TUI_HOME=str(tmp_path / "home"))
    run = subprocess.run([sys.executable, "-c", script, str(target)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("ok ")
    help_text = subprocess.run([sys.executable, "-m", "cnn_tui", "--theme", "no-such-theme"],
                               cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=120)
    assert help_text.returncode == 2 and "cnn-solarized-dark" in help_text.stderr


def test_metadata_is_true():
    assert PROJECT["requires-python"] == ">=3.11"  # tomllib
    deps = {re.split(r"[<>=!~\[; ]", d)[0].lower() for d in PROJECT["dependencies"]}
    assert "pillow" in deps and "torchvision" not in deps
    extras = PROJECT["optional-dependencies"]
    assert {"onnx", "tensorboard", "hdf5", "postgres", "dev", "bench", "test"} <= set(extras)
    assert any(d.startswith("torchvision") for d in extras["bench"])
    assert PROJECT["keywords"] and PROJECT["classifiers"]
    torch_req = next(d for d in PROJECT["dependencies"] if d.startswith("torch"))
    assert ">=" in torch_req and "==" not in torch_req  # a range: a site's own torch build fits


def _imports(folder: Path) -> set[str]:
    """Top-level names of every module imported anywhere in `folder` (function-local too)."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def test_nothing_in_the_package_imports_torchvision():
    assert "torchvision" not in _imports(REPO / "cnn_tui")


def _requirement_names(extra: str, seen: set[str] | None = None) -> set[str]:
    """Distribution names the base dependencies and `extra` bring (self-references followed)."""
    seen = set() if seen is None else seen
    seen.add(extra)
    names = set()
    for req in PROJECT["dependencies"] + PROJECT["optional-dependencies"][extra]:
        name = re.split(r"[<>=!~\[; ]", req)[0].lower()
        if name == "cnn-tui":
            for inner in re.findall(r"\[(.*?)\]", req)[0].split(","):
                if inner.strip() not in seen:
                    names |= _requirement_names(inner.strip(), seen)
            continue
        names.add(name)
    return names


def _closure(names: set[str]) -> set[str]:
    """Those distributions and everything they require, as installed here."""
    todo, found = list(names), set()
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in found:
            continue
        found.add(name)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        todo += [re.split(r"[<>=!~\[; (]", r)[0] for r in requires if "extra ==" not in r]
    return found


def test_test_extra_brings_every_module_the_tests_import():
    """`pip install -e '.[test]'` (what `make test` does) is enough for the test suite: every
    third-party module a test imports comes from a distribution it installs. Modules a test
    only reaches through pytest.importorskip are optional and listed apart."""
    optional = {"onnxruntime"}
    local = {"cnn_tui", "tests"} | {path.stem for path in (REPO / "tests").glob("*.py")}
    modules = _imports(REPO / "tests") - local - set(sys.stdlib_module_names) - optional
    owners = md.packages_distributions()
    provided = _closure(_requirement_names("test"))
    missing = {}
    for module in sorted(modules):
        dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(module, [])}
        if not dists & provided:
            missing[module] = sorted(dists) or ["not installed here"]
    assert not missing, missing
