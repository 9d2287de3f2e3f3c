"""Tortoise turns a model's docstring into an SQL table comment, and SQLite breaks on some characters in
it: every model's first docstring paragraph must be free of them."""

from __future__ import annotations

import importlib
import inspect

import pytest
from tortoise.models import Model

from gateway.db import MODEL_MODULES

FORBIDDEN = (";", "`")


def _models() -> list[type[Model]]:
    found: list[type[Model]] = []
    for name in MODEL_MODULES:
        module = importlib.import_module(name)
        found.extend(
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, Model)
            and value is not Model
            and value.__module__ == name
        )
    return found


@pytest.mark.parametrize("model", _models(), ids=lambda model: model.__name__)
def test_table_comment_is_safe(model: type[Model]) -> None:
    first = (inspect.getdoc(model) or "").split("\n\n")[0]
    assert not any(bad in first for bad in FORBIDDEN), f"{model.__name__}: {first!r}"
