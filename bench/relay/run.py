"""The domain-event relay's throughput: how fast relays drain a backlog of ``posting.created`` events.

A fresh PostgreSQL database and a ``redis-server`` of the bench's own (127.0.0.1, no persistence); both
are gone afterwards. ``--members`` members are enrolled (every third one with e-mail and push consent,
so the member-message handler writes messages; every fifth one joined to a December challenge, so the
challenge handler moves and completes some), two partners each get an endpoint subscribed to
``accrual.credited`` (the outbound fan-out writes a message and a delivery per accrual), and ``--events``
partner accruals are credited through the inbox worker's batched ledger path
(``loyalty.crediting.post_credits``), which writes the ``posting.created`` events as the hub does.

Then ``--relays`` relay processes (``gateway.workers.event_relay.relay_round`` with the served handlers,
publishing on Redis pub/sub through the production backends) start together and drain the backlog,
challenge bonuses included. Each reports its wall time and its own CPU time while draining; the result
is events per second (all relays), relay CPU ms per event and the CPU ms per event of the PostgreSQL
backends serving the bench's database, with the load average before and after.
``--profile FILE`` runs the (first) relay under ``py-spy record`` (raw collapsed stacks in FILE).

    PYTHONPATH=. .venv/bin/python bench/relay/run.py --events 20000 --members 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RedisServer, Stores, fresh_stores, load_average, seed, settings_for  # noqa: E402

PARTNERS = ("swiss", "eurowings")
CHALLENGE = "LHG-2-FLIGHTS-2026-12"
FILL_BATCH = 500


async def fill(stores: Stores, data_dir: Path, *, members: int, events: int) -> int:
    """Members, consents, challenge enrolments, endpoints and ``events`` accruals; how many events wait."""
    from tortoise.transactions import in_transaction

    from gateway.cli.support import database
    from gateway.partner_secrets import partner_secret_box
    from loyalty.consents.models import ConsentPurpose
    from loyalty.consents.service import record_consent
    from loyalty.crediting import post_credits
    from loyalty.engagement.challenges import join_challenge
    from loyalty.engagement.definitions import current_challenges
    from loyalty.events.models import DomainEvent
    from loyalty.rules import current_rules
    from partners.models import Partner, PartnerKind
    from partners.service import add_partner
    from webhooks.accruals import accrual_posting
    from webhooks.outbound.policy import DeliveryPolicy
    from webhooks.outbound.service import create_endpoint

    _, enrolled = await seed(stores, data_dir, members)
    settings = settings_for(stores, data_dir)
    rules = current_rules()
    now = dt.datetime.now(dt.UTC)
    async with database(settings):
        box = partner_secret_box(settings)
        await add_partner(code=PARTNERS[1], name="Eurowings", kind=PartnerKind.AIRLINE, box=box)
        policy = DeliveryPolicy(allow_http=True, allowed_hosts=("127.0.0.1",))
        for code in PARTNERS:
            await create_endpoint(
                partner_code=code,
                url="http://127.0.0.1:9/outbound",
                event_types=["accrual.credited"],
                box=box,
                policy=policy,
            )
        accounts = [member.member.id for member in enrolled]
        for n, account_id in enumerate(accounts):
            if n % 3 == 0:
                for purpose in (ConsentPurpose.EMAIL, ConsentPurpose.PUSH):
                    await record_consent(
                        account_id=account_id,
                        purpose=purpose,
                        given=True,
                        text_version="bench",
                        now=now,
                        rules=rules,
                    )
            if n % 5 == 0 and CHALLENGE in {c.code for c in current_challenges().challenges}:
                await join_challenge(account_id=account_id, code=CHALLENGE, now=now)
        partners = {p.code: p.id for p in await Partner.filter(code__in=PARTNERS)}
        # the seed's own events (enrolment bonuses and the like) are not what is measured
        await DomainEvent.filter(published_at__isnull=True).update(published_at=now)
        today = dt.date.today().isoformat()
        for start in range(0, events, FILL_BATCH):
            specs = []
            for n in range(start, min(events, start + FILL_BATCH)):
                code = PARTNERS[n % len(PARTNERS)]
                specs.append(
                    accrual_posting(
                        partner_id=partners[code],
                        partner_code=code,
                        data={"transactionId": f"bench-{n}", "activityDate": today, "miles": 100 + n % 50},
                        account_id=accounts[n % len(accounts)],
                        rules=rules,
                    )
                )
            async with in_transaction():
                await post_credits(specs, rules=rules)
        return await DomainEvent.filter(published_at__isnull=True).count()


async def drain(stores: Stores, data_dir: Path, start_at: float, batch: int) -> dict[str, Any]:
    """One relay process: wait for ``start_at``, relay until nothing is left, report time and CPU."""
    from gateway.backends import open_backends
    from gateway.cli.support import database
    from gateway.workers.event_relay import default_handlers, relay_round
    from loyalty.events.models import DomainEvent
    from loyalty.rules import current_rules

    settings = settings_for(stores, data_dir)
    handlers = default_handlers(current_rules())
    async with database(settings), await open_backends(stores.redis_url) as backends:
        await backends.ping()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        wall, cpu = time.perf_counter(), time.process_time()
        published = rounds = 0
        while True:
            done, held_back = await relay_round(backends.ports.pubsub, handlers=handlers, batch=batch)
            published += done
            rounds += 1
            if held_back:
                raise SystemExit("a handler failed during the bench")
            if done == 0 and not await DomainEvent.filter(published_at__isnull=True).exists():
                break
            if done == 0:
                await asyncio.sleep(0.01)  # the rest is locked by another relay
        return {
            "published": published,
            "rounds": rounds,
            "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu,
        }


async def check(stores: Stores, data_dir: Path) -> dict[str, int]:
    """What the handlers wrote, to see that the bench exercised them."""
    from gateway.cli.support import database
    from loyalty.engagement.models import ChallengeEnrolment
    from loyalty.events.models import DomainEvent
    from loyalty.notifications.models import Notification
    from webhooks.outbound.models import OutboundDelivery, OutboundMessage

    async with database(settings_for(stores, data_dir)):
        return {
            "events": await DomainEvent.all().count(),
            "unpublished": await DomainEvent.filter(published_at__isnull=True).count(),
            "notifications": await Notification.all().count(),
            "outbound_messages": await OutboundMessage.all().count(),
            "outbound_deliveries": await OutboundDelivery.all().count(),
            "challenges_completed": await ChallengeEnrolment.filter(completed_at__isnull=False).count(),
        }


class PostgresCpu:
    """CPU seconds of the PostgreSQL backends serving the bench's database (their process title names it),
    sampled every ``every_s`` while the relays run: a backend's time is gone once its connection closes,
    so each one's last sample counts (the last ``every_s`` of its work may be missed)."""

    def __init__(self, db_name: str, every_s: float = 0.2) -> None:
        self.db_name = db_name
        self.every_s = every_s
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.started = False

    def sample(self) -> None:
        for process in psutil.process_iter(["name", "cmdline"]):
            if process.info["name"] != "postgres" or self.db_name not in " ".join(
                process.info["cmdline"] or ()
            ):
                continue
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                used = times.user + times.system
                self.first.setdefault(process.pid, used if not self.started else 0.0)
                self.last[process.pid] = used
        self.started = True

    async def run(self, until: asyncio.Event) -> None:
        while not until.is_set():
            await asyncio.to_thread(self.sample)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(until.wait(), self.every_s)

    @property
    def used_s(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def relay_command(args: argparse.Namespace, stores: Stores, data_dir: Path, start_at: float) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--drain",
        "--db-name",
        stores.db_name,
        "--redis-url",
        stores.redis_url,
        "--data-dir",
        str(data_dir),
        "--start-at",
        str(start_at),
        "--batch",
        str(args.batch),
    ]


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE)  # noqa: S603 - our own relay


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    redis = RedisServer(folder)
    await redis.start()
    stores = Stores(db_name=f"milesgate_relay_bench_{os.getpid()}", redis_url=redis.url)
    data_dir = folder / "data"
    data_dir.mkdir()
    env = stores.env(data_dir, PYTHONPATH=str(ROOT))
    try:
        await fresh_stores(stores)
        filled_at = time.perf_counter()
        waiting = await fill(stores, data_dir, members=args.members, events=args.events)
        print(f"filled {waiting} events in {time.perf_counter() - filled_at:.1f} s", flush=True)
        load_before = load_average()
        start_at = time.time() + 8.0
        relays = []
        for n in range(args.relays):
            command = relay_command(args, stores, data_dir, start_at)
            if args.profile and n == 0:
                py_spy = str(Path(sys.executable).with_name("py-spy"))
                command = [
                    py_spy,
                    "record",
                    "--idle",
                    "--format",
                    "raw",
                    "-r",
                    "200",
                    "-o",
                    args.profile,
                    "--",
                    *command,
                ]
            relays.append(spawn(command, env))
        postgres, finished = PostgresCpu(stores.db_name), asyncio.Event()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        sampler = asyncio.create_task(postgres.run(finished))
        reports = []
        for relay in relays:
            output, _ = await asyncio.to_thread(relay.communicate)
            if relay.returncode != 0:
                raise SystemExit(f"a relay failed ({relay.returncode})")
            lines = [line for line in output.decode().splitlines() if line.startswith("{")]
            reports.append(json.loads(lines[-1]))  # py-spy, when profiling, writes its own lines too
        finished.set()
        await sampler
        load_after = load_average()
        published = sum(report["published"] for report in reports)
        wall = max(report["wall_s"] for report in reports)
        cpu = sum(report["cpu_s"] for report in reports)
        result = {
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "members": args.members,
            "events_filled": waiting,
            "relays": args.relays,
            "published": published,
            "wall_s": round(wall, 2),
            "events_per_s": round(published / wall, 1),
            "relay_cpu_ms_per_event": round(cpu * 1000 / published, 3),
            "batch": args.batch,
            "rounds": [report["rounds"] for report in reports],
            "postgres_cpu_ms_per_event": round(postgres.used_s * 1000 / published, 3),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "profiled": bool(args.profile),
            **await check(stores, data_dir),
        }
        print(json.dumps(result, indent=2), flush=True)
    finally:
        redis.stop()
        import asyncpg

        from bench.common import PG_ADMIN

        admin = await asyncpg.connect(PG_ADMIN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{stores.db_name}" WITH (FORCE)')
        finally:
            await admin.close()
        shutil.rmtree(folder, ignore_errors=True)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--relays", type=int, default=1)
    parser.add_argument(
        "--batch", type=int, default=200, help="events a relay round takes (the relay's BATCH)"
    )
    parser.add_argument("--profile", help="py-spy raw output file for the first relay")
    parser.add_argument("--drain", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db-name", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if not 1 <= arguments.events <= 200_000 or not 1 <= arguments.members <= 5_000:
        parser.error("1 to 200,000 events and 1 to 5,000 members")
    if not 1 <= arguments.batch <= 2_000:
        parser.error("a batch of 1 to 2,000 events")
    if not 1 <= arguments.relays <= 4:
        parser.error("1 to 4 relays")
    return arguments


if __name__ == "__main__":
    arguments = parse()
    if arguments.drain:
        report = asyncio.run(
            drain(
                Stores(db_name=arguments.db_name, redis_url=arguments.redis_url),
                Path(arguments.data_dir),
                arguments.start_at,
                arguments.batch,
            )
        )
        print(json.dumps(report), flush=True)
    else:
        asyncio.run(main(arguments))
