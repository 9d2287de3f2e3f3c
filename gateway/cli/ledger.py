"""``milesgate ledger verify`` and ``milesgate expire``: the operators' checks and runs on the ledger.

Wired into the main CLI in ``gateway/cli/__init__.py`` with ``app.add_typer(ledger_app, name="ledger")`` and
``app.command("expire")(expire_command)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from gateway.cli.support import cli_settings, run_with_db
from loyalty.ledger.expiry import ExpiryReport, count_due, expire_due
from loyalty.ledger.verify import VerifyReport, member_count, verify_ledger
from loyalty.notifications.events import warn_expiring, warning_quarter_end
from loyalty.rules import current_rules

ledger_app = typer.Typer(help="Check the mileage ledger.", no_args_is_help=True)
console = Console()


@ledger_app.command("verify")
def verify_command(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Members per page.")] = 500,
) -> None:
    """Recompute every balance from its entries, check lots and the per-currency zero sum (exit 1 on drift)."""

    async def work() -> VerifyReport:
        with Progress(console=console) as progress:
            task = progress.add_task("verifying members", total=await member_count())
            return await verify_ledger(batch=batch, progress=lambda n: progress.advance(task, n))

    report = run_with_db(cli_settings(), work)
    if report.clean:
        console.print(
            f"ledger clean: {report.members} members, every balance equals its entries", style="green"
        )
        return
    console.print(_drift_table(report))
    console.print(f"[red]{len(report.drifts)} drift rows[/red] over {report.members} members")
    raise typer.Exit(1)


def _drift_table(report: VerifyReport) -> Table:
    table = Table("check", "account", "posting", "currency", "from entries", "stored", title="ledger drift")
    for drift in report.drifts:
        table.add_row(
            drift.check,
            "" if drift.account_id is None else str(drift.account_id),
            "" if drift.posting_id is None else str(drift.posting_id),
            drift.currency,
            str(drift.expected),
            str(drift.found),
        )
    return table


def expire_command(
    as_of: Annotated[
        dt.datetime, typer.Option("--as-of", formats=["%Y-%m-%d"], help="Expire lots due before this day.")
    ],
) -> None:
    """Expire the award miles that are due (idempotent: a second run expires nothing more)."""
    day = as_of.date()
    rules = current_rules()

    async def work() -> ExpiryReport:
        with Progress(console=console) as progress:
            task = progress.add_task(
                f"expiring lots due before {day.isoformat()}", total=await count_due(as_of=day)
            )
            return await expire_due(
                as_of=day,
                rules=rules,
                batch=rules.expiry.job_batch_size,
                progress=lambda n: progress.advance(task, n),
            )

    report = run_with_db(cli_settings(), work)
    console.print(
        f"expired {report.miles_expired} miles in {report.lots_expired} lots of {report.members} members "
        f"({report.lots_protected} protected lots kept)"
    )


def warn_expiring_command(
    as_of: Annotated[
        dt.datetime, typer.Option("--as-of", formats=["%Y-%m-%d"], help="The day the warning goes out.")
    ],
) -> None:
    """Warn members whose miles expire at the coming quarter end (the newsletter's notice, DOMAIN.md 5):
    from warning_months (rules.toml) before it, once per member and quarter, by the channels they consented to."""
    day = as_of.date()
    rules = current_rules()
    end = warning_quarter_end(day, rules.expiry.warning_months)
    if end is None:
        console.print(
            f"nothing to do: {day.isoformat()} is more than {rules.expiry.warning_months} months before "
            "the quarter end"
        )
        return

    async def work() -> int:
        with console.status(f"warning about miles expiring on {end.isoformat()}"):
            return await warn_expiring(as_of=day, warning_months=rules.expiry.warning_months)

    sent = run_with_db(cli_settings(), work)
    console.print(f"{sent} expiry warnings queued for {end.isoformat()}")
