"""The layering of DESIGN.md, checked statically: every import of every module, function-local
ones included, read with `ast` (runtime checks in test_import_hygiene.py miss an import inside a
function that no test calls).

    base (errors, locations, atomic, ...) <- spec <- data <- train <- runs <- export
        <- experiments <- session <- {tui, commands, api, cli, completion}

- a module may import its own layer and the layers below, never above;
- nothing outside tui/ imports textual; spec/ imports no third-party package at all (stdlib
  only: neither torch nor numpy nor textual); only experiments/ imports optuna;
- no import cycle between modules below the front ends, function-local imports counted.

The checker must be able to fail: a test plants violating imports in a copy of the package.
"""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "cnn_tui"
LAYERS = ["base", "spec", "data", "train", "runs", "export", "experiments", "session", "front"]
FRONT = {"tui", "commands", "api", "cli", "completion", "__main__"}
STDLIB = set(sys.stdlib_module_names)


def layer_of(module: str) -> str:
    """The layer of a module of the package (`cnn_tui.train.loop` -> "train")."""
    parts = module.split(".")
    if len(parts) == 1:
        return "base"
    head = parts[1]
    if head in LAYERS[1:-1]:
        return head
    if head in FRONT:
        return "front"
    return "base"  # errors, locations, atomic and other stdlib-only helpers at the top


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, module: str) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement in the file, wherever it is."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None or (node.level and target == package):
                out += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
            else:
                out.append((target, node.lineno))
                # `from cnn_tui.x import y` may name a submodule y
                out += [(f"{target}.{alias.name}", node.lineno) for alias in node.names
                        if target.startswith(PACKAGE)]
    return out


def check(root: Path) -> list[str]:
    """Every layering violation in the package under `root` (the folder holding cnn_tui/)."""
    problems: list[str] = []
    modules = {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        layer = layer_of(module)
        inside = module.split(".")[1] if "." in module else ""
        graph[module] = set()
        for target, line in imports_of(path, module):
            top = target.split(".")[0]
            where = f"{path.relative_to(root)}:{line}"
            if top == PACKAGE:
                if target not in modules:
                    continue  # a name imported from a module, not a module
                graph[module].add(target)
                other = layer_of(target)
                if LAYERS.index(other) > LAYERS.index(layer):
                    problems.append(f"{where}: {module} ({layer}) imports {target} ({other})")
            elif top == "textual" and inside != "tui":
                problems.append(f"{where}: {module} imports textual (only cnn_tui.tui may)")
            elif top == "optuna" and inside != "experiments":
                problems.append(f"{where}: {module} imports optuna (only cnn_tui.experiments may)")
            elif layer in ("base", "spec") and top not in STDLIB and top != "__future__":
                if not (layer == "base" and top == "platformdirs"):
                    problems.append(f"{where}: {module} ({layer}) imports {top}: stdlib only")
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)
                 if all(layer_of(m) != "front" for m in c)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component) + [sorted(component)[0]])

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_keeps_its_layers():
    problems = check(REPO)
    assert problems == [], "\n".join(problems)


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO / PACKAGE, tmp_path / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _plant(root: Path, module: str, code: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8")


def test_a_planted_function_local_import_upwards_is_caught(tmp_path):
    root = _copy(tmp_path)
    _plant(root, "cnn_tui.train.control", "def _sneaky():\n    from cnn_tui.tui.app import CnnTuiApp\n"
                                          "    return CnnTuiApp")
    problems = check(root)
    assert any("cnn_tui.train.control (train) imports cnn_tui.tui.app (front)" in p
               for p in problems), problems


def test_planted_textual_torch_and_optuna_imports_are_caught(tmp_path):
    root = _copy(tmp_path)
    _plant(root, "cnn_tui.runs.store", "def _draw():\n    import textual.app\n")
    _plant(root, "cnn_tui.spec.model", "def _tensor():\n    import torch\n")
    _plant(root, "cnn_tui.session.run", "def _search():\n    import optuna\n")
    problems = "\n".join(check(root))
    assert "cnn_tui.runs.store imports textual" in problems
    assert "cnn_tui.spec.model (spec) imports torch: stdlib only" in problems
    assert "cnn_tui.session.run imports optuna" in problems


def test_a_planted_cycle_is_caught(tmp_path):
    root = _copy(tmp_path)
    _plant(root, "cnn_tui.spec.layers", "def _back():\n    from cnn_tui.spec import summary\n")
    problems = check(root)
    assert any(p.startswith("import cycle:") and "cnn_tui.spec.layers" in p for p in problems), problems
