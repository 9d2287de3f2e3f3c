"""Service cards over time: reissue, consent, block, status card orders; one active card under concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.auth.card_reports import report_card
from loyalty.auth.credentials import SignInMethod, check_credentials
from loyalty.auth.models import RefreshToken
from loyalty.auth.sessions import start_family
from loyalty.errors import InvalidCredentials, NotFound, ValidationFailed
from loyalty.identifiers import luhn_check_digit, luhn_valid
from loyalty.members import cards
from loyalty.members.cards import CardBlockReason
from loyalty.members.models import CardOrder, CardOrderReason, CardState, Member, ServiceCard, Tier
from loyalty.members.service import active_card
from loyalty.rules import current_rules
from tests.factories import make_member

RULES = current_rules()
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
TODAY = NOW.date()
PIN = "739152"
UNISSUED = "99200000000000" + str(luhn_check_digit("99200000000000"))


async def _states(account_id: int) -> list[CardState]:
    return [card.state for card in await cards.card_history(account_id=account_id)]


async def _achieve(account_id: int, tier: Tier, valid_until: dt.date) -> ServiceCard:
    order = await cards.issue_status_card(
        account_id=account_id,
        tier=tier,
        valid_until=valid_until,
        reason=CardOrderReason.ACHIEVED,
        rules=RULES,
        today=TODAY,
        now=NOW,
    )
    return await ServiceCard.get(id=order.card_id)


async def test_a_status_change_keeps_account_number_and_pin_and_supersedes_the_old_number(
    db: Settings,
) -> None:
    enrolled = await make_member()
    before = await Member.get(id=enrolled.member.id)

    card = await cards.reissue_card(
        account_id=before.id,
        tier=Tier.FTL,
        advertising_consent=True,
        rules=RULES,
        now=NOW,
        valid_until=dt.date(2028, 2, 29),
    )

    after = await Member.get(id=before.id)
    assert (after.account_number, after.pin_hash) == (before.account_number, before.pin_hash)
    assert after.tier is Tier.FTL
    assert card.number.startswith("9922") and luhn_valid(card.number) and card.number != enrolled.card.number
    old = await ServiceCard.get(id=enrolled.card.id)
    assert old.state is CardState.SUPERSEDED and old.state_changed_at == NOW
    assert await _states(before.id) == [CardState.ACTIVE, CardState.SUPERSEDED]
    assert (await active_card(account_id=before.id)).valid_until == dt.date(2028, 2, 29)
    resolved = await cards.resolve_card_for_accrual(enrolled.card.number, RULES, activity_on=TODAY)
    assert resolved.account_id == before.id and resolved.state is CardState.SUPERSEDED


async def test_the_new_number_still_signs_in_with_the_same_pin(db: Settings) -> None:
    enrolled = await make_member()
    card = await cards.reissue_card(
        account_id=enrolled.member.id, tier=Tier.SEN, advertising_consent=True, rules=RULES, now=NOW
    )
    member = await check_credentials(
        method=SignInMethod.SERVICE_CARD_NUMBER, identifier=card.number, secret=PIN, rules=RULES, now=NOW
    )
    assert member.id == enrolled.member.id


@pytest.mark.parametrize(
    ("given", "old_prefix", "new_prefix"), [(True, "9999", "9920"), (False, "9920", "9999")]
)
async def test_a_base_members_consent_change_issues_a_new_number(
    db: Settings, given: bool, old_prefix: str, new_prefix: str
) -> None:
    enrolled = await make_member(advertising_consent=not given)
    assert enrolled.card.number.startswith(old_prefix)

    card = await cards.set_advertising_consent(
        account_id=enrolled.member.id, given=given, rules=RULES, now=NOW
    )

    assert card is not None and card.number.startswith(new_prefix) and card.state is CardState.ACTIVE
    assert (await Member.get(id=enrolled.member.id)).advertising_consent is given
    assert (await ServiceCard.get(id=enrolled.card.id)).state is CardState.SUPERSEDED
    again = await cards.set_advertising_consent(
        account_id=enrolled.member.id, given=given, rules=RULES, now=NOW
    )
    assert again is None
    assert await _states(enrolled.member.id) == [CardState.ACTIVE, CardState.SUPERSEDED]


async def test_a_status_members_consent_change_keeps_the_number(db: Settings) -> None:
    enrolled = await make_member(advertising_consent=True)
    senator = await _achieve(enrolled.member.id, Tier.SEN, dt.date(2028, 2, 29))

    changed = await cards.set_advertising_consent(
        account_id=enrolled.member.id, given=False, rules=RULES, now=NOW
    )

    assert changed is None
    member = await Member.get(id=enrolled.member.id)
    assert member.advertising_consent is False and member.tier is Tier.SEN
    current = await active_card(account_id=enrolled.member.id)
    assert current.number == senator.number and current.number.startswith("222")


async def test_a_blocked_number_is_replaced_refused_for_sign_in_and_credits_only_activity_before_the_block(
    db: Settings,
) -> None:
    enrolled = await make_member()
    old_number = enrolled.card.number

    card = await cards.block_card(
        account_id=enrolled.member.id, reason=CardBlockReason.LOST, rules=RULES, now=NOW
    )

    assert card.number != old_number and card.number.startswith("9920") and card.state is CardState.ACTIVE
    assert (await ServiceCard.get(number=old_number)).state is CardState.BLOCKED
    # activity dated before the day of the block still credits the owner
    before = await cards.resolve_card_for_accrual(old_number, RULES, activity_on=TODAY - dt.timedelta(days=1))
    assert before.account_id == enrolled.member.id
    # activity on the day of the block or later is refused, with the day named
    for day in (TODAY, TODAY + dt.timedelta(days=3)):
        with pytest.raises(ValidationFailed) as refused:
            await cards.resolve_card_for_accrual(old_number, RULES, activity_on=day)
        assert refused.value.code == "CARD_BLOCKED" and TODAY.isoformat() in refused.value.message
    # a reference to something credited already (a reversal's member) still resolves
    assert (await cards.resolve_card_for_accrual(old_number, RULES, activity_on=None)).account_id == (
        enrolled.member.id
    )
    with pytest.raises(InvalidCredentials):
        await check_credentials(
            method=SignInMethod.SERVICE_CARD_NUMBER, identifier=old_number, secret=PIN, rules=RULES, now=NOW
        )
    assert (await cards.resolve_card_for_accrual(card.number, RULES, activity_on=TODAY)).id == card.id
    assert await _states(enrolled.member.id) == [CardState.ACTIVE, CardState.BLOCKED]


async def test_blocking_a_status_card_keeps_tier_and_validity(db: Settings) -> None:
    enrolled = await make_member()
    await _achieve(enrolled.member.id, Tier.HON, dt.date(2028, 2, 29))

    card = await cards.block_card(
        account_id=enrolled.member.id, reason=CardBlockReason.STOLEN, rules=RULES, now=NOW
    )

    assert (
        card.number.startswith("333") and card.tier is Tier.HON and card.valid_until == dt.date(2028, 2, 29)
    )


@pytest.mark.parametrize(
    ("reason", "revoked"), [(CardBlockReason.STOLEN, True), (CardBlockReason.LOST, False)]
)
async def test_a_stolen_card_ends_every_session(db: Settings, reason: CardBlockReason, revoked: bool) -> None:
    enrolled = await make_member()
    await start_family(account_id=enrolled.member.id, platform="web", rules=RULES.sign_in, now=NOW)

    await report_card(account_id=enrolled.member.id, reason=reason, rules=RULES, now=NOW)

    token = await RefreshToken.get(account_id=enrolled.member.id)
    assert (token.revoked_at is not None) is revoked


async def test_an_unknown_number_or_member_is_not_found(db: Settings) -> None:
    enrolled = await make_member()
    await cards.block_card(account_id=enrolled.member.id, reason=CardBlockReason.LOST, rules=RULES, now=NOW)
    with pytest.raises(NotFound) as missing:
        await cards.block_card(
            account_id=enrolled.member.id + 999, reason=CardBlockReason.LOST, rules=RULES, now=NOW
        )
    assert missing.value.code == "MEMBER_NOT_FOUND"
    with pytest.raises(NotFound) as unknown:
        await cards.resolve_card_for_accrual(UNISSUED, RULES, activity_on=TODAY)
    assert unknown.value.code == "CARD_NOT_FOUND"


async def test_a_number_collision_draws_again(db: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    enrolled = await make_member()
    taken = enrolled.card.number
    fresh = iter([taken, "992012345678903"])
    monkeypatch.setattr(cards, "new_service_card_number", lambda *_a, **_k: next(fresh))

    card = await cards.reissue_card(
        account_id=enrolled.member.id, tier=Tier.BASE, advertising_consent=True, rules=RULES, now=NOW
    )

    assert card.number == "992012345678903"
    assert await _states(enrolled.member.id) == [CardState.ACTIVE, CardState.SUPERSEDED]


async def test_an_achieved_status_shows_at_once_and_ships_today(db: Settings) -> None:
    enrolled = await make_member()

    order = await cards.issue_status_card(
        account_id=enrolled.member.id,
        tier=Tier.FTL,
        valid_until=dt.date(2028, 2, 29),
        reason=CardOrderReason.ACHIEVED,
        rules=RULES,
        today=TODAY,
        now=NOW,
    )

    assert (order.reason, order.ship_on, order.activate_on) == (CardOrderReason.ACHIEVED, TODAY, TODAY)
    current = await active_card(account_id=enrolled.member.id)
    assert order.card_id == current.id and current.number.startswith("9922")
    assert (await Member.get(id=enrolled.member.id)).tier is Tier.FTL
    listed = await cards.card_orders(account_id=enrolled.member.id)
    assert [o.id for o in listed] == [order.id] and listed[0].card.number == current.number


async def test_a_renewal_keeps_the_number_and_ships_before_expiry(db: Settings) -> None:
    enrolled = await make_member()
    senator = await _achieve(enrolled.member.id, Tier.SEN, dt.date(2027, 2, 28))

    order = await cards.issue_status_card(
        account_id=enrolled.member.id,
        tier=Tier.SEN,
        valid_until=dt.date(2028, 2, 29),
        reason=CardOrderReason.RENEWED,
        rules=RULES,
        today=dt.date(2026, 12, 31),
    )

    assert order.ship_on == dt.date(2027, 2, 7) and order.activate_on == dt.date(2027, 3, 1)
    current = await active_card(account_id=enrolled.member.id)
    assert order.card_id == current.id == senator.id
    assert current.valid_until == dt.date(2028, 2, 29)
    assert [o.reason for o in await cards.card_orders(account_id=enrolled.member.id)] == [
        CardOrderReason.RENEWED,
        CardOrderReason.ACHIEVED,
    ]


async def test_renewal_shipping_days_are_configurable_and_never_in_the_past(db: Settings) -> None:
    enrolled = await make_member()
    await _achieve(enrolled.member.id, Tier.FTL, dt.date(2027, 2, 28))

    async def renew(until: dt.date, today: dt.date, days: int) -> CardOrder:
        return await cards.issue_status_card(
            account_id=enrolled.member.id,
            tier=Tier.FTL,
            valid_until=until,
            reason=CardOrderReason.RENEWED,
            rules=RULES,
            today=today,
            ship_days_before=days,
        )

    early = await renew(dt.date(2028, 2, 29), dt.date(2026, 12, 1), 30)
    assert early.ship_on == dt.date(2027, 1, 29) and early.activate_on == dt.date(2027, 3, 1)
    late = await renew(dt.date(2029, 2, 28), dt.date(2028, 2, 20), 21)
    assert late.ship_on == dt.date(2028, 2, 20) and late.activate_on == dt.date(2028, 3, 1)


@pytest.mark.parametrize(
    ("tier", "reason", "valid_until", "code"),
    [
        (Tier.BASE, CardOrderReason.ACHIEVED, dt.date(2028, 2, 29), "TIER_HAS_NO_STATUS_CARD"),
        (Tier.FTL, CardOrderReason.RENEWED, dt.date(2028, 2, 29), "NOTHING_TO_RENEW"),
        (Tier.SEN, CardOrderReason.RENEWED, dt.date(2028, 2, 29), "NOTHING_TO_RENEW"),
        (Tier.HON, CardOrderReason.RENEWED, dt.date(2027, 2, 28), "RENEWAL_NOT_LATER"),
    ],
)
async def test_status_card_orders_that_break_a_rule_change_nothing(
    db: Settings, tier: Tier, reason: CardOrderReason, valid_until: dt.date, code: str
) -> None:
    enrolled = await make_member()
    if tier is Tier.HON:
        await _achieve(enrolled.member.id, Tier.HON, dt.date(2027, 2, 28))
    elif tier is Tier.SEN:
        await _achieve(enrolled.member.id, Tier.FTL, dt.date(2027, 2, 28))  # renewing a tier not held
    before = [
        (c.number, c.state, c.valid_until) for c in await cards.card_history(account_id=enrolled.member.id)
    ]

    with pytest.raises(ValidationFailed) as refused:
        await cards.issue_status_card(
            account_id=enrolled.member.id,
            tier=tier,
            valid_until=valid_until,
            reason=reason,
            rules=RULES,
            today=TODAY,
        )

    assert refused.value.code == code
    after = [
        (c.number, c.state, c.valid_until) for c in await cards.card_history(account_id=enrolled.member.id)
    ]
    assert after == before


async def test_card_history_is_newest_first_and_per_member(db: Settings) -> None:
    first = await make_member("first@example.com")
    other = await make_member("other@example.com")
    await cards.set_advertising_consent(account_id=first.member.id, given=False, rules=RULES, now=NOW)
    await cards.block_card(account_id=first.member.id, reason=CardBlockReason.LOST, rules=RULES, now=NOW)

    history = await cards.card_history(account_id=first.member.id)

    assert [c.state for c in history] == [CardState.ACTIVE, CardState.BLOCKED, CardState.SUPERSEDED]
    assert history[-1].number == first.card.number
    assert all(card.account_id == first.member.id for card in history)
    assert [c.number for c in await cards.card_history(account_id=other.member.id)] == [other.card.number]


@pytest.mark.postgres
async def test_concurrent_reissues_leave_exactly_one_active_card(pg_db: Settings) -> None:
    enrolled = await make_member()

    async def reissue(i: int) -> ServiceCard:
        return await cards.reissue_card(
            account_id=enrolled.member.id,
            tier=(Tier.FTL, Tier.SEN)[i % 2],
            advertising_consent=True,
            rules=RULES,
            now=NOW,
        )

    issued = await asyncio.gather(*[reissue(i) for i in range(5)])

    states = await _states(enrolled.member.id)
    assert states.count(CardState.ACTIVE) == 1 and states.count(CardState.SUPERSEDED) == 5
    active = await active_card(account_id=enrolled.member.id)
    assert active.id in {card.id for card in issued}
    assert (await Member.get(id=enrolled.member.id)).tier is active.tier


@pytest.mark.postgres
async def test_a_block_racing_a_consent_change_leaves_one_active_card(pg_db: Settings) -> None:
    enrolled = await make_member(advertising_consent=True)

    results = await asyncio.gather(
        cards.block_card(account_id=enrolled.member.id, reason=CardBlockReason.LOST, rules=RULES, now=NOW),
        cards.set_advertising_consent(account_id=enrolled.member.id, given=False, rules=RULES, now=NOW),
        return_exceptions=True,
    )

    assert not [r for r in results if isinstance(r, BaseException)]
    states = await _states(enrolled.member.id)
    assert states.count(CardState.ACTIVE) == 1 and len(states) == 3
    assert (await active_card(account_id=enrolled.member.id)).number.startswith("9999")
