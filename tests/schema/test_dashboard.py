"""The member dashboard (issue 8, speed): one GraphQL query whose SQL statement count is fixed.

Statements are counted at the database client: every statement Tortoise sends, on SQLite or PostgreSQL,
passes its ``tortoise.db_client`` debug log. Only this request's statements count (a context variable
set around it; the in-process worker and relays run in tasks of their own and do not see it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient

from gateway.settings import Settings
from loyalty.consents.models import ConsentPurpose
from loyalty.consents.service import record_consent
from loyalty.crediting import post
from loyalty.fixed_sql import dialect
from loyalty.ledger.models import Currency, PostingSource
from loyalty.ledger.quarters import add_months
from loyalty.members.models import Member
from loyalty.offers.models import OfferKind
from loyalty.offers.service import activate_offer, add_offer
from loyalty.rules import current_rules
from tests.factories import enrolled_member, gql
from tests.support import deadline_s, statements, without_session_check

DASHBOARD = """query Dashboard {
  me {
    accountNumber givenName familyName tier
    card { number validUntil }
    balances { awardMiles points qualifyingPoints honCirclePoints lifetimeQualifyingPoints }
    statement(first: 10) {
      edges { node { postingId activityDate bookedAt source partnerCode description
        amounts { currency amount } } }
      pageInfo { hasNextPage endCursor }
    }
    milesExpiring { expiresOn miles }
    offers(first: 3) { code partnerCode kind title bonusMiles endsAt activated personalised }
  }
}"""
DASHBOARD_STATEMENTS = {"sqlite": 4, "postgres": 1}
"""Fixed SQL (loyalty/fixed_sql.py): the member with the active card, balances and this year's counters;
the statement page joined to its entries; the lots due with the protections; the offers with the
activations, the PERSONALISATION consent and the partner affinity (bounded to the latest 100 accruals).
On PostgreSQL the four are one statement that returns each as JSON (loyalty/dashboard/read.py).
It was 10 through the ORM."""


@pytest.fixture
def settings(settings: Settings, graphql_fast_path: bool) -> Settings:
    """Every app of this module runs both ways: through the GraphQL engine and with stock Strawberry."""
    return settings.model_copy(update={"graphql_fast_path": graphql_fast_path})


@pytest.fixture
def postgres_settings(postgres_settings: Settings, graphql_fast_path: bool) -> Settings:
    return postgres_settings.model_copy(update={"graphql_fast_path": graphql_fast_path})


async def _grow(account_id: int, *, postings: int, offers: int, start: int) -> None:
    now = dt.datetime.now(dt.UTC)
    for n in range(start, start + postings):
        await post(
            account_id=account_id,
            amounts={Currency.AWARD_MILES: 100 + n},
            source=PostingSource.PARTNER_ACCRUAL,
            idempotency_key=f"dashboard-test-{n}",
            activity_date=now.date() - dt.timedelta(days=n),
            rule_version="test",
            rules=current_rules(),
            partner_reference=f"{('swiss', 'shop', 'bank')[n % 3]}:T{n}",
            description=f"purchase {n}",
        )
    for n in range(start, start + offers):
        await add_offer(
            code=f"DASH-{n}",
            partner_code=("swiss", "shop", "bank")[n % 3],
            kind=OfferKind.EARN,
            title=f"Offer {n}",
            starts_at=now - dt.timedelta(days=1),
            ends_at=now + dt.timedelta(days=1),
            bonus_miles=100,
            priority=n,
        )
        if n % 2:
            await activate_offer(account_id=account_id, code=f"DASH-{n}", now=now)


async def _statement_counts(client: AsyncClient) -> list[int]:
    enrolled = await enrolled_member(client)
    token = enrolled["accessToken"]
    account_id = (await Member.get(account_number=enrolled["accountNumber"])).id
    counts = []
    for step, (postings, offers) in enumerate([(1, 1), (30, 8), (60, 10)]):
        await _grow(account_id, postings=postings, offers=offers, start=step * 100)
        with statements() as seen:
            body = await gql(client, DASHBOARD, token=token)
        assert "errors" not in body, body
        me = body["data"]["me"]
        assert len(me["offers"]) == min(3, sum(o for _, o in [(1, 1), (30, 8), (60, 10)][: step + 1]))
        assert len(me["statement"]["edges"]) <= 10
        counts.append(len(without_session_check(seen)))
    # with PERSONALISATION consent (personal ranking) and a lot due soon (protections read) as well
    await record_consent(
        account_id=account_id,
        purpose=ConsentPurpose.PERSONALISATION,
        given=True,
        text_version="v1",
        now=dt.datetime.now(dt.UTC),
        rules=current_rules(),
    )
    due = add_months(dt.datetime.now(dt.UTC).date(), -36)
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: 500},
        source=PostingSource.TEST,
        idempotency_key="dashboard-test-due",
        activity_date=due,
        rule_version="test",
        rules=current_rules(),
    )
    with statements() as seen:
        body = await gql(client, DASHBOARD, token=token)
    assert "errors" not in body, body
    assert all(offer["personalised"] for offer in body["data"]["me"]["offers"])
    assert body["data"]["me"]["milesExpiring"][0]["miles"] == 500
    counts.append(len(without_session_check(seen)))
    return counts


async def test_the_dashboard_runs_a_fixed_number_of_statements(client: AsyncClient) -> None:
    # given a member whose history and offers grow between three dashboards
    # when each dashboard is read, the last one with personal ranking and a lot due
    counts = await _statement_counts(client)
    # then every one runs the same statements
    assert counts == [DASHBOARD_STATEMENTS[dialect()]] * 4


@pytest.fixture
async def pg_client(postgres_settings: Settings) -> AsyncIterator[AsyncClient]:
    from gateway.app import create_app

    application = create_app(postgres_settings)
    async with LifespanManager(application, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_the_dashboard_runs_a_fixed_number_of_statements_on_postgresql(pg_client: AsyncClient) -> None:
    assert await _statement_counts(pg_client) == [DASHBOARD_STATEMENTS["postgres"]] * 4


async def test_offers_ask_for_1_to_20(client: AsyncClient) -> None:
    token = (await enrolled_member(client))["accessToken"]
    for first in (0, 21):
        body = await gql(
            client, "query Q($n: Int!) { me { offers(first: $n) { code } } }", {"n": first}, token=token
        )
        assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE_INVALID"
    body = await gql(client, "{ me { offers(first: 1) { code } } }", token=token)
    assert body["data"]["me"]["offers"] == []


async def test_what_me_reads_ahead_equals_what_each_field_reads_itself(client: AsyncClient) -> None:
    """Pages and offer lists of several sizes in one document (aliases, a fragment, a variable), read
    ahead together, answer as each field asked on its own, which reads it by itself (a cursor or a
    filter is never read ahead)."""
    enrolled = await enrolled_member(client)
    token = enrolled["accessToken"]
    account_id = (await Member.get(account_number=enrolled["accountNumber"])).id
    await _grow(account_id, postings=12, offers=6, start=0)
    entries = (
        "edges { cursor node { postingId amounts { currency amount } } } pageInfo { hasNextPage endCursor }"
    )
    together = await gql(
        client,
        f"""query Q($n: Int!) {{ me {{
              small: statement(first: 2) {{ {entries} }}
              ...More
              offers(first: $n) {{ code activated }}
              few: offers(first: 1) {{ code }}
              milesExpiring {{ expiresOn miles }}
            }} }}
            fragment More on Member {{ large: statement(first: $n) {{ {entries} }} }}""",
        {"n": 5},
        token=token,
    )
    assert "errors" not in together, together
    me = together["data"]["me"]
    for alias, size in (("small", 2), ("large", 5)):
        # a date filter that keeps everything: the field reads this page itself, through the ORM
        alone = await gql(
            client,
            f'{{ me {{ statement(first: {size}, fromDate: "1900-01-01") {{ {entries} }} }} }}',
            token=token,
        )
        assert me[alias] == alone["data"]["me"]["statement"]
        assert len(me[alias]["edges"]) == size and me[alias]["pageInfo"]["hasNextPage"]
    offers = await gql(client, "{ me { offers(first: 5) { code activated } } }", token=token)
    assert me["offers"] == offers["data"]["me"]["offers"] and len(me["offers"]) == 5
    assert me["few"] == [{"code": me["offers"][0]["code"]}]
    expiring = await gql(client, "{ me { milesExpiring { expiresOn miles } } }", token=token)
    assert me["milesExpiring"] == expiring["data"]["me"]["milesExpiring"]
    cursor = me["small"]["pageInfo"]["endCursor"]
    after = await gql(
        client,
        "query A($c: String) { me { statement(first: 3, after: $c) { edges { cursor } } } }",
        {"c": cursor},
        token=token,
    )
    assert after["data"]["me"]["statement"]["edges"][0]["cursor"] == me["large"]["edges"][2]["cursor"]


async def test_one_document_read_ahead_follows_each_requests_variables(client: AsyncClient) -> None:
    """What ``me`` reads ahead is worked out once per parsed document and kept: the same document sent
    again with other variables must read the sizes those variables give, not the first request's."""
    enrolled = await enrolled_member(client)
    token = enrolled["accessToken"]
    account_id = (await Member.get(account_number=enrolled["accountNumber"])).id
    await _grow(account_id, postings=8, offers=6, start=0)
    document = (
        "query Q($n: Int!) { me { statement(first: $n) { edges { cursor } } offers(first: $n) { code } } }"
    )
    for size in (5, 2, 5, 3):
        body = await gql(client, document, {"n": size}, token=token)
        assert "errors" not in body, body
        assert len(body["data"]["me"]["statement"]["edges"]) == size
        assert len(body["data"]["me"]["offers"]) == size
