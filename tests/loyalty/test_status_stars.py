"""Status Stars (DOMAIN.md 4): 1 point = 2 lifetime QP; 3 stars FTL for life, 4-5 Senator for life; idempotent."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.settings import Settings
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.ledger.models import Currency, Posting
from loyalty.ledger.service import balances_of, year_counters
from loyalty.ledger.verify import verify_ledger
from loyalty.members.models import Member, Tier
from loyalty.rules import current_rules
from loyalty.status.models import MemberStatus
from loyalty.status_stars.models import StatusStarImport
from loyalty.status_stars.service import convert, import_status_stars, read_records
from tests.factories import make_member

RULES = current_rules()
TODAY = dt.date(2026, 6, 15)


@pytest.mark.parametrize(
    ("points", "stars", "qualifying_points", "tier"),
    [
        (0, 0, 0, None),
        (1, 2, 2, None),
        (12_500, 3, 25_000, Tier.FTL),
        (7_000, 4, 14_000, Tier.SEN),
        (20_000, 5, 40_000, Tier.SEN),
    ],
)
def test_conversion(points: int, stars: int, qualifying_points: int, tier: Tier | None) -> None:
    converted = convert(points, stars, RULES.status_stars)
    assert (converted.lifetime_qualifying_points, converted.lifetime_tier) == (qualifying_points, tier)


async def _members(count: int) -> list[str]:
    return [str((await make_member(f"m{n}@example.com")).member.account_number) for n in range(count)]


def _file(*lines: str) -> str:
    return "account_number,status_star_points,stars\n" + "".join(f"{line}\n" for line in lines)


async def test_the_import_converts_points_and_stars_and_a_second_run_changes_nothing(db: Settings) -> None:
    ftl, senator, plain = await _members(3)
    text = _file(f"{ftl},4000,3", f"{senator},7000,4", f"{plain},150,1")

    report = await import_status_stars(read_records(text, RULES), operator="ops", today=TODAY, rules=RULES)
    again = await import_status_stars(read_records(text, RULES), operator="ops", today=TODAY, rules=RULES)

    assert (report.imported, report.unchanged, report.lifetime_granted) == (3, 0, 2)
    assert (again.imported, again.unchanged, again.lifetime_granted) == (0, 3, 0)
    expected = {ftl: (8_000, Tier.FTL), senator: (14_000, Tier.SEN), plain: (300, Tier.BASE)}
    for number, (lifetime_qp, tier) in expected.items():
        member = await Member.get(account_number=number)
        balances = await balances_of(account_id=member.id)
        assert balances[Currency.LIFETIME_QUALIFYING_POINTS] == lifetime_qp
        assert member.tier is tier
        status = await MemberStatus.get_or_none(account_id=member.id)
        assert (status.lifetime_tier if status else None) == (None if tier is Tier.BASE else tier)
        # the old points count for lifetime only: no calendar-year counter moves
        assert (await year_counters(account_id=member.id, year=2023))[Currency.QUALIFYING_POINTS] == 0
    assert await Posting.filter(source="STATUS_STARS").count() == 3
    assert await StatusStarImport.all().count() == 3
    assert (await verify_ledger()).clean


async def test_points_alone_reach_senator_lifetime_at_40000_qp(db: Settings) -> None:
    (number,) = await _members(1)

    await import_status_stars(
        read_records(_file(f"{number},20000,2"), RULES), operator="ops", today=TODAY, rules=RULES
    )

    member = await Member.get(account_number=number)
    assert member.tier is Tier.SEN
    assert (await MemberStatus.get(account_id=member.id)).lifetime_tier is Tier.SEN


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        pytest.param(["{a},100,6"], "FILE_INVALID", id="six-stars"),
        pytest.param(["{a},-1,3"], "FILE_INVALID", id="negative-points"),
        pytest.param(["{a},100"], "FILE_INVALID", id="missing-value"),
        pytest.param(["{a},100,3", "{a},50,3"], "FILE_INVALID", id="account-twice"),
        pytest.param(["12345,100,3"], "ACCOUNT_NUMBER_INVALID", id="bad-account-number"),
    ],
)
async def test_a_malformed_line_refuses_the_file(db: Settings, lines: list[str], code: str) -> None:
    (number,) = await _members(1)
    with pytest.raises(ValidationFailed) as refused:
        read_records(_file(*(line.format(a=number) for line in lines)), RULES)
    assert refused.value.code == code and "line " in refused.value.message


async def test_an_unknown_account_or_changed_values_write_nothing(db: Settings) -> None:
    first, second = await _members(2)
    await import_status_stars(
        read_records(_file(f"{first},100,1"), RULES), operator="ops", today=TODAY, rules=RULES
    )

    with pytest.raises(NotFound) as unknown:
        await import_status_stars(
            read_records(_file(f"{second},5000,4", "999999999,1,1"), RULES),
            operator="ops",
            today=TODAY,
            rules=RULES,
        )
    with pytest.raises(Conflict) as changed:
        await import_status_stars(
            read_records(_file(f"{second},5000,4", f"{first},200,1"), RULES),
            operator="ops",
            today=TODAY,
            rules=RULES,
        )

    assert unknown.value.code == "MEMBER_NOT_FOUND" and "line 3" in unknown.value.message
    assert changed.value.code == "STARS_ALREADY_IMPORTED" and "line 3" in changed.value.message
    assert (await Member.get(account_number=second)).tier is Tier.BASE
    assert await StatusStarImport.all().count() == 1
