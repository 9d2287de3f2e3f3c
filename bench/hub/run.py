"""The partner webhook hub against its references, in one run, driven by wrk (issue 22).

In one run, on one fresh PostgreSQL database (``milesgate_hub``, dropped and recreated, and dropped again
at the end unless ``--keep-db``) and a ``redis-server`` of the run's own (a free loopback port, no
persistence; the machine's shared Redis is not touched), with the partner ``swiss`` and ``--members``
members:

1. **PostgreSQL's ceilings** (pgbench, prepared statements, ``--pgbench-clients`` clients):
   - *inbox*: one row into a copy of ``partner_inbox`` (``LIKE ... INCLUDING ALL``: same columns, same
     unique (partner, webhook id) and (partner, business key) indexes), the JSON payload of an accrual;
   - *ledger*: one ``ledger_entries`` row plus one ``balances`` update, in one transaction (copies of
     both tables, the members' award-miles balances).
2. **The entry point**, the reference first, then milesgate, each with 2 uvicorn workers on 127.0.0.1,
   driven by wrk (``--connections``, ``--threads``) with a Lua script that cycles through pre-signed,
   unique Standard Webhooks deliveries (``accrual.created``, one transaction id each) generated before
   the servers are measured; each measured run follows ``--warmup`` seconds of the same load from a
   separate pool of deliveries, not recorded:
   - *reference* (``reference.py``): Starlette + asyncpg, stdlib HMAC, orjson, one
     ``INSERT ... ON CONFLICT DO NOTHING`` into another copy of ``partner_inbox``;
   - *milesgate*: ``milesgate serve --workers 2`` in production mode (PostgreSQL + Redis, no worker
     inside), which verifies, checks, stores and queues each delivery.
   For each: deliveries stored per second (202 answers), latency percentiles, and the CPU seconds of
   the server's processes, of PostgreSQL, of the run's Redis and of wrk itself (wrk must use less than the
   server).
3. **End to end**: the gateway stops, ``--inbox-workers`` ``milesgate worker`` processes credit every
   delivery milesgate stored. Measured: accruals credited per second, from the first to the last row
   processed (the rows' own timestamps); checked: one posting per stored delivery, no row left pending
   or failed, ``milesgate ledger verify`` clean.

It prints one JSON document and the ratios: milesgate / reference and / pgbench inbox; end to end /
pgbench ledger. The load average is recorded before and after each case: the machine is shared.

Run from the project root:  PYTHONPATH=. .venv/bin/python bench/hub/run.py [--seconds 15]
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
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import (
    RedisServer,
    Stores,
    accrual,
    clean_up,
    free_port,
    fresh_stores,
    ledger_clean,
    milesgate,
    reference_server,
    seed,
    signed,
    stop,
    wait_answering,
    wait_ready,
)

STORES = Stores(db_name="milesgate_hub", redis_url="")  # the Redis: a redis-server of the run's own
WRK = shutil.which("wrk") or "wrk"
PGBENCH = shutil.which("pgbench") or "pgbench"
PRODUCTION = {
    "MILESGATE_ENV": "production",
    "MILESGATE_SMTP_HOST": "127.0.0.1",
    "MILESGATE_SMTP_TLS": "none",
    "MILESGATE_SMTP_FROM": "bench@example.com",
}
"""Production needs a mail server configured; nothing here sends mail."""

LUA = r"""
-- wrk script: cycle through pre-signed deliveries [first, last) of a Lua data file, split among threads.
local count = 0
local threads = {}
function setup(thread)
  thread:set("tid", count)
  count = count + 1
  table.insert(threads, thread)
end
function init(args)
  local first, last, every, path = tonumber(args[2]), tonumber(args[3]), tonumber(args[4]), args[5]
  prepared = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i >= last then break end
    if i >= first and (i - first) % every == tid then
      local id, stamp, signature, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      prepared[#prepared + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json",
        ["webhook-id"] = id, ["webhook-timestamp"] = stamp, ["webhook-signature"] = signature,
      }, body)
    end
    i = i + 1
  end
  position, stored, duplicate, bad = 0, 0, 0, 0
