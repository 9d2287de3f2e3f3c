"""An address is verified before e-mail sign-in and notifications use it (issue 18, "E-mail").

Members enrolled before enrolment confirmed addresses have none verified: they verify it with a code
e-mailed to it (requestEmailVerification, confirmEmailVerification); a new address replaces the old one only
once its code is confirmed. Until then e-mail sign-in is refused with a typed error, but only to whoever
typed the right password (everybody else gets the wrong-credentials answer, as for an unknown address),
and event messages go out by push only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx2 import AsyncClient

from loyalty.addresses import CODE_TEMPLATE, NOTICE_TEMPLATE
from loyalty.consents.models import ConsentPurpose
from loyalty.consents.service import record_consent
from loyalty.crediting import post
from loyalty.events.models import DomainEvent, EventType
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import AddressVerification, Member
from loyalty.notifications.models import Channel, Notification
from loyalty.notifications.service import open_payload
from loyalty.rules import current_rules
from tests.factories import app_settings, enrolled_member, gql, verification_code
from tests.waiting import eventually

PASSWORD = "correct horse battery"
ADDRESS = "ada@example.com"
RULES = current_rules()

SIGN_IN = """
mutation SignIn($input: SignInInput!) {
  signIn(input: $input) {
    __typename
    ... on SignedIn { accessToken member { accountNumber email emailVerified } }
    ... on WrongCredentials { code message }
    ... on InputError { code field message }
  }
}
"""
REQUEST = """
mutation Request($input: RequestEmailVerificationInput!) {
  requestEmailVerification(input: $input) {
    __typename
    ... on EmailVerificationPending { verificationId expiresAt message }
    ... on InputError { code field message }
    ... on StepUpRequired { requiredLevel }
  }
}
"""
CONFIRM = """
mutation Confirm($input: ConfirmEmailVerificationInput!) {
  confirmEmailVerification(input: $input) {
    __typename
    ... on EmailVerified { member { email emailVerified } }
    ... on InputError { code field message }
  }
}
"""
ME = "{ me { email emailVerified } }"


async def _sign_in(client: AsyncClient, method: str, identifier: str, secret: str) -> dict[str, Any]:
    variables = {"input": {"method": method, "identifier": identifier, "secret": secret}}
    result: dict[str, Any] = (await gql(client, SIGN_IN, variables))["data"]["signIn"]
    return result


async def _legacy_member(client: AsyncClient, **overrides: Any) -> dict[str, Any]:
    """A member as one enrolled before addresses were confirmed: the address on file, not verified."""
    enrolled = await enrolled_member(client, password=PASSWORD, **overrides)
    await Member.filter(account_number=enrolled["accountNumber"]).update(email_verified_at=None)
    return enrolled


async def _request(client: AsyncClient, token: str, email: str | None = None) -> dict[str, Any]:
    variables = {"input": {} if email is None else {"email": email}}
    result: dict[str, Any] = (await gql(client, REQUEST, variables, token=token))["data"][
        "requestEmailVerification"
    ]
    return result


async def _confirm(client: AsyncClient, token: str, verification_id: str, code: str) -> dict[str, Any]:
    variables = {"input": {"verificationId": verification_id, "code": code}}
    result: dict[str, Any] = (await gql(client, CONFIRM, variables, token=token))["data"][
        "confirmEmailVerification"
    ]
    return result


async def test_an_unverified_address_does_not_sign_in_and_says_so_only_to_the_right_password(
    client: AsyncClient,
) -> None:
    enrolled = await _legacy_member(client)

    # when: the right password with the unverified address
    refused = await _sign_in(client, "EMAIL", ADDRESS, PASSWORD)
    # then: a typed refusal, no session
    assert refused["__typename"] == "InputError"
    assert (refused["code"], refused["field"]) == ("EMAIL_NOT_VERIFIED", "identifier")

    # and a wrong password gets exactly what an unknown address gets: nothing tells the address is known
    wrong = await _sign_in(client, "EMAIL", ADDRESS, "not the password")
    unknown = await _sign_in(client, "EMAIL", "nobody@example.com", "not the password")
    assert (
        wrong
        == unknown
        == {
            "__typename": "WrongCredentials",
            "code": "INVALID_CREDENTIALS",
            "message": "The sign-in data is not correct.",
        }
    )
    # and the refusal with the right password counted no failure
    assert (await Member.get(account_number=enrolled["accountNumber"])).failed_sign_ins == 1

    # and card number + PIN, and user ID + password, still sign in
    card = await _sign_in(client, "SERVICE_CARD_NUMBER", enrolled["serviceCardNumber"], "739152")
    assert card["__typename"] == "SignedIn"
    assert card["member"] == {
        "accountNumber": enrolled["accountNumber"],
        "email": ADDRESS,
        "emailVerified": False,
    }


async def test_an_enrolled_address_is_verified_and_signs_in(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client, password=PASSWORD)
    me = (await gql(client, ME, token=enrolled["accessToken"]))["data"]["me"]
    assert me == {"email": ADDRESS, "emailVerified": True}
    assert (await _sign_in(client, "EMAIL", ADDRESS, PASSWORD))["__typename"] == "SignedIn"
    refused = await _request(client, enrolled["accessToken"])
    assert refused["code"] == "EMAIL_ALREADY_VERIFIED"


async def test_a_member_verifies_the_address_on_file_with_the_emailed_code(client: AsyncClient) -> None:
    enrolled = await _legacy_member(client)
    token = enrolled["accessToken"]

    # when: the member asks for a code and enters it
    pending = await _request(client, token)
    assert pending["__typename"] == "EmailVerificationPending"
    # (the verification message itself goes to the unverified address)
    [mail] = await Notification.filter(template=CODE_TEMPLATE)
    assert (mail.recipient, mail.channel) == (ADDRESS, Channel.EMAIL)
    code = await verification_code(app_settings(client), pending["verificationId"])
    confirmed = await _confirm(client, token, pending["verificationId"], code)

    # then: the address is verified, and e-mail sign-in works
    assert confirmed == {"__typename": "EmailVerified", "member": {"email": ADDRESS, "emailVerified": True}}
    assert (await _sign_in(client, "EMAIL", ADDRESS, PASSWORD))["__typename"] == "SignedIn"
    # and the code works once
    again = await _confirm(client, token, pending["verificationId"], code)
    assert again["code"] == "VERIFICATION_EXPIRED"


async def test_a_new_address_is_used_only_once_its_code_is_confirmed(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client, password=PASSWORD)
    token = enrolled["accessToken"]
    new = "ada.lovelace@example.org"

    pending = await _request(client, token, email=" Ada.Lovelace@Example.org ")
    assert pending["__typename"] == "EmailVerificationPending"
    # until the code is entered the old address stays, verified, and the new one signs nobody in
    assert (await gql(client, ME, token=token))["data"]["me"] == {"email": ADDRESS, "emailVerified": True}
    assert (await _sign_in(client, "EMAIL", new, PASSWORD))["__typename"] == "WrongCredentials"

    code = await verification_code(app_settings(client), pending["verificationId"])
    # a wrong code first: refused, with the tries left
    wrong = (
        "0" * RULES.enrolment.code_digits if code != "0" * RULES.enrolment.code_digits else "1" * len(code)
    )
    refused = await _confirm(client, token, pending["verificationId"], wrong)
    assert refused["code"] == "VERIFICATION_CODE_INVALID"
    confirmed = await _confirm(client, token, pending["verificationId"], code)
    assert confirmed["member"] == {"email": new, "emailVerified": True}
    assert (await _sign_in(client, "EMAIL", new, PASSWORD))["__typename"] == "SignedIn"
    assert (await _sign_in(client, "EMAIL", ADDRESS, PASSWORD))["__typename"] == "WrongCredentials"


async def test_a_taken_address_answers_the_same_and_its_owner_gets_a_notice(client: AsyncClient) -> None:
    owner = await enrolled_member(client, email="grace@example.com")
    asker = await enrolled_member(client, password=PASSWORD)

    taken = await _request(client, asker["accessToken"], email="grace@example.com")
    free = await _request(client, asker["accessToken"], email="free@example.com")

    # the same answer for both
    assert taken["__typename"] == free["__typename"] == "EmailVerificationPending"
    assert set(taken) == set(free) and taken["message"] == free["message"]
    # no code went to the taken address; its owner got a notice
    codes = [row.recipient for row in await Notification.filter(template=CODE_TEMPLATE)]
    assert codes == ["free@example.com"]
    [notice] = await Notification.filter(template=NOTICE_TEMPLATE)
    assert notice.recipient == "grace@example.com"
    assert notice.account_id == (await Member.get(account_number=owner["accountNumber"])).id
    # so that verification can only fail
    for guess in ("0" * RULES.enrolment.code_digits, "1" * RULES.enrolment.code_digits):
        refused = await _confirm(client, asker["accessToken"], taken["verificationId"], guess)
        assert refused["code"] == "VERIFICATION_CODE_INVALID"
    assert (await Member.get(account_number=asker["accountNumber"])).email == ADDRESS


async def test_a_verification_is_the_askers_own(client: AsyncClient) -> None:
    first = await _legacy_member(client)
    other = await enrolled_member(client, email="grace@example.com")
    pending = await _request(client, first["accessToken"])
    code = await verification_code(app_settings(client), pending["verificationId"])

    stolen = await _confirm(client, other["accessToken"], pending["verificationId"], code)

    assert stolen["code"] == "VERIFICATION_EXPIRED"
    assert (await Member.get(account_number=first["accountNumber"])).email_verified_at is None
    assert (await Member.get(account_number=other["accountNumber"])).email == "grace@example.com"


async def test_too_many_wrong_codes_end_the_verification(client: AsyncClient) -> None:
    enrolled = await _legacy_member(client)
    token = enrolled["accessToken"]
    pending = await _request(client, token)
    code = await verification_code(app_settings(client), pending["verificationId"])
    wrong = str((int(code) + 1) % 10**RULES.enrolment.code_digits).zfill(RULES.enrolment.code_digits)
    for _ in range(RULES.enrolment.max_code_attempts):
        assert (await _confirm(client, token, pending["verificationId"], wrong))["code"] == (
            "VERIFICATION_CODE_INVALID"
        )
    ended = await _confirm(client, token, pending["verificationId"], code)
    assert ended["code"] == "VERIFICATION_ATTEMPTS_EXCEEDED"
    row = await AddressVerification.get(public_id=pending["verificationId"])
    assert row.attempts == RULES.enrolment.max_code_attempts and row.confirmed_at is None


async def test_an_expired_code_is_refused(client: AsyncClient) -> None:
    enrolled = await _legacy_member(client)
    pending = await _request(client, enrolled["accessToken"])
    code = await verification_code(app_settings(client), pending["verificationId"])
    await AddressVerification.filter(public_id=pending["verificationId"]).update(
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    refused = await _confirm(client, enrolled["accessToken"], pending["verificationId"], code)
    assert refused["code"] == "VERIFICATION_EXPIRED"


async def test_event_messages_skip_an_unverified_address_until_it_is_verified(client: AsyncClient) -> None:
    enrolled = await _legacy_member(client)
    member = await Member.get(account_number=enrolled["accountNumber"])
    now = dt.datetime.now(dt.UTC)
    for purpose in (ConsentPurpose.EMAIL, ConsentPurpose.PUSH):
        await record_consent(
            account_id=member.id, purpose=purpose, given=True, text_version="v1", now=now, rules=RULES
        )

    async def credited(key: str) -> tuple[list[Channel], str]:
        await post(
            account_id=member.id,
            amounts={Currency.AWARD_MILES: 1200},
            source=PostingSource.PARTNER_ACCRUAL,
            idempotency_key=key,
            activity_date=now.date(),
            rule_version="test",
            rules=RULES,
        )
        event = (
            await DomainEvent.filter(account_id=member.id, type=EventType.POSTING_CREATED)
            .order_by("-id")
            .first()
        )
        assert event is not None
        dedupe = f"event:{event.id}:"

        async def told() -> list[Notification]:
            # the app's relay tells the event (every channel in one transaction); push is always one
            return await Notification.filter(template="miles_credited", dedupe_key__startswith=dedupe)

        rows = await eventually(told, lambda found: Channel.PUSH in {row.channel for row in found})
        return sorted(row.channel for row in rows), dedupe

    # unverified: push only
    assert (await credited("before"))[0] == [Channel.PUSH]

    # verified: e-mail too
    pending = await _request(client, enrolled["accessToken"])
    code = await verification_code(app_settings(client), pending["verificationId"])
    confirmed = await _confirm(client, enrolled["accessToken"], pending["verificationId"], code)
    assert confirmed["__typename"] == "EmailVerified"
    channels, dedupe = await credited("after")
    assert channels == [Channel.EMAIL, Channel.PUSH]
    [mail] = await Notification.filter(
        template="miles_credited", channel=Channel.EMAIL, dedupe_key__startswith=dedupe
    )
    assert mail.recipient == ADDRESS and open_payload(mail)["miles"] == 1200
