"""Offers (issue 7): targeting, generic vs personal ranking by consent, activation, bonus once."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.consents.models import ConsentPurpose
from loyalty.consents.service import record_consent
from loyalty.crediting import post
from loyalty.dashboard.read import read_dashboard
from loyalty.errors import Conflict, NotFound
from loyalty.events.models import DomainEvent, EventType
from loyalty.ledger.models import Currency, PostingSource
from loyalty.ledger.service import balances_of
from loyalty.members.models import Member, Tier
from loyalty.offers.models import Offer, OfferKind
from loyalty.offers.service import (
    MAX_OFFERS,
    _targets,
    activate_offer,
    add_offer,
    apply_offer_bonus,
    offers_for,
)
from loyalty.rules import current_rules
from tests.factories import make_member

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)


async def _offers() -> None:
    await add_offer(
        code="SHOP-X2",
        partner_code="shop",
        kind=OfferKind.EARN,
        title="Shop bonus",
        starts_at=NOW - WEEK,
        ends_at=NOW + WEEK,
        bonus_miles=500,
        priority=5,
    )
    await add_offer(
        code="HOTEL-BONUS",
        partner_code="hotel",
        kind=OfferKind.EARN,
        title="Hotel bonus",
        starts_at=NOW - WEEK,
        ends_at=NOW + WEEK,
        bonus_miles=300,
        priority=1,
    )
    await add_offer(
        code="SEN-ONLY",
        partner_code="swiss",
        kind=OfferKind.REDEEM,
        title="Senators",
        starts_at=NOW - WEEK,
        ends_at=NOW + WEEK,
        tiers=["SEN"],
    )
    await add_offer(
        code="AT-ONLY",
        partner_code="austrian",
        kind=OfferKind.REDEEM,
        title="Austria",
        starts_at=NOW - WEEK,
        ends_at=NOW + WEEK,
        countries=["at"],
    )
    await add_offer(
        code="OVER",
        partner_code="shop",
        kind=OfferKind.EARN,
        title="Old",
        starts_at=NOW - 3 * WEEK,
        ends_at=NOW - WEEK,
        bonus_miles=100,
    )


async def _earn_with(account: int, partner: str, key: str, *, reference: str | None = None) -> None:
    """A partner accrual whose reference is ``partner:key`` (or ``reference``)."""
    await post(
        account_id=account,
        amounts={Currency.AWARD_MILES: 100},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=key,
        activity_date=NOW.date() - dt.timedelta(days=30),
        rule_version="test",
        rules=current_rules(),
        partner_reference=reference or f"{partner}:{key}",
    )


async def _consent_to_personalisation(account: int) -> None:
    await record_consent(
        account_id=account,
        purpose=ConsentPurpose.PERSONALISATION,
        given=True,
        text_version="v1",
        now=NOW,
        rules=current_rules(),
    )


async def test_targeting_and_generic_order_without_consent(db: Settings) -> None:
    await _offers()
    account = int((await make_member()).member.id)
    await _earn_with(account, "hotel", "h1")
    views = await offers_for(account_id=account, now=NOW)
    assert [view.offer.code for view in views] == ["SHOP-X2", "HOTEL-BONUS"]
    assert not any(view.personalised for view in views)


async def test_personal_ranking_only_with_consent(db: Settings) -> None:
    await _offers()
    account = int((await make_member()).member.id)
    await _earn_with(account, "hotel", "h1")
    await _consent_to_personalisation(account)
    views = await offers_for(account_id=account, now=NOW)
    assert [view.offer.code for view in views] == ["HOTEL-BONUS", "SHOP-X2"]
    assert all(view.personalised for view in views)


async def test_affinity_counts_the_accruals_whose_reference_names_the_offers_partner(db: Settings) -> None:
    # given: with consent, accruals with the hotel (one reference is the bare code), the shop, and a
    # partner whose code only begins like the shop's
    await _offers()
    account = int((await make_member()).member.id)
    for partner, key in [
        ("hotel", "h1"),
        ("hotel", "h2"),
        ("shop", "s1"),
        ("shopping", "x1"),
        ("shopping", "x2"),
    ]:
        await _earn_with(account, partner, key)
    await _earn_with(account, "hotel", "bare", reference="hotel")
    await _consent_to_personalisation(account)

    # when
    views = await offers_for(account_id=account, now=NOW)
    dashboard = await read_dashboard(account_id=account, now=NOW, offer_count=MAX_OFFERS)

    # then: per partner code, "shopping:" is not "shop:", and the dashboard's one statement agrees
    assert {view.offer.code: view.offer.affinity for view in views} == {"HOTEL-BONUS": 3, "SHOP-X2": 1}
    assert [view.offer.code for view in views] == ["HOTEL-BONUS", "SHOP-X2"]
    assert dashboard is not None and dashboard.offers == views


async def test_activation_reaches_the_partner_and_a_matching_accrual_gets_the_bonus_once(
    db: Settings,
) -> None:
    await _offers()
    account = int((await make_member()).member.id)
    await activate_offer(account_id=account, code="SHOP-X2", now=NOW)
    [event] = await DomainEvent.filter(account_id=account, type=EventType.OFFER_ACTIVATED)
    assert event.payload["partnerCode"] == "shop"
    with pytest.raises(Conflict):
        await activate_offer(account_id=account, code="SHOP-X2", now=NOW)
    with pytest.raises(NotFound):
        await activate_offer(account_id=account, code="SEN-ONLY", now=NOW)  # not for a base member

    later = NOW + dt.timedelta(hours=2)
    assert (
        await apply_offer_bonus(
            account_id=account,
            partner_code="hotel",
            activity_on=later.date(),
            transaction_id="T0",
            rules=current_rules(),
        )
        == []
    )
    first = await apply_offer_bonus(
        account_id=account,
        partner_code="shop",
        activity_on=later.date(),
        transaction_id="T1",
        rules=current_rules(),
    )
    second = await apply_offer_bonus(
        account_id=account,
        partner_code="shop",
        activity_on=later.date(),
        transaction_id="T2",
        rules=current_rules(),
    )
    assert len(first) == 1 and second == []
    assert (await balances_of(account_id=account))[Currency.AWARD_MILES] == 500
    assert [view.activated for view in await offers_for(account_id=account, now=NOW)] == [True, False]


@pytest.mark.parametrize(
    ("tier", "country", "language"),
    [("BASE", "DE", "de"), ("SEN", "AT", "de-AT"), ("HON", "CH", "fr-CH"), ("FTL", "AT", "en")],
)
async def test_the_database_aims_offers_as_targeting_decides_and_sends_only_the_first(
    db: Settings, tier: str, country: str, language: str
) -> None:
    # given offers aimed by tier, country and language (and combinations), and a member
    await _offers()
    for code, tiers, countries, languages in [
        ("FR-ONLY", None, None, ["fr"]),
        ("DE-SPEAKERS-AT", None, ["AT"], ["de"]),
        ("HON-FTL", ["HON", "FTL"], None, None),
        ("EN-SEN", ["SEN"], None, ["en"]),
    ]:
        await add_offer(
            code=code,
            partner_code="lh",
            kind=OfferKind.REDEEM,
            title=code,
            starts_at=NOW - WEEK,
            ends_at=NOW + WEEK,
            tiers=tiers,
            countries=countries,
            languages=languages,
        )
    member = (await make_member()).member
    await Member.filter(id=member.id).update(tier=Tier(tier), country=country, language=language)
    member = await Member.get(id=member.id)
    running = [offer for offer in await Offer.all() if offer.starts_at <= NOW < offer.ends_at]

    # when
    views = await offers_for(account_id=member.id, now=NOW, limit=MAX_OFFERS)
    first = await offers_for(account_id=member.id, now=NOW, limit=1)
    dashboard = await read_dashboard(account_id=member.id, now=NOW, offer_count=2)

    # then the statement's targeting is _targets', in the generic order, and only the first are sent
    assert {view.offer.code for view in views} == {offer.code for offer in running if _targets(offer, member)}
    assert [view.offer.code for view in first] == [view.offer.code for view in views][:1]
    assert dashboard is not None and dashboard.offers == views[:2]