end
function request()
  position = position % #prepared + 1
  return prepared[position]
end
function response(status, headers, body)
  if status == 202 then stored = stored + 1
  elseif status == 200 then duplicate = duplicate + 1
  else bad = bad + 1 end
end
function done(summary, latency, requests)
  local s, d, b = 0, 0, 0
  for _, thread in ipairs(threads) do
    s = s + thread:get("stored"); d = d + thread:get("duplicate"); b = b + thread:get("bad")
  end
  local errors = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
    .. "stored=%d duplicate=%d bad=%d socket_errors=%d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, s, d, b,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""

PGBENCH_INBOX = """INSERT INTO pgbench_inbox (partner_id, webhook_id, business_key, event_type, payload, state, attempts, received_at) VALUES (1, 'msg_' || nextval('pgbench_seq'), 'accrual:' || currval('pgbench_seq'), 'accrual.created', '{payload}', 'pending', 0, now());
"""
PGBENCH_LEDGER = """\\set aid random({low}, {high})
BEGIN;
INSERT INTO pgbench_entries (posting_id, account_id, currency, amount) VALUES (1, :aid, 'AWARD_MILES', 100);
UPDATE pgbench_balances SET amount = amount + 100, updated_at = now() WHERE account_id = :aid AND currency = 'AWARD_MILES';
END;
"""


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def prepare_tables(members: int) -> dict[str, int]:
    """The reference's inbox and pgbench's copies; returns the partner id and the account id range."""
    connection = await asyncpg.connect(STORES.asyncpg_url)
    try:
        partner_id = await connection.fetchval("SELECT id FROM partners WHERE code = 'swiss'")
        for table in ("reference_inbox", "pgbench_inbox"):
            await connection.execute(f"CREATE TABLE {table} (LIKE partner_inbox INCLUDING ALL)")
        await connection.execute("CREATE SEQUENCE pgbench_seq")
        await connection.execute("CREATE TABLE pgbench_entries (LIKE ledger_entries INCLUDING ALL)")
        await connection.execute("CREATE TABLE pgbench_balances (LIKE balances INCLUDING ALL)")
        await connection.execute(
            "INSERT INTO pgbench_balances (account_id, currency, amount, updated_at) "
            "SELECT account_id, currency, amount, updated_at FROM balances"
        )
        low, high = await connection.fetchrow("SELECT min(account_id), max(account_id) FROM balances")
        await connection.execute("VACUUM ANALYZE")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()
    return {"partner_id": int(partner_id), "low": int(low), "high": int(high), "members": members}


