"""ARCHITECTURE.md's rooms of ``gateway/``, checked on the import statements of every module: which room
may import which, only the engine touches library internals, no import cycle and no import hidden inside
a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "schema", "resolvers", "loyalty", "webhooks", "partners")
ROOMS: dict[str, set[str]] = {
    "gateway.cli": {"gateway.http", "gateway.graphql.view", "gateway.app"},
    "gateway.http": {"gateway.cli", "gateway.graphql", "gateway.workers", "gateway.app"},
    "gateway.graphql": {"gateway.cli", "gateway.http", "gateway.workers", "gateway.app"},
    "gateway.workers": {"gateway.cli", "gateway.http", "gateway.graphql", "gateway.app"},
}
"""Room → the modules it must not import (a name covers its submodules)."""
INTERNALS = (
    "strawberry.schema.schema",
    "strawberry.schema.schema_converter",
    "graphql.execution.collect_fields",
)
"""Library modules only ``gateway/graphql/engine/`` imports."""


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}


def _imported(path: Path) -> set[str]:
    """Every name a module imports at its top level (``from a import b`` gives ``a`` and ``a.b``)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _own(name: str) -> str | None:
    """The project module a name is, or is in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_rooms_import_one_way(room: str) -> None:
    offenders = {
        module: sorted(name for name in _imported(path) for banned in ROOMS[room] if _within(name, banned))
        for module, path in MODULES.items()
        if _within(module, room)
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_command_modules_import_only_the_support_module_of_the_cli() -> None:
    allowed = {"gateway.cli.support", "gateway.cli.demo"}
    offenders = {
        module: sorted(
            name
            for name in _imported(path)
            if _within(name, "gateway.cli") and _own(name) not in allowed and name not in allowed
        )
        for module, path in MODULES.items()
        if _within(module, "gateway.cli") and module not in ("gateway.cli", "gateway.cli.__main__")
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_only_the_engine_touches_library_internals() -> None:
    offenders = {
        module: sorted(name for name in _imported(path) for internal in INTERNALS if _within(name, internal))
        for module, path in MODULES.items()
        if not _within(module, "gateway.graphql.engine")
    }
    assert {module: names for module, names in offenders.items() if names} == {}
    private_reads = {
        module
        for module, path in MODULES.items()
        if _within(module, "gateway")
        and not _within(module, "gateway.graphql.engine")
        and any(
            isinstance(node, ast.Attribute) and node.attr in ("_schema", "_is_default", "_raw_info")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    }
    assert private_reads == set()


def test_no_import_cycle() -> None:
    graph = {
        module: {own for name in _imported(path) if (own := _own(name)) is not None and own != module}
        for module, path in MODULES.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph[module]):
            if state.get(imported) == 1:
                cycles.append([*trail[trail.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*trail, imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_import_inside_a_function_of_the_gateway() -> None:
    hidden = sorted(
        f"{module}:{node.lineno}"
        for module, path in MODULES.items()
        if _within(module, "gateway")
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    )
    assert hidden == []
