"""Second-factor resolvers (app, SMS, trusted devices): every change of a factor needs an AUTHENTICATED
session (a profile change, DOMAIN.md 2); revoking a trusted device does not."""

from __future__ import annotations

import datetime as dt

from loyalty.auth import devices, factors, sms, totp
from loyalty.auth.factors import SecondFactor
from loyalty.auth.models import TrustedDevice
from loyalty.members.service import get_member
from loyalty.rules import ProgrammeRules


async def begin(*, account_id: int, key: bytes, rules: ProgrammeRules) -> totp.TotpEnrolment:
    member = await get_member(account_id=account_id)
    return await totp.begin_enrolment(
        account_id=account_id,
        account_label=member.email or member.account_number,
        key=key,
        rules=rules.two_factor,
    )


async def confirm(*, account_id: int, code: str, key: bytes, rules: ProgrammeRules) -> list[str]:
    """The one-time recovery codes."""
    return await totp.confirm_enrolment(
        account_id=account_id, code=code, key=key, rules=rules.two_factor, now=dt.datetime.now(dt.UTC)
    )


async def disable(*, account_id: int, code: str, key: bytes, rules: ProgrammeRules) -> None:
    await totp.disable(
        account_id=account_id, code=code, key=key, rules=rules.two_factor, now=dt.datetime.now(dt.UTC)
    )


async def begin_sms(*, account_id: int, phone_number: str, key: bytes, rules: ProgrammeRules) -> sms.SmsSent:
    return await sms.begin_enrolment(
        account_id=account_id,
        phone_number=phone_number,
        key=key,
        rules=rules.sms_two_factor,
        now=dt.datetime.now(dt.UTC),
    )


async def confirm_sms(*, account_id: int, code: str, key: bytes, rules: ProgrammeRules) -> str:
    """The masked number SMS codes now go to."""
    return await sms.confirm_enrolment(
        account_id=account_id, code=code, key=key, rules=rules.sms_two_factor, now=dt.datetime.now(dt.UTC)
    )


async def send_sms_disable_code(*, account_id: int, key: bytes, rules: ProgrammeRules) -> sms.SmsSent:
    return await sms.send_disable_code(
        account_id=account_id, key=key, rules=rules.sms_two_factor, now=dt.datetime.now(dt.UTC)
    )


async def disable_sms(*, account_id: int, code: str, key: bytes, rules: ProgrammeRules) -> None:
    await sms.disable(
        account_id=account_id, code=code, key=key, rules=rules.sms_two_factor, now=dt.datetime.now(dt.UTC)
    )


async def trusted_devices(*, account_id: int) -> list[TrustedDevice]:
    return await devices.trusted_devices(account_id=account_id, now=dt.datetime.now(dt.UTC))


async def revoke_trusted_device(*, account_id: int, device_id: str) -> None:
    await devices.revoke_device(account_id=account_id, device_id=device_id, now=dt.datetime.now(dt.UTC))


async def second_factors(*, account_id: int) -> tuple[SecondFactor, ...]:
    return await factors.second_factors(account_id=account_id)
