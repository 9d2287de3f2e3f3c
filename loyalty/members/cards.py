"""Service cards over a membership's life (DOMAIN.md §1, §8, §9): reissue, consent, block, status cards.

The account number and the PIN never change; service card numbers come and go under the account.
Exactly one card is ACTIVE at any time: every change locks the member row first, so two changes
running at once take turns instead of leaving two active cards. A SUPERSEDED number (status or
consent change) still credits partner accruals. A BLOCKED one (lost or stolen card) no longer signs in
or redeems, and partner activity on it follows one rule (:func:`resolve_card_for_accrual`): activity
dated before the day of the block credits the owner, activity on or after it is refused (CARD_BLOCKED).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.errors import NotFound, ValidationFailed
from loyalty.identifiers import new_service_card_number
from loyalty.members.models import CardOrder, CardOrderReason, CardState, Member, ServiceCard, Tier
from loyalty.members.service import resolve_card
from loyalty.paging import Page, PageRequest, newest_first
from loyalty.rules import ProgrammeRules

# [design] A renewed status card ships this many days before the current one expires (DOMAIN.md §9).
_ISSUE_ATTEMPTS = 8
T = TypeVar("T")


class CardBlockReason(StrEnum):
    """Why a member had their card number blocked."""

    LOST = "LOST"
    STOLEN = "STOLEN"


async def _with_locked_member(account_id: int, work: Callable[[Member], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction holding the member row lock; draw again on a number collision."""
    for _ in range(_ISSUE_ATTEMPTS):
        try:
            async with in_transaction():
                member = await Member.filter(id=account_id).select_for_update(no_key=True).first()
                if member is None:
                    raise NotFound("No such member.", code="MEMBER_NOT_FOUND")
                return await work(member)
        except IntegrityError:
            continue  # a random service card number was taken already: the transaction rolled back
    raise RuntimeError("could not draw a unique service card number")  # pragma: no cover


async def current_card(account_id: int) -> ServiceCard | None:
    return await ServiceCard.filter(account_id=account_id, state=CardState.ACTIVE).order_by("-id").first()


async def _swap_card(
    member: Member,
    *,
    retire_as: CardState,
    tier: Tier,
    advertising_consent: bool,
    valid_until: dt.date | None,
    rules: ProgrammeRules,
    now: dt.datetime,
) -> ServiceCard:
    """Retire the active card (inside the member lock) and issue the next number; the PIN stays."""
    await ServiceCard.filter(account_id=member.id, state=CardState.ACTIVE).update(
        state=retire_as, state_changed_at=now
    )
    card = await ServiceCard.create(
        account_id=member.id,
        number=new_service_card_number(rules.identifiers, tier=tier, advertising_consent=advertising_consent),
        state=CardState.ACTIVE,
        tier=tier,
        issued_at=now,
        valid_until=valid_until,
    )
    if member.tier != tier or member.advertising_consent != advertising_consent:
        member.tier = tier
        member.advertising_consent = advertising_consent
        await member.save(update_fields=["tier", "advertising_consent"])
    return card


async def reissue_card(
    *,
    account_id: int,
    tier: Tier,
    advertising_consent: bool,
    rules: ProgrammeRules,
    now: dt.datetime,
    valid_until: dt.date | None = None,
) -> ServiceCard:
    """A status or consent change: only the service card number changes, account number and PIN stay.

    The active number becomes SUPERSEDED (it still credits partner accruals) and a new ACTIVE number
    with the prefix of the new tier and consent is issued; the member's tier and consent follow.
    """

    async def work(member: Member) -> ServiceCard:
        return await _swap_card(
            member,
            retire_as=CardState.SUPERSEDED,
            tier=tier,
            advertising_consent=advertising_consent,
            valid_until=valid_until,
            rules=rules,
            now=now,
        )

    return await _with_locked_member(account_id, work)


async def set_advertising_consent(
    *, account_id: int, given: bool, rules: ProgrammeRules, now: dt.datetime
) -> ServiceCard | None:
    """Give or withdraw advertising consent; returns the new card, or None when the number stays.

    A base member's number changes (9920 with consent, 9999 without). A status prefix always wins, so a
    Frequent Traveller, Senator or HON Circle member keeps the number and only the consent changes.
    """

    async def work(member: Member) -> ServiceCard | None:
        if member.advertising_consent == given:
            return None
        if member.tier != Tier.BASE:
            member.advertising_consent = given
            await member.save(update_fields=["advertising_consent"])
            return None
        current = await current_card(member.id)
        return await _swap_card(
            member,
            retire_as=CardState.SUPERSEDED,
            tier=member.tier,
            advertising_consent=given,
            valid_until=current.valid_until if current else None,
            rules=rules,
            now=now,
        )

    return await _with_locked_member(account_id, work)


async def block_card(
    *, account_id: int, reason: CardBlockReason, rules: ProgrammeRules, now: dt.datetime
) -> ServiceCard:
    """Block a lost or stolen card number and issue a new one at once (same tier, consent, validity).

    The blocked number no longer signs in or redeems; partner activity on it dated from the day of the
    block on is refused (:func:`resolve_card_for_accrual`). Ending the sessions after a STOLEN report is
    ``loyalty.auth.card_reports``' part.
    """

    async def work(member: Member) -> ServiceCard:
        current = await current_card(member.id)
        if current is None:
            raise NotFound("The member has no active card to block.", code="CARD_NOT_FOUND")
        card = await _swap_card(
            member,
            retire_as=CardState.BLOCKED,
            tier=member.tier,
            advertising_consent=member.advertising_consent,
            valid_until=current.valid_until,
            rules=rules,
            now=now,
        )
        return card

    return await _with_locked_member(account_id, work)


