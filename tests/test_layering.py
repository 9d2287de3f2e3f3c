"""ARCHITECTURE.md's dependency rules, checked as import contracts.

The contracts live in ``[tool.importlinter]`` of ``pyproject.toml``: the direction of the layers, the two wings
(GraphQL and webhooks) meeting only in ``gateway``, the framework-free ``loyalty`` and ``resolvers``, and no cycle
between the subpackages (or modules) of any one package (``acyclic_siblings``). On
the same import graph (grimp's), no module may reach itself again: no import cycle between any two modules.
grimp counts imports inside functions too, so a cycle cannot hide behind one; another test keeps such imports
out of the code altogether, outside the command line, which loads a command's heavy packages only when that
command runs.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "schema", "resolvers", "loyalty", "webhooks", "partners")
# Where an import inside a function is allowed: the CLI's commands import what they run when they run.
LAZY_IMPORTS_ALLOWED = ("gateway/cli/",)


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--config", "pyproject.toml", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_no_module_imports_itself_back() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")


def _function_local_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    found += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name}" for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}")
    return found


def test_no_import_hides_inside_a_function() -> None:
    offenders = [
        hit
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if not path.relative_to(ROOT).as_posix().startswith(LAZY_IMPORTS_ALLOWED)
        for hit in _function_local_imports(path)
    ]
    assert offenders == []


def test_the_contracts_catch_a_layer_pointing_back(tmp_path: Path) -> None:
    """The same kind of contract breaks on a tree where the lower layer imports the upper one."""
    for name in ("upper", "lower"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "upper" / "api.py").write_text("import lower.core\n", encoding="utf-8")
    (tmp_path / "lower" / "core.py").write_text("import upper.api\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.importlinter]\nroot_packages = ["upper", "lower"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "one way"\ntype = "layers"\nlayers = ["upper", "lower"]\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", "pyproject.toml", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": str(Path(sys.executable).parent)},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "lower.core -> upper.api" in result.stdout
