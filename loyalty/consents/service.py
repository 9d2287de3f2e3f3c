"""Giving and withdrawing consent; the member's current choices; the card-prefix consequence.

Withdrawal takes effect at once: the decision is written (and, for advertising, the service card
number changes) in one transaction, and every reader asks ``current_consents`` at the moment it acts.
A base member's advertising consent decides the card prefix (9920 with, 9999 without; DOMAIN.md 1), so a
change issues a new number; status members keep theirs (the status prefix wins).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from loyalty.consents.models import ConsentPurpose, ConsentRecord
from loyalty.errors import ValidationFailed
from loyalty.members.cards import set_advertising_consent
from loyalty.members.models import ServiceCard
from loyalty.paging import Page, PageRequest, newest_first
from loyalty.rules import ProgrammeRules

MAX_TEXT_VERSION = 40


@dataclass(frozen=True, slots=True)
class ConsentChange:
    record: ConsentRecord
    new_card: ServiceCard | None
    """The new service card number an advertising change of a base member issued, if any."""


async def record_consent(
    *,
    account_id: int,
    purpose: ConsentPurpose,
    given: bool,
    text_version: str,
    now: dt.datetime,
    rules: ProgrammeRules,
    channel: str = "app",
) -> ConsentChange:
    """Append the decision; for ADVERTISING also move the card prefix (same transaction)."""
    version = text_version.strip()
    if not version or len(version) > MAX_TEXT_VERSION:
        raise ValidationFailed(
            f"The consent text version is 1 to {MAX_TEXT_VERSION} characters.",
            field="textVersion",
            code="CONSENT_TEXT_VERSION_INVALID",
        )
    async with in_transaction():
        record = await ConsentRecord.create(
            account_id=account_id,
            purpose=purpose,
            given=given,
            text_version=version,
            channel=channel,
            recorded_at=now,
        )
        card = None
        if purpose is ConsentPurpose.ADVERTISING:
            card = await set_advertising_consent(account_id=account_id, given=given, rules=rules, now=now)
    return ConsentChange(record=record, new_card=card)


async def current_consents(*, account_id: int) -> dict[ConsentPurpose, ConsentRecord | None]:
    """The latest decision per purpose (None: never asked, which counts as not given)."""
    latest: dict[ConsentPurpose, ConsentRecord | None] = dict.fromkeys(ConsentPurpose)
    for record in await ConsentRecord.filter(account_id=account_id).order_by("id"):
        latest[record.purpose] = record
    return latest


async def given_consents(
    *, account_ids: Sequence[int], purposes: Sequence[ConsentPurpose]
) -> set[tuple[int, ConsentPurpose]]:
    """``current_consents`` for many members and some purposes in one statement: the (account, purpose)
    pairs whose latest decision is "given" (never asked counts as not given)."""
    latest: dict[tuple[int, ConsentPurpose], bool] = {}
    for account_id, purpose, given in (
        await ConsentRecord.filter(account_id__in=list(account_ids), purpose__in=list(purposes))
        .order_by("id")
        .values_list("account_id", "purpose", "given")
    ):
        latest[(int(account_id), ConsentPurpose(purpose))] = bool(given)
    return {key for key, given in latest.items() if given}


async def has_consent(*, account_id: int, purpose: ConsentPurpose) -> bool:
    record = await ConsentRecord.filter(account_id=account_id, purpose=purpose).order_by("-id").first()
    return record is not None and record.given


async def consent_history(
    *, account_id: int, purposes: Sequence[ConsentPurpose] | None = None
) -> list[ConsentRecord]:
    """Every decision, newest first (optionally of some purposes only)."""
    query = ConsentRecord.filter(account_id=account_id)
    if purposes:
        query = query.filter(purpose__in=list(purposes))
    return await query.order_by("-id")


async def consent_history_page(*, account_id: int, request: PageRequest) -> Page[ConsentRecord]:
    """One keyset page of ``consent_history`` (newest first, by id)."""
    return await newest_first(ConsentRecord.filter(account_id=account_id), request)
