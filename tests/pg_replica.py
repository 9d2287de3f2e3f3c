"""A PostgreSQL primary and its streaming replica on loopback, started and stopped by a test or a bench.

The machine's PostgreSQL binaries (``/usr/lib/postgresql/<version>/bin``): ``initdb`` makes a primary in a
temporary folder (trust on 127.0.0.1, replication allowed, no fsync: test data), ``pg_basebackup -R``
copies it into a replica that follows it by streaming replication, each on a free loopback port. As root
the servers run as the ``postgres`` user (PostgreSQL refuses root). The machine's own PostgreSQL is not
touched.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    if not found:
        raise FileNotFoundError("no PostgreSQL binaries under /usr/lib/postgresql")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrimaryWithReplica:
    """``primary_url`` and ``replica_url`` name database ``database`` on each (created on the primary,
    streamed to the replica)."""

    def __init__(self, database: str = "milesgate") -> None:
        self.database = database
        self.folder = Path(tempfile.mkdtemp(prefix="milesgate-pg-replica-"))
        self.primary_port = _free_port()
        self.replica_port = _free_port()
        self.bin = postgres_bin()
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user is not None:
            record = pwd.getpwnam(self._user)
            os.chown(self.folder, record.pw_uid, record.pw_gid)

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{self.database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def _run(self, *command: str, timeout: float = 60) -> str:
        argv = [str(self.bin / command[0]), *command[1:]]
        if self._user is not None:
            argv = ["runuser", "-u", self._user, "--", *argv]
        done = subprocess.run(argv, capture_output=True, timeout=timeout, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr.decode(errors='replace')[-2000:]}")
        return done.stdout.decode(errors="replace")

    def _configure(self, data: Path, port: int) -> None:
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.folder}'\n"
                "fsync = off\nfull_page_writes = off\nmax_wal_senders = 4\nwal_level = replica\n"
                "hot_standby = on\nmax_connections = 60\nshared_buffers = 32MB\n"
            )

    def start(self) -> PrimaryWithReplica:
        primary, replica = self.folder / "primary", self.folder / "replica"
        try:
            self._run(
                "initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
            )
            self._configure(primary, self.primary_port)
            self._run("pg_ctl", "-D", str(primary), "-l", str(self.folder / "primary.log"), "-w", "start")
            self._run(
                "createdb", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres", self.database
            )
            self._run(
                "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                "-D", str(replica), "-R", "-X", "stream", "-c", "fast", "--no-sync",
            )  # fmt: skip
            with (replica / "postgresql.conf").open("a") as conf:
                conf.write(f"\nport = {self.replica_port}\n")
            self._run("pg_ctl", "-D", str(replica), "-l", str(self.folder / "replica.log"), "-w", "start")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for data in (self.folder / "replica", self.folder / "primary"):
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)

    def wait_replayed(self, timeout_s: float = 30.0) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        position = self._psql(self.primary_port, "SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout_s
        while (
            self._psql(self.replica_port, f"SELECT pg_last_wal_replay_lsn() >= '{position}'::pg_lsn") != "t"
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not catch up")
            time.sleep(0.02)

    def _psql(self, port: int, sql: str) -> str:
        return self._run(
            "psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", self.database, "-Atc", sql
        ).strip()
