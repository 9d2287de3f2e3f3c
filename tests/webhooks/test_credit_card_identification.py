"""A co-branded credit card identifies its holder (DOMAIN.md 9): a bank names the member by the reference it
reported the card under (its token), never by the card number, which is refused and never stored."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx2 import AsyncClient

from loyalty.errors import ValidationFailed
from loyalty.ledger.card_protection import check_card_reference
from loyalty.ledger.models import CreditCard, Currency
from loyalty.ledger.service import balances_of
from partners.models import PartnerKind
from partners.service import NewPartner
from tests.factories import make_member, make_partner
from tests.support import signed_delivery
from tests.waiting import settled_inbox_row
from webhooks.models import InboxState, PartnerInbox

TOKEN = "tok_4f9a2c71"
PAN = "4111111111111111"


async def _deliver(client: AsyncClient, partner: NewPartner, event: dict[str, Any]) -> PartnerInbox:
    body, headers = signed_delivery(partner.signing_secret, event, webhook_id=f"msg_{uuid.uuid4().hex}")
    response = await client.post(f"/webhooks/partners/{partner.code}", content=body, headers=headers)
    assert response.status_code == 202, response.text
    return await settled_inbox_row(response.json()["id"], timeout_s=5.0)


def _issued(member: dict[str, str], reference: str) -> dict[str, Any]:
    return {
        "type": "card.protection.changed",
        "data": {
            "noticeId": f"N-{uuid.uuid4().hex[:8]}",
            "member": member,
            "cardReference": reference,
            "product": "UNLIMITED",
            "change": "ISSUED",
            "effectiveDate": "2026-01-15",
        },
    }


def _spend(member: dict[str, str], transaction_id: str) -> dict[str, Any]:
    return {
        "type": "accrual.created",
        "data": {
            "transactionId": transaction_id,
            "member": member,
            "activityDate": "2026-03-02",
            "category": "card_spend",
            "cardSpend": {"amount": 240.5, "currency": "EUR"},
            "miles": 120,
        },
    }


async def test_the_bank_finds_the_member_by_its_card_reference(client: AsyncClient) -> None:
    # given: the bank reported the member's card under its token
    bank = await make_partner("dkb", PartnerKind.BANK)
    member = await make_member()
    issued = await _deliver(client, bank, _issued({"accountNumber": member.member.account_number}, TOKEN))
    assert issued.state is InboxState.PROCESSED

    # when: its card-spend accrual names the member by that token only
    row = await _deliver(client, bank, _spend({"creditCardReference": TOKEN}, "TX-1"))

    # then
    assert (row.state, row.account_id) == (InboxState.PROCESSED, member.member.id)
    assert (await balances_of(account_id=member.member.id))[Currency.AWARD_MILES] == 120


async def test_another_banks_card_with_the_same_reference_is_not_the_member(client: AsyncClient) -> None:
    bank = await make_partner("dkb", PartnerKind.BANK)
    other = await make_partner("otherbank", PartnerKind.BANK)
    member = await make_member()
    await _deliver(client, bank, _issued({"accountNumber": member.member.account_number}, TOKEN))

    row = await _deliver(client, other, _spend({"creditCardReference": TOKEN}, "TX-2"))

    assert (row.state, row.error_code) == (InboxState.UNMATCHED, "MEMBER_NOT_FOUND")
    assert (await balances_of(account_id=member.member.id))[Currency.AWARD_MILES] == 0


@pytest.mark.parametrize("where", ["card-report", "member-reference"])
async def test_a_card_number_is_refused_at_the_door_and_never_stored(client: AsyncClient, where: str) -> None:
    bank = await make_partner("dkb", PartnerKind.BANK)
    member = await make_member()
    account = {"accountNumber": member.member.account_number}
    event = _issued(account, PAN) if where == "card-report" else _spend({"creditCardReference": PAN}, "TX-3")

    body, headers = signed_delivery(bank.signing_secret, event, webhook_id=f"msg_{uuid.uuid4().hex}")
    response = await client.post(f"/webhooks/partners/{bank.code}", content=body, headers=headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PAYLOAD_INVALID"
    assert await PartnerInbox.all().count() == 0
    assert await CreditCard.all().count() == 0


def test_a_card_number_is_refused_by_the_rule_too() -> None:
    # rows stored before the entry checked it, or a number with spaces: the rule refuses it as well
    for reference in (PAN, "4111 1111 1111 1111", "5555-5555-5555-4444"):
        with pytest.raises(ValidationFailed) as refused:
            check_card_reference(reference)
        assert refused.value.code == "CARD_REFERENCE_IS_PAN"
    assert check_card_reference(TOKEN) == TOKEN
    assert check_card_reference("123456789012") == "123456789012"  # 12 digits, not a valid card number
