"""The dashboard's fixed SQL (loyalty/fixed_sql.py) reads exactly what the ORM paths read, on SQLite and
on PostgreSQL: the member snapshot, one member's miles expiring, and the values the converters accept."""

from __future__ import annotations

import datetime as dt

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.dashboard.read import read_dashboard
from loyalty.dashboard.snapshot import MemberSnapshot
from loyalty.fixed_sql import as_date, as_datetime, as_optional_date
from loyalty.ledger.expiry import miles_expiring_for, protect
from loyalty.ledger.models import Currency, PostingSource, ProtectionReason
from loyalty.ledger.quarters import add_months
from loyalty.ledger.service import member_balances_for
from loyalty.members.models import CardState, Member, ServiceCard
from loyalty.rules import current_rules
from tests.factories import make_member


async def _post(account_id: int, key: str, amounts: dict[Currency, int], activity_date: dt.date) -> None:
    await post(
        account_id=account_id,
        amounts=amounts,
        source=PostingSource.TEST,
        idempotency_key=key,
        activity_date=activity_date,
        rule_version="test",
        rules=current_rules(),
    )


async def member_snapshot(*, account_id: int, year: int) -> MemberSnapshot | None:
    """The member as the dashboard reads them, with the status counters of ``year``."""
    reads = await read_dashboard(account_id=account_id, now=dt.datetime(year, 6, 30, tzinfo=dt.UTC))
    return reads.member if reads is not None else None


async def test_the_snapshot_reads_what_the_orm_reads(db: Settings) -> None:
    # given a member with miles, this year's status counters and an active card
    account = int((await make_member()).member.id)
    today = dt.datetime.now(dt.UTC).date()
    await _post(account, "s1", {Currency.AWARD_MILES: 1200, Currency.POINTS: 30}, today)
    await _post(account, "s2", {Currency.QUALIFYING_POINTS: 7, Currency.LIFETIME_QUALIFYING_POINTS: 7}, today)
    # when the snapshot is read
    snapshot = await member_snapshot(account_id=account, year=today.year)
    # then it holds the member row, the active card and the balances the ORM paths read
    member = await Member.get(id=account)
    card = await ServiceCard.get(account_id=account, state=CardState.ACTIVE)
    [balances] = await member_balances_for(account_ids=[account], year=today.year)
    assert snapshot is not None
    assert (snapshot.account_id, snapshot.account_number, snapshot.email, snapshot.tier) == (
        member.id,
        member.account_number,
        member.email,
        member.tier,
    )
    assert (snapshot.given_name, snapshot.family_name, snapshot.country, snapshot.language) == (
        member.given_name,
        member.family_name,
        member.country,
        member.language,
    )
    assert (snapshot.date_of_birth, snapshot.user_id) == (member.date_of_birth, member.user_id)
    assert snapshot.card is not None
    assert (snapshot.card.number, snapshot.card.state, snapshot.card.tier) == (
        card.number,
        card.state,
        card.tier,
    )
    assert (snapshot.card.issued_at, snapshot.card.valid_until) == (card.issued_at, card.valid_until)
    assert snapshot.card.issued_at.utcoffset() == dt.timedelta(0)
    assert snapshot.balances == balances
    assert balances[Currency.AWARD_MILES] == 1200 and balances[Currency.POINTS] == 30
    # and last year's counters are not this year's
    older = await member_snapshot(account_id=account, year=today.year - 1)
    assert older is not None and older.balances[Currency.POINTS] == 0
    assert older.balances[Currency.AWARD_MILES] == 1200


async def test_the_snapshot_of_a_member_without_an_active_card_or_of_nobody(db: Settings) -> None:
    account = int((await make_member()).member.id)
    await ServiceCard.filter(account_id=account).update(state=CardState.BLOCKED)
    snapshot = await member_snapshot(account_id=account, year=2026)
    assert snapshot is not None and snapshot.card is None
    assert set(snapshot.balances.values()) == {0}
    assert await member_snapshot(account_id=account + 1000, year=2026) is None


async def test_one_members_miles_expiring_is_what_the_batched_read_answers(db: Settings) -> None:
    # given two members with lots due this quarter and next, one of them protected from before the first
    today = dt.datetime.now(dt.UTC).date()
    accounts = [int((await make_member(f"m{n}@example.com")).member.id) for n in range(2)]
    for account in accounts:
        await _post(account, f"{account}:now", {Currency.AWARD_MILES: 500}, add_months(today, -36))
        await _post(account, f"{account}:next", {Currency.AWARD_MILES: 70}, add_months(today, -33))
        await _post(account, f"{account}:later", {Currency.AWARD_MILES: 9}, today)
    await protect(account_id=accounts[1], reason=ProtectionReason.STATUS, starts_on=add_months(today, -40))
    # when each is read alone (one fixed statement) and both together (the ORM batch)
    alone = [(await miles_expiring_for(account_ids=[account], today=today))[0] for account in accounts]
    together = await miles_expiring_for(account_ids=accounts, today=today)
    # then both read the same
    assert alone == together
    assert [miles for _, miles in alone[0]] == [500, 70]
    assert [miles for _, miles in alone[1]] == [0, 0]


def test_the_converters_take_what_either_database_returns() -> None:
    moment = dt.datetime(2026, 11, 22, 10, 0, 0, 5, tzinfo=dt.UTC)
    assert as_datetime("2026-11-22 10:00:00.000005+00:00") == moment == as_datetime(moment)
    assert as_datetime("2026-11-22 10:00:00").tzinfo is not None
    # PostgreSQL's JSON writes the session's offset; the value comes back in UTC, as asyncpg gives it
    in_berlin = as_datetime("2026-11-22T11:00:00.000005+01:00")
    assert in_berlin == moment and in_berlin.utcoffset() == dt.timedelta(0)
    assert as_date("2026-11-22") == dt.date(2026, 11, 22) == as_date(dt.date(2026, 11, 22))
    assert as_optional_date(None) is None
