"""Forgotten PIN, password and user ID through GraphQL: the e-mailed code, the new secret, what it ends."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from httpx2 import AsyncClient
from tortoise import connections

from gateway.notification_secrets import outbox_box
from gateway.settings import Settings
from gateway.workers.notifications import FileSink, read_outbox
from loyalty.auth import resets
from loyalty.auth.models import ResetPurpose, ResetToken
from loyalty.errors import DomainError
from loyalty.identifiers import luhn_check_digit
from loyalty.members.models import Member
from loyalty.members.pins import hash_secret, verify_secret
from loyalty.notifications.models import Notification
from loyalty.notifications.service import deliver_pending, open_payload
from loyalty.rules import current_rules
from tests.factories import enrolled_member, gql, make_member
from tests.waiting import eventually

REQUEST_PIN_RESET = """
mutation Request($card: String!, $email: String!) {
  requestPinReset(serviceCardNumber: $card, email: $email) { __typename message }
}
"""
REQUEST_PASSWORD_RESET = """
mutation Request($email: String!) { requestPasswordReset(email: $email) { __typename message } }
"""
REMIND_USER_ID = "mutation Remind($email: String!) { remindUserId(email: $email) { __typename message } }"
COMPLETE_PIN_RESET = """
mutation Complete($token: String!, $pin: String!) {
  completePinReset(token: $token, newPin: $pin) {
    __typename
    ... on ResetCompleted { message }
    ... on InputError { code field }
  }
}
"""
COMPLETE_PASSWORD_RESET = """
mutation Complete($token: String!, $password: String!) {
  completePasswordReset(token: $token, newPassword: $password) {
    __typename
    ... on ResetCompleted { message }
    ... on InputError { code field }
  }
}
"""
SIGN_IN = """
mutation SignIn($input: SignInInput!) {
  signIn(input: $input) { __typename ... on SignedIn { refreshToken } ... on AccountLocked { code } }
}
"""
REFRESH = """
mutation Refresh($token: String!) { refreshSession(refreshToken: $token) { __typename } }
"""
EMAIL = "ada@example.com"
OLD_PIN, NEW_PIN = "739152", "582046"
OLD_PASSWORD, NEW_PASSWORD = "correct horse battery", "purple elephant saxophone"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _enrol(client: AsyncClient, **overrides: Any) -> str:
    card: str = (await enrolled_member(client, **overrides))["serviceCardNumber"]
    return card


async def _mails(settings: Settings, template: str, count: int = 1) -> list[dict[str, Any]]:
    """The messages sent so far with this template; deliver the outbox (or let the app's sender) first."""
    box = outbox_box(settings)
    sink = FileSink(settings.data_dir, box)

    async def sent() -> list[dict[str, Any]]:
        await deliver_pending(sender=sink, now=_now())
        return [line for line in read_outbox(settings.data_dir, box) if line["template"] == template]

    return await eventually(
        sent, lambda found: len(found) >= count, timeout_s=5, what=f"{count} {template} mail(s) in the outbox"
    )


async def _pin_code(client: AsyncClient, settings: Settings, card: str, count: int = 1) -> str:
    answer = await gql(client, REQUEST_PIN_RESET, {"card": card, "email": EMAIL})
    assert answer["data"]["requestPinReset"]["__typename"] == "ResetRequested"
    token: str = (await _mails(settings, "pin_reset", count))[-1]["payload"]["token"]
    return token


async def _complete_pin(client: AsyncClient, token: str, pin: str) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(client, COMPLETE_PIN_RESET, {"token": token, "pin": pin}))["data"][
        "completePinReset"
    ]
    return result


async def _sign_in(client: AsyncClient, method: str, identifier: str, secret: str) -> dict[str, Any]:
    variables = {"input": {"method": method, "identifier": identifier, "secret": secret}}
    result: dict[str, Any] = (await gql(client, SIGN_IN, variables))["data"]["signIn"]
    return result


async def test_a_pin_reset_sets_a_new_pin_once(client: AsyncClient, settings: Settings) -> None:
    # given
    card = await _enrol(client)
    token = await _pin_code(client, settings, card)
    mail = (await _mails(settings, "pin_reset"))[0]
    assert mail["recipient"] == EMAIL
    assert token in mail["body"]
    # when
    completed = await _complete_pin(client, token, NEW_PIN)
    # then
    assert completed["__typename"] == "ResetCompleted"
    assert (await _sign_in(client, "SERVICE_CARD_NUMBER", card, NEW_PIN))["__typename"] == "SignedIn"
    assert (await _sign_in(client, "SERVICE_CARD_NUMBER", card, OLD_PIN))["__typename"] == "WrongCredentials"
    again = await _complete_pin(client, token, "604917")
    assert again == {"__typename": "InputError", "code": "RESET_TOKEN_INVALID", "field": "token"}
    assert (await _sign_in(client, "SERVICE_CARD_NUMBER", card, NEW_PIN))["__typename"] == "SignedIn"


