"""``milesgate cases``: the service team's queue of support cases (lost service card numbers), and turning
off the second factors of a member whose identity the team confirmed (a lost phone).

Wired into the main CLI with ``app.add_typer(cases_app, name="cases")`` in ``gateway/cli/__init__.py``.
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from gateway.cli.support import run_or_exit
from loyalty.lost_second_factor import remove_second_factors
from loyalty.members import support
from loyalty.members.models import SupportCase, SupportCaseState
from loyalty.rules import current_rules

cases_app = typer.Typer(
    help="Support cases the service team decides by hand (lost service card numbers, lost second factors).",
    no_args_is_help=True,
)
console = Console()
T = TypeVar("T")


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


def _show(case: SupportCase, account_numbers: dict[int, str]) -> None:
    account = account_numbers.get(case.account_id, "-") if case.account_id is not None else "-"
    opened = case.opened_at.strftime("%Y-%m-%d %H:%M")
    console.print(
        f"{case.reference:<14} {case.state.value:<9} {opened}  account {account:<9}  "
        f"{case.contact_email}  {case.details.get('given_name', '')} {case.details.get('family_name', '')}",
        highlight=False,
    )


@cases_app.command("list")
def cases_list(
    state: Annotated[
        SupportCaseState | None,
        typer.Option(help="Only cases in this state, e.g. OPEN.", case_sensitive=False),
    ] = None,
) -> None:
    """List cases, oldest first, with the account the details matched (or was confirmed), if any."""

    async def load() -> tuple[list[SupportCase], dict[int, str]]:
        cases = await support.list_cases(state=state)
        return cases, await support.account_numbers_of(cases)

    cases, account_numbers = run_or_exit(load)
    for case in cases:
        _show(case, account_numbers)
    if not cases:
        console.print("no cases", style="dim")


@cases_app.command("resolve")
def cases_resolve(
    reference: Annotated[str, typer.Argument(help="The case reference, e.g. LSC-7K3Q9P2M.")],
    account: Annotated[str, typer.Option(help="The 9-digit account number you confirmed from the ID copy.")],
    note: Annotated[str, typer.Option(help="What was checked and what the requester is sent.")],
    operator: Annotated[str | None, typer.Option(help="Who decides (default: your user name).")] = None,
) -> None:
    """Close a case as RESOLVED: the requester's identity was confirmed for this account."""
    case = run_or_exit(
        lambda: support.resolve_case(
            reference=reference,
            resolution=note,
            account_number=account,
            now=dt.datetime.now(dt.UTC),
            operator=operator or _operator(),
        )
    )
    console.print(f"{case.reference} resolved", style="green")


@cases_app.command("reject")
def cases_reject(
    reference: Annotated[str, typer.Argument(help="The case reference, e.g. LSC-7K3Q9P2M.")],
    note: Annotated[str, typer.Option(help="Why the requester could not be confirmed.")],
    operator: Annotated[str | None, typer.Option(help="Who decides (default: your user name).")] = None,
) -> None:
    """Close a case as REJECTED, for example when the ID copy is not certified."""
    case = run_or_exit(
        lambda: support.reject_case(
            reference=reference,
            resolution=note,
            now=dt.datetime.now(dt.UTC),
            operator=operator or _operator(),
        )
    )
    console.print(f"{case.reference} rejected", style="yellow")


@cases_app.command("remove-second-factor")
def cases_remove_second_factor(
    account: Annotated[str, typer.Argument(help="The member's 9-digit account number.")],
    reference: Annotated[
        str,
        typer.Option(
            help="The case or ticket reference of your identity check (required). It stays in the audit "
            "log after an erasure: a reference, no personal data."
        ),
    ],
    operator: Annotated[str | None, typer.Option(help="Who decides (default: your user name).")] = None,
) -> None:
    """Turn off every second factor of a member who can no longer use theirs (a lost phone), once you
    confirmed their identity as for a lost card number: the factors and recovery codes go, every session
    ends, no device stays trusted, the audit log records it and the member is e-mailed."""
    removed = run_or_exit(
        lambda: remove_second_factors(
            account_number=account,
            operator=operator or _operator(),
            reference=reference,
            rules=current_rules().identifiers,
            now=dt.datetime.now(dt.UTC),
        )
    )
    factors = ", ".join(factor.value for factor in removed.factors)
    mailed = "the member is e-mailed" if removed.emailed else "no e-mail address on file: tell the member"
    console.print(
        f"{removed.account_number}: second factors off ({factors}); every session ended; {mailed}",
        style="green",
        highlight=False,
    )
