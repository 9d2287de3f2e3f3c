"""The status engine (DOMAIN.md 4): upgrades, renewals, lifetime status, downgrades and eVouchers.

``evaluate`` runs inside the transaction of every posting that credits status currencies, after the
member row is locked (the ledger locks it before the balances when a posting moves status points), so
crossing a threshold upgrades at once and atomically with the credit: new service card number, card
order, status history entry, expiry protection, eVouchers and a ``status.changed`` domain event.

``expire_statuses`` is the daily job for statuses that ran out without renewal: one tier lower for a
year (never below a tier recent counters still earn, nor below the lifetime tier); falling to BASE
ends the expiry protection, and all miles get a fresh 36 months.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from loyalty.errors import NotFound
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.fixed_sql import enum_by_value, fetch
from loyalty.ledger.expiry import end_protection, protect
from loyalty.ledger.models import Currency, ExpiryProtection, ProtectionReason
from loyalty.ledger.quarters import expiry_date
from loyalty.ledger.service import balances_of, year_counters
from loyalty.members.cards import current_card, issue_status_card, reissue_card
from loyalty.members.models import CardOrderReason, Member, Tier
from loyalty.paging import Page, PageRequest, newest_first
from loyalty.rules import ProgrammeRules
from loyalty.status import tiers
from loyalty.status.models import EVoucher, MemberStatus, StatusChange, StatusHistory


@dataclass(frozen=True, slots=True)
class StatusExpiryReport:
    downgraded: int
    expired: int


async def evaluate(
    *, account_id: int, year: int, today: dt.date, rules: ProgrammeRules, now: dt.datetime | None = None
) -> list[StatusHistory]:
    """Apply what the member's counters of ``year`` and lifetime QP earn; returns the changes made."""
    moment = now or dt.datetime.now(dt.UTC)
    changes: list[StatusHistory] = []
    async with in_transaction():
        member = await _locked_member(account_id)
        status = await _status_row(member, today)
        balances = await balances_of(account_id=account_id)
        earned_lifetime = tiers.lifetime_tier(balances[Currency.LIFETIME_QUALIFYING_POINTS], rules.status)
        if earned_lifetime is not None and (
            status.lifetime_tier is None
            or tiers.rank(earned_lifetime, rules.status) > tiers.rank(status.lifetime_tier, rules.status)
        ):
            changes.append(await _grant_lifetime(status, earned_lifetime, rules, today, moment))
        counters = await year_counters(account_id=account_id, year=year)
        decision = tiers.decide(
            current=status.tier,
            valid_until=status.valid_until,
            counters=counters,
            year=year,
            today=today,
            rules=rules.status,
        )
        if decision.change == StatusChange.ACHIEVED:
            changes.append(
                await _change_tier(
                    status,
                    tier=decision.tier,
                    valid_until=decision.valid_until,
                    change=StatusChange.ACHIEVED,
                    year=year,
                    rules=rules,
                    today=today,
                    now=moment,
                )
            )
            await _grant_qualification_vouchers(status, year=year, available_from=today, rules=rules)
        elif decision.change == StatusChange.RENEWED and decision.valid_until is not None:
            changes.append(await _renew(status, decision.valid_until, year=year, rules=rules, today=today))
        await _grant_extra_benefits(status, counters, year=year, today=today, rules=rules)
    return changes


async def _locked_member(account_id: int) -> Member:
    member = await Member.filter(id=account_id).select_for_update(no_key=True).first()
    if member is None:
        raise NotFound("No such member.", code="MEMBER_NOT_FOUND")
    return member


async def _status_row(member: Member, today: dt.date) -> MemberStatus:
    """The member's status row; created on first need from the member's tier and active card."""
    status = await MemberStatus.get_or_none(account_id=member.id)
    if status is not None:
        return status
    card = await current_card(member.id)
    return await MemberStatus.create(
        account_id=member.id,
        tier=member.tier,
        valid_until=card.valid_until if card is not None and member.tier is not Tier.BASE else None,
        since=today if member.tier is not Tier.BASE else None,
    )


