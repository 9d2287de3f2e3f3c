"""Miles to status (DOMAIN.md 3.4), with the numbers of ``rules.toml`` ``[miles_to_status]``.

- Who: a member holding a co-branded credit card with the feature (the bank reported it with the card's
  ``card.protection.changed`` ISSUED, ``milesToStatus: true``), not cancelled.
- What counts: award miles the card's bank credited for card spend (accruals of category ``card_spend``,
  recorded in ``card_miles_credits`` as they post) with an activity date in the current or previous
  calendar year, less what an exchange of the previous year used; a reversed card-spend accrual does not
  count. Welcome and promotion bonuses come with another category and never count.
- How much: whole packages (5,000 miles = 20 Points + 20 Qualifying Points), at most 25,000 miles a year;
  never HON Circle Points. Once per calendar year, and it cannot be undone.
- The posting debits the award miles (the lots expiring first) and credits the points in one transaction,
  through ``loyalty.crediting.post``, so the status engine runs as for any other posting.

Concurrency: the member row is locked first (as every status posting does), so two exchanges of one member
take turns and the second finds the first; ``status_exchanges`` is unique per member and year besides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.crediting import post
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.ledger.models import CreditCard, Currency, Posting, PostingSource
from loyalty.ledger.service import balances_of
from loyalty.members.models import Member
from loyalty.miles_to_status.models import CardMilesCredit, StatusExchange
from loyalty.rules import MilesToStatusRules, ProgrammeRules

REQUEST_ID_MAX = 64


@dataclass(frozen=True, slots=True)
class ExchangeOffer:
    """What the member may exchange this year, and why not when they may not."""

    year: int
    has_card: bool
    card_miles: int
    """Card-spend miles of the counted years, less what earlier exchanges of those years used."""
    award_miles: int
    exchanged: StatusExchange | None
    """This year's exchange, once made."""
    max_packages: int
    package_miles: int
    points_per_package: int
    qualifying_points_per_package: int


def _request_key(account_id: int, request_id: str) -> str:
    return f"miles-to-status:{account_id}:{request_id}"


async def eligible_cards(*, account_id: int, today: dt.date) -> list[CreditCard]:
    """The member's credit cards with the feature that are not cancelled by ``today``."""
    cards = await CreditCard.filter(account_id=account_id, miles_to_status=True)
    return [card for card in cards if card.cancelled_on is None or card.cancelled_on > today]


async def record_card_miles(
    *, account_id: int, partner_code: str, posting_id: int, earned_on: dt.date, miles: int
) -> None:
    """Remember a card-spend credit (inside the accrual's transaction) so the exchange can count it."""
    await CardMilesCredit.create(
        account_id=account_id,
        partner_code=partner_code,
        posting_id=posting_id,
        earned_on=earned_on,
        miles=miles,
    )


async def counted_card_miles(
    *, account_id: int, partner_codes: set[str], year: int, rules: MilesToStatusRules
) -> int:
    """Card-spend miles of ``year`` and the years counted before it, less earlier exchanges of those years."""
    first_year = year - rules.counted_years + 1
    credits = await CardMilesCredit.filter(
        account_id=account_id,
        partner_code__in=sorted(partner_codes),
        earned_on__gte=dt.date(first_year, 1, 1),
        earned_on__lte=dt.date(year, 12, 31),
    ).values_list("posting_id", "miles")
    reversed_keys = {f"reversal:{posting_id}" for posting_id, _ in credits}
    reversals = await Posting.filter(
        account_id=account_id, idempotency_key__in=sorted(reversed_keys)
    ).values_list("idempotency_key")
    reversed_ids = {int(str(row[0]).split(":", 1)[1]) for row in reversals}
    earned = sum(int(miles) for posting_id, miles in credits if posting_id not in reversed_ids)
    used = await StatusExchange.filter(
        account_id=account_id, year__gte=first_year, year__lt=year
    ).values_list("miles")
    return max(earned - sum(int(row[0]) for row in used), 0)


async def offer(*, account_id: int, today: dt.date, rules: ProgrammeRules) -> ExchangeOffer:
    """What ``exchange_miles_for_status`` would allow today (read only)."""
    settings = rules.miles_to_status
    cards = await eligible_cards(account_id=account_id, today=today)
    card_miles = (
        await counted_card_miles(
            account_id=account_id,
            partner_codes={card.partner_code for card in cards},
            year=today.year,
            rules=settings,
        )
        if cards
        else 0
    )
    award_miles = (await balances_of(account_id=account_id))[Currency.AWARD_MILES]
    exchanged = await StatusExchange.get_or_none(account_id=account_id, year=today.year)
    limit = min(card_miles, award_miles, settings.max_miles_per_year)
    return ExchangeOffer(
        year=today.year,
        has_card=bool(cards),
        card_miles=card_miles,
        award_miles=award_miles,
        exchanged=exchanged,
        max_packages=0 if exchanged is not None or not cards else settings.packages_for(limit),
        package_miles=settings.package_miles,
        points_per_package=settings.points_per_package,
        qualifying_points_per_package=settings.qualifying_points_per_package,
    )


