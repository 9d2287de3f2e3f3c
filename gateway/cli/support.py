"""What the operator commands share: the settings (a configuration error is a one-line message and exit
status 2), the database opened around a piece of work, a domain error turned into a one-line message and
exit status 1, the ``--operator`` option, and reading a date and time from an operator's TOML file.

Every command module imports this one and nothing of its siblings; ``gateway/cli/__init__.py`` joins
the command modules into the ``milesgate`` app."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from gateway.db import apply_migrations, close_database, open_database
from gateway.partner_secrets import partner_secret_box
from gateway.settings import ConfigurationError, Settings, load_settings
from loyalty.errors import DomainError
from partners.signing import encrypt_plaintext_secrets

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)

Operator = Annotated[str, typer.Option("--operator", help="Your name, for the audit log.")]


def cli_settings() -> Settings:
    """The settings from the environment; a configuration error prints itself and exits with status 2."""
    try:
        return load_settings()
    except ConfigurationError as exc:
        err_console.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[None]:
    """Open the ORM; in development bring the schema up to date first, as ``serve`` does.

    Partner signing secrets left in plain text (from before encryption at rest) are encrypted here.
    """
    if not settings.is_production:
        await apply_migrations(settings)
    await open_database(settings)
    try:
        await encrypt_plaintext_secrets(partner_secret_box(settings))
        yield
    finally:
        await close_database()


def run_with_db(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` in a fresh event loop with the database open."""

    async def _run() -> T:
        async with database(settings):
            return await work()

    return asyncio.run(_run())


def run_or_exit(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` with the database open; a domain error prints its code and exits with status 1."""
    try:
        return run_with_db(cli_settings(), work)
    except DomainError as exc:
        err_console.print(f"[red]{exc.code}:[/red] {exc.message}")
        raise typer.Exit(1) from exc


def aware_moment(value: Any, field: str) -> dt.datetime:
    """A TOML date and time as an aware datetime (UTC when the file gives no offset)."""
    if not isinstance(value, dt.datetime):
        raise DomainError(f"{field} is a date and time such as 2026-12-01T00:00:00Z", field=field)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