async def grant_lifetime_tier(
    *, account_id: int, tier: Tier, today: dt.date, rules: ProgrammeRules, now: dt.datetime | None = None
) -> StatusHistory | None:
    """Give the member ``tier`` for life (an operator's import, e.g. Status Stars) unless they hold that
    lifetime tier or a higher one already (then None: nothing changes, so repeating it is harmless)."""
    async with in_transaction():
        member = await _locked_member(account_id)
        status = await _status_row(member, today)
        if status.lifetime_tier is not None and tiers.rank(status.lifetime_tier, rules.status) >= tiers.rank(
            tier, rules.status
        ):
            return None
        return await _grant_lifetime(status, tier, rules, today, now or dt.datetime.now(dt.UTC))


async def _grant_lifetime(
    status: MemberStatus, lifetime: Tier, rules: ProgrammeRules, today: dt.date, now: dt.datetime
) -> StatusHistory:
    """Record the lifetime tier; it becomes the held tier (without end) when it is above it."""
    status.lifetime_tier = lifetime
    if tiers.rank(lifetime, rules.status) > tiers.rank(status.tier, rules.status):
        return await _change_tier(
            status,
            tier=lifetime,
            valid_until=None,
            change=StatusChange.LIFETIME,
            year=None,
            rules=rules,
            today=today,
            now=now,
        )
    await status.save(update_fields=["lifetime_tier", "updated_at"])
    return await _history(status, status.tier, StatusChange.LIFETIME, year=None, today=today)


async def _change_tier(
    status: MemberStatus,
    *,
    tier: Tier,
    valid_until: dt.date | None,
    change: StatusChange,
    year: int | None,
    rules: ProgrammeRules,
    today: dt.date,
    now: dt.datetime,
) -> StatusHistory:
    """A new tier now: a new service card number (and card order), protection, history and event."""
    before = status.tier
    if tier is Tier.BASE:
        member = await Member.get(id=status.account_id)
        await reissue_card(
            account_id=status.account_id,
            tier=Tier.BASE,
            advertising_consent=member.advertising_consent,
            rules=rules,
            now=now,
        )
    else:
        reason = {
            StatusChange.LIFETIME: CardOrderReason.LIFETIME,
            StatusChange.DOWNGRADED: CardOrderReason.DOWNGRADED,
        }.get(change, CardOrderReason.ACHIEVED)
        await issue_status_card(
            account_id=status.account_id,
            tier=tier,
            valid_until=valid_until,
            reason=reason,
            rules=rules,
            today=today,
            now=now,
        )
        if not await ExpiryProtection.exists(
            account_id=status.account_id, reason=ProtectionReason.STATUS, ends_on__isnull=True
        ):
            await protect(account_id=status.account_id, reason=ProtectionReason.STATUS, starts_on=today)
    status.tier = tier
    status.valid_until = valid_until
    status.since = today if tier is not Tier.BASE else None
    status.qualifying_year = year
    await status.save()
    return await _history(status, before, change, year=year, today=today)


async def _renew(
    status: MemberStatus, valid_until: dt.date, *, year: int, rules: ProgrammeRules, today: dt.date
) -> StatusHistory:
    """The held tier reached again: validity extended on the current number, the new card ordered."""
    order = await issue_status_card(
        account_id=status.account_id,
        tier=status.tier,
        valid_until=valid_until,
        reason=CardOrderReason.RENEWED,
        rules=rules,
        today=today,
    )
    status.valid_until = valid_until
    status.qualifying_year = year
    await status.save(update_fields=["valid_until", "qualifying_year", "updated_at"])
    await _grant_qualification_vouchers(status, year=year, available_from=order.activate_on, rules=rules)
    return await _history(status, status.tier, StatusChange.RENEWED, year=year, today=today)


