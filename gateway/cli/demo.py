"""Sample data for a development database: partners, members, a few months of accruals, and a way in.

Besides the sample members, ``milesgate demo`` keeps one showcase member to sign in as: a history of
partner accruals, the first status above base (reached with that tier's thresholds from the rules), and
a mileage pool with a second adult. It prints that member's service card number, e-mail and PIN, and the
demo partner's code and signing secret, so a newcomer can sign in and send a signed accrual at once.

Everything is keyed (e-mail addresses, posting idempotency keys), so a second run with the same seed adds
nothing and says so, and prints the same way in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from dataclasses import dataclass

from rich.console import Console
from rich.progress import Progress

from loyalty.crediting import post
from loyalty.enrolment import Enrolment, enrol
from loyalty.errors import Conflict
from loyalty.identifiers import group_for_reading
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import CardState, Member, ServiceCard
from loyalty.pooling.models import MembershipState, PoolMembership
from loyalty.pooling.service import accept, invite
from loyalty.rules import ProgrammeRules, current_rules
from partners.models import Partner, PartnerKind
from partners.secret_box import SecretBox
from partners.service import add_partner
from partners.signing import usable_secrets

DEMO_PIN = "482915"
DEMO_PARTNER = "lufthansa"
"""The partner whose code and secret the demo prints (an airline: it may send accruals)."""
PARTNERS = [
    (DEMO_PARTNER, "Lufthansa", PartnerKind.AIRLINE),
    ("swiss", "SWISS", PartnerKind.AIRLINE),
    ("worldshop", "Miles & More WorldShop", PartnerKind.SHOP),
    ("dkb", "DKB Miles & More credit card", PartnerKind.BANK),
    ("expressrail", "Lufthansa Express Rail", PartnerKind.RAIL),
]
GIVEN = ["Anna", "Lukas", "Sofia", "Jonas", "Marie", "Elias", "Lea", "Noah", "Clara", "Luca", "Zoe", "Milan"]
FAMILY = ["Müller", "Schmidt", "Rossi", "Dubois", "Kowalski", "Novák", "García", "Jansen", "Weber", "Bianchi"]
COUNTRIES = ["DE", "DE", "DE", "AT", "CH", "BE", "NL", "PL", "IT", "FR"]
SHOWCASE = Enrolment(
    given_name="Mia",
    family_name="Schneider",
    email="mia.schneider@example.com",
    date_of_birth=dt.date(1986, 4, 17),
    country="DE",
    pin=DEMO_PIN,
    advertising_consent=True,
)
POOL_PARTNER = Enrolment(
    given_name="Jonas",
    family_name="Schneider",
    email="jonas.schneider@example.com",
    date_of_birth=dt.date(1984, 9, 2),
    country="DE",
    pin=DEMO_PIN,
)
SHOWCASE_HISTORY = [  # (partner, award miles, days ago, what)
    ("swiss", 1200, 40, "Flight LX 14 ZRH-JFK"),
    ("worldshop", 500, 25, "WorldShop order 4711"),
    ("dkb", 350, 10, "Card spend, last month"),
]


@dataclass(frozen=True, slots=True)
class DemoSummary:
    members_added: int
    partners: int
    miles_credited: int
    card_number: str
    email: str
    pin: str
    tier: str
    pool_members: int
    partner_code: str
    partner_secret: str

    @property
    def added_anything(self) -> bool:
        return self.members_added > 0 or self.miles_credited > 0

    def lines(self, seed: int) -> list[str]:
        if self.added_anything:
            head = (
                f"Added {self.members_added} members (seed {seed}), {self.miles_credited} miles credited; "
                f"{self.partners} partners."
            )
        else:
            head = f"The sample data of seed {seed} is there already: nothing added (the demo is idempotent)."
        return [
            head,
            f"Sign in as the showcase member ({self.tier}, in a pool of {self.pool_members}, with history):",
            f"  service card number  {group_for_reading(self.card_number)}",
            f"  e-mail               {self.email}",
            f"  PIN                  {self.pin}",
            f"Demo partner (POST /webhooks/partners/{self.partner_code}):",
            f"  code    {self.partner_code}",
            f"  secret  {self.partner_secret}",
        ]


async def _ensure_partners(box: SecretBox) -> list[Partner]:
    for code, name, kind in PARTNERS:
        with contextlib.suppress(Conflict):
            await add_partner(code=code, name=name, kind=kind, box=box)
    return await Partner.filter(code__in=[code for code, _, _ in PARTNERS]).order_by("code")


async def _member(enrolment: Enrolment, rules: ProgrammeRules) -> tuple[Member, bool]:
    """The member with this e-mail address, enrolled now if there is none; and whether it is new."""
    try:
        # sample data: the addresses count as verified, so e-mail sign-in works and the messages go out
        enrolled = await enrol(enrolment=enrolment, rules=rules, email_verified_at=dt.datetime.now(dt.UTC))
        return enrolled.member, True
    except Conflict:
        return await Member.get(email=enrolment.email), False


async def _sample_members(
    *, members: int, seed: int, partners: list[Partner], rules: ProgrammeRules, console: Console
) -> tuple[int, int]:
    """Random sample members with a few accruals each; returns (members added, miles credited)."""
    rng = random.Random(seed)
    today = dt.date.today()
    added = credited = 0
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
            enrolment = Enrolment(
                given_name=given,
                family_name=family,
                email=email,
                date_of_birth=birth,
                country=country,
                pin=DEMO_PIN,
                advertising_consent=consent,
            )
            member, new = await _member(enrolment, rules)
            added += int(new)
            for activity, (partner, miles, days_ago) in enumerate(activities):
                result = await post(
                    account_id=member.id,
                    amounts={Currency.AWARD_MILES: miles},
                    source=PostingSource.PARTNER_ACCRUAL,
                    idempotency_key=f"demo:{seed}:{index}:{activity}",
                    activity_date=today - dt.timedelta(days=days_ago),
                    rule_version=rules.version,
                    rules=rules,
                    partner_reference=f"{partner.code}:demo-{seed}-{index}-{activity}",
                    description=f"Sample activity with {partner.name}",
                )
                credited += miles if result.created else 0
            progress.advance(task)
    return added, credited


async def _showcase(rules: ProgrammeRules) -> tuple[Member, int, int]:
    """The member to sign in as: history, the first status above base, a pool. Returns the member, how
    many were enrolled now and the miles credited now."""
    today = dt.date.today()
    start_of_year = today.replace(month=1, day=1)
    member, new = await _member(SHOWCASE, rules)
    credited = 0
    for number, (partner, miles, days_ago, what) in enumerate(SHOWCASE_HISTORY):
        result = await post(
            account_id=member.id,
            amounts={Currency.AWARD_MILES: miles},
            source=PostingSource.PARTNER_ACCRUAL,
            idempotency_key=f"demo:showcase:{number}",
            activity_date=today - dt.timedelta(days=days_ago),
            rule_version=rules.version,
            rules=rules,
            partner_reference=f"{partner}:demo-showcase-{number}",
            description=what,
        )
        credited += miles if result.created else 0
    # This year's counters reach the first tier above base: the status engine upgrades in the same posting.
    first_status = rules.status.tiers[1]
    await post(
        account_id=member.id,
        amounts={Currency(name): amount for name, amount in rules.status.thresholds[first_status].items()},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=f"demo:showcase:status:{today.year}",
        activity_date=max(start_of_year, today - dt.timedelta(days=5)),
        rule_version=rules.version,
        rules=rules,
        partner_reference=f"{DEMO_PARTNER}:demo-showcase-status-{today.year}",
        description="Flights this year (status points)",
    )
    pool_partner, partner_new = await _member(POOL_PARTNER, rules)
    await _pool(member, pool_partner, rules)
    await member.refresh_from_db()
    return member, int(new) + int(partner_new), credited


async def _pool(founder: Member, partner: Member, rules: ProgrammeRules) -> None:
    """The founder's pool with the partner in it, unless the founder is in a pool already."""
    joined = (MembershipState.ACCEPTED, MembershipState.COMBINED)
    if await PoolMembership.filter(account_id=founder.id, state__in=joined).exists():
        return
    now = dt.datetime.now(dt.UTC)
    invitation = await PoolMembership.filter(
        account_id=partner.id, invited_by_account_id=founder.id, state=MembershipState.INVITED
    ).first()
    if invitation is None:  # else an earlier run stopped between the invitation and its acceptance
        card = await ServiceCard.get(account_id=partner.id, state=CardState.ACTIVE)
        invitation = await invite(
            account_id=founder.id, service_card_number=card.number, rules=rules, now=now
        )
    await accept(account_id=partner.id, invitation_id=invitation.id, rules=rules, now=now)


