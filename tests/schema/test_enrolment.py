"""Enrolment in two steps through GraphQL: the same answer for every address, the e-mailed code, what the
owner of an enrolled address hears, and the code's limits (once, expiry, wrong tries)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from httpx2 import AsyncClient

from gateway.notification_secrets import outbox_box
from gateway.settings import Settings
from gateway.workers.notifications import FileSink, read_outbox
from loyalty import enrolment as enrolments
from loyalty.errors import DomainError
from loyalty.members.models import Member, PendingEnrolment
from loyalty.notifications.models import Notification
from loyalty.notifications.service import deliver_pending
from loyalty.rules import current_rules
from tests.factories import (
    ENROL_MEMBER,
    ME,
    app_settings,
    confirm_enrolment,
    enrolled_member,
    enrolment_code,
    enrolment_input,
    gql,
)
from tests.waiting import eventually

RULES = current_rules().enrolment
SIGN_IN = """
mutation SignIn($input: SignInInput!) { signIn(input: $input) { __typename ... on SignedIn { accessToken } } }
"""


async def _request(client: AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await gql(client, ENROL_MEMBER, {"input": enrolment_input(**overrides)})
    result: dict[str, Any] = body["data"]["enrolMember"]
    return result


async def _mails(settings: Settings, template: str, count: int = 1) -> list[dict[str, Any]]:
    """The messages sent so far with this template (the outbox delivered from here first)."""
    box = outbox_box(settings)
    sink = FileSink(settings.data_dir, box)

    async def sent() -> list[dict[str, Any]]:
        await deliver_pending(sender=sink, now=dt.datetime.now(dt.UTC))
        # the app's own sender may have sent one too: one line per message id
        lines = {
            line["id"]: line for line in read_outbox(settings.data_dir, box) if line["template"] == template
        }
        return list(lines.values())

    return await eventually(sent, lambda found: len(found) >= count, what=f"{count} {template} mail(s)")


async def test_a_known_and_an_unknown_address_get_the_same_answer(client: AsyncClient) -> None:
    # given
    await enrolled_member(client, email="ada@example.com")
    # when
    known = await _request(client, email="ADA@example.com", givenName="Mallory")
    unknown = await _request(client, email="grace@example.com", givenName="Grace")
    # then: the same type, the same fields, values of the same shape
    assert known["__typename"] == unknown["__typename"] == "EnrolmentPending"
    assert known.keys() == unknown.keys()
    assert known["message"] == unknown["message"]
    assert (
        len(known["enrolmentId"]) == len(unknown["enrolmentId"])
        and known["enrolmentId"] != unknown["enrolmentId"]
    )
    lifetimes = [
        dt.datetime.fromisoformat(answer["expiresAt"]) - dt.datetime.now(dt.UTC)
        for answer in (known, unknown)
    ]
    for lifetime in lifetimes:
        assert (
            dt.timedelta(minutes=RULES.code_minutes - 1)
            < lifetime
            <= dt.timedelta(minutes=RULES.code_minutes)
        )
    # and both did the same writes: a pending enrolment and one e-mail each (ada's first: her own)
    assert await PendingEnrolment.filter(email="ada@example.com").count() == 2
    assert await PendingEnrolment.filter(email="grace@example.com").count() == 1
    recipients = sorted(
        row.recipient
        for row in await Notification.filter(
            template__in=[enrolments.CODE_TEMPLATE, enrolments.NOTICE_TEMPLATE]
        )
    )
    # ada: her own enrolment's code, then the notice; grace: her code
    assert recipients == ["ada@example.com", "ada@example.com", "grace@example.com"]
    assert await Member.all().count() == 1


async def test_the_owner_of_an_enrolled_address_gets_a_notice_and_no_code(
    client: AsyncClient, settings: Settings
) -> None:
    # given
    await enrolled_member(client, email="ada@example.com", language="de")
    # when
    pending = await _request(client, email="ada@example.com", givenName="Mallory")
    # then
    [notice] = await _mails(settings, enrolments.NOTICE_TEMPLATE)
    assert notice["recipient"] == "ada@example.com"
    assert notice["payload"] == {"given_name": "Ada"}  # the owner's name, not the one typed; no code
    # in the owner's language (German), not the language typed in the attempt
    assert "Guten Tag Ada" in notice["body"] and "Mallory" not in notice["body"]
    assert "jemand wollte sich mit dieser E-Mail-Adresse" in notice["body"]
    assert "PIN vergessen" in notice["body"] and "Passwort vergessen" in notice["body"]
    assert not any(char.isdigit() for char in notice["body"])
    codes = [
        mail
        for mail in await _mails(settings, enrolments.CODE_TEMPLATE)
        if mail["payload"].get("enrolment_id") == pending["enrolmentId"]
    ]
    assert codes == []
    # and no code opens a second account on the address
    refused = await confirm_enrolment(client, pending["enrolmentId"], "0" * RULES.code_digits)
    assert refused["code"] == "ENROLMENT_CODE_INVALID"
    assert await Member.filter(email="ada@example.com").count() == 1


async def test_the_code_creates_the_member_with_a_verified_address(
    client: AsyncClient, settings: Settings
) -> None:
    # given
    pending = await _request(client, email="grace@example.com", givenName="Grace", language="de")
    assert await Member.all().count() == 0
    # when
    [mail] = await _mails(settings, enrolments.CODE_TEMPLATE)
    code = mail["payload"]["token"]
    confirmed = await confirm_enrolment(client, pending["enrolmentId"], code)
    # then
    assert (
        mail["recipient"] == "grace@example.com"
        and code in mail["body"]
        and "Guten Tag Grace" in mail["body"]
    )
    assert len(code) == RULES.code_digits and code.isdigit()
    assert confirmed["__typename"] == "EnrolMemberSuccess", confirmed
    assert confirmed["member"]["givenName"] == "Grace"
    me = (await gql(client, ME, token=confirmed["accessToken"]))["data"]["me"]
    assert me["accountNumber"] == confirmed["accountNumber"]
    member = await Member.get(account_number=confirmed["accountNumber"])
    assert member.email == "grace@example.com" and member.language == "de"
    assert member.email_verified_at is not None
    # the PIN typed in the first step signs in
    signed_in = await gql(
        client,
        SIGN_IN,
        {
            "input": {
                "method": "SERVICE_CARD_NUMBER",
                "identifier": confirmed["serviceCardNumber"],
                "secret": "739152",
            }
        },
    )
    assert signed_in["data"]["signIn"]["__typename"] == "SignedIn"
    # nothing secret stays in the pending row or in the sent message's row
    row = await PendingEnrolment.get(public_id=pending["enrolmentId"])
    assert row.details == {} and row.confirmed_at is not None
    assert code not in row.code_hash
    sent = await Notification.get(id=mail["id"])
    assert sent.payload["token"] == "[redacted]"


async def test_a_code_works_once(client: AsyncClient) -> None:
    # given
    pending = await _request(client)
    code = await enrolment_code(app_settings(client), pending["enrolmentId"])
    assert (await confirm_enrolment(client, pending["enrolmentId"], code))[
        "__typename"
    ] == "EnrolMemberSuccess"
    # when
    again = await confirm_enrolment(client, pending["enrolmentId"], code)
    # then
    assert (again["__typename"], again["code"], again["field"]) == (
        "InputError",
        "ENROLMENT_USED",
        "enrolmentId",
    )
    assert await Member.all().count() == 1


async def test_a_code_of_another_enrolment_does_not_confirm_this_one(client: AsyncClient) -> None:
    first = await _request(client, email="one@example.com")
    second = await _request(client, email="two@example.com")
    code = await enrolment_code(app_settings(client), first["enrolmentId"])
    if code == await enrolment_code(app_settings(client), second["enrolmentId"]):
        pytest.skip("two random codes are equal (one chance in 10^8)")
    refused = await confirm_enrolment(client, second["enrolmentId"], code)
    assert refused["code"] == "ENROLMENT_CODE_INVALID"
    assert await Member.all().count() == 0


async def test_an_expired_code_is_refused(client: AsyncClient) -> None:
    # given
    pending = await _request(client)
    code = await enrolment_code(app_settings(client), pending["enrolmentId"])
    # when: the code's time has passed
    await PendingEnrolment.filter(public_id=pending["enrolmentId"]).update(
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    refused = await confirm_enrolment(client, pending["enrolmentId"], code)
    # then
    assert (refused["code"], refused["field"]) == ("ENROLMENT_EXPIRED", "enrolmentId")
    assert await Member.all().count() == 0
    # an unknown id gets the same answer
    unknown = await confirm_enrolment(client, "no-such-enrolment", code)
    assert unknown["code"] == "ENROLMENT_EXPIRED"


async def test_too_many_wrong_codes_end_the_enrolment(client: AsyncClient) -> None:
    # given
    pending = await _request(client)
    code = await enrolment_code(app_settings(client), pending["enrolmentId"])
    wrong = f"{(int(code) + 1) % 10**RULES.code_digits:0{RULES.code_digits}d}"
    # when
    answers = [
        await confirm_enrolment(client, pending["enrolmentId"], wrong) for _ in range(RULES.max_code_attempts)
    ]
    # then
    assert [answer["code"] for answer in answers] == ["ENROLMENT_CODE_INVALID"] * RULES.max_code_attempts
    assert answers[0]["field"] == "code"
    assert f"{RULES.max_code_attempts - 1} more tries" in answers[0]["message"]
    # and the right code no longer helps
    late = await confirm_enrolment(client, pending["enrolmentId"], code)
    assert (late["code"], late["field"]) == ("ENROLMENT_ATTEMPTS_EXCEEDED", "enrolmentId")
    assert await Member.all().count() == 0


async def test_malformed_codes_count_as_wrong_ones(client: AsyncClient) -> None:
    pending = await _request(client)
    fullwidth_one = "\uff11"  # a digit to str.isdigit(), not an ASCII one
    for typed in ("", "12", "x" * RULES.code_digits, fullwidth_one * RULES.code_digits):
        refused = await confirm_enrolment(client, pending["enrolmentId"], typed)
        assert refused["code"] == "ENROLMENT_CODE_INVALID"
    assert (await PendingEnrolment.get(public_id=pending["enrolmentId"])).attempts == 4


async def test_an_address_gets_a_bounded_number_of_mails(client: AsyncClient, settings: Settings) -> None:
    # when: more open enrolments of one address than get an e-mail
    answers = [await _request(client) for _ in range(RULES.mails_per_address + 2)]
    # then: each is answered the same, and only the first ones were e-mailed
    assert {answer["__typename"] for answer in answers} == {"EnrolmentPending"}
    assert await PendingEnrolment.filter(email="ada@example.com").count() == RULES.mails_per_address + 2
    assert await Notification.filter(recipient="ada@example.com").count() == RULES.mails_per_address


async def test_the_first_step_does_not_tell_whether_a_user_id_is_taken(client: AsyncClient) -> None:
    """A user ID signs in: the first step answers a taken one as a free one. Only whoever proves the
    address learns it, and is enrolled all the same, without it."""
    await enrolled_member(client, userId="ada.l", password="correct horse battery")
    taken = await _request(client, email="grace@example.com", userId="ADA.L")
    free = await _request(client, email="alan@example.com", userId="alan.t")
    assert taken["__typename"] == free["__typename"] == "EnrolmentPending"
    assert taken["message"] == free["message"]

    code = await enrolment_code(app_settings(client), taken["enrolmentId"])
    confirmed = await gql(
        client,
        """mutation($input: ConfirmEnrolmentInput!) { confirmEnrolment(input: $input) {
             __typename ... on EnrolMemberSuccess { userIdTaken member { userId } } } }""",
        {"input": {"enrolmentId": taken["enrolmentId"], "code": code}},
    )
    assert confirmed["data"]["confirmEnrolment"] == {
        "__typename": "EnrolMemberSuccess",
        "userIdTaken": True,
        "member": {"userId": None},
    }
    assert (await Member.get(email="grace@example.com")).user_id is None
    assert (await Member.get(user_id="ada.l")).email == "ada@example.com"


async def test_two_confirmations_of_one_address_make_one_member(client: AsyncClient) -> None:
    """Two enrolments of a new address, both confirmed by its owner: the second finds the address taken."""
    first = await _request(client)
    second = await _request(client)
    settings = app_settings(client)
    codes = [await enrolment_code(settings, pending["enrolmentId"]) for pending in (first, second)]
    answers = await asyncio.gather(
        *(confirm_enrolment(client, p["enrolmentId"], c) for p, c in zip((first, second), codes, strict=True))
    )
    assert sorted(answer["__typename"] for answer in answers) == ["EnrolMemberSuccess", "InputError"]
    assert [answer["code"] for answer in answers if answer["__typename"] == "InputError"] == ["EMAIL_TAKEN"]
    assert await Member.all().count() == 1


@pytest.mark.postgres
async def test_parallel_guesses_each_use_a_try(pg_db: Settings) -> None:
    """Tries are counted before the code is checked, in one statement: parallel wrong codes cannot get
    more than ``max_code_attempts`` checks."""
    rules = current_rules()
    now = dt.datetime.now(dt.UTC)
    pending = await enrolments.request_enrolment(
        enrolment=enrolments.Enrolment(
            given_name="Ada",
            family_name="Lovelace",
            email="ada@example.com",
            date_of_birth=dt.date(1990, 12, 10),
            country="DE",
            pin="739152",
        ),
        rules=rules,
        now=now,
    )

    async def guess(number: int) -> str:
        try:
            await enrolments.confirm_enrolment(
                enrolment_id=pending.enrolment_id, code=f"{number:08d}", rules=rules, now=now
            )
        except DomainError as error:
            return error.code
        return "CONFIRMED"

    answers = await asyncio.gather(*(guess(number) for number in range(3 * RULES.max_code_attempts)))
    checked = [answer for answer in answers if answer in {"ENROLMENT_CODE_INVALID", "CONFIRMED"}]
    assert len(checked) <= RULES.max_code_attempts
    assert (await PendingEnrolment.get(public_id=pending.enrolment_id)).attempts == RULES.max_code_attempts
