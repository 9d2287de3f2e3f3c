"""Customer service turns off the second factors of a member who lost theirs (a lost phone: an SMS-only
member has no recovery codes), after confirming who they are: ``loyalty.lost_second_factor``."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from gateway.settings import Settings
from loyalty.auth import devices, sessions
from loyalty.auth.factors import SecondFactor, second_factors
from loyalty.auth.models import RecoveryCode, RefreshToken, SmsCode, SmsFactor, TotpFactor, TrustedDevice
from loyalty.errors import Conflict, DomainError, NotFound, ValidationFailed
from loyalty.lost_second_factor import AUDIT_ACTION, TEMPLATE, RemovedFactors, remove_second_factors
from loyalty.members.models import Member
from loyalty.notifications.models import Notification
from loyalty.notifications.service import open_payload
from loyalty.privacy.models import AuditEntry
from loyalty.rules import current_rules
from tests.factories import make_member

RULES = current_rules()
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


async def _member_with_factors(*, app: bool, sms: bool, email: str = "member@example.com") -> Member:
    """A member with the factors confirmed, recovery codes, a pending SMS set-up when SMS is off, a
    trusted device and a session."""
    member = (await make_member(email)).member
    if app:
        await TotpFactor.create(account_id=member.id, secret_encrypted="sealed", confirmed_at=NOW)
        await RecoveryCode.create(account_id=member.id, code_hash="hash")
    await SmsFactor.create(
        account_id=member.id, phone_number="+4915123456789", confirmed_at=NOW if sms else None
    )
    await devices.trust_device(account_id=member.id, name="lost phone", rules=RULES.trusted_devices, now=NOW)
    await sessions.start_family(account_id=member.id, platform="ios", rules=RULES.sign_in, now=NOW)
    return member


@pytest.mark.parametrize(("app", "sms"), [(False, True), (True, False), (True, True)])
async def test_every_factor_goes_every_session_ends_and_it_is_audited_and_mailed(
    db: Settings, app: bool, sms: bool
) -> None:
    # given a member with second factors, a trusted device and a session, and another member
    member = await _member_with_factors(app=app, sms=sms)
    other = await _member_with_factors(app=True, sms=True, email="other@example.com")
    generation = member.session_generation

    # when customer service turns the factors off
    removed = await remove_second_factors(
        account_number=f"{member.account_number[:3]} {member.account_number[3:]}",  # as typed, grouped
        operator="agent-7",
        reference="  LSC-7K3Q9P2M\n ticket 4711 ",
        rules=RULES.identifiers,
        now=NOW,
    )

    # then nothing is left to ask for at sign-in, and whoever holds a session or device is out
    expected = tuple(f for f, on in ((SecondFactor.APP, app), (SecondFactor.SMS, sms)) if on)
    assert removed.factors == expected and removed.emailed
    assert removed.account_number == member.account_number
    assert await second_factors(account_id=member.id) == ()
    for model in (TotpFactor, RecoveryCode, SmsFactor):
        assert not await model.filter(account_id=member.id).exists()
    assert not await TrustedDevice.filter(account_id=member.id, revoked_at__isnull=True).exists()
    assert not await RefreshToken.filter(account_id=member.id, revoked_at__isnull=True).exists()
    assert (await Member.get(id=member.id)).session_generation > generation
    [entry] = await AuditEntry.filter(account_id=member.id, action=AUDIT_ACTION)
    assert entry.actor == "operator:agent-7"
    assert entry.details == {
        "factors": [f.value for f in expected],
        "reference": "LSC-7K3Q9P2M ticket 4711",
    }
    [mail] = await Notification.filter(account_id=member.id, template=TEMPLATE)
    assert mail.recipient == "member@example.com"
    assert open_payload(mail) == {"given_name": member.given_name, "date": "2026-12-07"}
    # and the other member keeps theirs
    assert await second_factors(account_id=other.id) == (SecondFactor.APP, SecondFactor.SMS)
    assert await TrustedDevice.filter(account_id=other.id, revoked_at__isnull=True).exists()


async def test_nothing_changes_for_a_member_without_a_factor_an_unknown_account_or_no_reason(
    db: Settings,
) -> None:
    member = await _member_with_factors(app=False, sms=False)  # an SMS set-up never confirmed
    refused = [
        (member.account_number, "checked", Conflict, "NO_SECOND_FACTOR"),
        (
            "999999999" if member.account_number != "999999999" else "999999998",
            "checked",
            NotFound,
            "MEMBER_NOT_FOUND",
        ),
        ("12345", "checked", ValidationFailed, "ACCOUNT_NUMBER_INVALID"),
        (member.account_number, "   ", ValidationFailed, "REFERENCE_INVALID"),
        (member.account_number, "x" * 121, ValidationFailed, "REFERENCE_INVALID"),
    ]
    for account_number, reference, error, code in refused:
        with pytest.raises(error) as raised:
            await remove_second_factors(
                account_number=account_number,
                operator="agent-7",
                reference=reference,
                rules=RULES.identifiers,
                now=NOW,
            )
        assert raised.value.code == code
    assert await SmsFactor.filter(account_id=member.id).exists()
    assert await TrustedDevice.filter(account_id=member.id, revoked_at__isnull=True).exists()
    assert not await AuditEntry.filter(action=AUDIT_ACTION).exists()
    assert not await Notification.filter(template=TEMPLATE).exists()


@pytest.mark.postgres
async def test_removal_and_the_member_s_own_code_requests_at_once_neither_deadlock(pg_db: Settings) -> None:
    """On PostgreSQL: while customer service turns the factors off, the member keeps asking for sign-in
    and disable codes and trying them. Each request either finishes before the removal or finds the
    factor gone; none waits on the other in a cycle (PostgreSQL would abort one with a deadlock)."""
    from loyalty.auth import sms
    from tests.loyalty.test_sms import KEY, SMS_RULES, challenge, member_with_sms

    account_id = await member_with_sms()
    member = await Member.get(id=account_id)
    pending = challenge(account_id)

    def member_requests() -> list[Any]:
        return [
            sms.send_sign_in_code(challenge=pending, key=KEY, rules=SMS_RULES, now=NOW),
            sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=NOW),
            sms.complete_challenge(challenge=pending, code="000000", key=KEY, rules=SMS_RULES, now=NOW),
        ]

    results = await asyncio.gather(
        *member_requests(),
        remove_second_factors(
            account_number=member.account_number,
            operator="agent-7",
            reference="LSC-7K3Q9P2M",
            rules=RULES.identifiers,
            now=NOW,
        ),
        *member_requests(),
        return_exceptions=True,
    )

    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, DomainError)]
    assert unexpected == []  # no deadlock or other database error: only the domain's own refusals
    assert isinstance(results[3], RemovedFactors) and results[3].factors == (SecondFactor.SMS,)
    assert await second_factors(account_id=account_id) == ()
    assert not await SmsCode.filter(account_id=account_id).exists()
