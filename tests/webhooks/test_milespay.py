"""MilesPay through GraphQL and the bank's signed ``card.transaction`` webhook, and award tickets earning
nothing when an airline reports them flown (DOMAIN.md 3.2, 7)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx2 import AsyncClient

from loyalty.auth.models import TotpFactor
from loyalty.awards.config import current_awards
from loyalty.awards.models import MilesPayDebit, MilesPayOptIn, MilesPayState
from loyalty.ledger.models import Currency, Posting, PostingSource
from loyalty.ledger.service import balances_of
from loyalty.ledger.verify import verify_ledger
from partners.charts import current_earning_chart
from partners.models import Partner, PartnerCapability, PartnerKind
from partners.service import NewPartner
from tests.factories import gql, make_partner
from tests.schema.award_helpers import BOOK, MILESPAY, flight, member_with_miles
from tests.webhooks.test_events import applied, send
from webhooks.models import InboxState, PartnerInbox
from webhooks.outbound.models import OutboundMessage

MILESPAY_RULES = current_awards().milespay
ME = "{ me { milesPay { state capMiles } } }"


def purchase(account_number: str, transaction_id: str, amount: str, currency: str = "EUR") -> dict[str, Any]:
    return {
        "type": "card.transaction",
        "data": {
            "transactionId": transaction_id,
            "member": {"accountNumber": account_number},
            "cardReference": "MC-1",
            "amount": {"amount": float(amount), "currency": currency},
            "transactionDate": "2026-12-01",
            "merchant": "Bakery",
        },
    }


async def _bank() -> NewPartner:
    """A bank with MilesPay (operators add the capability: it is not a bank's default)."""
    capabilities = {PartnerCapability.ACCRUAL, PartnerCapability.CARD_PROTECTION, PartnerCapability.MILESPAY}
    return await make_partner("dkb", PartnerKind.BANK, capabilities=capabilities)


async def _decided(bank: NewPartner) -> dict[str, dict[str, Any]]:
    """The bank's ``milespay.decided`` messages by transaction id (to that bank only)."""
    messages = await OutboundMessage.filter(event_type="milespay.decided")
    bank_id = (await Partner.get(code=bank.code)).id
    assert all(message.partner_id == bank_id for message in messages)
    decided = {message.payload["data"]["transactionId"]: message.payload["data"] for message in messages}
    assert len(decided) == len(messages)  # one answer per purchase
    return decided


def _answer(miles: int, eur: str, reason: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"paidWithMiles": reason is None, "miles": miles, "eurValue": eur, "reason": reason, "code": code}


def _outcomes(decided: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each answer's outcome, without the purchase it names."""
    return {
        tx: {k: v for k, v in d.items() if k not in ("transactionId", "member")} for tx, d in decided.items()
    }


async def _miles(account_id: int) -> int:
    return (await balances_of(account_id=account_id))[Currency.AWARD_MILES]


async def _opt_in(client: AsyncClient, token: str, cap: int) -> dict[str, Any]:
    body = await gql(client, MILESPAY, {"input": {"enabled": True, "capMiles": cap}}, token=token)
    result: dict[str, Any] = body["data"]["setMilesPay"]
    return result


async def test_an_opted_in_purchase_is_paid_with_miles_up_to_the_cap_once(client: AsyncClient) -> None:
    bank = await _bank()
    enrolled, account_id = await member_with_miles(client, 20_000)
    token, number = enrolled["accessToken"], enrolled["accountNumber"]

    low = await _opt_in(client, token, MILESPAY_RULES.minimum_miles - 1)
    assert low == {"__typename": "InputError", "code": "MILESPAY_CAP_INVALID", "field": "capMiles"}
    assert await _opt_in(client, token, 10_000) == {
        "__typename": "MilesPaySet",
        "milespay": {"state": "ACTIVE", "capMiles": 10_000},
    }

    row = await applied(client, bank, purchase(number, "TX-1", "45.67"))
    assert row.state == InboxState.PROCESSED
    assert await _miles(account_id) == 20_000 - 4_567  # EUR 45.67 at EUR 0.01 a mile
    assert (await gql(client, ME, token=token))["data"]["me"]["milesPay"] is None  # used up

    again = await send(client, bank, purchase(number, "TX-1", "45.67"))  # a new webhook id, same purchase
    assert again.status_code == 200 and again.json()["duplicate"] is True
    later = await applied(client, bank, purchase(number, "TX-2", "30.00"))  # no opt-in now: paid in cash
    assert later.state == InboxState.PROCESSED
    without = await send(
        client, await make_partner("sparkasse", PartnerKind.BANK), purchase(number, "TX-3", "9")
    )
    assert without.status_code == 403 and without.json()["error"]["code"] == "EVENT_TYPE_NOT_ALLOWED"
    assert await _miles(account_id) == 20_000 - 4_567
    assert await MilesPayDebit.filter(account_id=account_id).count() == 1
    assert await Posting.filter(account_id=account_id, source=PostingSource.REDEMPTION).count() == 1
    assert (await verify_ledger()).clean
    # and the bank heard each purchase's outcome once, to bill the card accordingly
    decided = await _decided(bank)
    assert _outcomes(decided) == {
        "TX-1": _answer(4_567, "45.67"),
        "TX-2": _answer(0, "0.00", "NO_OPT_IN"),
    }
    assert decided["TX-1"]["member"] == {"accountNumber": number}


async def test_the_cap_the_balance_and_the_minimum_bound_a_debit(client: AsyncClient) -> None:
    bank = await _bank()
    enrolled, account_id = await member_with_miles(client, 8_000)
    token, number = enrolled["accessToken"], enrolled["accountNumber"]

    await _opt_in(client, token, 5_000)
    usd = str(1000 * current_earning_chart().rates.per_eur["USD"])  # EUR 1,000: 100,000 miles wanted
    await applied(client, bank, purchase(number, "TX-1", usd, "USD"))
    assert await _miles(account_id) == 3_000  # the cap of 5,000

    await _opt_in(client, token, 10_000)
    await applied(client, bank, purchase(number, "TX-2", "29.99"))  # 2,999 miles: below the minimum
    assert await _miles(account_id) == 3_000
    opt_in = await MilesPayOptIn.filter(account_id=account_id).order_by("-id").first()
    assert opt_in is not None and opt_in.state is MilesPayState.ACTIVE  # kept for the next purchase
    await applied(client, bank, purchase(number, "TX-3", "500"))
    assert await _miles(account_id) == 0  # the balance bounds it: 3,000 of 50,000 wanted
    decided = await _decided(bank)
    assert _outcomes(decided) == {
        "TX-1": _answer(5_000, "50.00"),
        "TX-2": _answer(0, "0.00", "TOO_FEW_MILES"),
        "TX-3": _answer(3_000, "30.00"),
    }


async def test_an_award_ticket_earns_nothing_when_flown(client: AsyncClient) -> None:
    airline = await make_partner("united", PartnerKind.AIRLINE)
    enrolled, account_id = await member_with_miles(client, 60_000)
    await TotpFactor.create(account_id=account_id, secret_encrypted="x", confirmed_at=dt.datetime.now(dt.UTC))
    trip = flight(departureDate=dt.date.today().isoformat())
    booked = await gql(
        client, BOOK, {"input": {"flight": trip, "requestId": "r"}}, token=enrolled["accessToken"]
    )
    ticket = booked["data"]["bookAwardFlight"]["booking"]["ticketNumber"]

    def flown(ticket_number: str) -> dict[str, Any]:
        return {
            "type": "flight.flown",
            "data": {
                "ticketNumber": ticket_number,
                "carrier": "UA",
                "flightNumber": "107",
                "flightDate": trip["departureDate"],
                "origin": "MUC",
                "destination": "ORD",
                "cabin": "business",
                "bookingClass": "J",
                "passenger": {"surname": "LOVELACE", "givenName": "ADA"},
                "member": {"accountNumber": enrolled["accountNumber"]},
            },
        }

    before = await balances_of(account_id=account_id)
    assert (await applied(client, airline, flown(ticket))).state == InboxState.PROCESSED
    assert await balances_of(account_id=account_id) == before  # 0 Points, 0 miles
    assert not await Posting.filter(account_id=account_id, source=PostingSource.FLIGHT_ACCRUAL).exists()
    # the same flight on a paid ticket earns (the control)
    assert (await applied(client, airline, flown("0161234567890"))).state == InboxState.PROCESSED
    after = await balances_of(account_id=account_id)
    assert after[Currency.POINTS] > 0 and after[Currency.AWARD_MILES] > before[Currency.AWARD_MILES]


async def test_a_purchase_held_twice_in_the_inbox_is_decided_and_answered_once(client: AsyncClient) -> None:
    """A purchase parked unmatched and sent again is in the inbox twice, and a reprocess runs the parked
    row after the bank has its answer: the second run decides nothing, neither in cash nor, though the
    member opted in meanwhile, with miles."""
    from tortoise.transactions import in_transaction

    from loyalty.rules import current_rules
    from webhooks.handlers import card_transaction

    bank = await _bank()
    enrolled, account_id = await member_with_miles(client, 20_000)
    token, number = enrolled["accessToken"], enrolled["accountNumber"]
    partner = await Partner.get(code=bank.code)

    async def handle(transaction_id: str) -> None:
        async with in_transaction():  # as the inbox worker runs a handler
            row = PartnerInbox(payload=purchase(number, transaction_id, "45.67"))
            await card_transaction(row, partner, current_rules())

    await handle("TX-1")  # no opt-in: cash
    await _opt_in(client, token, 10_000)
    await handle("TX-1")  # the same purchase again: already answered
    await handle("TX-2")  # a new purchase: miles
    await handle("TX-2")

    decided = await _decided(bank)  # one message per purchase (asserted inside)
    assert decided["TX-1"]["reason"] == "NO_OPT_IN" and decided["TX-2"]["paidWithMiles"] is True
    assert await _miles(account_id) == 20_000 - 4_567
    assert await MilesPayDebit.filter(account_id=account_id).count() == 1


async def test_a_purchase_the_hub_refuses_is_answered_as_cash_once(client: AsyncClient) -> None:
    """A purchase naming no member is parked, and the bank still hears, at once, that it is paid in cash
    (it bills the card now). Processing the parked row again, refused again or applied after a correction,
    decides nothing more: the answer's fixed webhook id says it was given."""
    from loyalty.rules import current_rules
    from webhooks.outbound.service import answer_webhook_id
    from webhooks.worker import _apply

    bank = await _bank()
    enrolled, account_id = await member_with_miles(client, 20_000)
    token, number = enrolled["accessToken"], enrolled["accountNumber"]
    await _opt_in(client, token, 10_000)
    unknown = "000000001"  # a well-formed account number nobody has

    row = await applied(client, bank, purchase(unknown, "TX-1", "45.67"))
    assert (row.state, row.error_code) == (InboxState.UNMATCHED, "MEMBER_NOT_FOUND")
    decided = await _decided(bank)
    assert decided == {
        "TX-1": {
            "transactionId": "TX-1",
            "member": {"accountNumber": unknown},
            **_answer(0, "0.00", "REFUSED", "MEMBER_NOT_FOUND"),
        }
    }
    message = await OutboundMessage.get(event_type="milespay.decided")
    bank_id = (await Partner.get(code=bank.code)).id
    assert message.account_id is None
    assert message.webhook_id == answer_webhook_id("milespay.decided", bank_id, "TX-1")

    async def again(member_number: str) -> InboxState:
        """The parked row processed again (as ``milesgate inbox reprocess`` has the worker do)."""
        stored = await PartnerInbox.get(id=row.id)
        stored.payload["data"]["member"] = {"accountNumber": member_number}
        await PartnerInbox.filter(id=row.id).update(payload=stored.payload, state=InboxState.PENDING)
        settled = await _apply(row.id, current_rules())
        assert settled is not None
        return settled.state

    assert await again(unknown) is InboxState.UNMATCHED  # refused again: no second answer
    assert await again(number) is InboxState.PROCESSED  # corrected: the bank has billed it in cash
    assert await _decided(bank) == decided
    assert await _miles(account_id) == 20_000
    assert not await MilesPayDebit.filter(account_id=account_id).exists()
    # the opt-in waits for the next purchase, which miles pay
    await applied(client, bank, purchase(number, "TX-2", "45.67"))
    assert (await _decided(bank))["TX-2"]["paidWithMiles"] is True
    assert await _miles(account_id) == 20_000 - 4_567


async def test_a_failed_purchase_is_answered_and_a_resend_of_it_is_a_duplicate(client: AsyncClient) -> None:
    """A purchase the worker fails (here, a currency without a rate) is answered as cash with the code;
    the refusal is final, so the bank's resend of it is a duplicate, not a second row to decide."""
    bank = await _bank()
    enrolled, account_id = await member_with_miles(client, 20_000)
    await _opt_in(client, enrolled["accessToken"], 10_000)
    event = purchase(enrolled["accountNumber"], "TX-1", "45.67", "ZZZ")

    row = await applied(client, bank, event)
    assert (row.state, row.error_code) == (InboxState.FAILED, "UNKNOWN_CURRENCY")
    assert {tx: d["reason"] + "/" + d["code"] for tx, d in (await _decided(bank)).items()} == {
        "TX-1": "REFUSED/UNKNOWN_CURRENCY"
    }
    resend = await send(client, bank, event)
    assert resend.status_code == 200 and resend.json()["duplicate"] is True
    assert await PartnerInbox.filter(event_type="card.transaction").count() == 1
    assert await _miles(account_id) == 20_000


async def test_a_purchase_given_up_on_is_answered_as_cash(client: AsyncClient) -> None:
    """A purchase whose processing keeps crashing becomes a dead letter, and the bank hears it is paid in
    cash (``PROCESSING_FAILED``); an accrual's dead letter is not announced (it may yet be credited)."""
    from loyalty.rules import current_rules
    from webhooks import worker
    from webhooks.worker import InboxPolicy

    bank = await _bank()
    bank_id = (await Partner.get(code=bank.code)).id
    rows = [
        await PartnerInbox.create(
            partner_id=bank_id,
            webhook_id=f"msg_{event['type']}",
            event_type=event["type"],
            payload=event,
        )
        for event in (
            purchase("000000001", "TX-1", "45.67"),
            {"type": "accrual.created", "data": {"transactionId": "A-1"}},
        )
    ]
    policy = InboxPolicy(max_attempts=0)  # given up on at once
    for row in rows:
        final = await worker.process_inbox_row(row.id, current_rules(), policy)
        assert final is not None and (final.state, final.error_code) == (
            InboxState.FAILED,
            "PROCESSING_FAILED",
        )
    assert {tx: (d["reason"], d["code"]) for tx, d in (await _decided(bank)).items()} == {
        "TX-1": ("REFUSED", "PROCESSING_FAILED")
    }
    assert not await OutboundMessage.filter(event_type="accrual.rejected").exists()
