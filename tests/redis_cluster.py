"""A Redis Cluster of three masters on loopback, started and stopped by the tests (and the benches).

``redis-server --cluster-enabled yes`` three times on free ports (no persistence, its files in a temporary
folder), joined by ``redis-cli --cluster create`` without replicas, and ready once every node reports
``cluster_state:ok``. Imports nothing of the project, so ``tests/conftest.py`` can start one before the
test helpers read their Redis URLs.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

MASTERS = 3


def _free_port() -> int:
    """A loopback port free now whose +10000 neighbour (the cluster bus port) is free too."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


class RedisClusterServers:
    """Three cluster-enabled ``redis-server`` processes; ``url`` names the first (the client finds the rest)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="milesgate-redis-cluster-"))
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self, timeout_s: float = 30.0) -> RedisClusterServers:
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if server is None or cli is None:
            raise FileNotFoundError("redis-server and redis-cli are needed for a Redis Cluster")
        for _ in range(MASTERS):
            port = _free_port()
            folder = self.folder / str(port)
            folder.mkdir()
            self.ports.append(port)
            self.processes.append(
                subprocess.Popen(
                    [
                        server,
                        "--port", str(port),
                        "--bind", "127.0.0.1",
                        "--cluster-enabled", "yes",
                        "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", "5000",
                        "--save", "",
                        "--appendonly", "no",
                        "--dir", str(folder),
                        "--logfile", str(folder / "redis.log"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        for port in self.ports:
            self._wait(partial(self._answers, port, "PONG", "ping"), deadline, f"node {port} answering")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=timeout_s,
        )
        for port in self.ports:
            self._wait(
                partial(self._answers, port, "cluster_state:ok", "cluster", "info"),
                deadline,
                f"node {port} serving every slot",
            )
        return self

    def _answers(self, port: int, expected: str, *command: str) -> bool:
        return expected in self._cli(port, *command)

    def _cli(self, port: int, *command: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *command], capture_output=True, timeout=5
        )
        return done.stdout.decode(errors="replace").strip()

    def _wait(self, ready: Callable[[], bool], deadline: float, what: str) -> None:
        while not ready():
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"Redis Cluster: {what} not reached")
            time.sleep(0.05)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        shutil.rmtree(self.folder, ignore_errors=True)
