"""``milesgate serve --workers N`` on Linux: N uvicorn processes, each listening on a socket of its own.

uvicorn's own supervisor binds one socket and hands it to every process. All of them wait on it, and the
first to wake accepts every connection then waiting (asyncio accepts up to its backlog in one go).
Connections that stay open (a load balancer's or a federation router's pool, wrk's) then stay with
whichever process took them: ``bench/dashboard`` saw 30 of 32 connections on one of two processes while
the other idled, which halves what two processes can do and doubles the busy one's latency.

Here every process has a listening socket of its own on the same address (``SO_REUSEPORT``), and the
kernel hands each new connection to one of them by a hash of its addresses, so connections are spread
evenly whenever they come. The supervisor binds the sockets, so the port is checked once (a port already
in use, even by another ``milesgate serve``, stops the start instead of being shared with it), and
connections that arrive while a process starts wait in its socket's queue. A process that exits after it
started is started again on the same socket (after a pause that grows to 30 s when it keeps exiting soon
after starting); one that fails to start stops the whole server, as with uvicorn (the app, its settings or
its database are broken, and would be on every restart). SIGHUP replaces the processes one by one, each new
one serving before its predecessor stops; SIGINT and SIGTERM stop them all, and a process whose supervisor
dies, even by SIGKILL, is stopped by the kernel (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event as EventType
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("milesgate")
_spawn = multiprocessing.get_context("spawn")
_WATCH_S = 0.5
_STEADY_S = 10.0  # a process that ran this long is restarted at once when it exits
_READY_TIMEOUT_S = 120.0
LISTEN_BACKLOG = 2048  # uvicorn's default


def spreads_connections() -> bool:
    """Whether this system spreads connections over sockets sharing a port (Linux's ``SO_REUSEPORT``)."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets listening on ``host``:``port`` together. Raises ``OSError`` if the port is taken:
    a plain bind comes first, which fails where anyone listens, so a second server never joins the first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = probe.getsockname()[1]  # the one the system chose, for port 0
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(LISTEN_BACKLOG)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when the supervisor dies, even by SIGKILL: a server process
    must not go on holding the port with nobody to stop it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, telling the supervisor once it is serving (``ready``)."""

    def __init__(self, config: uvicorn.Config, ready: EventType) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._ready.set()


def _serve_one(
    config: uvicorn.Config, sock: socket.socket, ready: EventType
) -> None:  # pragma: no cover - runs in a child process
    _die_with_parent()
    config.configure_logging()  # logging is set up again in each spawned process
    _Server(config, ready).run(sockets=[sock])


@dataclass
class _Child:
    process: SpawnProcess
    ready: EventType
    started_at: float


class _Supervisor:
    """One server process per socket, kept running (see the module's description)."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        self.config = config
        self.sockets = sockets
        self.children: list[_Child | None] = [None] * len(sockets)
        self.restart_at = [0.0] * len(sockets)
        self.backoff_s = [0.0] * len(sockets)
        self.signals: list[int] = []

    def _start(self, index: int) -> _Child:
        ready = _spawn.Event()
        process = _spawn.Process(
            target=_serve_one, args=(self.config, self.sockets[index], ready), name="milesgate-serve"
        )
        process.start()
        return _Child(process, ready, time.monotonic())

    def run(self) -> int:
        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        # The handler only records the signal; the loop acts on it (nothing that takes a lock in a handler).
        previous = {sig: signal.signal(sig, lambda sig, _: self.signals.append(sig)) for sig in handled}
        try:
            for index in range(len(self.sockets)):
                self.children[index] = self._start(index)
            return self._watch()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _watch(self) -> int:
        while True:
            time.sleep(_WATCH_S)
            while self.signals:
                received = self.signals.pop(0)
                if received == signal.SIGHUP:
                    self._restart_all()
                else:
                    return 0
            for index, child in enumerate(self.children):
                if child is not None and child.process.is_alive():
                    continue
                if child is not None:
                    child.process.join()
                    if child.process.exitcode == STARTUP_FAILURE:
                        log.error(
                            "a server process failed to start; stopping", extra={"pid": child.process.pid}
                        )
                        return STARTUP_FAILURE
                    self._schedule_restart(index, child)
                    self.children[index] = None
                if time.monotonic() >= self.restart_at[index]:
                    self.children[index] = self._start(index)

    def _schedule_restart(self, index: int, child: _Child) -> None:
        """At once after a process that ran a while; after a growing pause (1 s doubling to 30 s) when
        they keep exiting soon after they start, so a crash loop does not spin."""
        lived_s = time.monotonic() - child.started_at
        self.backoff_s[index] = (
            0.0 if lived_s >= _STEADY_S else min(max(2 * self.backoff_s[index], 1.0), 30.0)
        )
        self.restart_at[index] = time.monotonic() + self.backoff_s[index]
        log.warning(
            "a server process exited; starting another on its socket",
            extra={
                "pid": child.process.pid,
                "exitcode": child.process.exitcode,
                "after_s": self.backoff_s[index],
            },
        )

    def _restart_all(self) -> None:
        """SIGHUP: each process in turn is replaced by a new one, which serves before the old one stops
        (the old one finishes its requests in flight); one that does not start leaves the old in place."""
        log.info("SIGHUP: restarting the server processes")
        for index, old in enumerate(self.children):
            new = self._start(index)
            if not new.ready.wait(_READY_TIMEOUT_S):
                log.error(
                    "a new server process did not start; keeping the old one", extra={"pid": new.process.pid}
                )
                new.process.kill()
                new.process.join()
                return
            self.children[index] = new
            if old is not None and old.process.is_alive():
                old.process.terminate()
                old.process.join()

    def _stop_all(self) -> None:
        running = [child.process for child in self.children if child is not None]
        for process in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for sock in self.sockets:
            sock.close()  # the processes have their own copies, closed as each stops
        for process in running:
            process.join()


def serve(app: str, *, workers: int, **options: Any) -> int:
    """Serve ``app`` (uvicorn's import string and ``options``) in ``workers`` processes: one socket each
    where the system spreads connections over them, else uvicorn's own supervisor and shared socket; the
    exit status. Raises ``OSError`` when the port cannot be listened on."""
    if workers > 1 and spreads_connections():
        host, port = options["host"], options["port"]
        return serve_processes(uvicorn.Config(app, **options), listening_sockets(host, port, workers))
    uvicorn.run(app, workers=workers, **options)
    return 0


def serve_processes(config: uvicorn.Config, sockets: list[socket.socket]) -> int:
    """Serve ``config``'s app in one process per socket until SIGINT or SIGTERM (SIGHUP: restart them one
    by one); the exit status: 0, or uvicorn's start-up failure status when a process could not start."""
    return _Supervisor(config, sockets).run()
