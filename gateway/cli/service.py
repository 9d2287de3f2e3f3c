"""``milesgate serve``, ``worker``, ``migrate`` and ``demo``: running the service and preparing its database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import Annotated

import typer
from prometheus_client import CollectorRegistry
from rich.markup import escape

from gateway.backends import open_backends
from gateway.cli.demo import fill_demo
from gateway.cli.support import cli_settings, console, database, err_console, require_migrated
from gateway.db import apply_migrations, close_database, open_database
from gateway.logs import configure_logging, log_start, log_unknown_variables, logging_config
from gateway.metrics import BacklogMetrics, multiprocess_directory
from gateway.partner_secrets import partner_secret_box
from gateway.paths import ADMIN_GRAPHIQL_PATH, GRAPHIQL_PATH
from gateway.processes import serve as serve_processes
from gateway.settings import Settings, unknown_variables
from gateway.workers.background import background_loops
from gateway.workers.metrics import (
    WorkerMetricsPortError,
    bind_worker_metrics,
    serve_worker_metrics,
    worker_metrics_app,
)
from loyalty.rules import current_rules
from partners.signing import encrypt_plaintext_secrets

log = logging.getLogger("milesgate")
APP = "gateway.app:create_served_app"


def _start_process(settings: Settings) -> None:
    """Set up the JSON logs of a long-running process and warn there about misspelt variables (its log,
    not the terminal, is what operators read of such a process)."""
    configure_logging(settings.log_level)
    log_unknown_variables(log, unknown_variables(os.environ))


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (MILESGATE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (MILESGATE_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes (production).")] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies whose X-Forwarded-For/-Proto are believed: IPs or networks, comma-separated, * any "
            "(MILESGATE_FORWARDED_ALLOW_IPS; default 127.0.0.1,::1)."
        ),
    ] = None,
) -> None:
    """Run the gateway. Embedded (no Redis configured): the webhook worker runs in the same process."""
    settings = cli_settings(warn=False)
    if workers > 1 and settings.embedded:
        err_console.print(
            "[red]--workers > 1 needs MILESGATE_REDIS_URL (the in-process queue is per process)[/red]"
        )
        raise typer.Exit(2)
    require_migrated(settings)
    _start_process(settings)
    bind_host = host or settings.host
    bind_port = port or settings.port
    log_start(
        log, "serve starting", settings, pid=os.getpid(), host=bind_host, port=bind_port, workers=workers
    )
    if not settings.is_production:
        console.print(
            f"GraphiQL: http://{bind_host}:{bind_port}{GRAPHIQL_PATH} (the API: POST /graphql; operators: "
            f"{ADMIN_GRAPHIQL_PATH}, POST /admin/graphql)",
            style="bold green",
            markup=False,
        )
    # Several processes: their metrics add up through files in one private directory, named before
    # uvicorn starts them (gateway/metrics.py).
    metrics_files = multiprocess_directory() if workers > 1 else contextlib.nullcontext()
    with metrics_files:
        # One socket per process where connections can be spread by the kernel (gateway/processes.py).
        try:
            status = serve_processes(
                APP,
                workers=workers,
                factory=True,
                host=bind_host,
                port=bind_port,
                # Applied by uvicorn in this process and again in each worker process it starts.
                log_config=logging_config(settings.log_level),
                access_log=False,
                proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips or settings.forwarded_allow_ips,
                server_header=False,
            )
        except OSError as exc:
            log.error("cannot listen", extra={"host": bind_host, "port": bind_port, "error": str(exc)})
            raise typer.Exit(1) from exc
        if status:
            raise typer.Exit(status)


def worker(
    name: Annotated[str | None, typer.Option(help="Consumer name (default: host and process id).")] = None,
) -> None:
    """Run a webhook inbox worker, the notification sender, the domain-event relay and the outbound
    webhook sender (needs
    MILESGATE_REDIS_URL). Stops on SIGTERM."""
    settings = cli_settings(warn=False)
    if settings.embedded:
        err_console.print(
            "[red]a separate worker needs MILESGATE_REDIS_URL; `serve` runs one in-process[/red]"
        )
        raise typer.Exit(2)
    require_migrated(settings)
    _start_process(settings)
    consumer = name or f"{socket.gethostname()}-{os.getpid()}"
    log_start(log, "worker starting", settings, pid=os.getpid(), consumer=consumer)
    metrics_socket = _worker_metrics_socket(settings)

    async def _run() -> None:
        backends = await open_backends(
            settings.resolved_redis_url,
            cluster=settings.redis_cluster,
            prefix=settings.redis_prefix,
            retry_s=settings.redis_retry_s,
        )
        await backends.reachable(where="at start")  # a warning if not; the loops wait for it
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        registry = CollectorRegistry()
        try:
            async with database(settings):
                log.info("worker started", extra={"pid": os.getpid(), "consumer": consumer})
                loops = background_loops(
                    settings,
                    backends.ports,
                    box=partner_secret_box(settings),
                    rules=current_rules(),
                    consumer=consumer,
                    backlog=BacklogMetrics(registry),
                )
                running = [loop(stop) for loop in loops.values()]
                if metrics_socket is not None:
                    app = worker_metrics_app(settings, registry, redis_ping=backends.ping)
                    running.append(serve_worker_metrics(app, metrics_socket, stop))
                await asyncio.gather(*running)
        finally:
            await backends.close()

    asyncio.run(_run())


def _worker_metrics_socket(settings: Settings) -> socket.socket | None:
    """The worker's metrics port, bound before anything starts. A port set by the operator that cannot be
    bound stops the worker; the default one taken (another worker on this machine) only leaves this
    worker without it, with a warning."""
    if settings.worker_metrics_port == 0:
        return None
    try:
        return bind_worker_metrics(settings)
    except WorkerMetricsPortError as exc:
        if {"worker_metrics_host", "worker_metrics_port"} & settings.model_fields_set:
            err_console.print(f"[red]WORKER_METRICS_PORT_UNAVAILABLE:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from exc
        log.warning("worker serves no metrics: %s", exc)
        return None


def migrate() -> None:
    """Apply the database migrations that have not been applied yet."""
    settings = cli_settings()

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


def demo(
    members: Annotated[int, typer.Option(min=1, max=100_000, help="How many sample members.")] = 50,
    seed: Annotated[int, typer.Option(help="Random seed, for the same sample every time.")] = 7,
) -> None:
    """Fill a development database with sample members, partners and accruals (progress bar).

    Prints a member to sign in as (service card number, e-mail, PIN: a status, a pool and a history) and
    the demo partner's code and signing secret. A second run adds nothing and says so."""
    settings = cli_settings()
    if settings.is_production:
        err_console.print("[red]demo data is for development databases only[/red]")
        raise typer.Exit(2)

    async def _run() -> None:
        async with database(settings):
            summary = await fill_demo(
                members=members, seed=seed, console=console, box=partner_secret_box(settings)
            )
        for line in summary.lines(seed):
            console.print(line, markup=False, highlight=False)

    asyncio.run(_run())