async def fill_demo(*, members: int, seed: int, console: Console, box: SecretBox) -> DemoSummary:
    rules = current_rules()
    partners = await _ensure_partners(box)
    added, credited = await _sample_members(
        members=members, seed=seed, partners=partners, rules=rules, console=console
    )
    showcase, showcase_added, showcase_credited = await _showcase(rules)
    card = await ServiceCard.get(account_id=showcase.id, state=CardState.ACTIVE)
    membership = await PoolMembership.get(
        account_id=showcase.id, state__in=(MembershipState.ACCEPTED, MembershipState.COMBINED)
    )
    pool_members = await PoolMembership.filter(
        pool_id=membership.pool_id, state__in=(MembershipState.ACCEPTED, MembershipState.COMBINED)
    ).count()
    demo_partner = next(partner for partner in partners if partner.code == DEMO_PARTNER)
    secrets = await usable_secrets(demo_partner.id, box)
    return DemoSummary(
        members_added=added + showcase_added,
        partners=len(partners),
        miles_credited=credited + showcase_credited,
        card_number=card.number,
        email=SHOWCASE.email,
        pin=DEMO_PIN,
        tier=str(showcase.tier.value),
        pool_members=pool_members,
        partner_code=DEMO_PARTNER,
        partner_secret=secrets[0]
        if secrets
        else "(none usable: add one with `milesgate partners secrets add`)",
    )
