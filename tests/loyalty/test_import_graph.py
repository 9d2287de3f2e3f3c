"""ARCHITECTURE.md: no import cycle between the modules of ``loyalty/`` and no import inside a function to
hide one; the crediting module sits above the ledger and the status engine, never below them."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = "loyalty"


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module of ``loyalty`` an imported name lives in (None: outside the package)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if MODULES[module].name != "__init__.py":
            package.pop()
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    for alias in node.names:
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def _edges() -> tuple[dict[str, set[str]], list[str]]:
    """Every module's imports inside the package, and the imports made inside a function."""
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    local: list[str] = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_functions = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, module):
                owner = _owner(target)
                if owner is None or owner == module:
                    continue
                edges[module].add(owner)
                if id(node) in in_functions:
                    local.append(f"{module}:{node.lineno} imports {owner}")
    return edges, local


def _reaches(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in edges[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_no_module_of_loyalty_imports_inside_a_function() -> None:
    _, local = _edges()
    assert local == []


def test_no_import_cycle_between_the_modules_of_loyalty() -> None:
    edges, _ = _edges()
    cyclic = sorted(module for module in MODULES if module in _reaches(edges, module))
    assert cyclic == []


def test_the_ledger_knows_nothing_of_status_or_crediting() -> None:
    edges, _ = _edges()
    below = {module for module in MODULES if module.startswith("loyalty.ledger.")}
    above = {"loyalty.crediting", "loyalty.status.engine"}
    assert {module: sorted(_reaches(edges, module) & above) for module in below} == {
        module: [] for module in below
    }
    assert {"loyalty.ledger.service", "loyalty.status.engine"} <= edges["loyalty.crediting"]
