"""Offers: who sees which, in what order, activation, and the bonus a matching accrual earns.

Ranking is personal only for members who gave PERSONALISATION consent: their offers come first from
the partners they earned with most often in the last year (then by the offer's priority), counted over
their latest ``AFFINITY_SAMPLE`` partner accruals of that year, so ranking costs the same whatever the
length of the member's history. Everyone else sees the
same generic order (priority, then newest). Activation writes an ``offer.activated`` domain event in
its transaction, which the event relay passes to the partner. A partner accrual within the window of
an activated EARN offer of that partner earns its bonus once (idempotency key per activation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.consents.models import ConsentPurpose
from loyalty.crediting import post
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.fixed_sql import as_datetime, dialect, enum_by_value, fetch
from loyalty.ledger.models import CounterAccount, Currency, PostingSource
from loyalty.members.models import Member
from loyalty.offers.models import Offer, OfferActivation, OfferKind
from loyalty.rules import ProgrammeRules

HISTORY_DAYS = 365
AFFINITY_SAMPLE = 100
"""The latest partner accruals the personal ranking counts (bounded: a long history costs no more)."""
MAX_OFFERS = 20


class OfferCountInvalid(ValidationFailed):
    code = "PAGE_SIZE_INVALID"


@dataclass(frozen=True, slots=True)
class LiveOffer:
    """A running offer as a member's list shows it (read with fixed SQL, not as a model)."""

    code: str
    partner_code: str
    kind: OfferKind
    title: str
    description: str
    bonus_miles: int
    ends_at: dt.datetime
    activated: bool
    affinity: int
    """The member's latest partner accruals with this offer's partner (0 without PERSONALISATION)."""


@dataclass(frozen=True, slots=True)
class OfferView:
    offer: LiveOffer
    activated: bool
    personalised: bool


def _targets(offer: Offer, member: Member) -> bool:
    """Whether the offer's targeting by tiers, countries and languages (empty or None: everyone) takes in
    the member (by the part of their language before a ``-``); ``OFFERS_SQL`` decides it the same way."""
    return (
        (not offer.tiers or member.tier.value in offer.tiers)
        and (not offer.countries or member.country in offer.countries)
        and (not offer.languages or member.language.split("-")[0] in offer.languages)
    )


async def add_offer(
    *,
    code: str,
    partner_code: str,
    kind: OfferKind,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    description: str = "",
    tiers: list[str] | None = None,
    countries: list[str] | None = None,
    languages: list[str] | None = None,
    bonus_miles: int = 0,
    priority: int = 0,
) -> Offer:
    if ends_at <= starts_at:
        raise ValidationFailed("An offer ends after it starts.", field="endsAt", code="OFFER_WINDOW_INVALID")
    if kind is OfferKind.EARN and bonus_miles <= 0:
        raise ValidationFailed(
            "An earn offer gives bonus miles.", field="bonusMiles", code="OFFER_BONUS_INVALID"
        )
    if not title.strip():
        raise ValidationFailed("An offer has a title.", field="title", code="OFFER_TITLE_INVALID")
    try:
        return await Offer.create(
            code=code,
            partner_code=partner_code,
            kind=kind,
            title=title.strip(),
            description=description,
            starts_at=starts_at,
            ends_at=ends_at,
            tiers=tiers or [],
            countries=[country.upper() for country in countries or []],
            languages=[language.lower() for language in languages or []],
            bonus_miles=bonus_miles,
            priority=priority,
        )
    except IntegrityError:
        raise Conflict(f"There is an offer {code} already.", field="code", code="OFFER_EXISTS") from None


def _before(dialect: str, column: str, separator: str) -> str:
    """The text of ``column`` before the first ``separator`` (all of it when there is none), written in
    each database's own functions."""
    if dialect == "postgres":
        return f"split_part({column}, '{separator}', 1)"
    return (
        f"CASE WHEN instr({column}, '{separator}') > 0 "
        f"THEN substr({column}, 1, instr({column}, '{separator}') - 1) ELSE {column} END"
    )