async def _history(
    status: MemberStatus, before: Tier, change: StatusChange, *, year: int | None, today: dt.date
) -> StatusHistory:
    """The history row and the ``status.changed`` event, in the caller's transaction."""
    entry = await StatusHistory.create(
        account_id=status.account_id,
        from_tier=before,
        to_tier=status.tier,
        change=change,
        valid_until=status.valid_until,
        qualifying_year=year,
        effective_on=today,
    )
    card = await current_card(status.account_id)
    await record(
        account_id=status.account_id,
        type=EventType.STATUS_CHANGED,
        payload={
            "fromTier": before.value,
            "toTier": status.tier.value,
            "change": change.value,
            "validUntil": status.valid_until.isoformat() if status.valid_until else None,
            "lifetimeTier": status.lifetime_tier.value if status.lifetime_tier else None,
            "qualifyingYear": year,
            "serviceCardNumber": card.number if card is not None else None,
            "effectiveOn": today.isoformat(),
        },
    )
    return entry


async def _grant(
    status: MemberStatus, *, key: str, count: int, available_from: dt.date, rules: ProgrammeRules
) -> int:
    """``count`` eVouchers under ``key`` unless granted before; valid 24 months to that quarter's end."""
    if count <= 0 or await EVoucher.exists(account_id=status.account_id, grant_key=key):
        return 0
    expires_on = expiry_date(available_from, rules.status.evoucher_validity_months)
    await EVoucher.bulk_create(
        [
            EVoucher(
                account_id=status.account_id,
                grant_key=key,
                sequence=number,
                tier=status.tier,
                available_from=available_from,
                expires_on=expires_on,
            )
            for number in range(1, count + 1)
        ]
    )
    return count


async def _grant_qualification_vouchers(
    status: MemberStatus, *, year: int, available_from: dt.date, rules: ProgrammeRules
) -> int:
    count = rules.status.evouchers_per_qualification.get(status.tier.value, 0)
    return await _grant(
        status,
        key=f"qualification:{status.tier.value}:{year}",
        count=count,
        available_from=available_from,
        rules=rules,
    )


async def _grant_extra_benefits(
    status: MemberStatus,
    counters: dict[Currency, int],
    *,
    year: int,
    today: dt.date,
    rules: ProgrammeRules,
) -> int:
    """Extra Benefits of the held tier whose threshold this year's counters reach, each once a year."""
    granted = 0
    for benefit in rules.status.extra_benefits:
        if (
            benefit.tier != status.tier.value
            or counters.get(Currency(benefit.currency), 0) < benefit.threshold
        ):
            continue
        granted += await _grant(
            status,
            key=f"extra:{benefit.code}:{year}",
            count=benefit.evouchers,
            available_from=today,
            rules=rules,
        )
    return granted


async def count_expired(*, as_of: dt.date) -> int:
    """Statuses past their validity on ``as_of`` (for a progress bar)."""
    return await MemberStatus.filter(valid_until__lt=as_of).exclude(tier=Tier.BASE).count()


async def expire_statuses(
    *,
    as_of: dt.date,
    rules: ProgrammeRules,
    batch: int = 200,
    progress: Callable[[int], None] | None = None,
    now: dt.datetime | None = None,
) -> StatusExpiryReport:
    """Downgrade or end every status whose validity ended before ``as_of``; running again does nothing."""
    moment = now or dt.datetime.now(dt.UTC)
    downgraded = expired = 0
    last_id = 0
    while True:
        rows = (
            await MemberStatus.filter(valid_until__lt=as_of, id__gt=last_id)
            .exclude(tier=Tier.BASE)
            .order_by("id")
            .limit(batch)
            .values_list("id", "account_id")
        )
        if not rows:
            break
        last_id = int(rows[-1][0])
        for _, account_id in rows:
            change = await expire_status(account_id=int(account_id), as_of=as_of, rules=rules, now=moment)
            if change is not None and change.change == StatusChange.EXPIRED:
                expired += 1
            elif change is not None:
                downgraded += 1
        if progress is not None:
            progress(len(rows))
    return StatusExpiryReport(downgraded=downgraded, expired=expired)


