"""``milesgate offers add|list``: partner offers, loaded from a TOML file of ``[[offers]]``.

Wired into the main CLI in ``gateway/cli/__init__.py`` with ``app.add_typer(offers_app, name="offers")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import track
from rich.table import Table
from tortoise.transactions import in_transaction

from gateway.cli.support import aware_moment, cli_settings, err_console, read_toml, run_with_db
from loyalty.errors import DomainError
from loyalty.offers.models import Offer, OfferKind
from loyalty.offers.service import add_offer

offers_app = typer.Typer(help="Partner offers to earn and to redeem miles.", no_args_is_help=True)
console = Console()


@offers_app.command("add")
def add_command(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="[[offers]] as TOML (examples/offers.toml)."),
    ],
) -> None:
    """Add every offer of the file, or none: one [[offers]] table each, with code, partner, kind (earn or
    redeem), title, starts_at and ends_at (TOML date-times), optional description, tiers, countries,
    languages, bonus_miles (an earn offer's, above 0) and priority. examples/offers.toml shows the format."""
    rows = read_toml(file).get("offers", [])

    async def work() -> int:
        async with in_transaction():  # all offers of the file or none
            for row in track(rows, description="adding offers", console=console):
                await add_offer(
                    code=str(row["code"]),
                    partner_code=str(row["partner"]),
                    kind=OfferKind(str(row["kind"]).upper()),
                    title=str(row["title"]),
                    description=str(row.get("description", "")),
                    starts_at=aware_moment(row.get("starts_at"), "starts_at"),
                    ends_at=aware_moment(row.get("ends_at"), "ends_at"),
                    tiers=list(row.get("tiers", [])),
                    countries=list(row.get("countries", [])),
                    languages=list(row.get("languages", [])),
                    bonus_miles=int(row.get("bonus_miles", 0)),
                    priority=int(row.get("priority", 0)),
                )
        return len(rows)

    try:
        added = run_with_db(cli_settings(), work)
    except DomainError as error:
        err_console.print(f"[red]{error.code}:[/red] {escape(error.message)}")
        raise typer.Exit(1) from None
    except KeyError as error:
        err_console.print(f"[red]OFFER_FIELD_MISSING:[/red] an offer in {escape(str(file))} has no {error}.")
        raise typer.Exit(1) from None
    except ValueError as error:
        err_console.print(f"[red]OFFER_INVALID:[/red] {escape(str(error))}.")
        raise typer.Exit(1) from None
    console.print(f"{added} offers added")


@offers_app.command("list")
def list_command() -> None:
    """Every offer, newest first."""

    async def work() -> list[Offer]:
        return await Offer.all().order_by("-starts_at", "-id")

    table = Table("code", "partner", "kind", "title", "from", "until", "bonus", title="offers")
    for offer in run_with_db(cli_settings(), work):
        table.add_row(
            offer.code,
            offer.partner_code,
            offer.kind.value,
            offer.title,
            offer.starts_at.date().isoformat(),
            offer.ends_at.date().isoformat(),
            str(offer.bonus_miles),
        )
    console.print(table)
