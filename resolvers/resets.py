"""Reset resolvers: pass the request to ``loyalty.auth.resets``; the answer tells nobody who is enrolled.

Rate limits per e-mail address and card number belong to the GraphQL edge, not here.
"""

from __future__ import annotations

import datetime as dt

from loyalty.auth import resets
from loyalty.auth.models import ResetPurpose
from loyalty.errors import DomainError
from loyalty.rules import ProgrammeRules
from resolvers.sign_in import SessionRevocations

# The rules name the secret "pin" or "password"; the mutations' arguments are newPin and newPassword.
_ARGUMENT = {"pin": "newPin", "password": "newPassword"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def request_pin_reset(*, service_card_number: str, email: str, rules: ProgrammeRules) -> None:
    await resets.request_reset(
        purpose=ResetPurpose.PIN,
        service_card_number=service_card_number,
        email=email,
        rules=rules,
        now=_now(),
    )


async def request_password_reset(*, email: str, rules: ProgrammeRules) -> None:
    await resets.request_reset(
        purpose=ResetPurpose.PASSWORD, service_card_number=None, email=email, rules=rules, now=_now()
    )


async def remind_user_id(*, email: str) -> None:
    await resets.send_user_id_reminder(email=email, now=_now())


async def complete_reset(
    *,
    purpose: ResetPurpose,
    token: str,
    new_secret: str,
    rules: ProgrammeRules,
    revocations: SessionRevocations,
) -> None:
    """A completed reset ends every session of the member, access tokens included."""
    try:
        account_id = await resets.complete_reset(
            purpose=purpose, token=token, new_secret=new_secret, rules=rules, now=_now()
        )
    except DomainError as error:
        error.field = _ARGUMENT.get(error.field or "", error.field)
        raise
    await revocations.revoked(account_id)