@pytest.mark.parametrize(
    ("pin", "code"),
    [("123456", "PIN_TOO_SIMPLE"), ("101290", "PIN_TOO_SIMPLE"), ("12345", "PIN_FORMAT")],
    ids=["consecutive", "date-of-birth", "too-short"],
)
async def test_a_refused_pin_leaves_the_code_usable(
    client: AsyncClient, settings: Settings, pin: str, code: str
) -> None:
    card = await _enrol(client)  # born 1990-12-10: 101290 is the date of birth
    token = await _pin_code(client, settings, card)
    refused = await _complete_pin(client, token, pin)
    assert refused == {"__typename": "InputError", "code": code, "field": "newPin"}
    assert (await _sign_in(client, "SERVICE_CARD_NUMBER", card, OLD_PIN))["__typename"] == "SignedIn"
    assert (await _complete_pin(client, token, NEW_PIN))["__typename"] == "ResetCompleted"


async def test_an_expired_code_is_refused(client: AsyncClient, settings: Settings) -> None:
    card = await _enrol(client)
    token = await _pin_code(client, settings, card)
    await ResetToken.all().update(expires_at=_now() - dt.timedelta(seconds=1))
    refused = await _complete_pin(client, token, NEW_PIN)
    assert refused == {"__typename": "InputError", "code": "RESET_TOKEN_INVALID", "field": "token"}
    assert (await _sign_in(client, "SERVICE_CARD_NUMBER", card, OLD_PIN))["__typename"] == "SignedIn"


async def test_a_code_is_good_for_its_own_secret_only(client: AsyncClient, settings: Settings) -> None:
    card = await _enrol(client, password=OLD_PASSWORD)
    token = await _pin_code(client, settings, card)
    refused = (await gql(client, COMPLETE_PASSWORD_RESET, {"token": token, "password": NEW_PASSWORD}))[
        "data"
    ]["completePasswordReset"]
    assert refused["code"] == "RESET_TOKEN_INVALID"
    assert (await _complete_pin(client, "not-a-code", NEW_PIN))["code"] == "RESET_TOKEN_INVALID"
    assert (await _complete_pin(client, token, NEW_PIN))["__typename"] == "ResetCompleted"


async def test_a_completed_reset_spends_the_other_open_codes(client: AsyncClient, settings: Settings) -> None:
    card = await _enrol(client)
    first = await _pin_code(client, settings, card)
    second = await _pin_code(client, settings, card, count=2)
    assert first != second
    assert (await _complete_pin(client, second, NEW_PIN))["__typename"] == "ResetCompleted"
    assert (await _complete_pin(client, first, "604917"))["code"] == "RESET_TOKEN_INVALID"


def _other_card(card: str) -> str:
    body = card[:-2] + ("1" if card[-2] != "1" else "2")
    return body + str(luhn_check_digit(body))


async def test_unknown_details_get_the_same_answer_and_no_mail(
    client: AsyncClient, settings: Settings
) -> None:
    # given: a member without password or user ID
    card = await _enrol(client)
    # when
    answers = [
        await gql(client, REQUEST_PIN_RESET, {"card": card, "email": "someone@example.com"}),
        await gql(client, REQUEST_PIN_RESET, {"card": _other_card(card), "email": EMAIL}),
        await gql(client, REQUEST_PIN_RESET, {"card": "1234", "email": EMAIL}),
        await gql(client, REQUEST_PASSWORD_RESET, {"email": "someone@example.com"}),
        await gql(client, REQUEST_PASSWORD_RESET, {"email": EMAIL}),  # has no password to reset
        await gql(client, REMIND_USER_ID, {"email": EMAIL}),  # has no user ID
        await gql(client, REMIND_USER_ID, {"email": "someone@example.com"}),
    ]
    known = await gql(client, REQUEST_PIN_RESET, {"card": card, "email": EMAIL.upper()})
    # then
    messages = {str(next(iter(answer["data"].values()))) for answer in [*answers, known]}
    assert len(messages) == 1
    # only the matching request (besides the enrolment's own code)
    assert await Notification.exclude(template="enrolment_code").count() == 1
    assert await ResetToken.all().count() == 1


