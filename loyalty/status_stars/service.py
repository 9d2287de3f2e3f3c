"""Importing Status Stars (DOMAIN.md 4, numbers in ``rules.toml`` ``[status_stars]``), an operator's job.

The old programme's file names, per member, the Status Stars points earned by 31.12.2023 and the stars
held. Each point converts to 2 lifetime Qualifying Points (a posting of LIFETIME_QUALIFYING_POINTS dated
31.12.2023, source STATUS_STARS, so the status engine runs and 30,000 or 40,000 lifetime QP give their
lifetime tier); 3 stars give Frequent Traveller for life, 4 or 5 stars Senator for life.

Idempotent: a member's import is recorded once (``status_star_imports``, unique per member) and its posting
has the key ``status-stars:{account_id}``, so running the same file again changes nothing. The whole file
is checked before anything is written: a malformed line, an unknown account or values that differ from an
earlier import refuse the file (``FILE_INVALID``, ``MEMBER_NOT_FOUND``, ``STARS_ALREADY_IMPORTED``, each
naming the line).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from loyalty.crediting import post
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.identifiers import validate_account_number
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import Member, Tier
from loyalty.rules import ProgrammeRules, StatusStarsRules
from loyalty.status.engine import grant_lifetime_tier
from loyalty.status_stars.models import StatusStarImport

COLUMNS = ("account_number", "status_star_points", "stars")


@dataclass(frozen=True, slots=True)
class StarRecord:
    """One line of the file."""

    line: int
    account_number: str
    star_points: int
    stars: int


@dataclass(frozen=True, slots=True)
class Conversion:
    """What a member's Status Stars are worth today."""

    lifetime_qualifying_points: int
    lifetime_tier: Tier | None


@dataclass(frozen=True, slots=True)
class ImportReport:
    imported: int
    unchanged: int
    lifetime_granted: int


def convert(star_points: int, stars: int, rules: StatusStarsRules) -> Conversion:
    """1 Status Stars point = 2 lifetime Qualifying Points; 3 stars FTL for life, 4-5 Senator for life."""
    tier = rules.lifetime_tier(stars)
    return Conversion(
        lifetime_qualifying_points=star_points * rules.qualifying_points_per_star_point,
        lifetime_tier=Tier(tier) if tier is not None else None,
    )


def _whole(value: str, *, line: int, column: str, maximum: int) -> int:
    text = value.strip()
    if not text.isdigit() or not 0 <= int(text) <= maximum:
        raise ValidationFailed(
            f"line {line}: {column} is a whole number from 0 to {maximum:,}, not {value!r}.",
            field=column,
            code="FILE_INVALID",
        )
    return int(text)


def read_records(text: str, rules: ProgrammeRules) -> list[StarRecord]:
    """The file's lines (CSV with the header ``account_number,status_star_points,stars``), checked."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(name.strip() for name in (reader.fieldnames or ())) != COLUMNS:
        raise ValidationFailed(
            f"The first line names the columns {','.join(COLUMNS)}.", field="file", code="FILE_INVALID"
        )
    records: list[StarRecord] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if None in row or any(value is None for value in row.values()):
            raise ValidationFailed(
                f"line {line}: three values, comma-separated.", field="file", code="FILE_INVALID"
            )
        try:
            number = validate_account_number(row["account_number"], rules.identifiers, field="account_number")
        except ValidationFailed as invalid:
            raise ValidationFailed(
                f"line {line}: {invalid.message}", field=invalid.field, code=invalid.code
            ) from None
        if number in seen:
            raise ValidationFailed(
                f"line {line}: account {number} is on line {seen[number]} already.",
                field="account_number",
                code="FILE_INVALID",
            )
        seen[number] = line
        records.append(
            StarRecord(
                line=line,
                account_number=number,
                star_points=_whole(
                    row["status_star_points"], line=line, column="status_star_points", maximum=10**9
                ),
                stars=_whole(row["stars"], line=line, column="stars", maximum=rules.status_stars.max_stars),
            )
        )
    return records


async def _members(records: list[StarRecord]) -> dict[str, int]:
    """Account number -> account id for every line; an unknown or erased account refuses the file."""
    rows = await Member.filter(
        account_number__in=[record.account_number for record in records], erased_at__isnull=True
    ).values_list("account_number", "id")
    found = {str(number): int(account_id) for number, account_id in rows}
    for record in records:
        if record.account_number not in found:
            raise NotFound(
                f"line {record.line}: no member has account number {record.account_number}.",
                field="account_number",
                code="MEMBER_NOT_FOUND",
            )
    return found


async def import_status_stars(
    records: list[StarRecord], *, operator: str, today: dt.date, rules: ProgrammeRules
) -> ImportReport:
    """Convert every line's Status Stars (see the module's docstring); checks the whole file first."""
    accounts = await _members(records)
    earlier = {
        row.account_id: row for row in await StatusStarImport.filter(account_id__in=list(accounts.values()))
    }
    for record in records:
        before = earlier.get(accounts[record.account_number])
        if before is not None and (before.star_points, before.stars) != (record.star_points, record.stars):
            raise Conflict(
                f"line {record.line}: account {record.account_number} was imported with "
                f"{before.star_points} points and {before.stars} stars already.",
                field="account_number",
                code="STARS_ALREADY_IMPORTED",
            )
    imported = granted = 0
    for record in records:
        account_id = accounts[record.account_number]
        if account_id in earlier:
            continue
        tier_given = await _import_one(
            record, account_id=account_id, operator=operator, today=today, rules=rules
        )
        imported += 1
        granted += tier_given
    return ImportReport(imported=imported, unchanged=len(records) - imported, lifetime_granted=granted)


async def _import_one(
    record: StarRecord, *, account_id: int, operator: str, today: dt.date, rules: ProgrammeRules
) -> bool:
    """One member, in one transaction; True when a lifetime tier was given by the stars."""
    conversion = convert(record.star_points, record.stars, rules.status_stars)
    async with in_transaction():
        posting_id = None
        if conversion.lifetime_qualifying_points:
            result = await post(
                account_id=account_id,
                amounts={Currency.LIFETIME_QUALIFYING_POINTS: conversion.lifetime_qualifying_points},
                source=PostingSource.STATUS_STARS,
                idempotency_key=f"status-stars:{account_id}",
                activity_date=rules.status_stars.earned_by,
                rule_version=rules.version,
                rules=rules,
                description=f"{record.star_points:,} Status Stars points converted to lifetime Qualifying Points",
                today=today,
            )
            posting_id = result.posting_id
        given = None
        if conversion.lifetime_tier is not None:
            given = await grant_lifetime_tier(
                account_id=account_id, tier=conversion.lifetime_tier, today=today, rules=rules
            )
        await StatusStarImport.create(
            account_id=account_id,
            star_points=record.star_points,
            stars=record.stars,
            lifetime_qualifying_points=conversion.lifetime_qualifying_points,
            lifetime_tier=conversion.lifetime_tier,
            posting_id=posting_id,
            imported_by=operator,
            imported_at=dt.datetime.now(dt.UTC),
        )
    return given is not None
