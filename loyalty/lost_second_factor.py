"""A member who lost their second factor, helped by customer service (DOMAIN.md 2).

A member with the authenticator app has recovery codes; a member with SMS codes only, who lost the phone,
has nothing else to sign in with, and turning SMS off needs a code sent to that phone. Customer service
confirms who they are by hand (as for a lost card number, ``members.support``) and then turns every second
factor of theirs off, in one transaction:

- the app factor and its recovery codes, the SMS factor and its codes go;
- every session ends and no device stays trusted (``sessions.revoke_all``): whoever has the lost phone
  and a session on it is signed out;
- an audit entry names the operator, what was turned off and the operator's reference to the identity
  check (a case or ticket reference: the audit log outlives an erasure, so it holds no personal data);
- the member is e-mailed (through the outbox), so that a member who did not ask for it hears of it.

The member then signs in with their PIN or password alone and may set a second factor up again.

Here, at the top of ``loyalty``, above both ``auth`` (factors, sessions) and ``privacy`` (the audit log),
which itself depends on ``auth``. An operator's command, not a member's operation: its error codes reach
the command line, not the GraphQL schema.
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
from loyalty.notifications.service import email_member
from loyalty.privacy.service import audit
from loyalty.rules import IdentifierRules

TEMPLATE = "second_factor_removed"
REFERENCE_MAX = 120
ACTOR_MAX = 100
"""Of the operator's name in the audit entry's actor (the column holds 120 characters)."""
AUDIT_ACTION = "member.second_factors.remove"


@dataclass(frozen=True, slots=True)
class RemovedFactors:
    account_number: str
    factors: tuple[SecondFactor, ...]
    """The confirmed factors turned off, the app first."""
    emailed: bool
    """Whether the member was e-mailed (a member without an address on file is not)."""


async def remove_second_factors(
    *, account_number: str, operator: str, reference: str, rules: IdentifierRules, now: dt.datetime
) -> RemovedFactors:
    """Turn every second factor of the member off (see the module). ``reference``: the case or ticket of
    the identity check, for the audit log (required). ``MEMBER_NOT_FOUND`` for an unknown account,
    ``NO_SECOND_FACTOR`` when the member has none confirmed (nothing changes then).

    Locks as the factor flows do, so that neither waits on the other in a cycle: the member's row (no key
    lock, as every member lock), then the factor rows, whose codes only then go."""
    number = validate_account_number(account_number, rules)
    cleaned = " ".join(reference.split())
    if not cleaned or len(cleaned) > REFERENCE_MAX:
        raise ValidationFailed(
            f"Give the case or ticket reference of the identity check, 1 to {REFERENCE_MAX} characters.",
            field="reference",
            code="REFERENCE_INVALID",
        )
    async with in_transaction():
        member = await Member.filter(account_number=number).select_for_update(no_key=True).first()
        if member is None:
            raise NotFound("No member has this account number.", field="account", code="MEMBER_NOT_FOUND")
        app = await TotpFactor.filter(account_id=member.id).select_for_update().first()
        sms = await SmsFactor.filter(account_id=member.id).select_for_update().first()
        factors = tuple(
            factor
            for factor, row in ((SecondFactor.APP, app), (SecondFactor.SMS, sms))
            if row is not None and row.confirmed_at is not None
        )
        if not factors:
            raise Conflict(
                "This member has no second factor to turn off.", field="account", code="NO_SECOND_FACTOR"
            )
        # pending set-ups go too: a factor half set up on the lost phone must not be confirmed later
        await RecoveryCode.filter(account_id=member.id).delete()
        await SmsCode.filter(account_id=member.id).delete()
        await TotpFactor.filter(account_id=member.id).delete()
        await SmsFactor.filter(account_id=member.id).delete()
        await revoke_all(account_id=member.id, now=now)
        await audit(
            actor=f"operator:{operator[:ACTOR_MAX]}",
            action=AUDIT_ACTION,
            account_id=member.id,
            now=now,
            details={"factors": [factor.value for factor in factors], "reference": cleaned},
        )
        emailed = await email_member(member, TEMPLATE, date=now.date().isoformat())
    return RemovedFactors(account_number=number, factors=factors, emailed=emailed is not None)
