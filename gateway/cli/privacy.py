"""``milesgate privacy`` (export, erase, audit) and ``milesgate notices`` (publish, list, withdraw).

Wired into the main CLI in ``gateway/cli/__init__.py``. Every export, erasure, publication and withdrawal is
written to the audit log with the operator's name.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.support import Operator, run_or_exit
from gateway.privacy import personal_data_sources
from loyalty.errors import NotFound
from loyalty.identifiers import validate_account_number
from loyalty.members.models import Member
from loyalty.notices.models import NoticeSeverity, SecurityNotice
from loyalty.notices.service import current_notices, publish_notice, withdraw_notice
from loyalty.privacy.models import AuditEntry
from loyalty.privacy.service import audit_log, erase_personal_data, export_personal_data
from loyalty.rules import current_rules

privacy_app = typer.Typer(help="Members' privacy rights: export, erasure, audit log.", no_args_is_help=True)
notices_app = typer.Typer(help="Security notices the apps show (phishing warnings...).", no_args_is_help=True)
console = Console()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _account_id(account_number: str) -> int:
    """The member's id; ACCOUNT_NUMBER_INVALID for a number of the wrong shape, MEMBER_NOT_FOUND for none."""
    number = validate_account_number(account_number, current_rules().identifiers)
    member = await Member.get_or_none(account_number=number)
    if member is None:
        raise NotFound(f"No member has account number {number}.", code="MEMBER_NOT_FOUND")
    return int(member.id)


@privacy_app.command("export")
def export_command(
    account_number: Annotated[str, typer.Argument(help="The member's 9-digit account number.")],
    operator: Operator,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here (default: stdout).")] = None,
) -> None:
    """Everything held about a member, as one JSON document (GDPR Art. 15 / 20)."""

    async def work() -> dict[str, Any]:
        return await export_personal_data(
            account_id=await _account_id(account_number),
            sources=personal_data_sources(),
            actor=f"operator:{operator}",
            now=_now(),
        )

    document = orjson.dumps(run_or_exit(work), option=orjson.OPT_INDENT_2)
    if out is None:
        typer.echo(document.decode())
    else:
        out.write_bytes(document)
        console.print(f"exported to {out}")


@privacy_app.command("erase")
def erase_command(
    account_number: Annotated[str, typer.Argument(help="The member's 9-digit account number.")],
    operator: Operator,
    reason: Annotated[str, typer.Option("--reason", help="Why (the member's request reference).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete or pseudonymise a member's personal data; the ledger keeps its amounts. Cannot be undone."""
    run_or_exit(lambda: _account_id(account_number))  # an unknown account is refused before the question
    if not yes:
        typer.confirm(
            f"Erase the personal data of account {account_number}? This cannot be undone", abort=True
        )

    async def work() -> dict[str, int]:
        return await erase_personal_data(
            account_id=await _account_id(account_number),
            sources=personal_data_sources(),
            actor=f"operator:{operator}",
            reason=reason,
            now=_now(),
        )

    changed = run_or_exit(work)
    table = Table("source", "rows changed", title=f"erased account {account_number}")
    for name, count in changed.items():
        table.add_row(name, str(count))
    console.print(table)


@privacy_app.command("audit")
def audit_command(
    account_number: Annotated[str | None, typer.Argument(help="Only this member's entries.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """The latest audit log entries, newest first."""

    async def work() -> list[AuditEntry]:
        account = None if account_number is None else await _account_id(account_number)
        return await audit_log(account_id=account, limit=limit)

    table = Table("at", "actor", "action", "account", "details", title="audit log")
    for entry in run_or_exit(work):
        table.add_row(
            entry.at.isoformat(timespec="seconds"),
            entry.actor,
            entry.action,
            "" if entry.account_id is None else str(entry.account_id),
            orjson.dumps(entry.details).decode(),
        )
    console.print(table)


@notices_app.command("publish")
def publish_command(
    title: Annotated[str, typer.Option("--title")],
    body: Annotated[str, typer.Option("--body")],
    operator: Operator,
    language: Annotated[str, typer.Option("--language")] = "en",
    severity: Annotated[NoticeSeverity, typer.Option("--severity")] = NoticeSeverity.WARNING,
    days: Annotated[int | None, typer.Option("--days", min=1, help="Expire after this many days.")] = None,
) -> None:
    """Publish a security notice in one language."""
    now = _now()

    async def work() -> SecurityNotice:
        return await publish_notice(
            title=title,
            body=body,
            language=language,
            severity=severity,
            actor=f"operator:{operator}",
            now=now,
            expires_at=None if days is None else now + dt.timedelta(days=days),
        )

    notice = run_or_exit(work)
    console.print(f"published notice {notice.id} ({notice.language}, {notice.severity.value})")


@notices_app.command("list")
def list_command(language: Annotated[str, typer.Option("--language")] = "en") -> None:
    """The notices in force in a language."""

    async def work() -> list[SecurityNotice]:
        return await current_notices(language=language, now=_now())

    table = Table("id", "language", "severity", "title", "published", title="security notices")
    for notice in run_or_exit(work):
        table.add_row(
            str(notice.id),
            notice.language,
            notice.severity.value,
            notice.title,
            notice.published_at.date().isoformat(),
        )
    console.print(table)


@notices_app.command("withdraw")
def withdraw_command(
    notice_id: Annotated[int, typer.Argument(help="The notice's id (notices list).")], operator: Operator
) -> None:
    """Stop showing a notice."""

    async def work() -> SecurityNotice:
        return await withdraw_notice(notice_id=notice_id, actor=f"operator:{operator}", now=_now())

    notice = run_or_exit(work)
    console.print(f"withdrew notice {notice.id}")