def _aims_at(dialect: str, targets: str, value: str) -> str:
    """Whether a JSON list column of targets is empty (or null: everyone) or holds ``value``; as
    ``_targets`` decides it."""
    if dialect == "postgres":
        # jsonb_array_length fails on anything but an array, and OR does not guard it: CASE does
        return (
            f"(CASE WHEN jsonb_typeof({targets}) = 'array' "
            f"THEN jsonb_array_length({targets}) = 0 OR {targets} ? {value} ELSE true END)"
        )
    exists = f"EXISTS (SELECT 1 FROM json_each({targets}) t WHERE t.value = {value})"  # noqa: S608 - constants
    return f"(coalesce(json_array_length({targets}), 0) = 0 OR {exists})"


def _offers_sql(dialect: str) -> str:
    # A partner reference's partner code is what comes before its first ``:`` (partner codes have
    # none); a member's language is matched by what comes before its ``-`` (``de-AT`` → ``de``).
    return f"""
WITH consent AS (
  SELECT coalesce((SELECT r.given FROM consent_records r
                   WHERE r.account_id = $1 AND r.purpose = '{ConsentPurpose.PERSONALISATION.value}'
                   ORDER BY r.id DESC LIMIT 1), false) AS personal
),
audience AS (
  SELECT m.tier, m.country, {_before(dialect, "m.language", "-")} AS language FROM members m WHERE m.id = $1
),
latest AS MATERIALIZED (
  SELECT partner_reference FROM postings
  WHERE account_id = $1 AND source = 'PARTNER_ACCRUAL' AND activity_date >= $3
    AND partner_reference IS NOT NULL AND (SELECT personal FROM consent)
  ORDER BY created_at DESC, id DESC LIMIT {AFFINITY_SAMPLE}
),
affinities AS (
  SELECT {_before(dialect, "partner_reference", ":")} AS partner_code, count(*) AS accruals
  FROM latest GROUP BY 1
)
SELECT o.id, o.code, o.partner_code, o.kind, o.title, o.description, o.bonus_miles, o.ends_at,
       o.priority, o.starts_at,
       EXISTS (SELECT 1 FROM offer_activations a WHERE a.account_id = $1 AND a.offer_id = o.id) AS activated,
       (SELECT personal FROM consent) AS personalised,
       coalesce(f.accruals, 0) AS affinity
FROM offers o
CROSS JOIN audience m
LEFT JOIN affinities f ON f.partner_code = o.partner_code
WHERE o.starts_at <= $2 AND o.ends_at > $2
  AND {_aims_at(dialect, "o.tiers", "m.tier")}
  AND {_aims_at(dialect, "o.countries", "m.country")}
  AND {_aims_at(dialect, "o.languages", "m.language")}
ORDER BY coalesce(f.accruals, 0) DESC, o.priority DESC, o.starts_at DESC, o.id
LIMIT $4
"""  # noqa: S608 - constant fragments, no input


OFFERS_SQL = {dialect: _offers_sql(dialect) for dialect in ("postgres", "sqlite")}
"""Per database: the first $4 running offers aimed at the member (their tier, country and language, as
``_targets`` decides), in their order, each with the member's activation and the PERSONALISATION
consent. With that consent the order is personal: first the partners the member earned with most often
over their latest ``AFFINITY_SAMPLE`` partner accruals since $3 (counted per partner once, then joined to
the offers), then the generic order (priority, then newest); without it, the accruals are not read and
the order is the generic one. Targeting, order and the limit are the database's: a programme with
hundreds of running offers sends the member's first few, not all of them."""


async def offers_for(*, account_id: int, now: dt.datetime, limit: int = 20) -> list[OfferView]:
    """The first ``limit`` offers (1 to ``MAX_OFFERS``) the member may see now, ranked (personally only
    with PERSONALISATION consent): one fixed statement (``OFFERS_SQL``)."""
    if not 1 <= limit <= MAX_OFFERS:
        raise OfferCountInvalid(f"Ask for 1 to {MAX_OFFERS} offers.", field="first")
    rows = await fetch(OFFERS_SQL[dialect()], account_id, now, affinity_since(now), limit)
    return offers_from_rows(rows)


