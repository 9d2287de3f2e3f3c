"""The member dashboard: milesgate's GraphQL against a hand-written Starlette + asyncpg baseline.

Both servers run in the same run on the same fresh PostgreSQL database (``milesgate_dash``, dropped and
recreated, dropped at the end unless ``--keep-db``; a ``redis-server`` of the run's own on a free loopback
port, not the machine's shared Redis), each with 2 uvicorn workers on 127.0.0.1, and wrk drives each in
turn with the same number of connections for a bounded time. Before measuring, the script checks that
both answer every member with the same JSON. Each measured run follows a few seconds of the same load
that is not recorded (``--warmup``): a server's first requests open its pool's connections and make
PostgreSQL plan the statements on each, which belongs to start-up, not to the steady state measured.

wrk's own saturating runs keep every connection busy, so their latency is the number of connections over
the throughput (Little's law) whatever a server does; they measure capacity. Latency is then measured at
loads both servers keep up with (``--paced``, default half and four fifths of the baseline's saturated
rate in the same run): each connection pauses between an answer and its next request for an
exponentially distributed time, as members do between two screens, so requests arrive about as a
Poisson stream. The mean pause is set per server from its warm-up, so that both are sent the same rate
(``paced_think_ms``); ``of_baseline`` records the rate each was actually sent. It is a closed loop: a
server that stalls stops its own arrivals meanwhile, so these figures hold for servers that keep up, as
both do at these loads.

One member is seeded per ``--histories`` size (default 10 and 100,000 postings), so the same run also
shows whether dashboard latency stays flat as a member's history grows.

milesgate runs in production mode with the per-IP and per-member request limits turned off
(``MILESGATE_RATE_LIMIT_PER_IP=0 MILESGATE_RATE_LIMIT_PER_MEMBER=0``): all the load comes from one IP
with one member's token, and this measures the service, not the abuse limits. GraphQL is measured twice:
with the full document in every request, and as an automatic persisted query (hash only, as an app sends
it once the document is registered).

Run from the project root:
  PYTHONPATH=. .venv/bin/python bench/dashboard/run.py [--seconds 20] [--connections 32] [--paced 0.5,0.8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import (
    SECRET_KEY,
    RedisServer,
    Stores,
    clean_up,
    fresh_stores,
    milesgate,
    reference_server,
    require_free_port,
    stop,
    wait_answering,
    wait_ready,
)
from bench.dashboard.queries import DASHBOARD
from bench.dashboard.seeding import DashboardMember, seed_dashboard
from gateway.graphql.persisted_queries import document_hash

STORES = Stores(db_name="milesgate_dash", redis_url="")  # the Redis: a redis-server of the run's own
GRAPHQL_PORT, BASELINE_PORT = 8790, 8791
WRK = shutil.which("wrk") or "wrk"
LIMITS_OFF = {"MILESGATE_RATE_LIMIT_PER_IP": "0", "MILESGATE_RATE_LIMIT_PER_MEMBER": "0"}
MAIL = {
    "MILESGATE_SMTP_HOST": "127.0.0.1",
    "MILESGATE_SMTP_TLS": "none",
    "MILESGATE_SMTP_FROM": "bench@example.com",
}
"""Production needs a mail server configured; the benchmark sends no mail (no worker runs in its gateways)."""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
bad = 0
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("seed", #threads)
end
function init(args) math.randomseed(seed) end
local think_ms = {think_ms}
if think_ms > 0 then
  -- each connection waits an exponentially distributed time between an answer and its next request
  function delay() return math.floor(-think_ms * math.log(1 - math.random())) end
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("bad") end
  local errors = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
    .. "bad=%d socket_errors=%d\\n", summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, failed,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def token_for(account_id: int) -> str:
    from gateway.tokens import TokenService
    from loyalty.members.models import SessionLevel

    service = TokenService(SECRET_KEY, ttl_s=3600, authenticated_window_s=15 * 60)
    return service.issue(account_id=account_id, level=SessionLevel.AUTHENTICATED, generation=0)


def graphql_body(*, persisted: bool, with_document: bool = True) -> bytes:
    body: dict[str, Any] = {}
    if with_document:
        body["query"] = DASHBOARD
    if persisted:
        body["extensions"] = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(DASHBOARD)}}
    return orjson.dumps(body)


def start_baseline(stores: Stores, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**stores.env(data_dir), "BASELINE_DATABASE_URL": stores.asyncpg_url}
    return reference_server("bench.dashboard.baseline:create_app", BASELINE_PORT, env)


async def same_answers(members: list[DashboardMember]) -> None:
    """Both servers answer each member with the same data (and the persisted query is registered)."""
    async with httpx2.AsyncClient(trust_env=False, timeout=30) as client:
        for member in members:
            headers = {
                "authorization": f"Bearer {token_for(member.account_id)}",
                "content-type": "application/json",
            }
            graphql = await client.post(
                f"http://127.0.0.1:{GRAPHQL_PORT}/graphql",
                content=graphql_body(persisted=True),
                headers=headers,
            )
            baseline = await client.post(f"http://127.0.0.1:{BASELINE_PORT}/dashboard", headers=headers)
            if graphql.json() != baseline.json() or "errors" in graphql.json():
                raise SystemExit(
                    f"the answers differ for history {member.history}:\n{graphql.text}\n{baseline.text}"
                )


def cpu_seconds(roots: list[psutil.Process]) -> dict[str, float]:
    """CPU seconds used so far by each server's process tree and by all PostgreSQL processes."""
    used: dict[str, float] = {}
    for root in roots:
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        used[str(root.pid)] = total
    postgres = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "postgres":
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                postgres += times.user + times.system
    used["postgres"] = postgres
    return used


