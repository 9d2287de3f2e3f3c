"""Signing in by card + PIN, user ID or e-mail + password; lockout; refresh rotation; sign-out; app bonus."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from typing import Any

import pytest
from httpx2 import AsyncClient

from gateway.settings import Settings
from gateway.tokens import TokenService
from loyalty.auth.credentials import AccountLocked, SignInMethod, check_credentials
from loyalty.auth.signin import Platform, grant_session
from loyalty.errors import InvalidCredentials
from loyalty.identifiers import luhn_check_digit
from loyalty.ledger.models import Currency
from loyalty.ledger.service import balances_of
from loyalty.members.models import Member, SessionLevel
from loyalty.rules import current_rules
from tests.factories import ME, enrolled_member, gql, make_member
from tests.support import statements

SIGN_IN = """
mutation SignIn($input: SignInInput!) {
  signIn(input: $input) {
    __typename
    ... on SignedIn { accessToken refreshToken sessionLevel bonusMilesCredited member { accountNumber } }
    ... on TwoFactorRequired { challenge }
    ... on WrongCredentials { code message }
    ... on AccountLocked { code unlocksAt }
    ... on InputError { code field }
  }
}
"""
REFRESH = """
mutation Refresh($token: String!) {
  refreshSession(refreshToken: $token) {
    __typename
    ... on SignedIn { accessToken refreshToken sessionLevel }
    ... on SessionEnded { code }
  }
}
"""
SIGN_OUT = "mutation Out($token: String!) { signOut(refreshToken: $token) { sessionsEnded } }"
SIGN_OUT_EVERYWHERE = "mutation { signOutEverywhere { sessionsEnded } }"
PASSWORD = "correct horse battery"


async def _sign_in(
    client: AsyncClient, method: str, identifier: str, secret: str, **extra: str
) -> dict[str, Any]:
    variables = {"input": {"method": method, "identifier": identifier, "secret": secret, **extra}}
    result: dict[str, Any] = (await gql(client, SIGN_IN, variables))["data"]["signIn"]
    return result


def _other_card(scn: str) -> str:
    body = scn[:-2] + ("1" if scn[-2] != "1" else "2")
    return body + str(luhn_check_digit(body))


async def test_three_ways_to_sign_in(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client, userId="ada.l", password=PASSWORD)
    for method, identifier, secret in [
        ("SERVICE_CARD_NUMBER", enrolled["serviceCardNumber"], "739152"),
        ("USERNAME", "Ada.L", PASSWORD),
        ("EMAIL", "ada@example.com", PASSWORD),
    ]:
        result = await _sign_in(client, method, identifier, secret)
        assert result["__typename"] == "SignedIn", (method, result)
        assert result["sessionLevel"] == "AUTHENTICATED"
        me = (await gql(client, ME, token=result["accessToken"]))["data"]["me"]
        assert me["accountNumber"] == enrolled["accountNumber"]


SIGN_IN_STATEMENTS = 6
"""A card-and-PIN sign-in without a second factor: the member by card (1), the attempt settled on the locked
row (2), the second factors (3), the refresh token (4), the session generation (5), the sign-in record (6)."""


async def test_a_sign_in_costs_a_fixed_number_of_statements(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client)
    await _sign_in(client, "SERVICE_CARD_NUMBER", enrolled["serviceCardNumber"], "739152")
    with statements() as seen:
        result = await _sign_in(client, "SERVICE_CARD_NUMBER", enrolled["serviceCardNumber"], "739152")
    assert result["__typename"] == "SignedIn", result
    assert len(seen) == SIGN_IN_STATEMENTS, seen


async def test_email_sign_in_is_only_for_members_registered_after_the_cut_off(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client, password=PASSWORD)
    await Member.filter(account_number=enrolled["accountNumber"]).update(
        created_at=dt.datetime(2021, 6, 1, tzinfo=dt.UTC)
    )
    result = await _sign_in(client, "EMAIL", "ada@example.com", PASSWORD)
    assert result["__typename"] == "WrongCredentials"
    card = await _sign_in(client, "SERVICE_CARD_NUMBER", enrolled["serviceCardNumber"], "739152")
    assert card["__typename"] == "SignedIn"


async def test_wrong_credentials_look_the_same_whether_or_not_the_account_exists(
    production_hash_cost: None, client: AsyncClient
) -> None:
    enrolled = await enrolled_member(client)
    scn = enrolled["serviceCardNumber"]

    async def timed(card: str) -> tuple[dict[str, Any], float]:
        # This process's CPU time (every thread: the hashing pool too), not the wall clock: the app runs in
        # this process, and other load on the machine stretches wall time for both paths alike but unevenly.
        started = time.process_time()
        result = await _sign_in(client, "SERVICE_CARD_NUMBER", card, "284917")
        return result, time.process_time() - started

    known = [await timed(scn) for _ in range(4)]
    unknown = [await timed(_other_card(scn)) for _ in range(4)]
    assert {str(result) for result, _ in known + unknown} == {str(known[0][0])}
    assert known[0][0]["__typename"] == "WrongCredentials"
    # Both paths verify an argon2 hash: an unknown account costs as much work as a known one.
    assert statistics.median(t for _, t in unknown) > 0.5 * statistics.median(t for _, t in known)


async def test_five_wrong_pins_lock_for_thirty_minutes_even_the_right_pin(client: AsyncClient) -> None:
    scn = (await enrolled_member(client))["serviceCardNumber"]
    results = [await _sign_in(client, "SERVICE_CARD_NUMBER", scn, "284917") for _ in range(5)]
    assert [r["__typename"] for r in results] == ["WrongCredentials"] * 4 + ["AccountLocked"]
    unlocks_at = dt.datetime.fromisoformat(results[-1]["unlocksAt"])
    assert dt.timedelta(minutes=29) < unlocks_at - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=30)
    right = await _sign_in(client, "SERVICE_CARD_NUMBER", scn, "739152")
    assert right["__typename"] == "AccountLocked"


async def test_aliases_count_attempt_by_attempt(client: AsyncClient) -> None:
    scn = (await enrolled_member(client))["serviceCardNumber"]
    aliased = (
        "mutation Many {"
        + " ".join(
            f'a{i}: signIn(input: {{method: SERVICE_CARD_NUMBER, identifier: "{scn}", secret: "{pin}"}}) '
            "{ __typename }"
            for i, pin in enumerate(["284917", "284918", "284919", "284910", "284911", "739152"])
        )
        + "}"
    )
    data = (await gql(client, aliased))["data"]
    assert [data[f"a{i}"]["__typename"] for i in range(6)] == ["WrongCredentials"] * 4 + ["AccountLocked"] * 2


async def test_refresh_rotates_and_reuse_revokes_the_family(client: AsyncClient) -> None:
    scn = (await enrolled_member(client))["serviceCardNumber"]
    first = await _sign_in(client, "SERVICE_CARD_NUMBER", scn, "739152")

    second = (await gql(client, REFRESH, {"token": first["refreshToken"]}))["data"]["refreshSession"]
    assert second["__typename"] == "SignedIn" and second["sessionLevel"] == "IDENTIFIED"
    assert second["refreshToken"] != first["refreshToken"]

    reused = (await gql(client, REFRESH, {"token": first["refreshToken"]}))["data"]["refreshSession"]
    assert reused == {"__typename": "SessionEnded", "code": "REFRESH_TOKEN_REUSED"}
    stolen = (await gql(client, REFRESH, {"token": second["refreshToken"]}))["data"]["refreshSession"]
    assert stolen == {"__typename": "SessionEnded", "code": "REFRESH_TOKEN_INVALID"}


async def test_sign_out_and_sign_out_everywhere(client: AsyncClient) -> None:
    scn = (await enrolled_member(client))["serviceCardNumber"]
    phone, laptop, tablet = [await _sign_in(client, "SERVICE_CARD_NUMBER", scn, "739152") for _ in range(3)]

    assert (await gql(client, SIGN_OUT, {"token": phone["refreshToken"]}))["data"]["signOut"][
        "sessionsEnded"
    ] == 1
    ended = (await gql(client, REFRESH, {"token": phone["refreshToken"]}))["data"]["refreshSession"]
    assert ended["__typename"] == "SessionEnded"

    everywhere = await gql(client, SIGN_OUT_EVERYWHERE, token=laptop["accessToken"])
    assert everywhere["data"]["signOutEverywhere"]["sessionsEnded"] == 2
    for session in (laptop, tablet):
        result = (await gql(client, REFRESH, {"token": session["refreshToken"]}))["data"]["refreshSession"]
        assert result["__typename"] == "SessionEnded"


async def test_first_app_sign_in_earns_500_miles_once(client: AsyncClient) -> None:
    scn = (await enrolled_member(client))["serviceCardNumber"]
    web = await _sign_in(client, "SERVICE_CARD_NUMBER", scn, "739152", platform="WEB")
    ios = await _sign_in(client, "SERVICE_CARD_NUMBER", scn, "739152", platform="IOS")
    android = await _sign_in(client, "SERVICE_CARD_NUMBER", scn, "739152", platform="ANDROID")
    assert [web["bonusMilesCredited"], ios["bonusMilesCredited"], android["bonusMilesCredited"]] == [
        0,
        500,
        0,
    ]
    me = (await gql(client, ME, token=android["accessToken"]))["data"]["me"]
    assert me["balances"]["awardMiles"] == 500


def test_a_token_is_authenticated_only_inside_the_window() -> None:
    fresh = TokenService("k" * 48, ttl_s=900, authenticated_window_s=900)
    stale = TokenService("k" * 48, ttl_s=900, authenticated_window_s=60)
    token = fresh.issue(
        account_id=7, level=SessionLevel.AUTHENTICATED, generation=0, auth_time=int(time.time()) - 120
    )
    assert fresh.verify(token).level is SessionLevel.AUTHENTICATED  # type: ignore[union-attr]
    assert stale.verify(token).level is SessionLevel.IDENTIFIED  # type: ignore[union-attr]
    assert fresh.verify(token + "x") is None


def test_a_checked_token_still_expires_and_still_leaves_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service keeps a token's checked claims, not its verdict: expiry and the authenticated window
    are judged again on every use."""
    service = TokenService("k" * 48, ttl_s=600, authenticated_window_s=300)
    token = service.issue(account_id=7, level=SessionLevel.AUTHENTICATED, generation=0)
    assert service.verify(token).level is SessionLevel.AUTHENTICATED  # type: ignore[union-attr]
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued + 301)
    assert service.verify(token).level is SessionLevel.IDENTIFIED  # type: ignore[union-attr]
    monkeypatch.setattr(time, "time", lambda: issued + 601)
    assert service.verify(token) is None


