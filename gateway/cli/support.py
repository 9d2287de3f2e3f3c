"""What the operator commands share: the settings (a configuration error is a one-line message and exit
status 2, a misspelt ``MILESGATE_*`` variable a warning), the database opened around a piece of work (in
production refused with exit status 2 while migrations are pending), a domain error turned into a one-line
message and exit status 1, the ``--operator`` option, and reading a date and time from an operator's TOML
file.

Every command module imports this one and nothing of its siblings; ``gateway/cli/__init__.py`` joins
the command modules into the ``milesgate`` app."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer._click.globals import get_current_context  # Typer vendors Click: the running command

from gateway.db import apply_migrations, close_database, open_database
from gateway.migration_ops import migration_state
from gateway.partner_secrets import partner_secret_box
from gateway.settings import ConfigurationError, Settings, load_settings, unknown_variables
from loyalty.errors import DomainError
from partners.signing import encrypt_plaintext_secrets

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error is one line, however long

_WARNED_KEY = "milesgate.unknown_variables_warned"

Operator = Annotated[str, typer.Option("--operator", help="Your name, for the audit log.")]


def cli_settings(*, warn: bool = True) -> Settings:
    """The settings from the environment; a configuration error prints itself and exits with status 2.

    ``MILESGATE_*`` variables that no setting reads get one warning line on stderr (with ``warn``; the
    long-running processes log it instead, see ``gateway.logs.log_unknown_variables``), and always
    before a configuration error, which a misspelt variable may well explain."""
    unknown = unknown_variables(os.environ)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        _warn_unknown(unknown)
        err_console.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if warn:
        _warn_unknown(unknown)
    return settings


def _warn_unknown(unknown: list[str]) -> None:
    """Once per command run, however often the command reads the settings."""
    context = get_current_context(silent=True)
    meta = context.find_root().meta if context is not None else {}
    if unknown and not meta.get(_WARNED_KEY):
        meta[_WARNED_KEY] = True
        err_console.print(
            f"[yellow]warning:[/yellow] unknown MILESGATE_ variables, ignored: {escape(', '.join(unknown))}",
            highlight=False,
        )


async def check_migrated(settings: Settings) -> None:
    """In production, where nothing migrates by itself: exit with status 2 and one line while the database
    lacks a migration of the code's (the ORM must be open)."""
    if not settings.is_production:
        return
    state = await migration_state(settings)
    if state.behind:
        err_console.print(f"[red]{escape(state.describe())}[/red]", highlight=False)
        raise typer.Exit(2)


def require_migrated(settings: Settings) -> None:
    """``check_migrated`` on its own connection, for a command that opens the database later (``serve``)."""
    if not settings.is_production:
        return

    async def _check() -> None:
        await open_database(settings)
        try:
            await check_migrated(settings)
        finally:
            await close_database()

    asyncio.run(_check())


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[None]:
    """Open the ORM; in development bring the schema up to date first, as ``serve`` does, and in production
    refuse to go on while migrations are pending.

    Partner signing secrets left in plain text (from before encryption at rest) are encrypted here.
    """
    if not settings.is_production:
        await apply_migrations(settings)
    await open_database(settings)
    try:
        await check_migrated(settings)
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
        err_console.print(f"[red]{exc.code}:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from exc


def aware_moment(value: Any, field: str) -> dt.datetime:
    """A TOML date and time as an aware datetime (UTC when the file gives no offset)."""
    if not isinstance(value, dt.datetime):
        raise DomainError(
            f"{field} is a date and time such as 2026-12-01T00:00:00Z", field=field, code="DATE_TIME_INVALID"
        )
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def read_toml(path: Path) -> dict[str, Any]:
    """An operator's TOML file; one that does not parse prints ``FILE_INVALID: ...`` and exits with status 1."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        err_console.print(
            f"[red]FILE_INVALID:[/red] {escape(str(path))} is not valid TOML: {escape(str(exc))}"
        )
        raise typer.Exit(1) from exc
