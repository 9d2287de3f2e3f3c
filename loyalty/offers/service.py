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
from collections import Counter
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.consents.models import ConsentPurpose
from loyalty.consents.service import has_consent
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.ledger.models import CounterAccount, Currency, Posting
from loyalty.ledger.service import post
from loyalty.members.models import Member, Tier
from loyalty.offers.models import Offer, OfferActivation, OfferKind

OFFER_BONUS_SOURCE = "OFFER_BONUS"
HISTORY_DAYS = 365
AFFINITY_SAMPLE = 100
"""The latest partner accruals the personal ranking counts (bounded: a long history costs no more)."""
MAX_OFFERS = 20


class OfferCountInvalid(ValidationFailed):
    code = "PAGE_SIZE_INVALID"


@dataclass(frozen=True, slots=True)
class OfferView:
    offer: Offer
    activated: bool
    personalised: bool


@dataclass(frozen=True, slots=True)
class Audience:
    """What offer targeting looks at: the member's tier, country of residence and language."""

    tier: Tier
    country: str
    language: str

    @classmethod
    def of(cls, member: Member) -> Audience:
        return cls(tier=member.tier, country=member.country, language=member.language)


def _targets(offer: Offer, member: Member | Audience) -> bool:
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


async def _partner_affinity(account_id: int, since: dt.date) -> Counter[str]:
    """How often the member earned with each partner since ``since`` (partner code of the posting), over
    the latest ``AFFINITY_SAMPLE`` partner accruals (the ``(account_id, created_at)`` index, newest first)."""
    references = (
        await Posting.filter(
            account_id=account_id,
            source="PARTNER_ACCRUAL",
            activity_date__gte=since,
            partner_reference__isnull=False,
        )
        .order_by("-created_at", "-id")
        .limit(AFFINITY_SAMPLE)
        .values_list("partner_reference", flat=True)
    )
    return Counter(str(reference).split(":", 1)[0] for reference in references)


async def offers_for(
    *, account_id: int, now: dt.datetime, limit: int = 20, audience: Audience | None = None
) -> list[OfferView]:
    """The offers the member may see now, ranked (personally only with PERSONALISATION consent), the
    first ``limit`` (1 to ``MAX_OFFERS``). ``audience``: the member's targeting attributes when the caller
    has the member at hand already (else they are read)."""
    if not 1 <= limit <= MAX_OFFERS:
        raise OfferCountInvalid(f"Ask for 1 to {MAX_OFFERS} offers.", field="first")
    if audience is None:
        audience = Audience.of(await Member.get(id=account_id))
    live = [
        offer
        for offer in await Offer.filter(starts_at__lte=now, ends_at__gt=now).order_by(
            "-priority", "-starts_at", "id"
        )
        if _targets(offer, audience)
    ]
    activated = set(
        await OfferActivation.filter(account_id=account_id, offer_id__in=[o.id for o in live]).values_list(
            "offer_id", flat=True
        )
    )
    personal = await has_consent(account_id=account_id, purpose=ConsentPurpose.PERSONALISATION)
    if personal:
        affinity = await _partner_affinity(account_id, now.date() - dt.timedelta(days=HISTORY_DAYS))
        live.sort(key=lambda offer: -affinity[offer.partner_code])  # stable: ties keep the generic order
    return [OfferView(offer, offer.id in activated, personal) for offer in live[:limit]]


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
    *, account_id: int, partner_code: str, activity_on: dt.date, transaction_id: str, rule_version: str
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
            source=OFFER_BONUS_SOURCE,
            idempotency_key=f"offer:{activation.id}",
            activity_date=activity_on,
            rule_version=rule_version,
            partner_reference=f"{partner_code}:{transaction_id}",
            description=f"Offer bonus: {offer.title}"[:200],
            counter_account=CounterAccount.PARTNER_LIABILITY,
        )
        await OfferActivation.filter(id=activation.id, bonus_posting_id__isnull=True).update(
            bonus_posting_id=result.posting_id
        )
        postings.append(result.posting_id)
    return postings
