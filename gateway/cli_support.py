"""What the operator commands share: running a piece of work with the database open, turning a
domain error into a one-line message and exit status 1, the ``--operator`` option, and reading a
date and time from an operator's TOML file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from loyalty.errors import DomainError

T = TypeVar("T")
err_console = Console(stderr=True)

Operator = Annotated[str, typer.Option("--operator", help="Your name, for the audit log.")]


def run_or_exit(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` with the database open; a domain error prints its code and exits with status 1."""
    from gateway.cli import _settings, run_with_db  # gateway.cli imports the command modules

    try:
        return run_with_db(_settings(), work)
    except DomainError as exc:
        err_console.print(f"[red]{exc.code}:[/red] {exc.message}")
        raise typer.Exit(1) from exc


def aware_moment(value: Any, field: str) -> dt.datetime:
    """A TOML date and time as an aware datetime (UTC when the file gives no offset)."""
    if not isinstance(value, dt.datetime):
        raise DomainError(f"{field} is a date and time such as 2026-12-01T00:00:00Z", field=field)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
