"""Second-factor resolvers: every change needs an AUTHENTICATED session (a profile change, DOMAIN.md 2)."""

from __future__ import annotations

import datetime as dt

from loyalty.auth import totp
from loyalty.errors import DomainError
from loyalty.members.service import get_member
from resolvers.auth import require_member, second_factor_refusal, step_up_needed
from schema.context import Info
from schema.errors import InputError
from schema.twofactor import (
    BeginTwoFactorResult,
    ConfirmTwoFactorResult,
    DisableTwoFactorResult,
    TwoFactorDisabled,
    TwoFactorEnabled,
    TwoFactorEnrolment,
)


async def begin(info: Info) -> BeginTwoFactorResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    member = await get_member(account_id=principal.account_id)
    try:
        started = await totp.begin_enrolment(
            account_id=principal.account_id,
            account_label=member.email or member.account_number,
            key=info.context.totp_key,
            rules=info.context.rules.two_factor,
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return TwoFactorEnrolment(
        secret=started.secret_base32, otpauth_uri=started.otpauth_uri, qr_code_svg=started.qr_svg
    )


async def confirm(info: Info, code: str) -> ConfirmTwoFactorResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    try:
        codes = await totp.confirm_enrolment(
            account_id=principal.account_id,
            code=code,
            key=info.context.totp_key,
            rules=info.context.rules.two_factor,
            now=dt.datetime.now(dt.UTC),
        )
    except DomainError as error:
        return second_factor_refusal(error)
    return TwoFactorEnabled(recovery_codes=codes)


async def disable(info: Info, code: str) -> DisableTwoFactorResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    try:
        await totp.disable(
            account_id=principal.account_id,
            code=code,
            key=info.context.totp_key,
            rules=info.context.rules.two_factor,
            now=dt.datetime.now(dt.UTC),
        )
    except DomainError as error:
        return second_factor_refusal(error)
    return TwoFactorDisabled()
