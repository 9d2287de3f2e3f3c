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
started is started again on the same socket; one that fails to start stops the whole server, as with
uvicorn (the app, its settings or its database are broken, and would be on every restart).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import threading
from multiprocessing.context import SpawnProcess

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("milesgate")
_spawn = multiprocessing.get_context("spawn")
_WATCH_S = 0.5
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


def _serve_one(config: uvicorn.Config, sock: socket.socket) -> None:  # pragma: no cover - a child process
    config.configure_logging()  # logging is set up again in each spawned process
    uvicorn.Server(config).run(sockets=[sock])


def _started(config: uvicorn.Config, sock: socket.socket) -> SpawnProcess:
    process = _spawn.Process(target=_serve_one, args=(config, sock), name="milesgate-serve")
    process.start()
    return process


def serve_processes(config: uvicorn.Config, sockets: list[socket.socket]) -> int:
    """Serve ``config``'s app in one process per socket until SIGINT or SIGTERM; the exit status:
    0, or uvicorn's start-up failure status when a process could not start."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [_started(config, sock) for sock in sockets]
    status = 0
    try:
        while not stop.wait(_WATCH_S):
            for index, process in enumerate(processes):
                if process.is_alive():
                    continue
                process.join()
                if process.exitcode == STARTUP_FAILURE:
                    log.error("a server process failed to start; stopping", extra={"pid": process.pid})
                    status = STARTUP_FAILURE
                    stop.set()
                    break
                log.warning(
                    "a server process exited; starting another on its socket",
                    extra={"pid": process.pid, "exitcode": process.exitcode},
                )
                processes[index] = _started(config, sockets[index])
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in processes:
            process.join()
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
