"""``milesgate serve --workers N``'s processes (``gateway.processes``): one listening socket each, so the
kernel spreads connections over them however they arrive; a process that dies is replaced on its socket;
a port already taken, or a process that cannot start, stops the server.

Each test runs ``tests/gateway/pid_app.py`` (a Starlette app answering with its process id) under
``serve_processes``; Linux only, where ``SO_REUSEPORT`` spreads connections.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.processes import listening_sockets, spreads_connections
from tests.support import deadline_s, free_port, stop_process, wait_for_sync

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
CONNECTIONS = 32

pytestmark = pytest.mark.skipif(not spreads_connections(), reason="SO_REUSEPORT spreads connections on Linux")


def _connect(port: int) -> socket.socket:
    return socket.create_connection((HOST, port), timeout=deadline_s(10))


def _answer(sock: socket.socket) -> int:
    """The process id answered on an open connection (one request; the server closes after it)."""
    with sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), received
    return int(body)


def _answered_by(port: int) -> int | None:
    try:
        return _answer(_connect(port))
    except OSError:
        return None


@contextmanager
def _served(tmp_path: Path, workers: int, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.gateway.pid_app", str(port), str(workers)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        yield process, port
    finally:
        stop_process(process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever of the group outlived it


def _every_process_answers(port: int, count: int) -> set[int]:
    """Fresh connections until ``count`` different processes have answered; their ids."""
    seen: set[int] = set()

    def all_seen() -> bool:
        answered = _answered_by(port)
        if answered is not None:
            seen.add(answered)
        return len(seen) >= count

    wait_for_sync(all_seen, timeout_s=deadline_s(60), interval_s=0.02, what=f"{count} processes answer")
    return seen


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_connections_opened_at_once_are_spread_over_the_processes(tmp_path: Path) -> None:
    # given: two processes, both serving
    with _served(tmp_path, 2) as (_, port):
        pids = _every_process_answers(port, 2)

        # when: 32 connections are opened before any is used (as wrk or a proxy's pool opens them)
        connections = [_connect(port) for _ in range(CONNECTIONS)]
        answers = Counter(_answer(connection) for connection in connections)

    # then: each process took a share of them (one socket shared by both gave 30 and 2, or 21 and 11: the
    # first to wake accepted what was waiting); 3 or fewer of 32 by chance is about 1 in 400,000
    assert set(answers) == pids
    assert min(answers.values()) >= 4, answers


def test_a_process_that_dies_is_replaced_on_its_socket(tmp_path: Path) -> None:
    # given
    with _served(tmp_path, 2) as (server, port):
        first = _every_process_answers(port, 2)
        killed = min(first)

        # when: one process is killed
        os.kill(killed, signal.SIGKILL)

        # then: a new process answers beside the survivor, and the server goes on
        wait_for_sync(
            lambda: len(_every_process_answers(port, 2) - first) == 1,
            timeout_s=deadline_s(60),
            what="a replacement answers",
        )
        assert server.poll() is None
        assert not _alive(killed)


def test_stopping_the_server_stops_every_process(tmp_path: Path) -> None:
    # given
    with _served(tmp_path, 2) as (server, port):
        pids = _every_process_answers(port, 2)

        # when
        server.send_signal(signal.SIGTERM)

        # then
        assert server.wait(timeout=deadline_s(30)) == 0
    wait_for_sync(
        lambda: not any(_alive(pid) for pid in pids), timeout_s=deadline_s(10), what="processes end"
    )
    assert _answered_by(port) is None


def test_sighup_replaces_every_process_while_the_port_keeps_answering(tmp_path: Path) -> None:
    # given
    with _served(tmp_path, 2) as (server, port):
        before = _every_process_answers(port, 2)

        # when
        server.send_signal(signal.SIGHUP)

        # then: two new processes answer, the old ones are gone, and the server goes on
        wait_for_sync(
            lambda: not (_every_process_answers(port, 2) & before) and not any(_alive(pid) for pid in before),
            timeout_s=deadline_s(90),
            what="new processes in place of the old",
        )
        assert server.poll() is None


def test_the_processes_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    # given
    with _served(tmp_path, 2) as (server, port):
        pids = _every_process_answers(port, 2)

        # when: the supervisor dies without a chance to stop them
        server.kill()
        server.wait()

        # then: the kernel stops them (PR_SET_PDEATHSIG), and the port is free
        wait_for_sync(lambda: not any(_alive(pid) for pid in pids), timeout_s=deadline_s(30), what="they end")
        assert _answered_by(port) is None


def test_a_process_that_cannot_start_stops_the_server(tmp_path: Path) -> None:
    # when
    with _served(tmp_path, 2, PID_APP_FAIL_START="1") as (server, _):
        # then: uvicorn's start-up failure status, not an endless round of restarts
        assert server.wait(timeout=deadline_s(60)) == 3
    assert "start-up fails, as asked" in (tmp_path / "serve.log").read_text()


def test_a_port_in_use_is_refused_not_shared() -> None:
    # given: something listens on the port, without SO_REUSEPORT
    with socket.socket() as other:
        other.bind((HOST, 0))
        other.listen()
        port = other.getsockname()[1]

        # then
        with pytest.raises(OSError, match="in use"):
            listening_sockets(HOST, port, 2)

    # and a second server on a port that a first one's sockets hold is refused too
    first = listening_sockets(HOST, port, 2)
    try:
        with pytest.raises(OSError, match="in use"):
            listening_sockets(HOST, port, 2)
    finally:
        for sock in first:
            sock.close()