def wrk(
    url: str,
    body: bytes,
    token: str,
    seconds: int,
    connections: int,
    threads: int,
    think_ms: float = 0,
) -> dict[str, Any]:
    """wrk's figures for ``connections`` connections, each sending a request as soon as it has an answer.

    With ``think_ms``, each connection waits between an answer and its next request for a time drawn
    from an exponential distribution of that mean, as members do between two screens: requests then
    arrive about as a Poisson stream of ``connections / (think_ms + latency)`` a second. Without it the
    server is saturated, and the latency is connections / throughput (Little's law) whatever the server
    does. wrk times a request from when it is sent, so the think time is not in the latency.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=body.decode(), token=token, think_ms=think_ms))
    try:
        completed = subprocess.run(  # noqa: S603 - the installed load generator, on loopback
            [
                WRK,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "5s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
    finally:
        os.unlink(script.name)
    found = re.search(r"^RESULT (.*)$", completed.stdout, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk said:\n{completed.stdout}\n{completed.stderr}")
    values = {key: int(value) for key, value in (pair.split("=") for pair in found.group(1).split())}
    return {
        "requests": values["requests"],
        "rps": round(values["requests"] / (values["duration_us"] / 1e6), 1),
        "duration_s": round(values["duration_us"] / 1e6, 2),
        "p50_ms": round(values["p50_us"] / 1000, 1),
        "p90_ms": round(values["p90_us"] / 1000, 1),
        "p99_ms": round(values["p99_us"] / 1000, 1),
        "max_ms": round(values["max_us"] / 1000, 1),
        "failed": values["bad"] + values["socket_errors"],
    }


def paced_think_ms(args: argparse.Namespace, url: str, body: bytes, token: str, rate: float) -> float:
    """The mean wait between an answer and the next request that makes ``args.connections`` connections
    send about ``rate`` requests a second to this server.

    Each connection sends once per wait plus answer time, so ``rate = connections / (wait + answer)``.
    The warm-up (``--warmup`` seconds, unrecorded) runs with the wait that ignores the answer time; the
    rate it reached gives the server's answer time at about this load, and the wait is shortened by it.
    Each server thus gets the same rate, not the same wait.
    """
    connections: int = args.connections
    first_s = connections / rate
    if not args.warmup:
        return round(1000 * first_s, 1)
    warm = wrk(url, body, token, args.warmup, args.connections, args.threads, round(1000 * first_s, 1))
    answer_s = max(0.0, connections / max(float(warm["rps"]), 1e-6) - first_s)
    return round(1000 * max(first_s - answer_s, 0.0), 1)


def costed(server: psutil.Process, drive: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``drive()``'s figures, with the driver's, the server's and PostgreSQL's CPU spent meanwhile."""
    before = cpu_seconds([server])
    driver_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = drive()
    driver_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = cpu_seconds([server])
    driver_s = (driver_after.ru_utime + driver_after.ru_stime) - (
        driver_before.ru_utime + driver_before.ru_stime
    )
    requests = max(1, result["requests"])
    return {
        **result,
        # the driver's own CPU (it shares the machine's CPUs with the servers and PostgreSQL)
        "driver_cpu_s": round(driver_s, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "server_cpu_ms": round(1000 * (after[str(server.pid)] - before[str(server.pid)]) / requests, 3),
        "postgres_cpu_ms": round(1000 * (after["postgres"] - before["postgres"]) / requests, 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="seconds of the same load before each measured run, not recorded: every server starts its "
        "pool's connections, and PostgreSQL plans its statements on each, before it is measured",
    )
    parser.add_argument(
        "--paced",
        default="0.5,0.8",
        help="after the saturating runs, measure each server again under about these fractions "
        "(comma-separated) of the "
        "baseline's saturated requests a second, with members pausing between requests (wrk with "
        "exponential think times): the latency at a load the servers keep up with; --paced= skips it",
    )
    parser.add_argument(
        "--histories", default="10,100000", help="postings per seeded member, comma-separated"
    )
    parser.add_argument(
        "--only", choices=["all", "apq"], default="all", help="apq: skip the full-document GraphQL runs"
    )
    parser.add_argument(
        "--keep-db", action="store_true", help=f"keep the database {STORES.db_name} at the end (to look into)"
    )
    args = parser.parse_args()
    if not 1 <= args.seconds <= 120 or not 0 <= args.warmup <= 30:
        parser.error("--seconds is 1 to 120 and --warmup 0 to 30: the load is bounded")
    try:
        args.paced = [float(fraction) for fraction in args.paced.split(",") if fraction.strip()]
    except ValueError:
        parser.error("--paced is a comma-separated list of fractions, such as 0.5,0.8")
    if args.connections % args.threads:
        parser.error("--connections is a multiple of --threads (wrk gives each thread the same number)")
    if any(not 0 < fraction <= 1 for fraction in args.paced):
        parser.error("a --paced fraction is above 0 and at most 1")
    histories = [int(size) for size in args.histories.split(",")]
    if any(not 1 <= size <= 200_000 for size in histories):
        parser.error("a history is 1 to 200,000 postings")

    data_dir = Path(tempfile.mkdtemp(prefix="milesgate-dash-"))
    try:
        async with RedisServer(data_dir) as redis:
            await measure(args, histories, Stores(db_name=STORES.db_name, redis_url=redis.url), data_dir)
    finally:
        await clean_up(STORES.db_name, data_dir, keep_db=args.keep_db)


async def measure(args: argparse.Namespace, histories: list[int], stores: Stores, data_dir: Path) -> None:
    """Seed ``stores``, start both servers, check they agree, and measure each case in turn."""
    for port in (GRAPHQL_PORT, BASELINE_PORT):
        require_free_port(port)  # before either starts: neither is left running when one cannot
    await fresh_stores(stores)
    print(f"seeding members with histories of {histories} postings ...", flush=True)
    members = await seed_dashboard(stores, data_dir, histories)
    gateway = milesgate(
        stores,
        data_dir,
        "serve",
        "--port",
        str(GRAPHQL_PORT),
        "--workers",
        "2",
        MILESGATE_ENV="production",
        **LIMITS_OFF,
        **MAIL,
    )
    baseline = start_baseline(stores, data_dir)
    runs: list[dict[str, Any]] = []
    try:
        await wait_ready(GRAPHQL_PORT)
        await wait_answering(f"http://127.0.0.1:{BASELINE_PORT}/dashboard", method="POST")
        await same_answers(members)
        print("both servers answer the same dashboards; measuring ...", flush=True)
        for member in members:
            token = token_for(member.account_id)
            cases: list[tuple[str, str, bytes]] = [
                ("baseline", f"http://127.0.0.1:{BASELINE_PORT}/dashboard", b""),
                (
                    "graphql_apq",
                    f"http://127.0.0.1:{GRAPHQL_PORT}/graphql",
                    graphql_body(persisted=True, with_document=False),
                ),
            ]
            if args.only == "all":
                cases.append(
                    (
                        "graphql_document",
                        f"http://127.0.0.1:{GRAPHQL_PORT}/graphql",
                        graphql_body(persisted=False),
                    )
                )
            servers = {
                name: psutil.Process(baseline.pid if name == "baseline" else gateway.pid)
                for name, _, _ in cases
            }
            # the baseline's saturated requests a second (its case comes first): the paced runs' 1.0
            baseline_rate = 0.0
            for name, url, body in cases:
                server = servers[name]
                if args.warmup:
                    wrk(url, body, token, args.warmup, args.connections, args.threads)
                run = costed(
                    server, partial(wrk, url, body, token, args.seconds, args.connections, args.threads)
                )
                # A driver paused past its time (the machine stalled wrk: seen once, 5 s) would pace
                # the next runs from too low a rate: their rate comes from the time asked for then.
                overran = run["duration_s"] > args.seconds + 1
                if name == "baseline":
                    baseline_rate = run["requests"] / args.seconds if overran else run["rps"]
                if overran:
                    print(f"wrk ran {run['duration_s']} s of {args.seconds}: paced from those", flush=True)
                runs.append({"server": name, "history": member.history, "load": "saturating", **run})
                print(json.dumps(runs[-1]), flush=True)
            for fraction in args.paced:
                rate = fraction * baseline_rate
                for name, url, body in cases:
                    server = servers[name]
                    think_ms = paced_think_ms(args, url, body, token, rate)
                    drive = partial(
                        wrk, url, body, token, args.seconds, args.connections, args.threads, think_ms
                    )
                    run = {"load": f"paced {fraction}", "think_ms": think_ms, **costed(server, drive)}
                    run["of_baseline"] = round(run["rps"] / baseline_rate, 3)
                    runs.append({"server": name, "history": member.history, **run})
                    print(json.dumps(runs[-1]), flush=True)
    finally:
        stop(gateway)
        stop(baseline)
    print(
        json.dumps(
            {
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
                "args": vars(args),
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
