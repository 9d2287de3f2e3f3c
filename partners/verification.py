"""What checking a partner's delivery needs, read once and kept per process: the partner (state,
capabilities) and its signing secrets (decrypted) and public keys.

Reading them costs three statements and an AES-GCM decryption per secret; a delivery should cost one
statement (its insert). So each process keeps them in a ``VerificationCache`` for ``ttl_s`` at most,
and forgets a partner's entry as soon as it hears that the partner changed (the gateway tells it over
pub/sub, ``gateway.partner_changes``). The time to live bounds how long a change nobody announced (a
direct database edit, a message lost while Redis was away) can go unseen.

A secret or key with an expiry time is kept with that time and stops verifying when it passes, cache
or no cache; a revoked one is gone from the next load, which the change announcement triggers.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from partners.models import Partner, PartnerPublicKey, PartnerSecret
from partners.secret_box import SecretBox, SecretBoxError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PartnerVerification:
    """A partner with the signing material that verifies its deliveries, each with its expiry (if any)."""

    partner: Partner
    secrets: tuple[tuple[str, dt.datetime | None], ...]
    public_keys: tuple[tuple[bytes, dt.datetime | None], ...]

    def usable_secrets(self, now: dt.datetime) -> list[str]:
        return [secret for secret, expires in self.secrets if expires is None or expires > now]

    def usable_public_keys(self, now: dt.datetime) -> list[bytes]:
        return [key for key, expires in self.public_keys if expires is None or expires > now]


async def load_verification(code: str, box: SecretBox) -> PartnerVerification | None:
    """The partner ``code`` and its active secrets (decrypted) and public keys; None for no such partner."""
    partner = await Partner.get_or_none(code=code)
    if partner is None:
        return None
    secrets: list[tuple[str, dt.datetime | None]] = []
    for row in await PartnerSecret.filter(partner_id=partner.id, active=True):
        if row.ciphertext is not None:
            try:
                secrets.append((box.open(row.ciphertext, partner_id=partner.id), row.expires_at))
            except SecretBoxError:
                # Sealed under another service key (MILESGATE_SECRET_KEY changed): it verifies nothing.
                log.error(
                    "partner signing secret %s does not decrypt", row.id, extra={"partner_id": partner.id}
                )
        elif row.secret is not None:  # not yet encrypted by the start-up step (a rolling upgrade)
            secrets.append((row.secret, row.expires_at))
    keys = await PartnerPublicKey.filter(partner_id=partner.id, active=True).values_list(
        "public_key", "expires_at"
    )
    return PartnerVerification(
        partner=partner,
        secrets=tuple(secrets),
        public_keys=tuple((base64.b64decode(str(key)), expires) for key, expires in keys),
    )


_CACHES: weakref.WeakSet[VerificationCache] = weakref.WeakSet()


def forget_in_this_process(code: str) -> None:
    """After a committed change of partner ``code``: every cache of this process forgets it at once.

    The partner services call it themselves, so a change made in a process is never checked against its
    own stale entry; other processes hear of it through the announcement (``gateway.partner_changes``)."""
    for cache in list(_CACHES):
        cache.forget(code.strip().lower())


class VerificationCache:
    """Each partner's ``PartnerVerification``, kept for ``ttl_s`` and forgotten when told of a change.

    An unknown partner code is not kept (codes are unbounded; a registration needs no announcement).
    A load that was under way when a change was announced is used for its own delivery but not kept,
    so what it read before the change cannot outlive the announcement.
    """

    def __init__(
        self,
        box: SecretBox,
        *,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        load: Callable[[str, SecretBox], Awaitable[PartnerVerification | None]] | None = None,
    ) -> None:
        self._box = box
        self.ttl_s = ttl_s
        self._clock = clock
        self._load = load or load_verification
        self._entries: dict[str, tuple[float, PartnerVerification]] = {}
        self._loading: dict[str, asyncio.Future[PartnerVerification | None]] = {}
        self._generation = 0
        _CACHES.add(self)

    async def get(self, code: str) -> PartnerVerification | None:
        entry = self._entries.get(code)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        pending = self._loading.get(code)
        if pending is not None:  # one load per partner at a time, however many deliveries wait for it
            return await asyncio.shield(pending)
        return await self._refresh(code)

    async def _refresh(self, code: str) -> PartnerVerification | None:
        generation = self._generation
        future: asyncio.Future[PartnerVerification | None] = asyncio.get_running_loop().create_future()
        self._loading[code] = future
        try:
            found = await self._load(code, self._box)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters (if any) re-raise it
            raise
        finally:
            if self._loading.get(code) is future:
                del self._loading[code]
        future.set_result(found)
        if found is not None and generation == self._generation:
            self._entries[code] = (self._clock() + self.ttl_s, found)
        return found

    def forget(self, code: str | None = None) -> None:
        """Drop ``code``'s entry (every entry when None): the next delivery reads the database again."""
        self._generation += 1
        if code is None:
            self._entries.clear()
            self._loading.clear()
        else:
            self._entries.pop(code, None)
            self._loading.pop(code, None)
