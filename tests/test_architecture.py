"""The import contract: the layers of `grader/` import only downwards, each assignment stays in
its own folder, and the code that runs inside the sandbox imports nothing of the grader.

    faces -> engine -> sandbox        (and everything may use model/ and errors.py)
    assignments/NAME -> engine, model, errors
    sandbox/worker.py -> sandbox/protocol.py only; protocol.py -> the standard library only
    assignments/NAME/worker_tasks.py -> nothing of the grader
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "grader"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every grader module `path` imports (absolute names), at any depth of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "grader"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "grader":
                continue
            for alias in node.names:  # `from . import oracle` imports a module, not a name
                candidate = "%s.%s" % (module, alias.name)
                found.add(candidate if _is_module(candidate) else module)
    return found


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if parts[1] == "__main__":
        return "main"
    if parts[1] == "assignments" and len(parts) > 2:
        return "assignments." + parts[2]
    return parts[1].removesuffix(".py")


ALLOWED = {
    "faces": {"faces", "engine", "sandbox", "model", "errors", "root"},
    "engine": {"engine", "sandbox", "model", "errors", "root"},
    "sandbox": {"sandbox", "model", "errors"},
    "model": {"model"},
    "errors": set(),
    "root": {"errors"},
    "main": {"faces"},
    "assignments": {"engine", "model", "errors"},
}


def _graph() -> dict[str, set[str]]:
    return {_module_name(path): _imports(path) for path in PACKAGE.rglob("*.py")}


def test_the_tree_shows_the_layers() -> None:
    for folder in ("faces", "faces/formats", "engine", "sandbox", "model", "assignments", "assignments/hw1"):
        assert (PACKAGE / folder / "__init__.py").is_file(), folder
    assert (PACKAGE / "errors.py").is_file()


def test_layers_import_only_downwards() -> None:
    wrong = []
    for module, imported in _graph().items():
        layer = _layer(module)
        for target in imported:
            other = _layer(target)
            if layer.startswith("assignments."):
                ok = other == layer or other in {"engine", "model", "errors"}
            else:
                ok = other in ALLOWED[layer]
            if not ok:
                wrong.append("%s imports %s" % (module, target))
    assert not wrong, "\n".join(sorted(wrong))


def test_the_contract_catches_an_upward_import(tmp_path: Path) -> None:
    """The rules above can fail: an engine module importing a face is reported."""
    assert _layer("grader.engine.grading") == "engine" and "faces" not in ALLOWED["engine"]
    assert _layer("grader.assignments.hw1.mlp_checks") == "assignments.hw1"


def test_code_that_runs_in_the_sandbox_imports_nothing_of_the_grader() -> None:
    graph = _graph()
    assert graph["grader.sandbox.worker"] == {"grader.sandbox.protocol"}
    assert graph["grader.sandbox.protocol"] == set()
    for tasks in PACKAGE.glob("assignments/*/worker_tasks.py"):
        assert graph[_module_name(tasks)] == set(), tasks


def test_no_import_cycles_between_layers() -> None:
    edges = {(_layer(m), _layer(t)) for m, targets in _graph().items() for t in targets if _layer(m) != _layer(t)}
    assert not {(a, b) for a, b in edges if (b, a) in edges}


@pytest.mark.slow
@pytest.mark.parametrize("module", ["grader.faces.pytest_plugin", "grader.faces.cli", "grader"])
def test_faces_import_nothing_heavy_and_change_nothing(module: str, tmp_path: Path) -> None:
    """Importing the CLI or the pytest plugin loads no torch, numpy or Hypothesis, writes no file
    and leaves Hypothesis's settings alone (a student's own tests may use it)."""
    code = (
        "import json, sys, os\n"
        "before = set(os.listdir('.'))\n"
        "import %s\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'hypothesis') if m in sys.modules)\n"
        "print(json.dumps({'heavy': heavy, 'new_files': sorted(set(os.listdir('.')) - before)}))\n" % module)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found == {"heavy": [], "new_files": []}


def test_grading_leaves_hypothesis_home_as_it_was(tmp_path: Path) -> None:
    """The grader points Hypothesis at its own cache folder only while a check runs."""
    from hypothesis import configuration

    from grader.engine.runner import private_hypothesis_home

    configuration.set_hypothesis_home_dir(tmp_path / "mine")
    try:
        with private_hypothesis_home():
            inside = configuration.storage_directory("x", intent_to_write=False).home_directory
        after = configuration.storage_directory("x", intent_to_write=False).home_directory
    finally:
        configuration.set_hypothesis_home_dir(None)
    assert inside != tmp_path / "mine"
    assert after == tmp_path / "mine"
