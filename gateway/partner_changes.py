"""Telling every process that a partner changed, so its ``VerificationCache`` forgets the partner.

Whoever changes a partner (its state, capabilities, signing secrets or public keys; the GraphQL admin
operations and the ``milesgate partners`` commands) announces the partner's code on the pub/sub
channel ``partners:changed`` after the change is committed. Every gateway process follows the channel
(``follow_partner_changes``, started by the app's lifespan) and drops that partner's cached entry, so
its next delivery is checked against the database's state.

While the subscription is down (Redis unreachable) announcements are lost: the follower forgets every
entry when it subscribes again, and the cache's time to live bounds what it can miss in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gateway.backends import open_backends
from gateway.settings import Settings
from loyalty.ports import BackendUnavailable, PubSub, Subscription
from partners.verification import VerificationCache

log = logging.getLogger(__name__)

CHANNEL = "partners:changed"
RESUBSCRIBE_MAX_S = 10.0


async def announce_partner_change(pubsub: PubSub, code: str) -> None:
    """After a committed change of partner ``code``: every process forgets its cached entry."""
    await pubsub.publish(CHANNEL, code.strip().lower().encode())


async def announce_once(settings: Settings, code: str) -> None:
    """From a process without backends of its own (the command line): announce on Redis, if there is one.

    Embedded, the gateway's pub/sub lives inside its own process: it sees the change once its cached
    entry's time to live (``MILESGATE_PARTNER_CACHE_TTL_S``) has run out."""
    if settings.resolved_redis_url is None:
        return
    backends = await open_backends(
        settings.resolved_redis_url,
        cluster=settings.redis_cluster,
        prefix=settings.redis_prefix,
        retry_s=settings.redis_retry_s,
    )
    try:
        await announce_partner_change(backends.ports.pubsub, code)
    finally:
        await backends.close()


async def partner_changed(pubsub: PubSub, cache: VerificationCache, code: str) -> None:
    """This process forgets the partner at once, the others when they hear the announcement."""
    cache.forget(code.strip().lower())
    await announce_partner_change(pubsub, code)


async def follow_partner_changes(pubsub: PubSub, cache: VerificationCache, stop: asyncio.Event) -> None:
    """Forget cached partners as their changes are announced, until ``stop`` is set."""
    pause = 0.1
    while not stop.is_set():
        try:
            subscription = await pubsub.subscribe(CHANNEL)
        except Exception as exc:
            if not isinstance(exc, BackendUnavailable):
                log.warning("could not follow partner changes; trying again", exc_info=True)
            await _sleep(stop, pause)
            pause = min(pause * 2, RESUBSCRIBE_MAX_S)
            continue
        cache.forget()  # whatever changed while nobody listened
        pause = 0.1
        try:
            await _forget_announced(subscription, cache, stop)
        except BackendUnavailable:
            log.info("partner change announcements interrupted; subscribing again")
        except Exception:
            log.warning("partner change announcements failed; subscribing again", exc_info=True)
        finally:
            await subscription.close()
        await _sleep(stop, pause)


async def _forget_announced(
    subscription: Subscription, cache: VerificationCache, stop: asyncio.Event
) -> None:
    messages = subscription.__aiter__()
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            following = asyncio.ensure_future(messages.__anext__())
            done, _ = await asyncio.wait({following, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if following not in done:
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await following
                return
            try:
                code = following.result().decode(errors="replace")
            except StopAsyncIteration:
                return
            cache.forget(code or None)
    finally:
        stopping.cancel()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