def _check_request(packages: int, request_id: str, rules: MilesToStatusRules) -> str:
    request = request_id.strip()
    if not 0 < len(request) <= REQUEST_ID_MAX:
        raise ValidationFailed(
            f"requestId has 1 to {REQUEST_ID_MAX} characters.", field="requestId", code="REQUEST_ID_INVALID"
        )
    most = rules.packages_for(rules.max_miles_per_year)
    if not 1 <= packages <= most:
        raise ValidationFailed(
            f"From 1 to {most} packages of {rules.package_miles:,} miles a year.",
            field="packages",
            code="PACKAGES_INVALID",
        )
    return request


async def exchange_miles_for_status(
    *, account_id: int, packages: int, request_id: str, today: dt.date, rules: ProgrammeRules
) -> StatusExchange:
    """Exchange ``packages`` packages of award miles for Points and Qualifying Points, once this year.

    A retry with the same ``request_id`` returns the first exchange. Refusals change nothing:
    NO_ELIGIBLE_CARD, PACKAGES_INVALID, ALREADY_EXCHANGED_THIS_YEAR, NOT_ENOUGH_CARD_MILES (fewer miles
    earned with the card than asked for), INSUFFICIENT_BALANCE (fewer award miles than asked for).
    """
    settings = rules.miles_to_status
    request = _check_request(packages, request_id, settings)
    key = _request_key(account_id, request)
    earlier = await StatusExchange.get_or_none(account_id=account_id, posting__idempotency_key=key)
    if earlier is not None:
        return earlier
    try:
        async with in_transaction():
            member = await Member.filter(id=account_id).select_for_update(no_key=True).first()
            if member is None or member.erased_at is not None:
                raise NotFound("No such member.", code="MEMBER_NOT_FOUND")
            return await _exchange_locked(account_id, packages, request, key, today, rules)
    except IntegrityError:
        # Only on a database without row locks (SQLite): the unique (member, year) index caught the second.
        again = await StatusExchange.get_or_none(account_id=account_id, posting__idempotency_key=key)
        if again is not None:
            return again
        raise _already_exchanged(today.year) from None


def _already_exchanged(year: int) -> Conflict:
    return Conflict(
        f"Miles were exchanged for status in {year} already: once per calendar year.",
        field="packages",
        code="ALREADY_EXCHANGED_THIS_YEAR",
    )


async def _exchange_locked(
    account_id: int, packages: int, request: str, key: str, today: dt.date, rules: ProgrammeRules
) -> StatusExchange:
    """The checks and the posting, with the member row locked."""
    settings = rules.miles_to_status
    if await StatusExchange.exists(account_id=account_id, year=today.year):
        raise _already_exchanged(today.year)
    cards = await eligible_cards(account_id=account_id, today=today)
    if not cards:
        raise ValidationFailed(
            "Only holders of a co-branded credit card with miles to status can exchange miles for status.",
            field="packages",
            code="NO_ELIGIBLE_CARD",
        )
    miles = packages * settings.package_miles
    counted = await counted_card_miles(
        account_id=account_id,
        partner_codes={card.partner_code for card in cards},
        year=today.year,
        rules=settings,
    )
    if miles > counted:
        raise ValidationFailed(
            f"Only miles earned with the card in the last {settings.counted_years} calendar years count: "
            f"{counted:,} miles, {settings.packages_for(counted)} packages.",
            field="packages",
            code="NOT_ENOUGH_CARD_MILES",
        )
    points = packages * settings.points_per_package
    qualifying_points = packages * settings.qualifying_points_per_package
    result = await post(
        account_id=account_id,
        amounts={
            Currency.AWARD_MILES: -miles,
            Currency.POINTS: points,
            Currency.QUALIFYING_POINTS: qualifying_points,
        },
        source=PostingSource.MILES_TO_STATUS,
        idempotency_key=key,
        activity_date=today,
        rule_version=rules.version,
        rules=rules,
        description=f"{miles:,} miles exchanged for {points} Points and {qualifying_points} Qualifying Points",
        today=today,
    )
    return await StatusExchange.create(
        account_id=account_id,
        year=today.year,
        request_id=request,
        packages=packages,
        miles=miles,
        points=points,
        qualifying_points=qualifying_points,
        posting_id=result.posting_id,
    )


async def exchanges_of(*, account_id: int) -> list[StatusExchange]:
    """The member's exchanges, newest first."""
    return await StatusExchange.filter(account_id=account_id).order_by("-year")
