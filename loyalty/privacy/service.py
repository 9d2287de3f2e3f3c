"""The member's privacy rights: a machine-readable export, and erasure; both recorded in the audit log.

Erasure runs in one transaction over every source (all or nothing) and leaves the ledger as it was,
so ``milesgate ledger verify`` stays clean: amounts stay, the person goes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from tortoise.transactions import in_transaction

from loyalty.auth.sessions import revoke_all
from loyalty.errors import Conflict, NotFound
from loyalty.members.models import Member
from loyalty.pooling.service import release_erased
from loyalty.privacy.models import AuditEntry
from loyalty.privacy.processing import processing
from loyalty.privacy.sources import PersonalDataSource
from loyalty.rules import current_rules

EXPORT_FORMAT = "milesgate.personal-data/1"
POOLING = "pooling"
"""The erasure's count of pool memberships left or invitations declined (``release_erased``)."""


async def audit(
    *,
    actor: str,
    action: str,
    account_id: int | None,
    now: dt.datetime,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    return await AuditEntry.create(
        actor=actor, action=action, account_id=account_id, details=details or {}, at=now
    )


async def export_personal_data(
    *, account_id: int, sources: Sequence[PersonalDataSource], actor: str, now: dt.datetime
) -> dict[str, Any]:
    """Everything held about the member, one section per source, with the joint controllers and each
    section's legal bases and purpose (``processing.toml``); the export itself is audited."""
    if not await Member.exists(id=account_id):
        raise NotFound("No such member.", code="MEMBER_NOT_FOUND")
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "accountId": account_id,
        "exportedAt": now.isoformat(),
    }
    document.update(processing().describe(source.name for source in sources))
    for source in sources:
        document[source.name] = await source.export(account_id)
    await audit(actor=actor, action="privacy.export", account_id=account_id, now=now)
    return document


async def erase_personal_data(
    *, account_id: int, sources: Sequence[PersonalDataSource], actor: str, reason: str, now: dt.datetime
) -> dict[str, int]:
    """Delete or pseudonymise the member's personal data in every source, at once; returns rows per source
    (and, under ``pooling``, the pool memberships left and invitations declined)."""
    async with in_transaction():
        member = await Member.filter(id=account_id).select_for_update(no_key=True).first()
        if member is None:
            raise NotFound("No such member.", code="MEMBER_NOT_FOUND")
        if member.erased_at is not None:
            raise Conflict("This member's data was erased already.", code="ALREADY_ERASED")
        # Out of pooling first, right after the member lock: the pools are locked before the profile's
        # rewrite takes its full lock on the member row (the lock order of loyalty.pooling.state).
        changed = {
            POOLING: await release_erased(account_id=account_id, rules=current_rules().pooling, now=now)
        }
        await revoke_all(account_id=account_id, now=now)
        changed |= {source.name: await source.erase(account_id, now=now) for source in sources}
        await audit(
            actor=actor,
            action="privacy.erase",
            account_id=account_id,
            now=now,
            details={"reason": reason, "rows": changed},
        )
    return changed


async def audit_log(*, account_id: int | None = None, limit: int = 100) -> list[AuditEntry]:
    query = AuditEntry.all() if account_id is None else AuditEntry.filter(account_id=account_id)
    return await query.order_by("-id").limit(limit)
