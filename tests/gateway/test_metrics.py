"""The gateway's ``/metrics`` with several uvicorn processes: the numbers of every process add up.

``milesgate serve --workers 2`` on PostgreSQL and Redis; requests go to whichever process the kernel
hands the connection to, and every scrape, whichever process answers it, shows the sum.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import MULTIPROCESS_ENV, multiprocess_directory
from gateway.settings import Settings
from tests.factories import TEST_SECRET
from tests.support import (
    APP_REDIS_URL,
    PRODUCTION_MAIL_ENV,
    REDIS_PREFIX,
    clear_redis,
    deadline_s,
    free_port,
    require_service,
    served_process,
    wait_for_sync,
)

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "metrics-" + "w" * 40
SCRAPES = 8


def request_count(text: str, route: str) -> float:
    """``milesgate_http_requests_total`` for ``route``, every method and status added up."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "milesgate_http_requests":
            total += sum(
                sample.value
                for sample in family.samples
                if sample.name.endswith("_total") and sample.labels["route"] == route
            )
    return total


def test_a_fresh_directory_is_private_named_while_in_use_and_removed_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(MULTIPROCESS_ENV, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # what TMPDIR sets in a new process

    with multiprocess_directory() as path:
        assert os.environ[MULTIPROCESS_ENV] == str(path)
        assert path.parent == tmp_path
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        assert list(path.iterdir()) == []

    assert not path.exists()
    assert MULTIPROCESS_ENV not in os.environ


def test_a_directory_the_operator_names_loses_an_earlier_runs_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    given = tmp_path / "prometheus"
    given.mkdir()
    (given / "counter_4242.db").write_bytes(b"old")
    (given / "gauge_livemostrecent_4242.db").write_bytes(b"old")
    (given / "notes.txt").write_text("not ours")
    monkeypatch.setenv(MULTIPROCESS_ENV, str(given))

    with multiprocess_directory() as path:
        assert path == given
        assert sorted(item.name for item in path.iterdir()) == ["notes.txt"]

    assert given.exists()  # the operator's directory stays


def answered_by(metrics_dir: Path, route: str) -> int:
    """How many processes have counted a request to ``route``, from their own files."""
    processes = 0
    for path in metrics_dir.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(path)], accumulate=False)  # type: ignore[no-untyped-call]
        counted = sum(
            sample.value
            for metric in metrics
            if metric.name == "milesgate_http_requests"
            for sample in metric.samples
            if sample.labels.get("route") == route
        )
        processes += counted > 0
    return processes


@contextmanager
def _served(settings: Settings, tmp_path: Path, *, workers: int) -> Iterator[str]:
    """``milesgate serve --workers N`` in production mode; its temporary directory is ``tmp_path/tmp``."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("MILESGATE_")}
    env.pop(MULTIPROCESS_ENV, None)
    env |= {
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(temporary),
        "MILESGATE_ENV": "production",
        "MILESGATE_DATABASE_URL": settings.resolved_database_url,
        "MILESGATE_REDIS_URL": APP_REDIS_URL,
        "MILESGATE_REDIS_PREFIX": REDIS_PREFIX,
        "MILESGATE_SECRET_KEY": TEST_SECRET,
        "MILESGATE_DATA_DIR": str(settings.data_dir),
        "MILESGATE_METRICS_TOKEN": METRICS_TOKEN,
        "MILESGATE_LOG_LEVEL": "WARNING",
        **PRODUCTION_MAIL_ENV,
    }
    command = [sys.executable, "-m", "gateway.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    with served_process(
        command, port=port, env=env, log=tmp_path / "serve.log", ready_path="/readyz", cwd=ROOT
    ) as base:
        yield base


@pytest.mark.postgres
@pytest.mark.redis
async def test_with_two_workers_every_scrape_shows_the_sum_of_both(
    postgres_settings: Settings, tmp_path: Path
) -> None:
    try:
        await clear_redis()
    except OSError as exc:
        require_service("Redis", exc)

    with _served(postgres_settings, tmp_path, workers=2) as base:
        (metrics_dir,) = (tmp_path / "tmp").iterdir()
        assert stat.S_IMODE(metrics_dir.stat().st_mode) == 0o700
        sent = 0

        def send() -> bool:
            nonlocal sent
            for _ in range(10):
                assert httpx2.get(f"{base}/healthz", timeout=deadline_s(5)).status_code == 200
                sent += 1
            return answered_by(metrics_dir, "/healthz") >= 2

        totals: list[float] = []

        def scrape() -> bool:
            answer = httpx2.get(
                f"{base}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}, timeout=deadline_s(5)
            )
            assert answer.status_code == 200, answer.text
            totals.append(request_count(answer.text, "/healthz"))
            return len(totals) >= SCRAPES and answered_by(metrics_dir, "/metrics") >= 2

        # given: requests, each on a new connection, until both processes have answered some
        wait_for_sync(send, timeout_s=60, interval_s=0, what="both processes answer requests")
        # when: Prometheus scrapes again and again, until both processes have answered scrapes
        wait_for_sync(scrape, timeout_s=60, interval_s=0, what="both processes answer scrapes")

    # then: every scrape counts every request, and the files went with the server
    assert totals == [sent] * len(totals)
    assert not metrics_dir.exists()
