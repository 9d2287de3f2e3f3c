"""The programme's operators: people of the service and partner-management teams, not members.

An operator is known by name from a short-lived operator token (minted with ``milesgate operators token``);
admin operations (the partner registry) need one, and a member's token is never one. Every minted token is
recorded here by its id (the token's ``jti``; the token itself, the secret, is never stored), so operators
can list the tokens (``milesgate operators tokens list``) and revoke one (``... tokens revoke ID``): a
token that is not recorded, revoked or expired is refused at once, on every request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from loyalty.errors import Conflict, NotFound
from loyalty.privacy.service import audit


class OperatorRole(StrEnum):
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    role: OperatorRole
    token_id: str


class OperatorToken(Model):
    """An operator token that was minted: whose, until when, and whether it was revoked.

    token_id is the token's jti claim. The token itself is never stored (only its holder has it).
    """

    id = fields.BigIntField(primary_key=True)
    token_id = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=64)
    role = fields.CharEnumField(OperatorRole, max_length=16)
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_by = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "operator_tokens"
        indexes = (("expires_at",),)


async def record_token(
    *, token_id: str, name: str, role: OperatorRole, issued_at: dt.datetime, expires_at: dt.datetime
) -> OperatorToken:
    """Record a token as it is minted (before it is handed out), with an audit entry."""
    async with in_transaction():
        token = await OperatorToken.create(
            token_id=token_id, name=name, role=role, issued_at=issued_at, expires_at=expires_at
        )
        await audit(
            actor=f"operator:{name}",
            action="operator.token.issue",
            account_id=None,
            now=issued_at,
            details={"tokenId": token.id, "expiresAt": expires_at.isoformat()},
        )
    return token


async def operator_tokens(*, now: dt.datetime, include_expired: bool = False) -> list[OperatorToken]:
    """The recorded tokens, newest first: those not yet expired (revoked ones included), or all."""
    query = OperatorToken.all() if include_expired else OperatorToken.filter(expires_at__gt=now)
    return await query.order_by("-issued_at", "-id")


async def revoke_token(*, id: int, by: str, now: dt.datetime) -> OperatorToken:
    """Revoke the token with this id: from the next request on, it is refused."""
    async with in_transaction():
        token = await OperatorToken.get_or_none(id=id)
        if token is None:
            raise NotFound(f"There is no operator token {id}.", field="id", code="OPERATOR_TOKEN_NOT_FOUND")
        if token.revoked_at is not None:
            raise Conflict(
                f"Operator token {id} was revoked already, at {token.revoked_at.isoformat(timespec='seconds')}.",
                field="id",
                code="OPERATOR_TOKEN_REVOKED",
            )
        updated = await OperatorToken.filter(id=id, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=by[:64]
        )
        if not updated:  # revoked by someone else meanwhile
            raise Conflict(
                f"Operator token {id} was revoked already.", field="id", code="OPERATOR_TOKEN_REVOKED"
            )
        await audit(
            actor=f"operator:{by}",
            action="operator.token.revoke",
            account_id=None,
            now=now,
            details={"tokenId": id, "name": token.name},
        )
        await token.refresh_from_db()
    return token


async def is_admitted(*, token_id: str, now: dt.datetime) -> bool:
    """Whether the token with this id was minted here, is not revoked and has not expired."""
    return await OperatorToken.filter(token_id=token_id, revoked_at__isnull=True, expires_at__gt=now).exists()
