"""``milesgate status expire`` and ``milesgate status show``: the operators' status jobs and look-ups.

Wired into the main CLI in ``gateway/cli/__init__.py`` with ``app.add_typer(status_app, name="status")``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from gateway.cli.support import cli_settings, run_or_exit, run_with_db
from loyalty.errors import NotFound, ValidationFailed
from loyalty.identifiers import validate_account_number
from loyalty.members.models import Member
from loyalty.rules import current_rules
from loyalty.status import engine
from loyalty.status.engine import StatusExpiryReport
from loyalty.status.progress import StatusProgress, status_progress
from loyalty.status_stars.service import ImportReport, import_status_stars, read_records

status_app = typer.Typer(
    help="Status tiers: the daily expiry run, a member's status and the Status Stars import.",
    no_args_is_help=True,
)
console = Console()


@status_app.command("expire")
def expire_command(
    as_of: Annotated[
        dt.datetime,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Handle statuses that ended before this day."),
    ],
) -> None:
    """Downgrade (one tier, for a year) or end every status not renewed in time; idempotent."""
    day = as_of.date()
    rules = current_rules()

    async def work() -> StatusExpiryReport:
        with Progress(console=console) as progress:
            task = progress.add_task(
                f"statuses ended before {day.isoformat()}", total=await engine.count_expired(as_of=day)
            )
            return await engine.expire_statuses(
                as_of=day, rules=rules, progress=lambda n: progress.advance(task, n)
            )

    report = run_with_db(cli_settings(), work)
    console.print(f"{report.downgraded} statuses downgraded one tier, {report.expired} back to base")


@status_app.command("show")
def show_command(
    account_number: Annotated[str, typer.Argument(help="The member's 9-digit account number.")],
) -> None:
    """A member's status, this year's counters and what is missing for the next tier."""

    rules = current_rules()

    async def work() -> StatusProgress:
        number = validate_account_number(account_number, rules.identifiers)
        member = await Member.get_or_none(account_number=number)
        if member is None:
            raise NotFound(f"No member has account number {number}.", code="MEMBER_NOT_FOUND")
        return await status_progress(account_id=member.id, today=dt.datetime.now(dt.UTC).date(), rules=rules)

    view = run_or_exit(work)
    table = Table("", "value", title=f"status of {account_number}")
    table.add_row("tier", view.tier.value)
    table.add_row("valid until", view.valid_until.isoformat() if view.valid_until else "-")
    table.add_row("lifetime tier", view.lifetime_tier.value if view.lifetime_tier else "-")
    for currency, amount in view.counters.items():
        table.add_row(f"{currency.value} {view.year}", str(amount))
    table.add_row("lifetime QP", str(view.lifetime_qualifying_points))
    for label, target in (("next", view.next_tier), ("keep", view.keep_tier)):
        if target is not None:
            lacking = ", ".join(f"{c.value} {n}" for c, n in target.missing.items() if n) or "reached"
            table.add_row(f"{label}: {target.tier.value}", lacking)
    console.print(table)


@status_app.command("import-stars")
def import_stars_command(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="CSV with the header account_number,status_star_points,stars."
        ),
    ],
    operator: Annotated[str, typer.Option("--operator", help="Who runs the import (recorded per member).")],
) -> None:
    """Convert the old programme's Status Stars: 1 point = 2 lifetime QP; 3 stars FTL, 4-5 Senator for life.

    The whole file is checked first (nothing is written when a line is wrong); running it again changes
    nothing.
    """
    rules = current_rules()

    async def work() -> ImportReport:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(f"{file} is not UTF-8 text.", field="file", code="FILE_INVALID") from None
        records = read_records(text, rules)
        return await import_status_stars(
            records, operator=operator, today=dt.datetime.now(dt.UTC).date(), rules=rules
        )

    report = run_or_exit(work)
    console.print(
        f"{report.imported} members imported, {report.unchanged} imported before (unchanged), "
        f"{report.lifetime_granted} lifetime statuses given by stars"
    )
