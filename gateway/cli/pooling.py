"""``milesgate pools combine``: the periodic run that marks accepted pool members COMBINED on their day;
``milesgate pools expire-invitations``: the one that marks invitations nobody answered in time EXPIRED.

Wired into the main CLI in ``gateway/cli/__init__.py`` with ``app.add_typer(pools_app, name="pools")``. Pool
changes and pooled redemptions combine due members of their own pool anyway, and the pool balance counts
a member from the combining day on whether or not this ran; the run writes the ``pool.changed`` events
of pools nobody touched.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console

from gateway.cli.support import cli_settings, run_with_db
from loyalty.pooling.service import combine_due, expire_invitations_due
from loyalty.rules import current_rules

pools_app = typer.Typer(help="Mileage pools.", no_args_is_help=True)
console = Console()


@pools_app.command("combine")
def combine_command(
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="Combine members due by this day (default: today, UTC)."
        ),
    ] = None,
) -> None:
    """Combine the miles of members whose combining day has come (idempotent)."""
    day = as_of.date() if as_of is not None else dt.datetime.now(dt.UTC).date()
    combined = run_with_db(cli_settings(), lambda: combine_due(today=day))
    console.print(f"combined {combined} pool members due by {day.isoformat()}")


@pools_app.command("expire-invitations")
def expire_invitations_command() -> None:
    """Mark pool invitations nobody answered in time EXPIRED and settle their pools (idempotent)."""
    now = dt.datetime.now(dt.UTC)
    rules = current_rules().pooling
    expired = run_with_db(cli_settings(), lambda: expire_invitations_due(now=now, rules=rules))
    console.print(f"expired {expired} pool invitations older than {rules.invitation_valid_days} days")
