"""MyChallenge: members join challenges; progress moves with each ledger event as it happens.

``progress_for_events`` is a handler of the domain-event relay, so it runs once per event in the
relay's transaction (the enrolment remembers the last event it counted, which makes a repeat a no-op);
``progress_for_event`` does the same for one event.
Only activity after the member joined counts; nothing rescans history. Completing a challenge credits
its bonus miles through the ledger exactly once (idempotency key ``challenge:{code}:{account}``) and
awards its badge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.crediting import post
from loyalty.engagement.definitions import Challenge, Challenges, RuleKind, current_challenges
from loyalty.engagement.models import ChallengeEnrolment
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.events.models import DomainEvent, EventType
from loyalty.ledger.models import CounterAccount, Currency, PostingSource
from loyalty.rules import ProgrammeRules


@dataclass(frozen=True, slots=True)
class ChallengeView:
    challenge: Challenge
    enrolment: ChallengeEnrolment | None


def _find(code: str, challenges: Challenges) -> Challenge:
    challenge = challenges.get(code)
    if challenge is None:
        raise NotFound(f"No challenge {code!r}.", field="code", code="CHALLENGE_NOT_FOUND")
    return challenge


async def join_challenge(
    *, account_id: int, code: str, now: dt.datetime, challenges: Challenges | None = None
) -> ChallengeEnrolment:
    """Take part from now on (until the challenge ends); joining twice is a conflict."""
    challenge = _find(code, challenges or current_challenges())
    if now.date() > challenge.ends_on:
        raise ValidationFailed("This challenge is over.", field="code", code="CHALLENGE_OVER")
    latest = await DomainEvent.filter(account_id=account_id).order_by("-id").first()
    try:
        return await ChallengeEnrolment.create(
            account_id=account_id,
            challenge_code=challenge.code,
            joined_at=now,
            last_event_id=latest.id if latest is not None else 0,
        )
    except IntegrityError:
        raise Conflict(
            "You take part in this challenge already.", field="code", code="ALREADY_JOINED"
        ) from None


async def challenges_for(
    *, account_id: int, today: dt.date, challenges: Challenges | None = None
) -> list[ChallengeView]:
    """Challenges still open or not yet started, and every one the member joined (with progress)."""
    joined = {row.challenge_code: row for row in await ChallengeEnrolment.filter(account_id=account_id)}
    return [
        ChallengeView(challenge, joined.get(challenge.code))
        for challenge in (challenges or current_challenges()).challenges
        if challenge.code in joined or challenge.ends_on >= today
    ]


def _qualifies(challenge: Challenge, payload: dict[str, object]) -> tuple[bool, str | None, int]:
    """Whether a posting counts; also its partner code and award miles."""
    amounts = payload.get("amounts")
    miles = int(amounts.get(Currency.AWARD_MILES.value, 0)) if isinstance(amounts, dict) else 0
    reference = payload.get("partnerReference")
    partner = reference.split(":", 1)[0] if isinstance(reference, str) and ":" in reference else None
    try:
        day = dt.date.fromisoformat(str(payload.get("activityDate")))
    except ValueError:
        return False, partner, miles
    rule = challenge.rule
    counts = (
        payload.get("source") in rule.sources
        and challenge.open_on(day)
        and miles >= rule.min_miles
        and (rule.partners is None or partner in rule.partners)
    )
    return counts, partner, miles


async def progress_for_event(
    event: DomainEvent, *, rules: ProgrammeRules, challenges: Challenges | None = None
) -> int:
    """Move the member's open challenges on by one posting event; returns how many it completed. A
    completed challenge posts its bonus under ``rules`` (the event relay passes the service's)."""
    if event.type is not EventType.POSTING_CREATED:
        return 0
    async with in_transaction():
        return await progress_for_events([event], rules=rules, challenges=challenges)


async def progress_for_events(
    events: Sequence[DomainEvent], *, rules: ProgrammeRules, challenges: Challenges | None = None
) -> int:
    """``progress_for_event`` for a batch of events (the event relay's batched path), in their order: one
    statement locks the open enrolments of all their members (none when no event is a posting), then
    each enrolment moves on by the events after the last one it counted, and each one that moved is saved
    once. Call it in a transaction. Returns how many challenges were completed."""
    postings = [event for event in events if event.type is EventType.POSTING_CREATED]
    if not postings:
        return 0
    catalogue = challenges or current_challenges()
    open_by_account: dict[int, list[ChallengeEnrolment]] = {}
    for enrolment in (
        await ChallengeEnrolment.filter(
            account_id__in=sorted({event.account_id for event in postings}),
            completed_at__isnull=True,
            last_event_id__lt=max(event.id for event in postings),
        )
        .order_by("id")
        .select_for_update()
    ):
        open_by_account.setdefault(enrolment.account_id, []).append(enrolment)
    if not open_by_account:
        return 0
    completed = 0
    moved: dict[int, ChallengeEnrolment] = {}
    for event in postings:
        for enrolment in open_by_account.get(event.account_id, ()):
            if enrolment.completed_at is not None or enrolment.last_event_id >= event.id:
                continue
            challenge = catalogue.get(enrolment.challenge_code)
            if challenge is None:
                continue
            enrolment.last_event_id = event.id
            counts, partner, miles = _qualifies(challenge, event.payload)
            if counts:
                _advance(enrolment, challenge, partner, miles)
            if enrolment.progress >= challenge.rule.target:
                await _complete(enrolment, challenge, event, rules)
                completed += 1
            moved[enrolment.id] = enrolment
    for enrolment in moved.values():
        await enrolment.save()
    return completed


def _advance(enrolment: ChallengeEnrolment, challenge: Challenge, partner: str | None, miles: int) -> None:
    kind = challenge.rule.kind
    if kind is RuleKind.COUNT:
        enrolment.progress += 1
    elif kind is RuleKind.SUM_MILES:
        enrolment.progress += miles
    elif partner is not None and partner not in enrolment.partners:
        enrolment.partners = [*enrolment.partners, partner]
        enrolment.progress = len(enrolment.partners)


async def _complete(
    enrolment: ChallengeEnrolment, challenge: Challenge, event: DomainEvent, rules: ProgrammeRules
) -> None:
    enrolment.completed_at = dt.datetime.now(dt.UTC)
    enrolment.progress = min(enrolment.progress, challenge.rule.target)
    enrolment.badge = challenge.reward.badge
    if challenge.reward.bonus_miles:
        result = await post(
            account_id=enrolment.account_id,
            amounts={Currency.AWARD_MILES: challenge.reward.bonus_miles},
            source=PostingSource.CHALLENGE,
            idempotency_key=f"challenge:{challenge.code}:{enrolment.account_id}",
            activity_date=dt.date.fromisoformat(str(event.payload.get("activityDate"))),
            rule_version=rules.version,
            rules=rules,
            description=f"Challenge completed: {challenge.title}"[:200],
            counter_account=CounterAccount.PROGRAMME_BONUS,
        )
        enrolment.reward_posting_id = result.posting_id