async def expire_status(
    *, account_id: int, as_of: dt.date, rules: ProgrammeRules, now: dt.datetime
) -> StatusHistory | None:
    """One member's status after it ran out (None when it did not, or was handled already)."""
    async with in_transaction():
        member = await _locked_member(account_id)
        status = await _status_row(member, as_of)
        if status.tier is Tier.BASE or status.valid_until is None or status.valid_until >= as_of:
            return None
        expired_on = status.valid_until
        tier, until = tiers.after_expiry(
            current=status.tier,
            expired_on=expired_on,
            lifetime=status.lifetime_tier,
            best_qualified=await _best_recent_qualification(account_id, expired_on, as_of, rules),
            rules=rules.status,
        )
        day_after = expired_on + dt.timedelta(days=1)
        if tier is Tier.BASE:
            change = await _change_tier(
                status,
                tier=tier,
                valid_until=None,
                change=StatusChange.EXPIRED,
                year=None,
                rules=rules,
                today=day_after,
                now=now,
            )
            await end_protection(
                account_id=account_id, reason=ProtectionReason.STATUS, ended_on=expired_on, rules=rules
            )
            return change
        return await _change_tier(
            status,
            tier=tier,
            valid_until=until,
            change=StatusChange.DOWNGRADED if until is not None else StatusChange.LIFETIME,
            year=None,
            rules=rules,
            today=day_after,
            now=now,
        )


async def _best_recent_qualification(
    account_id: int, expired_on: dt.date, as_of: dt.date, rules: ProgrammeRules
) -> tuple[Tier, dt.date] | None:
    """The best tier the counters of a year since the status was last renewable still give."""
    best: tuple[Tier, dt.date] | None = None
    for year in range(expired_on.year - 1, as_of.year + 1):
        reached = tiers.qualified_tier(await year_counters(account_id=account_id, year=year), rules.status)
        until = tiers.valid_until_for(year, rules.status)
        if reached is Tier.BASE or until <= expired_on:
            continue
        if best is None or (tiers.rank(reached, rules.status), until) > (
            tiers.rank(best[0], rules.status),
            best[1],
        ):
            best = (reached, until)
    return best


TIER_ON_SQL = """
SELECT CASE WHEN effective_on <= $2 THEN to_tier ELSE from_tier END AS tier
FROM status_history
WHERE account_id = $1
ORDER BY CASE WHEN effective_on <= $2 THEN 0 ELSE 1 END,
         CASE WHEN effective_on <= $2 THEN id ELSE 0 END DESC,
         effective_on, id
LIMIT 1
"""
"""``tier_on`` in one statement: of the changes in effect on the day ($2), the last one recorded; when
none is, the ``from_tier`` of the earliest change in effect (then the first recorded that day)."""
_tier = enum_by_value(Tier)


async def tier_on(*, account_id: int, day: dt.date, current: Tier) -> Tier:
    """The status the member held on ``day``, from the status history, in one statement; ``current``
    when nothing ever changed. A flight earns with the status of its day (the Executive Bonus),
    whenever it is credited.

    What "the tier on day D" means: every history row is a change that takes effect on its
    ``effective_on`` and was recorded in ``id`` order (one member's changes are recorded one at a time,
    under the member's row lock, so the ids of one member follow the order the changes were made). The
    tier on D is the ``to_tier`` of the last *recorded* change among those in effect on D (``effective_on``
    <= D), not of the one with the latest date: ``expire_status`` run late backdates its change to the day
    after the validity ended, and that change was decided knowing every change recorded before it, so it
    supersedes them from its day on. Several changes on one day: the last one recorded wins. Before the
    first change in effect, the member held the ``from_tier`` of the change that took effect first."""
    rows = await fetch(TIER_ON_SQL, account_id, day)
    return _tier(rows[0]["tier"]) if rows else current


async def history_of(*, account_id: int) -> list[StatusHistory]:
    """The member's status changes, newest first."""
    return await StatusHistory.filter(account_id=account_id).order_by("-id")


async def history_page(*, account_id: int, request: PageRequest) -> Page[StatusHistory]:
    """One keyset page of ``history_of`` (newest first, by id)."""
    return await newest_first(StatusHistory.filter(account_id=account_id), request)


async def evouchers_of(*, account_id: int) -> list[EVoucher]:
    """The member's eVouchers, soonest to expire first."""
    return await EVoucher.filter(account_id=account_id).order_by("expires_on", "id")