def affinity_since(now: dt.datetime) -> dt.date:
    """The first activity date whose partner accruals count for the personal order (``OFFERS_SQL``'s $3)."""
    return now.date() - dt.timedelta(days=HISTORY_DAYS)


def offers_from_rows(rows: list[dict[str, Any]]) -> list[OfferView]:
    """The offers of ``OFFERS_SQL``'s rows (aimed at the member, ranked and counted already)."""
    personal = bool(rows[0]["personalised"]) if rows else False
    return [OfferView(offer, offer.activated, personal) for offer in map(_live_offer, rows)]


_OFFER_KIND = enum_by_value(OfferKind)


def _live_offer(row: dict[str, Any]) -> LiveOffer:
    return LiveOffer(
        code=row["code"],
        partner_code=row["partner_code"],
        kind=_OFFER_KIND(row["kind"]),
        title=row["title"],
        description=row["description"],
        bonus_miles=int(row["bonus_miles"]),
        ends_at=as_datetime(row["ends_at"]),
        activated=bool(row["activated"]),
        affinity=int(row["affinity"]),
    )


async def activate_offer(*, account_id: int, code: str, now: dt.datetime) -> OfferActivation:
    """Activate an offer the member may see; the partner hears of it through the event relay."""
    offer = await Offer.get_or_none(code=code)
    member = await Member.get(id=account_id)
    if offer is None or not _targets(offer, member):
        raise NotFound("No such offer for you.", field="code", code="OFFER_NOT_FOUND")
    if not offer.starts_at <= now < offer.ends_at:
        raise ValidationFailed("This offer is not running now.", field="code", code="OFFER_NOT_RUNNING")
    try:
        async with in_transaction():
            activation = await OfferActivation.create(
                account_id=account_id, offer_id=offer.id, activated_at=now
            )
            await record(
                account_id=account_id,
                type=EventType.OFFER_ACTIVATED,
                payload={
                    "offerCode": offer.code,
                    "partnerCode": offer.partner_code,
                    "accountNumber": member.account_number,
                    "activatedAt": now.isoformat(),
                },
            )
    except IntegrityError:
        raise Conflict("You activated this offer already.", field="code", code="ALREADY_ACTIVATED") from None
    return activation


async def apply_offer_bonus(
    *, account_id: int, partner_code: str, activity_on: dt.date, transaction_id: str, rules: ProgrammeRules
) -> list[int]:
    """Credit the bonus of each activated EARN offer of ``partner_code`` whose window holds the accrual's
    activity date, activated no later than that day (once per activation); returns the bonus postings.

    Call it when a partner accrual is credited, in the same transaction.
    """
    activations = await OfferActivation.filter(
        account_id=account_id,
        bonus_posting_id__isnull=True,
        offer__partner_code=partner_code,
        offer__kind=OfferKind.EARN,
    ).select_related("offer")
    postings: list[int] = []
    for activation in activations:
        offer = activation.offer
        if not (
            offer.starts_at.date() <= activity_on <= offer.ends_at.date()
            and activation.activated_at.date() <= activity_on
        ):
            continue
        result = await post(
            account_id=account_id,
            amounts={Currency.AWARD_MILES: offer.bonus_miles},
            source=PostingSource.OFFER_BONUS,
            idempotency_key=f"offer:{activation.id}",
            activity_date=activity_on,
            rule_version=rules.version,
            rules=rules,
            partner_reference=f"{partner_code}:{transaction_id}",
            description=f"Offer bonus: {offer.title}"[:200],
            counter_account=CounterAccount.PARTNER_LIABILITY,
        )
        await OfferActivation.filter(id=activation.id, bonus_posting_id__isnull=True).update(
            bonus_posting_id=result.posting_id
        )
        postings.append(result.posting_id)
    return postings
