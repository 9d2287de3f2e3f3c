"""A member who lost their second factor, helped by customer service (DOMAIN.md 2).

A member with the authenticator app has recovery codes; a member with SMS codes only, who lost the phone,
has nothing else to sign in with, and turning SMS off needs a code sent to that phone. Customer service
confirms who they are by hand (as for a lost card number, ``members.support``) and then turns every second
factor of theirs off, in one transaction:

- the app factor and its recovery codes, the SMS factor and its codes go;
- every session ends and no device stays trusted (``sessions.revoke_all``): whoever has the lost phone
  and a session on it is signed out;
- an audit entry names the operator, the reason and what was turned off;
- the member is e-mailed (through the outbox), so that a member who did not ask for it hears of it.

The member then signs in with their PIN or password alone and may set a second factor up again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from loyalty.auth.factors import SecondFactor
from loyalty.auth.models import RecoveryCode, SmsCode, SmsFactor, TotpFactor
from loyalty.auth.sessions import revoke_all
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.identifiers import validate_account_number
from loyalty.members.models import Member
from loyalty.notifications.models import Channel
from loyalty.notifications.service import enqueue_notification
from loyalty.privacy.service import audit
from loyalty.rules import IdentifierRules

TEMPLATE = "second_factor_removed"
REASON_MAX = 500
AUDIT_ACTION = "member.second_factors.remove"


@dataclass(frozen=True, slots=True)
class RemovedFactors:
    account_number: str
    factors: tuple[SecondFactor, ...]
    """The confirmed factors turned off, the app first."""
    sessions_ended: int
    emailed: bool
    """Whether the member was e-mailed (a member without an address on file is not)."""


async def remove_second_factors(
    *, account_number: str, operator: str, reason: str, rules: IdentifierRules, now: dt.datetime
) -> RemovedFactors:
    """Turn every second factor of the member off (see the module). ``reason``: what customer service
    checked, for the audit log (required). ``MEMBER_NOT_FOUND`` for an unknown account,
    ``NO_SECOND_FACTOR`` when the member has none confirmed (nothing changes then)."""
    number = validate_account_number(account_number, rules)
    cleaned = " ".join(reason.split())
    if not cleaned or len(cleaned) > REASON_MAX:
        raise ValidationFailed(
            f"Say what was checked, in 1 to {REASON_MAX} characters.", field="reason", code="REASON_INVALID"
        )
    async with in_transaction():
        member = await Member.select_for_update().get_or_none(account_number=number)
        if member is None:
            raise NotFound("No member has this account number.", field="account", code="MEMBER_NOT_FOUND")
        app = await TotpFactor.filter(account_id=member.id, confirmed_at__isnull=False).exists()
        sms = await SmsFactor.filter(account_id=member.id, confirmed_at__isnull=False).exists()
        factors = tuple(factor for factor, on in ((SecondFactor.APP, app), (SecondFactor.SMS, sms)) if on)
        if not factors:
            raise Conflict(
                "This member has no second factor to turn off.", field="account", code="NO_SECOND_FACTOR"
            )
        # pending set-ups go too: a factor half set up on the lost phone must not be confirmed later
        await RecoveryCode.filter(account_id=member.id).delete()
        await TotpFactor.filter(account_id=member.id).delete()
        await SmsCode.filter(account_id=member.id).delete()
        await SmsFactor.filter(account_id=member.id).delete()
        ended = await revoke_all(account_id=member.id, now=now)
        await audit(
            actor=f"operator:{operator}",
            action=AUDIT_ACTION,
            account_id=member.id,
            now=now,
            details={"factors": [factor.value for factor in factors], "reason": cleaned},
        )
        if member.email is not None:
            await enqueue_notification(
                account_id=member.id,
                channel=Channel.EMAIL,
                recipient=member.email,
                template=TEMPLATE,
                language=member.language,
                payload={"given_name": member.given_name, "date": now.date().isoformat()},
            )
    return RemovedFactors(
        account_number=number, factors=factors, sessions_ended=ended, emailed=member.email is not None
    )
