"""The rules an accrual meets before it posts: miles that would have expired already are refused
(ACTIVITY_TOO_OLD, DOMAIN.md 5), unless the member's protection would have kept them."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.ledger.expiry import ActivityTooOld, miles_expiring
from loyalty.ledger.models import Currency, ExpiryProtection, Lot, Posting, ProtectionReason
from loyalty.ledger.service import balances_of
from loyalty.rules import current_rules
from partners.models import Partner
from tests.factories import make_member, make_partner
from webhooks.accruals import credit_accrual

RULES = current_rules()


def accrual(number: str, transaction_id: str, activity_date: str, **amounts: int) -> dict[str, object]:
    data: dict[str, object] = {
        "transactionId": transaction_id,
        "member": {"serviceCardNumber": number},
        "activityDate": activity_date,
    }
    data.update(amounts or {"miles": 1000})
    return {"type": "accrual.created", "data": data}


async def _credit(number: str, transaction_id: str, activity_date: str, today: dt.date, **amounts: int):
    partner = await Partner.get(code="swiss")
    return await credit_accrual(
        partner_id=partner.id,
        partner_code=partner.code,
        event=accrual(number, transaction_id, activity_date, **amounts),
        rules=RULES,
        today=today,
    )


@pytest.mark.parametrize(
    ("today", "credited"),
    [
        pytest.param(dt.date(2019, 12, 31), True, id="on-its-expiry-date"),
        pytest.param(dt.date(2020, 1, 1), False, id="the-day-after"),
        pytest.param(dt.date(2026, 12, 6), False, id="years-later"),
    ],
)
async def test_miles_of_12_12_2016_credit_until_31_12_2019_and_are_refused_after(
    db: Settings, today: dt.date, credited: bool
) -> None:
    await make_partner("swiss")
    member = await make_member()

    if credited:
        await _credit(member.card.number, "LX-OLD", "2016-12-12", today)
        lot = await Lot.get(account_id=member.member.id)
        assert (lot.earned_on, lot.expires_on) == (dt.date(2016, 12, 12), dt.date(2019, 12, 31))
        return
    with pytest.raises(ActivityTooOld) as refused:
        await _credit(member.card.number, "LX-OLD", "2016-12-12", today)

    assert (refused.value.code, refused.value.field) == ("ACTIVITY_TOO_OLD", "data.activityDate")
    assert "expired on 2019-12-31" in refused.value.message
    assert await Posting.filter(account_id=member.member.id).count() == 0
    assert (await balances_of(account_id=member.member.id))[Currency.AWARD_MILES] == 0
    assert all(miles == 0 for _, miles in await miles_expiring(account_id=member.member.id, today=today))


async def test_a_protected_members_old_miles_are_kept_like_the_rest(db: Settings) -> None:
    # given: a member whose miles have not expired since 2015 (a status held ever since)
    await make_partner("swiss")
    member = await make_member()
    await ExpiryProtection.create(
        account_id=member.member.id, reason=ProtectionReason.STATUS, starts_on=dt.date(2015, 1, 1)
    )

    # when
    await _credit(member.card.number, "LX-OLD", "2016-12-12", dt.date(2026, 12, 6))

    # then: credited, and not listed as expiring
    assert (await balances_of(account_id=member.member.id))[Currency.AWARD_MILES] == 1000
    expiring = await miles_expiring(account_id=member.member.id, today=dt.date(2026, 12, 6))
    assert sum(miles for _, miles in expiring) == 0


async def test_an_old_activity_without_miles_still_posts_its_points(db: Settings) -> None:
    await make_partner("swiss")
    member = await make_member()

    await _credit(member.card.number, "LX-PTS", "2016-12-12", dt.date(2026, 12, 6), points=20)

    assert await Posting.filter(account_id=member.member.id).count() == 1
