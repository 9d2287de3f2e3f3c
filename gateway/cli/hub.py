"""``milesgate endpoints`` (partners' outbound endpoints, deliveries, replay) and ``milesgate inbox``
(unmatched accruals, dead letters, re-processing), plus the operational events operators must act on."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gateway.backends import open_backends
from gateway.cli.support import cli_settings, run_or_exit
from gateway.partner_hub import delivery_policy, inbox_worker_options
from gateway.partner_secrets import partner_secret_box
from loyalty.rules import current_rules
from webhooks.models import InboxState, PartnerInbox
from webhooks.outbound import service
from webhooks.outbound.models import DeliveryAttempt, DeliveryState, OutboundDelivery
from webhooks.worker import InboxWorker, inbox_rows, reprocess

endpoints_app = typer.Typer(
    help="Partners' endpoints for our events: add, list, replay.", no_args_is_help=True
)
inbox_app = typer.Typer(
    help="Partner deliveries: unmatched accruals, dead letters, re-processing.", no_args_is_help=True
)
console = Console()


def _when(value: dt.datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _since(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("a date or date-time such as 2026-11-20T08:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@endpoints_app.command("add")
def endpoints_add(
    partner: Annotated[str, typer.Argument(help="The partner's code.")],
    url: Annotated[str, typer.Argument(help="https URL on a host in MILESGATE_OUTBOUND_ALLOWED_HOSTS.")],
    event_type: Annotated[
        list[str],
        typer.Option(
            "--event", help=f"Event type to send (repeat): {', '.join(service.OUTBOUND_EVENT_TYPES)}."
        ),
    ],
    description: Annotated[str, typer.Option(help="A note for operators.")] = "",
    rate_limit: Annotated[
        int | None, typer.Option(help="Requests per second at most (default: the global one).")
    ] = None,
) -> None:
    """Register an endpoint; prints its signing secret once (the partner verifies our signatures with it)."""
    settings = cli_settings()

    async def work() -> service.NewEndpoint:
        return await service.create_endpoint(
            partner_code=partner,
            url=url,
            event_types=event_type,
            box=partner_secret_box(settings),
            policy=delivery_policy(settings),
            description=description,
            rate_limit_per_s=rate_limit,
        )

    created = run_or_exit(work)
    console.print(f"endpoint [bold]{created.endpoint.id}[/bold] for {escape(partner)}: {escape(url)}")
    console.print("signing secret (shown once, keep it safe):")
    print(created.secret)


@endpoints_app.command("list")
def endpoints_list(partner: Annotated[str | None, typer.Option(help="Only this partner's.")] = None) -> None:
    """Every endpoint with its state and what it subscribed to."""
    rows = run_or_exit(lambda: service.list_endpoints(partner))
    table = Table("id", "partner", "url", "events", "state", "failing since")
    for row in rows:
        state = row.state.value + (f" ({row.disabled_reason})" if row.disabled_reason else "")
        table.add_row(
            str(row.id),
            row.partner.code,
            escape(row.url),
            ", ".join(row.event_types),
            escape(state),
            _when(row.failing_since),
        )
    console.print(table)


@endpoints_app.command("enable")
def endpoints_enable(endpoint_id: int) -> None:
    """Enable an endpoint again (its failure run starts afresh)."""
    run_or_exit(lambda: service.set_endpoint_enabled(endpoint_id, enabled=True, now=dt.datetime.now(dt.UTC)))
    console.print(f"endpoint {endpoint_id} enabled")


@endpoints_app.command("disable")
def endpoints_disable(endpoint_id: int, reason: str = "by an operator") -> None:
    """Stop sending to an endpoint; its pending deliveries wait until it is enabled."""
    run_or_exit(
        lambda: service.set_endpoint_enabled(
            endpoint_id, enabled=False, reason=reason, now=dt.datetime.now(dt.UTC)
        )
    )
    console.print(f"endpoint {endpoint_id} disabled")


@endpoints_app.command("deliveries")
def endpoints_deliveries(
    endpoint_id: Annotated[int | None, typer.Option("--endpoint", help="Only this endpoint's.")] = None,
    state: Annotated[
        DeliveryState | None, typer.Option(help="Only deliveries in this state (failed: dead letters).")
    ] = None,
    limit: int = 50,
    attempts: Annotated[bool, typer.Option(help="Show every attempt of each delivery.")] = False,
) -> None:
    """Deliveries newest first, with their last answer (and every attempt with --attempts)."""

    async def work() -> list[tuple[OutboundDelivery, list[DeliveryAttempt]]]:
        if endpoint_id is not None:
            await service.get_endpoint(endpoint_id)  # ENDPOINT_NOT_FOUND rather than an empty table
        rows = await service.deliveries(endpoint_id=endpoint_id, state=state, limit=limit)
        tried = await service.attempts_of([row.id for row in rows]) if attempts else {}
        return [(row, tried.get(row.id, [])) for row in rows]

    table = Table("delivery", "message", "type", "endpoint", "state", "attempts", "last", "next attempt")
    for row, tried in run_or_exit(work):
        last = str(row.last_status or "") or escape(row.last_error or "-")
        table.add_row(
            str(row.id),
            row.message.webhook_id,
            row.message.event_type,
            str(row.endpoint_id),
            row.state.value,
            str(row.attempts),
            last,
            _when(row.next_attempt_at),
        )
        for attempt in tried:
            table.add_row(
                "",
                "",
                "",
                "",
                f"  {_when(attempt.attempted_at)}",
                "",
                str(attempt.status_code or escape(attempt.error or "")),
                f"{attempt.duration_ms} ms",
            )
    console.print(table)


@endpoints_app.command("replay")
def endpoints_replay(
    webhook_id: Annotated[str, typer.Argument(help="The message's webhook id (msg_...).")],
    endpoint_id: Annotated[int | None, typer.Option("--endpoint", help="Only to this endpoint.")] = None,
) -> None:
    """Send one message again, from the start of the retry schedule."""
    count = run_or_exit(
        lambda: service.replay_message(webhook_id, endpoint_id=endpoint_id, now=dt.datetime.now(dt.UTC))
    )
    console.print(f"{count} deliveries queued again")


@endpoints_app.command("replay-failed")
def endpoints_replay_failed(
    endpoint_id: int, since: Annotated[str, typer.Option(help="Messages from this time on (ISO 8601).")]
) -> None:
    """Send again every failed message of an endpoint since a time (after an outage on their side, say)."""
    count = run_or_exit(
        lambda: service.replay_failed(endpoint_id, since=_since(since), now=dt.datetime.now(dt.UTC))
    )
    console.print(f"{count} failed deliveries queued again")


@endpoints_app.command("events")
def endpoints_events(
    all_events: Annotated[bool, typer.Option("--all", help="Acknowledged ones too.")] = False,
) -> None:
    """Operational events to act on (an endpoint disabled after days of failures, say)."""
    table = Table("id", "when", "kind", "subject", "detail")
    for event in run_or_exit(lambda: service.operational_events(open_only=not all_events)):
        table.add_row(
            str(event.id),
            _when(event.occurred_at),
            event.kind,
            escape(event.subject),
            escape(str(event.detail)),
        )
    console.print(table)


def _inbox_table(rows: list[PartnerInbox]) -> Table:
    table = Table("inbox id", "partner", "type", "webhook id", "state", "code", "reason", "received")
    for row in rows:
        table.add_row(
            str(row.id),
            row.partner.code,
            row.event_type,
            escape(row.webhook_id),
            row.state.value,
            row.error_code or "-",
            escape(row.error_message or "-"),
            _when(row.received_at),
        )
    return table


@inbox_app.command("unmatched")
def inbox_unmatched(limit: int = 100) -> None:
    """Accruals parked because the member they name is not known (yet)."""
    console.print(_inbox_table(run_or_exit(lambda: inbox_rows(InboxState.UNMATCHED, limit=limit))))


@inbox_app.command("dead-letters")
def inbox_dead_letters(limit: int = 100) -> None:
    """Deliveries that failed (refused by the rules, or gave up after the configured attempts)."""
    console.print(_inbox_table(run_or_exit(lambda: inbox_rows(InboxState.FAILED, limit=limit))))


@inbox_app.command("reprocess")
def inbox_reprocess(
    inbox_id: Annotated[
        list[int] | None, typer.Argument(help="Rows to process again; none: every unmatched row.")
    ] = None,
) -> None:
    """Process parked or failed rows again (a member registered the card meanwhile, say). Exactly once
    holds: an accrual whose transaction was credited since posts nothing more."""
    settings = cli_settings()

    async def work() -> int:
        backends = await open_backends(
            settings.resolved_redis_url, cluster=settings.redis_cluster, prefix=settings.redis_prefix
        )
        try:
            count = await reprocess(
                inbox_id or None, backends.ports.queue, partitions=settings.inbox_partitions
            )
            if settings.embedded:
                # No worker outside `serve` in the embedded setup: apply them here, now.
                worker = InboxWorker(
                    queue=backends.ports.queue,
                    rules=current_rules(),
                    consumer="cli",
                    **inbox_worker_options(settings),
                )
                while await worker.run_once():
                    pass
            return count
        finally:
            await backends.close()

    console.print(f"{run_or_exit(work)} rows queued again")
