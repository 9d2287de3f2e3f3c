"""Trusted devices (DOMAIN.md 2, "trusted-device option"): sign-in on a device the member trusts skips the
second factor for ``[trusted_devices] valid_days``.

A device is trusted when a sign-in completes its second factor and the member ticks "trust this device":
the device gets a random token (shown once) and we keep only its SHA-256, bound to the member. At the next
sign-in with the same credentials the device sends it back; a token of another member, a revoked or an
expired one is simply not trusted (the second factor is asked as usual). The member lists and revokes
them; every event that ends all sessions (sign out everywhere, PIN or password reset, a stolen card,
erasure) revokes them all with the sessions (``sessions.revoke_all``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from loyalty.auth.models import TrustedDevice
from loyalty.errors import NotFound, ValidationFailed
from loyalty.rules import TrustedDeviceRules

MAX_NAME_LENGTH = 80
DEFAULT_NAME = "Unnamed device"


@dataclass(frozen=True, slots=True)
class IssuedDevice:
    device: TrustedDevice
    token: str
    """Shown once: the device keeps it and sends it with its next sign-ins."""


def device_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def clean_device_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(
            f"A device name has at most {MAX_NAME_LENGTH} characters.",
            field="deviceName",
            code="DEVICE_NAME_TOO_LONG",
        )
    return name or DEFAULT_NAME


async def trust_device(
    *, account_id: int, name: str, rules: TrustedDeviceRules, now: dt.datetime
) -> IssuedDevice:
    """Trust a device for ``valid_days``; beyond ``max_per_member`` the longest-trusted ones are revoked."""
    token = secrets.token_urlsafe(32)
    async with in_transaction():
        device = await TrustedDevice.create(
            account_id=account_id,
            token_hash=device_token_hash(token),
            name=name,
            created_at=now,
            expires_at=now + dt.timedelta(days=rules.valid_days),
        )
        active = _active(account_id, now).order_by("-created_at", "-id")
        surplus = await active.offset(rules.max_per_member).values_list("id", flat=True)
        if surplus:
            await TrustedDevice.filter(account_id=account_id, id__in=list(surplus)).update(revoked_at=now)
    return IssuedDevice(device=device, token=token)


async def is_trusted(*, account_id: int, token: str | None, now: dt.datetime) -> bool:
    """Whether ``token`` is a trusted device of this member, now; its last use is recorded."""
    if not token:
        return False
    return await is_trusted_by_hash(account_id=account_id, token_hash=device_token_hash(token), now=now)


async def is_trusted_by_hash(*, account_id: int, token_hash: str | None, now: dt.datetime) -> bool:
    """``is_trusted`` for a token known only by its hash (``device_token_hash``): a sign-in that waits on
    another site (Travel ID) keeps the hash, never the token."""
    if not token_hash:
        return False
    used = await _active(account_id, now).filter(token_hash=token_hash).update(last_used_at=now)
    return bool(used)


async def trusted_devices(*, account_id: int, now: dt.datetime) -> list[TrustedDevice]:
    """The member's devices trusted now, most recently trusted first."""
    return await _active(account_id, now).order_by("-created_at", "-id")


async def revoke_device(*, account_id: int, device_id: str, now: dt.datetime) -> None:
    """Stop trusting one device of the member's (DEVICE_NOT_FOUND for anything else)."""
    missing = NotFound("No such trusted device.", field="id", code="DEVICE_NOT_FOUND")
    if not device_id.isascii() or not device_id.isdigit() or len(device_id) > 18:
        raise missing
    revoked = await _active(account_id, now).filter(id=int(device_id)).update(revoked_at=now)
    if not revoked:
        raise missing


async def revoke_all_devices(*, account_id: int, now: dt.datetime) -> int:
    """Every device of the member untrusted (called with every "end all sessions")."""
    return int(
        await TrustedDevice.filter(account_id=account_id, revoked_at__isnull=True).update(revoked_at=now)
    )


def _active(account_id: int, now: dt.datetime) -> QuerySet[TrustedDevice]:
    return TrustedDevice.filter(account_id=account_id, revoked_at__isnull=True, expires_at__gt=now)