def blocked_on(card: ServiceCard) -> dt.date | None:
    """The day (UTC) the number was blocked; None for a number that is not blocked."""
    if card.state is not CardState.BLOCKED:
        return None
    moment = card.state_changed_at or card.issued_at
    return moment.astimezone(dt.UTC).date()


async def resolve_card_for_accrual(
    number: str, rules: ProgrammeRules, *, activity_on: dt.date | None
) -> ServiceCard:
    """The card a partner names to credit miles for activity on ``activity_on``.

    ACTIVE and SUPERSEDED numbers resolve to their account. A BLOCKED number (lost or stolen) follows one
    rule: activity dated before the day of the block credits the owner (it happened while the number was
    theirs to use); activity on or after that day is refused with CARD_BLOCKED, which the partner hears
    with the reason (``accrual.rejected``, the dead letter's code). ``activity_on=None`` is for a reference
    to something already credited (a reversal naming its member), which the block does not touch.
    """
    card = await resolve_card(number, rules)
    since = blocked_on(card)
    if since is not None and activity_on is not None and activity_on >= since:
        raise ValidationFailed(
            f"This service card number was blocked on {since.isoformat()}: activity from that day on is "
            "not credited to it. Ask the member for their new number.",
            field="serviceCardNumber",
            code="CARD_BLOCKED",
        )
    return card


async def issue_status_card(
    *,
    account_id: int,
    tier: Tier,
    valid_until: dt.date | None,
    reason: CardOrderReason,
    rules: ProgrammeRules,
    today: dt.date,
    now: dt.datetime | None = None,
    ship_days_before: int | None = None,
) -> CardOrder:
    """Order the physical status card (DOMAIN.md §9).

    ACHIEVED, LIFETIME or DOWNGRADED: the new status and number show at once, the card ships today
    (a lifetime card has no ``valid_until``).
    RENEWED: no new number now; the status validity is extended, the card ships ``ship_days_before``
    days before the current card expires and activates the day after it expires.
    """
    if tier == Tier.BASE:
        raise ValidationFailed(
            "Base members have no status card.", field="tier", code="TIER_HAS_NO_STATUS_CARD"
        )
    moment = now or dt.datetime.now(dt.UTC)

    async def work(member: Member) -> CardOrder:
        if reason == CardOrderReason.RENEWED:
            if valid_until is None:
                raise ValidationFailed(
                    "A renewal extends the status to a date.", field="validUntil", code="RENEWAL_NOT_LATER"
                )
            return await _order_renewal(
                member,
                tier=tier,
                valid_until=valid_until,
                today=today,
                ship_days=ship_days_before
                if ship_days_before is not None
                else rules.cards.renewal_ship_days_before,
            )
        card = await _swap_card(
            member,
            retire_as=CardState.SUPERSEDED,
            tier=tier,
            advertising_consent=member.advertising_consent,
            valid_until=valid_until,
            rules=rules,
            now=moment,
        )
        return await CardOrder.create(
            account_id=member.id, card=card, reason=reason, ship_on=today, activate_on=today
        )

    return await _with_locked_member(account_id, work)


async def _order_renewal(
    member: Member, *, tier: Tier, valid_until: dt.date, today: dt.date, ship_days: int
) -> CardOrder:
    """Extend the status on the current number; the new card ships before it expires, never in the past."""
    card = await current_card(member.id)
    if card is None or card.valid_until is None or card.tier != tier:
        raise ValidationFailed(
            "Only the status the member holds now can be renewed.", field="tier", code="NOTHING_TO_RENEW"
        )
    expires_on = card.valid_until
    if valid_until <= expires_on:
        raise ValidationFailed(
            "A renewal extends the status validity.", field="validUntil", code="RENEWAL_NOT_LATER"
        )
    card.valid_until = valid_until
    await card.save(update_fields=["valid_until"])
    return await CardOrder.create(
        account_id=member.id,
        card=card,
        reason=CardOrderReason.RENEWED,
        ship_on=max(today, expires_on - dt.timedelta(days=ship_days)),
        activate_on=expires_on + dt.timedelta(days=1),
    )


async def card_history(*, account_id: int) -> list[ServiceCard]:
    """Every service card number the member has held, newest first (active, superseded, blocked)."""
    return await ServiceCard.filter(account_id=account_id).order_by("-id")


async def card_history_page(*, account_id: int, request: PageRequest) -> Page[ServiceCard]:
    """One keyset page of ``card_history`` (newest first, by id)."""
    return await newest_first(ServiceCard.filter(account_id=account_id), request)


async def card_order_page(*, account_id: int, request: PageRequest) -> Page[CardOrder]:
    """One keyset page of ``card_orders`` (newest first, by id), each with its card loaded."""
    return await newest_first(CardOrder.filter(account_id=account_id).select_related("card"), request)


async def card_orders(*, account_id: int) -> list[CardOrder]:
    """The member's physical status card orders, newest first, each with its card loaded."""
    return await CardOrder.filter(account_id=account_id).order_by("-id").select_related("card")
