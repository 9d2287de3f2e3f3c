"""A mixed load against milesgate on PostgreSQL + Redis, then the proof that nothing was lost or doubled.

For ``--seconds`` (bounded), ``--concurrency`` virtual users on loopback each loop over a random mix:
dashboard queries (GraphQL), sign-ins, redemptions of a 3,000-mile reward, and partner accruals of which 5 %
are duplicates (the same delivery again, or the same partner transaction under a new webhook id). The
gateway runs with 2 uvicorn workers, and one ``milesgate worker`` applies the inbox.

The driver (``--driver``) is wrk by default, a compiled driver, so that it is not what the 2 CPUs spend
their time on: ``mix.lua`` makes each wrk thread one virtual user (one connection, request and response
alternating), draws each request from the mix, checks each answer and logs its latency; the partner
deliveries are signed before the load. The run reports wrk's CPU seconds beside the gateway's and the
worker's, and the load average before and after. ``--driver python`` runs the same mix from Python
(httpx2), as every run before 2026-12-06 19:00 did (that driver used a large share of the CPUs itself).

Afterwards: ``ledger verify`` is clean; every distinct partner transaction is exactly one posting; no
balance is negative; each member's award miles equal seed + accruals - redemptions. Error rate and latency
percentiles per operation are printed as JSON. Exit status 1 if any check fails.

Run from the project root:  .venv/bin/python bench/load/run.py [--seconds 180] [--concurrency 16]
It drops and recreates the PostgreSQL database ``milesgate_load`` (with ``--redis-outage``:
``milesgate_load_outage``), and drops it again at the end unless ``--keep-db``, and runs a ``redis-server`` of its own (a free loopback port, no persistence;
the machine's Redis, which other benchmarks use, is not touched).

``--redis-outage N``: the run's ``redis-server`` is stopped ``--outage-at`` seconds into the load
and started again N seconds later. The rate limits are then on (high, so they count but never refuse:
the limiter is used), the worker sweeps every 5 s, and the HTTP statuses are counted before, during and
after the outage, with the Redis state lines of the gateway's and the worker's logs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
import httpx2
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import (
    PIN,
    RedisServer,
    Stores,
    accrual,
    clean_up,
    free_port,
    fresh_stores,
    ledger_clean,
    load_average,
    milesgate,
    milesgate_logged,
    percentiles,
    seed,
    signed,
    stop,
    tree_cpu_s,
    wait_ready,
)

HERE = Path(__file__).resolve().parent
WRK_GRACE_S = 15
"""wrk runs the load's seconds and this: its threads stop themselves at the load's end once their last
response is in (wrk's main thread only ends at -d); a response later than this is cut and not logged."""
STORES = Stores(db_name="milesgate_load", redis_url="")  # the Redis: a redis-server of the run's own
PORT = 8766
SEED_MILES = 50_000
REWARD, REWARD_MILES = "SHOP-LUGGAGE-TAG", 3000
MIX = (("dashboard", 50), ("sign_in", 15), ("redeem", 10), ("accrual", 25))
DUPLICATE_SHARE = 0.05

DASHBOARD = """{ me { accountNumber givenName tier card { number validUntil }
  balances { awardMiles points qualifyingPoints honCirclePoints }
  statement(first: 10) { edges { node { bookedAt description amounts { currency amount } } } }
  milesExpiring { expiresOn miles } offers { code title } } }"""
SIGN_IN = """mutation S($id: String!, $pin: String!) { signIn(input: {method: SERVICE_CARD_NUMBER, identifier: $id,
  secret: $pin}) { __typename ... on SignedIn { accessToken } } }"""
REDEEM = """mutation R($code: String!, $req: String!) { redeem(rewardCode: $code, requestId: $req) {
  __typename } }"""


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.phase = "before"
        """Where the Redis outage (``--redis-outage``) is: before, during or after."""
        self.statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.outage_report: dict[str, Any] = {}

    def add(self, operation: str, seconds: float, outcome: str, status: str = "") -> None:
        self.latencies[operation].append(seconds)
        self.outcomes[operation][outcome] += 1
        if status:
            self.statuses[self.phase][status] += 1

    def report(self, elapsed: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for operation, latencies in self.latencies.items():
            outcomes = dict(self.outcomes[operation])
            errors = sum(count for outcome, count in outcomes.items() if outcome.startswith("error"))
            out[operation] = {
                "requests": len(latencies),
                "per_second": round(len(latencies) / elapsed, 1),
                "error_rate": round(errors / len(latencies), 4),
                "outcomes": outcomes,
                **percentiles(latencies),
            }
        return out


async def virtual_user(
    client: httpx2.AsyncClient,
    secret: str,
    members: list[Any],
    tokens: dict[int, str],
    sent: dict[str, tuple[bytes, dict[str, str]]],
    redeemed: dict[int, int],
    recorder: Recorder,
    deadline: float,
    rng: random.Random,
) -> None:
    operations = [name for name, weight in MIX for _ in range(weight)]
    while time.monotonic() < deadline:
        member = rng.choice(members)
        account = member.member.id
        operation = rng.choice(operations)
        started = time.perf_counter()
        outcome = "ok"
        response = None
        try:
            if operation == "dashboard":
                response = await client.post(
                    "/graphql",
                    json={"query": DASHBOARD},
                    headers={"authorization": f"Bearer {tokens[account]}"},
                )
                body = response.json()
                if response.status_code != 200 or body.get("errors") or not body["data"]["me"]:
                    outcome = f"error:{response.status_code}"
            elif operation == "sign_in":
                response = await client.post(
                    "/graphql",
                    json={"query": SIGN_IN, "variables": {"id": member.card.number, "pin": PIN}},
                )
                result = response.json().get("data", {}) or {}
                signed_in = result.get("signIn") or {}
                if signed_in.get("__typename") == "SignedIn":
                    tokens[account] = signed_in["accessToken"]
                elif response.status_code == 429 or signed_in.get("__typename") == "RateLimited":
                    outcome = "limited"
                else:
                    outcome = f"error:{response.status_code}:{signed_in.get('__typename')}"
            elif operation == "redeem":
                response = await client.post(
                    "/graphql",
                    json={"query": REDEEM, "variables": {"code": REWARD, "req": uuid.uuid4().hex}},
                    headers={"authorization": f"Bearer {tokens[account]}"},
                )
                kind = ((response.json().get("data") or {}).get("redeem") or {}).get("__typename")
                if kind == "Redeemed":
                    redeemed[account] += 1
                elif kind == "InsufficientMiles":
                    outcome = "insufficient"
                else:
                    outcome = f"error:{response.status_code}:{kind}"
            else:
                if sent and rng.random() < DUPLICATE_SHARE:
                    key = rng.choice(list(sent))
                    body, headers = sent[key]
                    if rng.random() < 0.5:  # the same transaction under a new webhook id
                        body, headers = signed(secret, json.loads(body))
                    operation = "accrual_duplicate"
                else:
                    transaction = f"LOAD-{uuid.uuid4().hex[:12]}"
                    body, headers = signed(
                        secret, accrual(member.card.number, transaction, miles=rng.randint(50, 500))
                    )
                response = await client.post("/webhooks/partners/swiss", content=body, headers=headers)
                if response.status_code not in (200, 202):
                    outcome = f"error:{response.status_code}"
                elif operation == "accrual":  # acknowledged: it must be credited exactly once
                    sent[transaction] = (body, headers)
        except httpx2.HTTPError as exc:
            outcome = f"error:{type(exc).__name__}"
        status = str(response.status_code) if response is not None else outcome
        recorder.add(operation, time.perf_counter() - started, outcome, status)


def prepare_wrk(
    folder: Path,
    secret: str,
    members: list[Any],
    tokens: dict[int, str],
    accruals: int,
    rng: random.Random,
) -> None:
    """The files ``mix.lua`` reads: members with their tokens and sign-in bodies, pre-signed unique
    accruals (each also signed under a second webhook id, for the duplicates), the mix."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "members.tsv").open("w") as out:
        for member in members:
            sign_in = orjson.dumps({"query": SIGN_IN, "variables": {"id": member.card.number, "pin": PIN}})
            out.write(f"{member.member.id}\t{tokens[member.member.id]}\t{sign_in.decode()}\n")
    with (folder / "accruals.tsv").open("w") as out:
        for n in range(accruals):
            member = rng.choice(members)
            transaction = f"LOAD-{n}-{uuid.uuid4().hex[:8]}"
            event = accrual(member.card.number, transaction, miles=rng.randint(50, 500))
            body, headers = signed(secret, event)
            _, again = signed(secret, event)  # the same body under a new webhook id
            out.write(
                "\t".join(
                    (
                        transaction,
                        str(member.member.id),
                        *(headers[h] for h in ("webhook-id", "webhook-timestamp", "webhook-signature")),
                        body.decode(),
                        *(again[h] for h in ("webhook-id", "webhook-timestamp", "webhook-signature")),
                        body.decode(),
                    )
                )
                + "\n"
            )
    (folder / "mix.tsv").write_text("".join(f"{name}\t{weight}\n" for name, weight in MIX))
    (folder / "duplicate_share.txt").write_text(str(DUPLICATE_SHARE))
    (folder / "dashboard.json").write_bytes(orjson.dumps({"query": DASHBOARD}))
    (folder / "redeem.json").write_bytes(
        orjson.dumps({"query": REDEEM, "variables": {"code": REWARD, "req": "__REQUEST__"}})
    )


def run_wrk(folder: Path, port: int, args: argparse.Namespace) -> dict[str, Any]:
    """wrk with one connection per thread (a thread is one virtual user); returns its CPU seconds and
    socket errors."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - wrk, on loopback, bounded by -d
        [
            shutil.which("wrk") or "wrk", "-t", str(args.concurrency), "-c", str(args.concurrency),
            "-d", f"{int(args.seconds) + WRK_GRACE_S}s", "--timeout", "60s", "-s", str(HERE / "mix.lua"),
            f"http://127.0.0.1:{port}", "--", str(folder), str(args.concurrency), str(args.seed), str(args.seconds),
        ],
        capture_output=True, text=True, timeout=args.seconds + 120, check=True,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    errors = re.search(r"Socket errors: (.*)", done.stdout)
    return {
        "driver": "wrk",
        "seconds": round(elapsed, 1),
        "driver_cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2),
        "socket_errors": errors.group(1) if errors else "none",
    }


def read_wrk_logs(folder: Path, recorder: Recorder, sent: dict[str, Any], redeemed: dict[int, int]) -> None:
    for log in sorted(folder.glob("log-*.tsv")):
        for line in log.read_text().splitlines():
            operation, account, latency_us, status, outcome, transaction = line.split("\t")
            if outcome == "redeemed":
                redeemed[int(account)] += 1
                outcome = "ok"
            elif operation == "accrual" and outcome == "ok":
                sent[transaction] = True
            recorder.add(operation, int(latency_us) / 1_000_000, outcome, status)


async def settle(timeout_s: float) -> dict[str, int]:
    connection = await asyncpg.connect(STORES.asyncpg_url)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            rows = await connection.fetch("SELECT state, count(*) AS n FROM partner_inbox GROUP BY state")
            counts = {row["state"]: row["n"] for row in rows}
            if not counts.get("pending") or time.monotonic() > deadline:
                return counts
            await asyncio.sleep(0.5)
    finally:
        await connection.close()


async def checks(members: list[Any], sent: dict[str, Any], redeemed: dict[int, int]) -> dict[str, Any]:
    connection = await asyncpg.connect(STORES.asyncpg_url)
    try:
        postings = await connection.fetch(
            "SELECT partner_reference, count(*) AS n FROM postings WHERE source = 'PARTNER_ACCRUAL' "
            "GROUP BY partner_reference"
        )
        per_transaction = {row["partner_reference"].split(":", 1)[1]: row["n"] for row in postings}
        negative = await connection.fetchval("SELECT count(*) FROM balances WHERE amount < 0")
        balances = {
            row["account_id"]: row["amount"]
            for row in await connection.fetch(
                "SELECT account_id, amount FROM balances WHERE currency = 'AWARD_MILES'"
            )
        }
        credited = {
            row["account_id"]: row["total"]
            for row in await connection.fetch(
                "SELECT p.account_id, sum(e.amount) AS total FROM postings p JOIN ledger_entries e ON e.posting_id = p.id "
                "WHERE p.source = 'PARTNER_ACCRUAL' AND e.currency = 'AWARD_MILES' GROUP BY p.account_id"
            )
        }
    finally:
        await connection.close()
    missing = [t for t in sent if per_transaction.get(t, 0) == 0]
    doubled = [t for t, n in per_transaction.items() if n > 1]
    wrong = [
        m.member.id
        for m in members
        if balances.get(m.member.id, 0)
        != SEED_MILES + credited.get(m.member.id, 0) - REWARD_MILES * redeemed[m.member.id]
    ]
    return {
        "transactions_sent": len(sent),
        "missing": len(missing),
        "doubled": len(doubled),
        "negative_balances": negative,
        "balances_off": len(wrong),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--accruals-per-second",
        type=float,
        default=400,
        help="deliveries pre-signed for wrk per second of load (a thread whose share runs out sends dashboards)",
    )
    parser.add_argument(
        "--redis-outage", type=float, default=0, metavar="N", help="stop the run's own Redis for N seconds"
    )
    parser.add_argument("--outage-at", type=float, default=10, help="seconds into the load it stops")
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the run's database and folder (logs) at the end"
    )
    parser.add_argument(
        "--driver",
        choices=("wrk", "python"),
        default="wrk",
        help="wrk with bench/load/mix.lua (a compiled driver: the default), or the Python virtual users "
        "(always with --redis-outage, which counts statuses by phase)",
    )
    args = parser.parse_args()
    if args.redis_outage:
        args.driver = "python"
    if args.driver == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is needed for --driver wrk (apt-get install wrk), or use --driver python")
    if not 1 <= args.seconds <= 900:
        parser.error("--seconds is 1 to 900: the load is bounded")
    if args.redis_outage and args.outage_at + args.redis_outage >= args.seconds:
        parser.error("the outage must end before the load does: --outage-at + --redis-outage < --seconds")

    data_dir = Path(tempfile.mkdtemp(prefix="milesgate-load-"))
    # A redis-server of the run's own: no other benchmark on the machine shares (or flushes) its Redis.
    own_redis = RedisServer(data_dir)
    await own_redis.start()
    redis_server = own_redis if args.redis_outage else None
    name = f"{STORES.db_name}_outage" if args.redis_outage else STORES.db_name
    try:
        await run(args, Stores(db_name=name, redis_url=own_redis.url), data_dir, redis_server)
    finally:
        own_redis.stop()
        if args.keep_db:  # the logs (gateway, worker, wrk) stay with it, to look into together
            print(f"kept the database {name} and the run's folder {data_dir}", flush=True)
        else:
            await clean_up(name, data_dir, keep_db=False)


async def outage(
    redis_server: RedisServer, recorder: Recorder, at_s: float, for_s: float
) -> dict[str, float]:
    """Stop the run's Redis ``at_s`` seconds into the load, start it again ``for_s`` seconds later."""
    await asyncio.sleep(at_s)
    print(f"stopping Redis for {for_s:g} s ...", flush=True)
    recorder.phase = "during"
    stopped = time.monotonic()
    await asyncio.to_thread(redis_server.stop)
    await asyncio.sleep(for_s)
    await redis_server.start()
    recorder.phase = "after"
    print("Redis started again", flush=True)
    return {"stopped_for_s": round(time.monotonic() - stopped, 1)}


def state_lines(log: Path) -> dict[str, int]:
    text = log.read_text(encoding="utf-8", errors="replace")
    return {
        "redis_unreachable": text.count("Redis unreachable"),
        "redis_reachable_again": text.count("Redis reachable again"),
        "tracebacks": text.count("Traceback"),
    }


async def python_users(
    args: argparse.Namespace,
    client: httpx2.AsyncClient,
    secret: str,
    members: list[Any],
    tokens: dict[int, str],
    sent: dict[str, Any],
    redeemed: dict[int, int],
    recorder: Recorder,
    redis_server: RedisServer | None,
) -> float:
    """The Python virtual users (``--driver python``, and every ``--redis-outage`` run); the seconds the
    load took. The outage's report lands in ``recorder.outage_report``."""
    print(f"load for {args.seconds:g} s with {args.concurrency} users (Python driver) ...", flush=True)
    started = time.monotonic()
    deadline = started + args.seconds
    outage_task = (
        asyncio.create_task(outage(redis_server, recorder, args.outage_at, args.redis_outage))
        if redis_server is not None
        else None
    )
    await asyncio.gather(
        *(
            virtual_user(
                client,
                secret,
                members,
                tokens,
                sent,
                redeemed,
                recorder,
                deadline,
                random.Random(args.seed + n),
            )
            for n in range(args.concurrency)
        )
    )
    elapsed = time.monotonic() - started
    if outage_task is not None:
        recorder.outage_report = await outage_task
    return elapsed


async def run(
    args: argparse.Namespace, stores: Stores, data_dir: Path, redis_server: RedisServer | None
) -> None:
    global STORES  # settle, checks and the ledger check read the run's stores
    STORES = stores
    port = PORT if redis_server is None else free_port()  # an outage run keeps off other runs' port
    await fresh_stores(STORES)
    print(f"seeding {args.members} members with {SEED_MILES} miles each ...", flush=True)
    secret, members = await seed(STORES, data_dir, args.members, miles=SEED_MILES)
    limits = {  # off: all the load comes from one IP, and this measures the service, not the abuse limits
        "MILESGATE_RATE_LIMIT_PER_IP": "0",
        "MILESGATE_RATE_LIMIT_PER_MEMBER": "0",
        "MILESGATE_RATE_LIMIT_SIGN_IN": "0",
    }
    worker_env: dict[str, str] = {}
    if redis_server is not None:  # counted (so the limiter is used) but never refusing
        limits = {name: "1000000" for name in limits}
        worker_env = {"MILESGATE_INBOX_SWEEP_EVERY_S": "5", "MILESGATE_INBOX_SWEEP_OLDER_THAN_S": "5"}
    gateway_log, worker_log = data_dir / "gateway.log", data_dir / "worker.log"
    gateway_args = ("serve", "--port", str(port), "--workers", "2")
    if args.driver == "wrk":  # the deliveries are signed before the load: their timestamps must stay valid
        limits["MILESGATE_WEBHOOK_TOLERANCE_S"] = str(int(args.seconds) + 600)
    worker_args = ("worker", "--name", "load-worker")
    if redis_server is None:
        gateway = milesgate(STORES, data_dir, *gateway_args, **limits)
        worker = milesgate(STORES, data_dir, *worker_args)
    else:
        gateway = milesgate_logged(STORES, data_dir, gateway_log, *gateway_args, **limits)
        worker = milesgate_logged(STORES, data_dir, worker_log, *worker_args, **worker_env)
    recorder = Recorder()
    outage_report: dict[str, Any] = {}
    sent: dict[str, tuple[bytes, dict[str, str]]] = {}
    redeemed: dict[int, int] = defaultdict(int)
    try:
        await wait_ready(port, timeout_s=240)
        async with httpx2.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=30
        ) as client:
            tokens: dict[int, str] = {}
            for member in members:
                response = await client.post(
                    "/graphql", json={"query": SIGN_IN, "variables": {"id": member.card.number, "pin": PIN}}
                )
                tokens[member.member.id] = response.json()["data"]["signIn"]["accessToken"]
            driver: dict[str, Any] = {"driver": "python"}
            load_before = load_average()
            cpu_before = tree_cpu_s(gateway.pid), tree_cpu_s(worker.pid)
            if args.driver == "wrk":
                folder = data_dir / "wrk"
                accruals = int(args.seconds * args.accruals_per_second) + 1000
                prepare_wrk(folder, secret, members, tokens, accruals, random.Random(args.seed))
                print(
                    f"load for {args.seconds:g} s with {args.concurrency} users (wrk, load average "
                    f"{load_before}) ...",
                    flush=True,
                )
                driver = await asyncio.to_thread(run_wrk, folder, port, args)
                elapsed = args.seconds  # every thread sends until then (wrk itself runs WRK_GRACE_S longer)
                read_wrk_logs(folder, recorder, sent, redeemed)
            else:
                own = resource.getrusage(resource.RUSAGE_SELF)
                elapsed = await python_users(
                    args, client, secret, members, tokens, sent, redeemed, recorder, redis_server
                )
                spent = resource.getrusage(resource.RUSAGE_SELF)
                driver["driver_cpu_s"] = round(
                    (spent.ru_utime + spent.ru_stime) - (own.ru_utime + own.ru_stime), 2
                )
                outage_report = recorder.outage_report
            driver |= {
                "gateway_cpu_s": round(tree_cpu_s(gateway.pid) - cpu_before[0], 2),
                "worker_cpu_s": round(tree_cpu_s(worker.pid) - cpu_before[1], 2),
                "load_average_before": load_before,
                "load_average_after": load_average(),
            }
        inbox = await settle(timeout_s=300)
    finally:
        stop(worker)
        stop(gateway)
    if redis_server is not None:
        outage_report |= {
            "statuses_by_phase": {phase: dict(counts) for phase, counts in recorder.statuses.items()},
            "gateway_log": state_lines(gateway_log),
            "worker_log": state_lines(worker_log),
        }

    verdict = await checks(members, sent, redeemed)
    clean = await ledger_clean(STORES, data_dir)
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "args": vars(args),
        "driver": driver,
        "operations": recorder.report(elapsed),
        "inbox": inbox,
        "checks": verdict,
        "ledger_clean": clean,
        **({"redis_outage": outage_report} if outage_report else {}),
    }
    print(json.dumps(result, indent=2))
    ok = clean and not (
        verdict["missing"] or verdict["doubled"] or verdict["negative_balances"] or verdict["balances_off"]
    )
    served_500 = any("500" in counts for counts in recorder.statuses.values())
    if not ok or inbox.get("pending") or served_500:
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
