"""The ``milesgate`` command line for operators: serve, worker, migrate, partners, demo."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, TypeVar

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape

from gateway.backends import open_backends
from gateway.cli_cases import cases_app
from gateway.cli_engagement import quiz_app
from gateway.cli_hub import endpoints_app, inbox_app
from gateway.cli_ledger import expire_command, ledger_app, warn_expiring_command
from gateway.cli_offers import offers_app
from gateway.cli_partners import operators_app, partners_app
from gateway.cli_persisted import persisted_queries_app
from gateway.cli_pooling import pools_app
from gateway.cli_privacy import notices_app, privacy_app
from gateway.cli_retro_credit import retro_credit_app
from gateway.cli_schema import schema_app
from gateway.cli_status import status_app
from gateway.db import apply_migrations, close_database, open_database
from gateway.event_relay import run_event_relay
from gateway.logs import configure_logging
from gateway.notifications import FileSink, run_notification_sender
from gateway.partner_hub import inbox_worker_options, run_outbound_sender
from gateway.partner_secrets import partner_secret_box
from gateway.settings import ConfigurationError, Settings, load_settings
from loyalty.rules import current_rules
from partners.signing import encrypt_plaintext_secrets
from webhooks.worker import InboxWorker

app = typer.Typer(
    help="milesgate: the loyalty programme backend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(partners_app, name="partners")
app.add_typer(operators_app, name="operators")
app.add_typer(cases_app, name="cases")
app.add_typer(ledger_app, name="ledger")
app.add_typer(status_app, name="status")
app.add_typer(privacy_app, name="privacy")
app.add_typer(notices_app, name="notices")
app.add_typer(quiz_app, name="quiz")
app.add_typer(offers_app, name="offers")
app.command("expire")(expire_command)
app.command("warn-expiring")(warn_expiring_command)
app.add_typer(pools_app, name="pools")
app.add_typer(endpoints_app, name="endpoints")
app.add_typer(inbox_app, name="inbox")
app.add_typer(retro_credit_app, name="retro-credit")
app.add_typer(persisted_queries_app, name="persisted-queries")
app.add_typer(schema_app, name="schema")
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def _settings() -> Settings:
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
    async def _run() -> T:
        async with database(settings):
            return await work()

    return asyncio.run(_run())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (MILESGATE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (MILESGATE_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes (production).")] = 1,
) -> None:
    """Run the gateway. Embedded (no Redis configured): the webhook worker runs in the same process."""
    settings = _settings()
    configure_logging(settings.log_level)
    if workers > 1 and settings.embedded:
        err_console.print(
            "[red]--workers > 1 needs MILESGATE_REDIS_URL (the in-process queue is per process)[/red]"
        )
        raise typer.Exit(2)
    bind_host = host or settings.host
    bind_port = port or settings.port
    if not settings.is_production:
        console.print(f"GraphiQL: http://{bind_host}:{bind_port}/graphql", style="bold green")
    uvicorn.run(
        "gateway.app:create_served_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )


@app.command()
def worker(
    name: Annotated[str | None, typer.Option(help="Consumer name (default: host and process id).")] = None,
) -> None:
    """Run a webhook inbox worker, the notification sender, the domain-event relay and the outbound
    webhook sender (needs
    MILESGATE_REDIS_URL). Stops on SIGTERM."""
    settings = _settings()
    configure_logging(settings.log_level)
    if settings.embedded:
        err_console.print(
            "[red]a separate worker needs MILESGATE_REDIS_URL; `serve` runs one in-process[/red]"
        )
        raise typer.Exit(2)
    consumer = name or f"{socket.gethostname()}-{os.getpid()}"

    async def _run() -> None:
        backends = await open_backends(settings.redis_url, prefix=settings.redis_prefix)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            async with database(settings):
                inbox = InboxWorker(
                    queue=backends.ports.queue,
                    rules=current_rules(),
                    consumer=consumer,
                    **inbox_worker_options(settings),
                )
                # The development sink stands in for the SMTP/push sender a deployment plugs in here.
                await asyncio.gather(
                    inbox.run(stop=stop),
                    run_notification_sender(FileSink(settings.data_dir), stop),
                    run_event_relay(backends.ports.pubsub, stop),
                    run_outbound_sender(
                        settings, partner_secret_box(settings), backends.ports.rate_limiter, stop
                    ),
                )
        finally:
            await backends.close()

    asyncio.run(_run())


@app.command()
def migrate() -> None:
    """Apply the database migrations that have not been applied yet."""
    settings = _settings()

    def progress(event: str, app_label: str, name: str) -> None:
        if event.endswith("done"):
            console.print(f"  applied {app_label}.{name}")

    async def _run() -> int:
        await apply_migrations(settings, progress=progress)
        await open_database(settings)
        try:
            return await encrypt_plaintext_secrets(partner_secret_box(settings))
        finally:
            await close_database()

    encrypted = asyncio.run(_run())
    if encrypted:
        console.print(f"  encrypted {encrypted} partner signing secret(s) stored in plain text")
    console.print("migrations up to date", style="green")


@app.command()
def demo(
    members: Annotated[int, typer.Option(min=1, max=100_000, help="How many sample members.")] = 50,
    seed: Annotated[int, typer.Option(help="Random seed, for the same sample every time.")] = 7,
) -> None:
    """Fill a development database with sample members, partners and accruals (progress bar)."""
    from gateway.demo import fill_demo

    settings = _settings()
    if settings.is_production:
        err_console.print("[red]demo data is for development databases only[/red]")
        raise typer.Exit(2)

    async def _run() -> None:
        async with database(settings):
            summary = await fill_demo(
                members=members, seed=seed, console=console, box=partner_secret_box(settings)
            )
        console.print(summary)

    asyncio.run(_run())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