def pgbench(script: str, *, seconds: int, clients: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    before = load_average()
    try:
        completed = subprocess.run(  # noqa: S603 - the installed PostgreSQL client, on loopback
            [
                PGBENCH,
                "-n",
                "-M",
                "prepared",
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(seconds),
                "-f",
                file.name,
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                STORES.db_name,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
    finally:
        os.unlink(file.name)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", completed.stdout)
    if found is None:
        raise RuntimeError(f"pgbench said:\n{completed.stdout}\n{completed.stderr}")
    latency = re.search(r"latency average = ([\d.]+) ms", completed.stdout)
    return {
        "per_second": round(float(found.group(1)), 1),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "load_before": before,
        "load_after": load_average(),
    }


def write_deliveries(folder: Path, secret: str, cards: list[str], total: int) -> Path:
    """``total`` signed, unique accruals, one a line: webhook-id, timestamp, signature, body (tabs between)."""
    path = folder / "deliveries.tsv"
    with path.open("w", encoding="utf-8") as out:
        for n in range(total):
            body, headers = signed(secret, accrual(cards[n % len(cards)], f"HUB-{n}"))
            out.write(
                f"{headers['webhook-id']}\t{headers['webhook-timestamp']}\t{headers['webhook-signature']}\t"
                f"{body.decode()}\n"
            )
    return path


def cpu_seconds(roots: list[psutil.Process], *, redis_pid: int) -> dict[str, float]:
    """CPU seconds so far of each process tree, of all PostgreSQL processes and of the run's own
    ``redis-server`` (``redis_pid``)."""
    used: dict[str, float] = {}
    for root in roots:
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        used[str(root.pid)] = total
    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "postgres":
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
    used["postgres"] = total
    redis = psutil.Process(redis_pid).cpu_times()
    used["redis-server"] = redis.user + redis.system
    return used


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(
    url: str, data: Path, first: int, last: int, args: argparse.Namespace, seconds: int
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    path = "/" + url.split("/", 3)[3]
    try:
        completed = subprocess.run(  # noqa: S603 - the installed load generator, on loopback
            [
                WRK,
                f"-t{args.threads}",
                f"-c{args.connections}",
                f"-d{seconds}s",
                "--timeout",
                "5s",
                "-s",
                script.name,
                url,
                "--",
                str(data),
                str(first),
                str(last),
                str(args.threads),
                path,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=True,
        )
    finally:
        os.unlink(script.name)
    found = re.search(r"^RESULT (.*)$", completed.stdout, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk said:\n{completed.stdout}\n{completed.stderr}")
    values = {key: int(value) for key, value in (pair.split("=") for pair in found.group(1).split())}
    elapsed = values["duration_us"] / 1e6
    return {
        "requests": values["requests"],
        "stored": values["stored"],
        "stored_per_second": round(values["stored"] / elapsed, 1),
        "duplicates": values["duplicate"],
        "failed": values["bad"] + values["socket_errors"],
        "p50_ms": round(values["p50_us"] / 1000, 1),
        "p90_ms": round(values["p90_us"] / 1000, 1),
        "p99_ms": round(values["p99_us"] / 1000, 1),
        "max_ms": round(values["max_us"] / 1000, 1),
    }


def measure(
    name: str,
    server: psutil.Process,
    url: str,
    data: Path,
    pools: dict[str, tuple[int, int]],
    args: Any,
    *,
    redis_pid: int,
) -> dict[str, Any]:
    if args.warmup:
        wrk(url, data, *pools["warmup"], args, args.warmup)
    load_before = load_average()
    profilers = profile(name, server, args)
    before, wrk_before = cpu_seconds([server], redis_pid=redis_pid), children_cpu()
    result = wrk(url, data, *pools["measured"], args, args.seconds)
    for profiler in profilers:
        profiler.wait(timeout=60)
    after, wrk_after = cpu_seconds([server], redis_pid=redis_pid), children_cpu()
    key = str(server.pid)
    return {
        "server": name,
        **result,
        "server_cpu_s": round(after[key] - before[key], 1),
        "postgres_cpu_s": round(after["postgres"] - before["postgres"], 1),
        "redis_cpu_s": round(after["redis-server"] - before["redis-server"], 1),
        "wrk_cpu_s": round(wrk_after - wrk_before, 1),
        "load_before": load_before,
        "load_after": load_average(),
    }


def profile(name: str, server: psutil.Process, args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    """py-spy on each worker process of the server while it is measured (``--profile DIR``): collapsed
    stacks, one file per process, for flame graphs or ``sort | uniq``-style reading."""
    if args.profile is None:
        return []
    workers = [child for child in server.children(recursive=True) if "python" in child.name().lower()]
    return [
        spy_on(f"{name}-{worker.pid}", worker.pid, args.profile, seconds=args.seconds) for worker in workers
    ]


def spy_on(name: str, pid: int, folder: Path, *, seconds: float | None) -> subprocess.Popen[bytes]:
    """py-spy recording one process into ``folder/name.txt``: for ``seconds``, or until interrupted."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    duration = ("-d", str(int(seconds))) if seconds is not None else ()
    return subprocess.Popen(  # noqa: S603 - the installed profiler, on our own processes
        [
            *(spy, "record", "--nonblocking", "-r", "97", *duration, "-f", "raw"),
            *("-o", str(folder / f"{name}.txt"), "-p", str(pid)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_spies(spies: list[subprocess.Popen[bytes]]) -> None:
    """Interrupt the open-ended recordings: py-spy writes its file on SIGINT."""
    for spy in spies:
        spy.send_signal(signal.SIGINT)
    for spy in spies:
        spy.wait(timeout=60)


def start_reference(port: int, partner_id: int, secret: str) -> subprocess.Popen[bytes]:
    env = {
        "REFERENCE_DATABASE_URL": STORES.asyncpg_url,
        "REFERENCE_PARTNER_ID": str(partner_id),
        "REFERENCE_SECRET": secret,
    }
    return reference_server("bench.hub.reference:create_app", port, env)


async def inbox_counts() -> dict[str, int]:
    connection = await asyncpg.connect(STORES.asyncpg_url)
    try:
        rows = await connection.fetch("SELECT state, count(*) AS n FROM partner_inbox GROUP BY state")
        return {row["state"]: row["n"] for row in rows}
    finally:
        await connection.close()


async def credited_rate() -> dict[str, Any]:
    connection = await asyncpg.connect(STORES.asyncpg_url)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS n, min(processed_at) AS first, max(processed_at) AS last "
            "FROM partner_inbox WHERE state = 'processed'"
        )
        postings = await connection.fetchval("SELECT count(*) FROM postings WHERE source = 'PARTNER_ACCRUAL'")
        unrelayed = await connection.fetchval("SELECT count(*) FROM domain_events WHERE published_at IS NULL")
    finally:
        await connection.close()
    span = (row["last"] - row["first"]).total_seconds() if row["n"] > 1 else 1e-9
    return {
        "credited": row["n"],
        "postings": postings,
        "events_not_yet_relayed": unrelayed,
        "seconds": round(span, 2),
        "per_second": round(row["n"] / span, 1),
    }


async def end_to_end(
    stores: Stores, redis_pid: int, data_dir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    stored = sum((await inbox_counts()).values())
    load_before = load_average()
    workers = [
        milesgate(
            stores,
            data_dir,
            "worker",
            "--name",
            f"hub-{n}",
            MILESGATE_WORKER_METRICS_PORT="0",
            MILESGATE_INBOX_BATCH=str(args.inbox_batch),
            **PRODUCTION,
        )
        for n in range(args.inbox_workers)
    ]
    spies = (
        [spy_on(f"worker-{process.pid}", process.pid, args.profile, seconds=None) for process in workers]
        if args.profile is not None
        else []
    )
    roots = [psutil.Process(process.pid) for process in workers]
    cpu_before = cpu_seconds(roots, redis_pid=redis_pid)
    try:
        deadline = time.monotonic() + args.drain_timeout
        while (await inbox_counts()).get("pending", 0) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        stop_spies(spies)
        cpu_after = cpu_seconds(roots, redis_pid=redis_pid)
        load_after = load_average()
        rate = await credited_rate()
        counts = await inbox_counts()
    finally:
        for process in workers:
            stop(process)
    return {
        "stored": stored,
        **rate,
        "inbox": counts,
        "exactly_once": rate["postings"] == stored and counts == {"processed": stored},
        "ledger_clean": await ledger_clean(stores, data_dir),
        "cpu_s": {key: round(cpu_after[key] - cpu_before[key], 1) for key in cpu_after},
        "load_before": load_before,
        "load_after": load_after,
    }


def ratios(result: dict[str, Any]) -> dict[str, float]:
    entry = {run["server"]: run["stored_per_second"] for run in result["entry_point"]}
    inbox = result["pgbench"]["inbox"]["per_second"]
    found = {f"{name} / pgbench inbox": round(rate / inbox, 2) for name, rate in entry.items()}
    if "reference" in entry:
        found["milesgate / reference"] = round(entry["milesgate"] / entry["reference"], 2)
    if result.get("end_to_end"):
        found["end to end / pgbench ledger"] = round(
            result["end_to_end"]["per_second"] / result["pgbench"]["ledger"]["per_second"], 3
        )
    return found


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=15, help="each measured wrk run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unrecorded load before each")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--deliveries", type=int, default=100_000, help="pre-signed deliveries measured")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--pgbench-clients", type=int, default=8)
    parser.add_argument("--inbox-workers", type=int, default=2)
    parser.add_argument("--inbox-batch", type=int, default=500, help="MILESGATE_INBOX_BATCH of the workers")
    parser.add_argument("--drain-timeout", type=float, default=300, help="seconds the workers may take")
    parser.add_argument("--no-end-to-end", action="store_true")
    parser.add_argument(
        "--only-end-to-end",
        action="store_true",
        help="no reference: milesgate's entry point only fills the inbox, then the workers are measured",
    )
    parser.add_argument("--profile", type=Path, help="py-spy each server's workers into this folder")
    parser.add_argument(
        "--keep-db", action="store_true", help=f"keep the database {STORES.db_name} at the end (to look into)"
    )
    args = parser.parse_args()
    if not 1 <= args.seconds <= 120 or not 0 <= args.warmup <= 30 or not 1 <= args.pgbench_seconds <= 60:
        parser.error(
            "--seconds is 1 to 120, --warmup 0 to 30, --pgbench-seconds 1 to 60: the load is bounded"
        )
    if not 1_000 <= args.deliveries <= 500_000:
        parser.error("--deliveries is 1,000 to 500,000")
    if args.no_end_to_end and args.only_end_to_end:
        parser.error("--no-end-to-end and --only-end-to-end exclude each other")
    return args


async def main() -> None:
    args = arguments()
    data_dir = Path(tempfile.mkdtemp(prefix="milesgate-hub-"))
    try:
        async with RedisServer(data_dir) as redis:
            stores = Stores(db_name=STORES.db_name, redis_url=redis.url)
            result = await measure_all(args, stores, redis.pid, data_dir)
    finally:
        await clean_up(STORES.db_name, data_dir, keep_db=args.keep_db)
    print(json.dumps(result, indent=2, default=str))


async def measure_all(
    args: argparse.Namespace, stores: Stores, redis_pid: int, data_dir: Path
) -> dict[str, Any]:
    """The ceilings, the entry points and end to end, on fresh ``stores``; the run's JSON document."""
    await fresh_stores(stores)
    print(f"seeding {args.members} members ...", flush=True)
    secret, members = await seed(stores, data_dir, args.members)
    cards = [member.card.number for member in members]
    shape = await prepare_tables(args.members)
    payload = accrual(cards[0], "PGBENCH")
    print("pgbench ceilings ...", flush=True)
    ceilings = {
        "inbox": pgbench(
            PGBENCH_INBOX.format(payload=json.dumps(payload)),
            seconds=args.pgbench_seconds,
            clients=args.pgbench_clients,
        ),
        "ledger": pgbench(
            PGBENCH_LEDGER.format(low=shape["low"], high=shape["high"]),
            seconds=args.pgbench_seconds,
            clients=args.pgbench_clients,
        ),
    }
    print(json.dumps(ceilings), flush=True)

    hub_port, reference_port = free_port(), free_port()
    gateway = milesgate(stores, data_dir, "serve", "--port", str(hub_port), "--workers", "2", **PRODUCTION)
    reference = start_reference(reference_port, shape["partner_id"], secret)
    runs: list[dict[str, Any]] = []
    try:
        await wait_ready(hub_port)
        await wait_answering(f"http://127.0.0.1:{reference_port}/")
        warm = max(2_000, args.deliveries // 10)
        print(f"signing {warm + args.deliveries} deliveries ...", flush=True)
        data = write_deliveries(data_dir, secret, cards, warm + args.deliveries)
        pools = {"warmup": (0, warm), "measured": (warm, warm + args.deliveries)}
        servers = [("reference", reference, reference_port), ("milesgate", gateway, hub_port)]
        for name, process, port in servers[1:] if args.only_end_to_end else servers:
            url = f"http://127.0.0.1:{port}/webhooks/partners/swiss"
            runs.append(
                measure(name, psutil.Process(process.pid), url, data, pools, args, redis_pid=redis_pid)
            )
            print(json.dumps(runs[-1]), flush=True)
    finally:
        stop(reference)
        stop(gateway)
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "args": vars(args),
        "pgbench": ceilings,
        "entry_point": runs,
    }
    if not args.no_end_to_end:
        print("end to end: the workers credit what milesgate stored ...", flush=True)
        result["end_to_end"] = await end_to_end(stores, redis_pid, data_dir, args)
    result["ratios"] = ratios(result)
    return result


if __name__ == "__main__":
    asyncio.run(main())