@pytest.mark.postgres
async def test_concurrent_wrong_pins_lock_exactly_once(pg_db: Settings) -> None:
    enrolled = await make_member()
    rules = current_rules()

    async def attempt() -> str:
        try:
            await check_credentials(
                method=SignInMethod.SERVICE_CARD_NUMBER,
                identifier=enrolled.card.number,
                secret="284917",
                rules=rules,
                now=dt.datetime.now(dt.UTC),
            )
        except AccountLocked:
            return "locked"
        except InvalidCredentials:
            return "wrong"
        return "signed-in"

    outcomes = await asyncio.gather(*[attempt() for _ in range(10)])
    assert sorted(outcomes) == ["locked"] * 6 + ["wrong"] * 4


@pytest.mark.postgres
async def test_concurrent_first_app_sign_ins_credit_the_bonus_once(pg_db: Settings) -> None:
    member = (await make_member()).member
    rules = current_rules()
    granted = await asyncio.gather(
        *[
            grant_session(
                account_id=member.id,
                method="TEST",
                platform=Platform.IOS,
                rules=rules,
                now=dt.datetime.now(dt.UTC),
            )
            for _ in range(6)
        ]
    )
    assert sorted(g.bonus_miles for g in granted) == [0] * 5 + [500]
    assert (await balances_of(account_id=member.id))[Currency.AWARD_MILES] == 500
