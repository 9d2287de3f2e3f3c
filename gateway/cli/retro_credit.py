"""``milesgate retro-credit sweep --as-of``: decide the retro-credit requests still open.

Wired into the main CLI in ``gateway/cli/__init__.py`` with ``app.add_typer(retro_credit_app, name="retro-credit")``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from gateway.cli.support import run_or_exit
from loyalty.retro_credit.sweep import SweepReport, count_open, sweep_open_requests
from loyalty.rules import current_rules
from partners.charts import current_earning_chart

retro_credit_app = typer.Typer(help="Retroactive credit of flights.", no_args_is_help=True)
console = Console()


@retro_credit_app.command("sweep")
def sweep_command(
    as_of: Annotated[
        dt.datetime,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Decide the open requests as of this day."),
    ],
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Requests per page.")] = 200,
) -> None:
    """Decide every open request again: credit those whose flown data arrived, reject those that waited
    partner_data_wait_days (rules.toml) without it (TICKET_NOT_FOUND). Idempotent: decided requests stay decided."""
    day = as_of.date()
    rules = current_rules()
    chart = current_earning_chart()

    async def work() -> SweepReport:
        with Progress(console=console) as progress:
            task = progress.add_task(
                f"deciding open requests as of {day.isoformat()}", total=await count_open()
            )
            return await sweep_open_requests(
                as_of=day, rules=rules, chart=chart, batch=batch, progress=lambda n: progress.advance(task, n)
            )

    report = run_or_exit(work)
    console.print(
        f"looked at {report.looked_at} open requests: {report.accepted} accepted, {report.rejected} rejected, "
        f"{report.still_pending} still waiting for flown data"
    )
