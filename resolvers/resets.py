"""Reset resolvers: pass the request to ``loyalty.auth.resets`` and answer without telling who is enrolled.

Rate limits per e-mail address and card number belong to the GraphQL edge, not here.
"""

from __future__ import annotations

import datetime as dt

from loyalty.auth import resets
from loyalty.auth.models import ResetPurpose
from loyalty.errors import DomainError
from schema.context import Info
from schema.errors import InputError
from schema.resets import CompleteResetResult, ResetCompleted, ResetRequested

REQUESTED = ResetRequested(message="If the details belong to a member, an e-mail is on its way.")
# The rules name the secret "pin" or "password"; the mutations' arguments are newPin and newPassword.
_ARGUMENT = {"pin": "newPin", "password": "newPassword"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def request_pin_reset(info: Info, service_card_number: str, email: str) -> ResetRequested:
    await resets.request_reset(
        purpose=ResetPurpose.PIN,
        service_card_number=service_card_number,
        email=email,
        rules=info.context.rules,
        now=_now(),
    )
    return REQUESTED


async def request_password_reset(info: Info, email: str) -> ResetRequested:
    await resets.request_reset(
        purpose=ResetPurpose.PASSWORD,
        service_card_number=None,
        email=email,
        rules=info.context.rules,
        now=_now(),
    )
    return REQUESTED


async def remind_user_id(info: Info, email: str) -> ResetRequested:
    await resets.send_user_id_reminder(email=email, now=_now())
    return REQUESTED


async def complete_reset(
    info: Info, purpose: ResetPurpose, token: str, new_secret: str
) -> CompleteResetResult:
    try:
        await resets.complete_reset(
            purpose=purpose, token=token, new_secret=new_secret, rules=info.context.rules, now=_now()
        )
    except DomainError as error:
        refusal = InputError.from_domain(error)
        refusal.field = _ARGUMENT.get(refusal.field or "", refusal.field)
        return refusal
    secret = "PIN" if purpose is ResetPurpose.PIN else "password"
    return ResetCompleted(message=f"Your new {secret} is set. Sign in with it.")
