"""ARCHITECTURE.md's dependency rule, checked on the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = {"strawberry", "starlette", "redis", "uvicorn", "typer", "rich", "httpx2", "graphql"}
FORBIDDEN: dict[str, set[str]] = {
    "loyalty": FRAMEWORKS | {"gateway", "schema", "resolvers", "webhooks", "partners"},
    "resolvers": {"gateway", "schema", "strawberry", "starlette", "redis", "webhooks", "partners"},
    "schema": {"gateway", "starlette", "redis", "webhooks", "partners"},
    "partners": {"gateway", "schema", "resolvers", "webhooks", "strawberry", "starlette"},
    "webhooks": {"gateway", "schema", "resolvers", "strawberry", "starlette"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_one_way(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}
