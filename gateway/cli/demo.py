"""Sample data for a development database: partners, members and a few months of accruals."""

from __future__ import annotations

import contextlib
import datetime as dt
import random

from rich.console import Console
from rich.progress import Progress

from loyalty.crediting import post
from loyalty.enrolment import Enrolment, enrol
from loyalty.errors import Conflict
from loyalty.ledger.models import Currency, PostingSource
from loyalty.rules import current_rules
from partners.models import Partner, PartnerKind
from partners.secret_box import SecretBox
from partners.service import add_partner

DEMO_PIN = "482915"
PARTNERS = [
    ("lufthansa", "Lufthansa", PartnerKind.AIRLINE),
    ("swiss", "SWISS", PartnerKind.AIRLINE),
    ("worldshop", "Miles & More WorldShop", PartnerKind.SHOP),
    ("dkb", "DKB Miles & More credit card", PartnerKind.BANK),
    ("expressrail", "Lufthansa Express Rail", PartnerKind.RAIL),
]
GIVEN = ["Anna", "Lukas", "Sofia", "Jonas", "Marie", "Elias", "Lea", "Noah", "Clara", "Luca", "Zoe", "Milan"]
FAMILY = ["Müller", "Schmidt", "Rossi", "Dubois", "Kowalski", "Novák", "García", "Jansen", "Weber", "Bianchi"]
COUNTRIES = ["DE", "DE", "DE", "AT", "CH", "BE", "NL", "PL", "IT", "FR"]


async def _ensure_partners(box: SecretBox) -> list[Partner]:
    for code, name, kind in PARTNERS:
        with contextlib.suppress(Conflict):
            await add_partner(code=code, name=name, kind=kind, box=box)
    return await Partner.filter(code__in=[code for code, _, _ in PARTNERS]).order_by("code")


async def fill_demo(*, members: int, seed: int, console: Console, box: SecretBox) -> str:
    rules = current_rules()
    rng = random.Random(seed)
    partners = await _ensure_partners(box)
    today = dt.date.today()
    credited = 0
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("enrolling sample members", total=members)
        for index in range(members):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            birth = dt.date(rng.randint(1950, 2015), rng.randint(1, 12), rng.randint(1, 28))
            email = f"{given}.{family}.{seed}.{index}@example.com".lower().encode("ascii", "ignore").decode()
            country, consent = rng.choice(COUNTRIES), rng.random() < 0.6
            # Every draw for this member happens before we know whether it exists already, so the same
            # seed always draws the same sample, whatever a previous run left behind.
            activities = [
                (rng.choice(partners), rng.choice([250, 500, 1200, 3400, 5200]), rng.randint(1, 300))
                for _ in range(rng.randint(0, 6))
            ]
            try:
                enrolled = await enrol(
                    enrolment=Enrolment(
                        given_name=given,
                        family_name=family,
                        email=email,
                        date_of_birth=birth,
                        country=country,
                        pin=DEMO_PIN,
                        advertising_consent=consent,
                    ),
                    rules=rules,
                    # sample data: the addresses count as verified, so the sample's messages go out
                    email_verified_at=dt.datetime.now(dt.UTC),
                )
            except Conflict:
                progress.advance(task)
                continue  # this seed's sample is there already
            for activity, (partner, miles, days_ago) in enumerate(activities):
                await post(
                    account_id=enrolled.member.id,
                    amounts={Currency.AWARD_MILES: miles},
                    source=PostingSource.PARTNER_ACCRUAL,
                    idempotency_key=f"demo:{seed}:{index}:{activity}",
                    activity_date=today - dt.timedelta(days=days_ago),
                    rule_version=rules.version,
                    rules=rules,
                    partner_reference=f"{partner.code}:demo-{seed}-{index}-{activity}",
                    description=f"Sample activity with {partner.name}",
                )
                credited += miles
            progress.advance(task)
    return (
        f"{members} sample members (PIN {DEMO_PIN}), {len(partners)} partners, {credited} miles credited. "
        "Partner secrets: register your own with `milesgate partners add`."
    )
