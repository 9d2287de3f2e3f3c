"""``milesgate rewards check FILE`` and ``milesgate charts check DIR``: a rewards catalogue or an earning
chart, read and checked by the same loaders the service runs at start, before an operator points
``MILESGATE_REWARDS_FILE`` or ``MILESGATE_CHARTS_DIR`` at it. A broken file prints ``FILE_INVALID: ...``
(naming the entry and the rule) and exits with status 1; nothing touches the database.

Samples of both are in ``examples/`` (``rewards.toml``, ``charts/``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gateway.cli.support import err_console
from loyalty.earning.errors import ChartInvalid
from loyalty.rewards.catalogue import CatalogueInvalid, load_catalogue
from loyalty.rules import current_rules
from partners.charts import load_earning_chart, load_rail_chart

rewards_app = typer.Typer(help="The rewards catalogue (MILESGATE_REWARDS_FILE).", no_args_is_help=True)
charts_app = typer.Typer(help="The earning charts (MILESGATE_CHARTS_DIR).", no_args_is_help=True)
console = Console()


def _invalid(where: Path, reason: str) -> typer.Exit:
    err_console.print(f"[red]FILE_INVALID:[/red] {escape(str(where))}: {escape(reason)}")
    return typer.Exit(1)


@rewards_app.command("check")
def check_rewards(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="A catalogue: [[rewards]] tables as TOML (examples/rewards.toml).",
        ),
    ],
) -> None:
    """Read and check a rewards catalogue, then list it: code, kind, title, miles and cash_eur of each
    [[rewards]] table (examples/rewards.toml shows the format)."""
    try:
        catalogue = load_catalogue(file, rules=current_rules().redemption)
    except (CatalogueInvalid, tomllib.TOMLDecodeError) as error:
        raise _invalid(file, str(error)) from None
    table = Table("code", "kind", "title", "miles", "cash EUR", title=f"rewards in {file}")
    for reward in catalogue:
        table.add_row(
            reward.code, reward.kind.value, reward.title, str(reward.miles), str(reward.cash_eur or "")
        )
    console.print(table)
    console.print(f"{len(catalogue)} rewards, all valid", markup=False)


@charts_app.command("check")
def check_charts(
    directory: Annotated[
        Path,
        typer.Argument(
            exists=True,
            file_okay=False,
            help="A folder with earning.toml, regions.toml, upgrades.toml, rates.toml and rail.toml "
            "(examples/charts).",
        ),
    ],
) -> None:
    """Read and check an earning chart folder, then list its airlines and their distance charts
    (examples/charts shows the format, with a partner airline on its own chart)."""
    try:
        chart = load_earning_chart(directory)
        rail = load_rail_chart(directory)
    except ChartInvalid as error:
        raise _invalid(directory, str(error)) from None
    table = Table("airline", "name", "distance chart", "qualifying", title=f"chart {chart.version}")
    for designator, airline in sorted(chart.airlines.items()):
        table.add_row(designator, airline.name, airline.distance_chart, "yes" if airline.qualifying else "no")
    console.print(table)
    console.print(
        f"{len(chart.airlines)} airlines, {len(chart.distance_charts)} distance charts, all valid",
        markup=False,
    )
    console.print(f"rail chart {rail.version}: {len(rail.products)} rail products, all valid", markup=False)
