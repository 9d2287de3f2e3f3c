"""Wake-ups for the worker's loops when rows they handle are written, so an idle worker does not poll.

PostgreSQL: triggers (migration ``0021_wake_on_write``) run ``pg_notify`` on a channel when domain
events, notifications or outbound deliveries are written; a notification is sent when the writing
transaction commits, and never for one rolled back. ``PostgresListener`` holds one dedicated asyncpg
connection (not from the pool, whose connections keep no session state) that LISTENs on the channels
and turns each notification into ``Wakeups.wake``. A lost connection is reconnected with a doubling
pause; every loop is woken after each (re)connect, for what was written while nobody listened, and the
loops' safety sweep covers the time in between. Each change of state is logged once.

SQLite (the embedded default, one process): ``SqliteWakeups`` installs temporary triggers on the ORM's
connection that call back into this process. A trigger fires while the writing transaction is still open,
but the ORM's SQLite client holds its one connection for the whole transaction, so a woken loop's query
only runs once it has committed. Writes from another process (a CLI command on the same file) wake
nobody: the safety sweep finds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from tortoise import connections

from gateway.backends.memory import Wakeups
from gateway.db import tortoise_config
from gateway.settings import Settings
from gateway.workers.loops import MAX_BACKOFF_S, pause

log = logging.getLogger(__name__)

EVENTS = "milesgate_events"
"""Domain events were written: the event relay has work."""
NOTIFICATIONS = "milesgate_notifications"
"""Member messages were written: the notification sender has work."""
OUTBOUND = "milesgate_outbound"
"""Outbound deliveries were queued, or an endpoint enabled again: the outbound sender has work."""
CHANNELS = (EVENTS, NOTIFICATIONS, OUTBOUND)

APPLICATION_NAME = "milesgate-listener"
"""The LISTEN connection's ``application_name`` in ``pg_stat_activity``."""

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class PostgresListener:
    """One LISTEN connection that wakes this process's loops; run ``run(stop)`` as a task."""

    def __init__(
        self,
        connect: Connect,
        wakeups: Wakeups,
        *,
        retry_s: float,
        ping_every_s: float,
        max_retry_s: float = MAX_BACKOFF_S,
    ) -> None:
        self._connect = connect
        self._wakeups = wakeups
        self._retry_s = retry_s
        self._max_retry_s = max(max_retry_s, retry_s)
        self._ping_every_s = ping_every_s
        self.backend_pid: int | None = None
        """The server process of the current connection, None while there is none."""
        self.connects = 0
        """How many times a connection was made and listening (1 after the first start)."""
        self.ready = asyncio.Event()
        """Set while listening (after the loops were woken for what came before)."""

    def _notified(self, connection: object, pid: int, channel: str, payload: object) -> None:
        self._wakeups.wake(channel)

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                connection = await self._connect()
            except Exception as exc:  # whatever stops it connecting, the loops still have the sweep
                failures += 1
                if failures == 1:
                    log.warning(
                        "cannot connect to PostgreSQL to listen for work; retrying (%s)",
                        type(exc).__name__,
                    )
                await pause(stop, min(self._retry_s * 2 ** (failures - 1), self._max_retry_s))
                continue
            lost = asyncio.Event()
            try:
                connection.add_termination_listener(functools.partial(_on_termination, lost))
                for channel in CHANNELS:
                    await connection.add_listener(channel, self._notified)
                self.backend_pid = connection.get_server_pid()
                self.connects += 1
                again = " again" if self.connects > 1 else ""
                log.info("listening for work%s", again, extra={"channels": list(CHANNELS)})
                failures = 0
                self._wakeups.wake_all()  # whatever was written while nobody listened
                self.ready.set()
                await self._hold(connection, stop, lost)
            except Exception as exc:
                log.debug("LISTEN connection error", exc_info=exc)
            finally:
                self.ready.clear()
                self.backend_pid = None
                await _close(connection)
            if not stop.is_set():
                log.warning("lost the LISTEN connection to PostgreSQL; reconnecting")
                failures = 1
                await pause(stop, self._retry_s)

    async def _hold(self, connection: asyncpg.Connection, stop: asyncio.Event, lost: asyncio.Event) -> None:
        """Until ``stop`` or the connection is lost; a ping every ``ping_every_s`` finds a connection
        that died without the server closing it."""
        while not stop.is_set() and not lost.is_set():
            waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())}
            try:
                await asyncio.wait(waiters, timeout=self._ping_every_s, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if not stop.is_set() and not lost.is_set():
                await connection.execute("SELECT 1", timeout=self._ping_every_s)


def _on_termination(lost: asyncio.Event, connection: object) -> None:
    lost.set()


async def _close(connection: asyncpg.Connection) -> None:
    if connection.is_closed():
        return
    try:
        await asyncio.wait_for(connection.close(), timeout=2.0)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        connection.terminate()


def postgres_connect(settings: Settings) -> Connect:
    """Opens a connection of its own to the settings' PostgreSQL database, named ``APPLICATION_NAME``."""
    credentials: dict[str, Any] = tortoise_config(settings)["connections"]["default"]["credentials"]

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(
            host=credentials["host"],
            port=credentials["port"],
            user=credentials["user"],
            password=credentials["password"] or None,
            database=credentials["database"],
            timeout=10.0,
            server_settings={"application_name": APPLICATION_NAME},
        )

    return connect


# SQLite: (trigger, what fires it, condition, channel). The UPDATE ones fire for a delivery queued again
# (a replay) and for an endpoint enabled again, as the PostgreSQL ones do.
_SQLITE_TRIGGERS = (
    ("milesgate_wake_events", "INSERT ON domain_events", "1", EVENTS),
    ("milesgate_wake_notifications", "INSERT ON notifications", "1", NOTIFICATIONS),
    ("milesgate_wake_deliveries", "INSERT ON outbound_deliveries", "1", OUTBOUND),
    (
        "milesgate_wake_deliveries_requeued",
        "UPDATE OF state, next_attempt_at ON outbound_deliveries",
        "NEW.state = 'pending'",
        OUTBOUND,
    ),
    (
        "milesgate_wake_endpoints",
        "UPDATE OF state ON partner_endpoints",
        "NEW.state = 'enabled' AND OLD.state <> 'enabled'",
        OUTBOUND,
    ),
)
_SQLITE_FUNCTION = "milesgate_wake"


class SqliteWakeups:
    """Temporary triggers on the ORM's SQLite connection that wake this process's loops."""

    def __init__(self, wakeups: Wakeups) -> None:
        self._wakeups = wakeups
        self.ready = asyncio.Event()
        """Set while the triggers are in place (after the loops were woken for what came before)."""

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        wakeups = self._wakeups

        def wake(channel: str) -> None:
            # Runs on the SQLite thread inside the writing statement: it must never fail that statement.
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to wake
                loop.call_soon_threadsafe(wakeups.wake, channel)

        client = connections.get("default")
        async with client.acquire_connection() as connection:
            await connection.create_function(_SQLITE_FUNCTION, 1, wake)
        try:
            for name, event, condition, channel in _SQLITE_TRIGGERS:
                await client.execute_script(
                    f"CREATE TEMP TRIGGER IF NOT EXISTS {name} AFTER {event} FOR EACH ROW WHEN {condition} "
                    f"BEGIN SELECT {_SQLITE_FUNCTION}('{channel}'); END"
                )
            log.info("waking loops in process on writes", extra={"channels": list(CHANNELS)})
            wakeups.wake_all()  # whatever was written before the triggers were there
            self.ready.set()
            await stop.wait()
        finally:
            self.ready.clear()
            await _drop_sqlite_triggers(client)


async def _drop_sqlite_triggers(client: Any) -> None:
    try:
        for name, *_ in _SQLITE_TRIGGERS:
            await client.execute_script(f"DROP TRIGGER IF EXISTS temp.{name}")
    except Exception:  # the database is already closed: its temporary triggers went with it
        log.debug("temporary wake-up triggers not dropped", exc_info=True)


def change_listener(settings: Settings, wakeups: Wakeups) -> PostgresListener | SqliteWakeups:
    """What wakes ``wakeups`` on writes (run its ``run(stop)``): LISTEN on PostgreSQL, triggers in process
    on SQLite."""
    if settings.resolved_database_url.startswith("sqlite://"):
        return SqliteWakeups(wakeups)
    return PostgresListener(
        postgres_connect(settings),
        wakeups,
        retry_s=settings.worker_listen_retry_s,
        ping_every_s=settings.worker_sweep_s,
    )
