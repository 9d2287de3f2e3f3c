"""Travel ID (OpenID Connect) identities linked to members.

An external identity is the (issuer, subject) pair of its ID token and nothing else: e-mail addresses
and names are never used to match a member, because the provider's copy of them can be changed by
whoever controls that account. One pair belongs to at most one member, and a member has at most one
identity per issuer (the table's two unique constraints); these functions turn both rules into typed
errors, also when two requests race for the same row.
"""

from __future__ import annotations

import datetime as dt

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.auth.models import LinkedIdentity
from loyalty.errors import Conflict, NotFound
from loyalty.members.models import Member


class IdentityLinkedToOtherMember(Conflict):
    """The Travel ID is already linked to a different member; it cannot serve two accounts."""

    code = "IDENTITY_LINKED_TO_OTHER_MEMBER"


class IdentityAlreadyLinked(Conflict):
    """This member already has a different identity of the same issuer; unlink it first."""

    code = "IDENTITY_ALREADY_LINKED"


async def _existing_link(*, account_id: int, issuer: str, subject: str) -> LinkedIdentity | None:
    """The pair's row if it is this member's (idempotent link); raises if either rule is broken."""
    owner = await LinkedIdentity.get_or_none(issuer=issuer, subject=subject)
    if owner is not None:
        if owner.account_id == account_id:
            return owner
        raise IdentityLinkedToOtherMember("This Travel ID is already linked to another member.")
    if await LinkedIdentity.filter(account_id=account_id, issuer=issuer).exists():
        raise IdentityAlreadyLinked(
            "A different Travel ID is already linked to this member; unlink it first."
        )
    return None


async def link_identity(*, account_id: int, issuer: str, subject: str) -> LinkedIdentity:
    """Link (issuer, subject) to the member; linking the same pair again returns the existing link."""
    existing = await _existing_link(account_id=account_id, issuer=issuer, subject=subject)
    if existing is not None:
        return existing
    if not await Member.filter(id=account_id).exists():
        raise NotFound("No such member.")
    try:
        async with in_transaction():
            return await LinkedIdentity.create(account_id=account_id, issuer=issuer, subject=subject)
    except IntegrityError as exc:
        # A concurrent request inserted first: its row decides which rule applies now.
        existing = await _existing_link(account_id=account_id, issuer=issuer, subject=subject)
        if existing is not None:
            return existing
        raise NotFound("No such member.") from exc


async def unlink_identity(*, account_id: int, issuer: str) -> None:
    """Remove the member's identity of this issuer, so it can no longer sign in as the member."""
    deleted = await LinkedIdentity.filter(account_id=account_id, issuer=issuer).delete()
    if not deleted:
        raise NotFound("No Travel ID is linked to this member.")


async def member_for_identity(*, issuer: str, subject: str, now: dt.datetime | None = None) -> int | None:
    """The account id linked to (issuer, subject), or None; a hit records the sign-in time."""
    identity = await LinkedIdentity.get_or_none(issuer=issuer, subject=subject)
    if identity is None:
        return None
    await LinkedIdentity.filter(id=identity.id, account_id=identity.account_id).update(
        last_sign_in_at=now or dt.datetime.now(dt.UTC)
    )
    return identity.account_id


async def identities_of(*, account_id: int) -> list[LinkedIdentity]:
    """The member's linked identities, oldest link first."""
    return await LinkedIdentity.filter(account_id=account_id).order_by("linked_at", "id")