async def test_a_password_reset_then_e_mail_sign_in(client: AsyncClient, settings: Settings) -> None:
    await _enrol(client, password=OLD_PASSWORD)
    answer = await gql(client, REQUEST_PASSWORD_RESET, {"email": " Ada@Example.com "})
    assert answer["data"]["requestPasswordReset"]["__typename"] == "ResetRequested"
    token = (await _mails(settings, "password_reset"))[0]["payload"]["token"]

    async def complete(password: str) -> dict[str, Any]:
        variables = {"token": token, "password": password}
        result: dict[str, Any] = (await gql(client, COMPLETE_PASSWORD_RESET, variables))["data"][
            "completePasswordReset"
        ]
        return result

    assert await complete("short") == {
        "__typename": "InputError",
        "code": "PASSWORD_TOO_SHORT",
        "field": "newPassword",
    }
    assert (await complete("abababababab"))[
        "code"
    ] == "PASSWORD_TOO_SIMPLE"  # four different characters at least
    assert (await complete(NEW_PASSWORD))["__typename"] == "ResetCompleted"
    assert (await _sign_in(client, "EMAIL", EMAIL, NEW_PASSWORD))["__typename"] == "SignedIn"
    assert (await _sign_in(client, "EMAIL", EMAIL, OLD_PASSWORD))["__typename"] == "WrongCredentials"
    assert (await complete("another fine password"))["code"] == "RESET_TOKEN_INVALID"


async def test_a_reset_ends_every_session_and_lifts_the_lockout(
    client: AsyncClient, settings: Settings
) -> None:
    # given: a signed-in device, then a lockout
    card = await _enrol(client)
    device = await _sign_in(client, "SERVICE_CARD_NUMBER", card, OLD_PIN)
    for _ in range(current_rules().sign_in.max_failed_attempts):
        await _sign_in(client, "SERVICE_CARD_NUMBER", card, "284917")
    assert (await _sign_in(client, "SERVICE_CARD_NUMBER", card, OLD_PIN))["__typename"] == "AccountLocked"
    # when
    token = await _pin_code(client, settings, card)
    assert (await _complete_pin(client, token, NEW_PIN))["__typename"] == "ResetCompleted"
    # then
    refreshed = (await gql(client, REFRESH, {"token": device["refreshToken"]}))["data"]["refreshSession"]
    assert refreshed["__typename"] == "SessionEnded"
    member = await Member.get(email=EMAIL)
    assert (member.failed_sign_ins, member.sign_in_locked_until) == (0, None)
    assert (await _sign_in(client, "SERVICE_CARD_NUMBER", card, NEW_PIN))["__typename"] == "SignedIn"


async def test_remind_user_id_e_mails_it(client: AsyncClient, settings: Settings) -> None:
    await _enrol(client, userId="ada.l", password=OLD_PASSWORD)
    answer = await gql(client, REMIND_USER_ID, {"email": "ADA@example.com"})
    assert answer["data"]["remindUserId"]["__typename"] == "ResetRequested"
    mail = (await _mails(settings, "user_id_reminder"))[0]
    assert mail["recipient"] == EMAIL
    assert "ada.l" in mail["body"]


async def test_a_german_member_gets_a_german_mail(client: AsyncClient, settings: Settings) -> None:
    card = await _enrol(client, language="de")
    await _pin_code(client, settings, card)
    mail = (await _mails(settings, "pin_reset"))[0]
    assert mail["subject"] == "Ihre neue Miles & More PIN"


@pytest.mark.postgres
async def test_one_code_used_five_times_at_once_works_once(
    pg_db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    enrolled = await make_member()
    rules = current_rules()
    await resets.request_reset(
        purpose=ResetPurpose.PIN,
        service_card_number=enrolled.card.number,
        email=enrolled.member.email,
        rules=rules,
        now=_now(),
    )
    token = open_payload(await Notification.get(account_id=enrolled.member.id))["token"]
    pins = ("582046", "604917", "730584", "846201", "958317")
    hashes = {pin: await hash_secret(pin) for pin in pins}

    async def hash_at_once(pin: str) -> str:
        return hashes[pin]  # argon2's varying run time would keep the five transactions apart

    monkeypatch.setattr(resets, "hash_secret", hash_at_once)
    pool = connections.get("default")
    # Five overlapping queries open five pooled connections (pg_sleep only makes them overlap; nothing
    # waits for its end as a signal), so the attempts below really run at once.
    await asyncio.gather(*[pool.execute_query("SELECT pg_sleep(0.05)") for _ in range(5)])

    async def attempt(pin: str) -> str:
        try:
            await resets.complete_reset(
                purpose=ResetPurpose.PIN, token=token, new_secret=pin, rules=rules, now=_now()
            )
        except DomainError as error:
            return error.code
        return pin

    # when
    outcomes = await asyncio.gather(*[attempt(pin) for pin in pins])
    # then
    winners = [outcome for outcome in outcomes if outcome != "RESET_TOKEN_INVALID"]
    assert len(winners) == 1, outcomes
    assert await ResetToken.filter(used_at=None).count() == 0
    member = await Member.get(id=enrolled.member.id)
    assert await verify_secret(member.pin_hash, winners[0])
