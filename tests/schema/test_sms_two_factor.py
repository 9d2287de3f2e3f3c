"""SMS codes and trusted devices through GraphQL (DOMAIN.md 2): set up, sign in with an SMS code, trust the
device, skip the code on it, list and revoke devices; signing out everywhere revokes them all; turning SMS
codes off takes a fresh code sent to the registered number."""

from __future__ import annotations

from typing import Any

from httpx2 import AsyncClient
from starlette.applications import Starlette

from gateway.notification_secrets import outbox_box
from gateway.workers.notifications import read_outbox
from loyalty.auth.sms import SMS_TEMPLATE
from loyalty.notifications.models import Notification, NotificationState
from loyalty.notifications.service import open_payload
from tests.factories import app_settings, enrolled_member, gql, identified_token
from tests.waiting import eventually

BEGIN = """
mutation B($phone: String!) {
  beginSmsTwoFactor(input: {phoneNumber: $phone}) {
    __typename ... on SmsCodeSent { phoneNumberHint expiresIn } ... on InputError { code field }
    ... on StepUpRequired { requiredLevel }
  }
}
"""
CONFIRM = """
mutation C($code: String!) {
  confirmSmsTwoFactor(input: {code: $code}) {
    __typename ... on SmsTwoFactorEnabled { phoneNumberHint } ... on WrongCredentials { code }
  }
}
"""
SIGN_IN = """
mutation S($scn: String!, $device: String) {
  signIn(input: {method: SERVICE_CARD_NUMBER, identifier: $scn, secret: "739152", trustedDeviceToken: $device}) {
    __typename ... on TwoFactorRequired { challenge methods } ... on SignedIn { accessToken }
  }
}
"""
SEND = """
mutation Send($challenge: String!) {
  sendSignInSmsCode(input: {challenge: $challenge}) {
    __typename ... on SmsCodeSent { phoneNumberHint } ... on InputError { code } ... on AccountLocked { code }
  }
}
"""
COMPLETE = """
mutation F($challenge: String!, $code: String!, $trust: Boolean!) {
  completeSecondFactor(input: {challenge: $challenge, code: $code, method: SMS, trustDevice: $trust,
                               deviceName: "Grace's phone"}) {
    __typename
    ... on SignedIn { accessToken sessionLevel trustedDeviceToken }
    ... on WrongCredentials { code }
    ... on AccountLocked { code unlocksAt }
    ... on SessionEnded { code }
  }
}
"""
DEVICES = "query { me { secondFactors trustedDevices { id name trustedAt expiresAt lastUsedAt } } }"
REVOKE = """
mutation R($id: ID!) {
  revokeTrustedDevice(input: {id: $id}) { __typename ... on TrustedDeviceRevoked { id } ... on InputError { code } }
}
"""
SIGN_OUT_EVERYWHERE = "mutation { signOutEverywhere { sessionsEnded } }"
SEND_DISABLE = """
mutation {
  sendDisableSmsTwoFactorCode {
    __typename
    ... on SmsCodeSent { phoneNumberHint expiresIn }
    ... on InputError { code }
    ... on AccountLocked { code }
    ... on StepUpRequired { requiredLevel }
  }
}
"""
DISABLE = """
mutation D($code: String!) {
  disableSmsTwoFactor(input: {code: $code}) {
    __typename
    ... on SmsTwoFactorDisabled { disabled }
    ... on WrongCredentials { code }
    ... on AccountLocked { code }
    ... on StepUpRequired { requiredLevel }
    ... on InputError { code }
  }
}
"""


async def sms_code(client: AsyncClient) -> str:
    """The code of the newest SMS: from its outbox row while it waits, else from the development sink."""
    settings = app_settings(client)

    async def found() -> str | None:
        row = await Notification.filter(template=SMS_TEMPLATE).order_by("-id").first()
        if row is None:
            return None
        if row.state is NotificationState.PENDING:
            return str(open_payload(row)["token"])
        lines = [
            line for line in read_outbox(settings.data_dir, outbox_box(settings)) if line["id"] == row.id
        ]
        return str(lines[0]["payload"]["token"]) if lines else None

    code = await eventually(found, lambda value: value is not None, what="the SMS code")
    assert code is not None
    return code


async def member_with_sms(client: AsyncClient) -> dict[str, Any]:
    enrolled = await enrolled_member(client)
    token = enrolled["accessToken"]
    begun = (await gql(client, BEGIN, {"phone": "+49 151 2345 6789"}, token=token))["data"][
        "beginSmsTwoFactor"
    ]
    assert begun == {"__typename": "SmsCodeSent", "phoneNumberHint": "+49•••••••••89", "expiresIn": 300}
    confirmed = (await gql(client, CONFIRM, {"code": await sms_code(client)}, token=token))["data"]
    assert confirmed["confirmSmsTwoFactor"] == {
        "__typename": "SmsTwoFactorEnabled",
        "phoneNumberHint": "+49•••••••••89",
    }
    return enrolled


async def sign_in(client: AsyncClient, scn: str, device: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(client, SIGN_IN, {"scn": scn, "device": device}))["data"]["signIn"]
    return result


async def test_a_member_signs_in_with_an_sms_code_and_trusts_the_device(client: AsyncClient) -> None:
    # given: SMS codes on
    enrolled = await member_with_sms(client)
    scn = enrolled["serviceCardNumber"]

    # when: signing in asks for the second factor, and the SMS code completes it with "trust this device"
    asked = await sign_in(client, scn)
    assert asked["__typename"] == "TwoFactorRequired" and asked["methods"] == ["SMS"]
    sent = (await gql(client, SEND, {"challenge": asked["challenge"]}))["data"]["sendSignInSmsCode"]
    assert sent == {"__typename": "SmsCodeSent", "phoneNumberHint": "+49•••••••••89"}
    code = await sms_code(client)
    done = (await gql(client, COMPLETE, {"challenge": asked["challenge"], "code": code, "trust": True}))[
        "data"
    ]
    signed_in = done["completeSecondFactor"]
    assert signed_in["__typename"] == "SignedIn" and signed_in["sessionLevel"] == "AUTHENTICATED"
    device_token = signed_in["trustedDeviceToken"]
    assert device_token

    # then: on that device the next sign-in skips the code; without the token it is asked again
    assert (await sign_in(client, scn, device_token))["__typename"] == "SignedIn"
    assert (await sign_in(client, scn))["__typename"] == "TwoFactorRequired"
    assert (await sign_in(client, scn, "not-a-device-token"))["__typename"] == "TwoFactorRequired"
    me = (await gql(client, DEVICES, token=signed_in["accessToken"]))["data"]["me"]
    assert me["secondFactors"] == ["SMS"]
    [device] = me["trustedDevices"]
    assert device["name"] == "Grace's phone" and device["lastUsedAt"] is not None


async def test_a_revoked_device_is_asked_for_the_code_again(client: AsyncClient, app: Starlette) -> None:
    enrolled = await member_with_sms(client)
    scn = enrolled["serviceCardNumber"]
    asked = await sign_in(client, scn)
    await gql(client, SEND, {"challenge": asked["challenge"]})
    done = await gql(
        client, COMPLETE, {"challenge": asked["challenge"], "code": await sms_code(client), "trust": True}
    )
    device_token = done["data"]["completeSecondFactor"]["trustedDeviceToken"]

    # an IDENTIFIED session (after a refresh) may revoke, like signing out everywhere
    token = await identified_token(app, enrolled["accountNumber"])
    [device] = (await gql(client, DEVICES, token=token))["data"]["me"]["trustedDevices"]
    revoked = (await gql(client, REVOKE, {"id": device["id"]}, token=token))["data"]["revokeTrustedDevice"]
    assert revoked == {"__typename": "TrustedDeviceRevoked", "id": device["id"]}
    again = (await gql(client, REVOKE, {"id": device["id"]}, token=token))["data"]["revokeTrustedDevice"]
    assert again == {"__typename": "InputError", "code": "DEVICE_NOT_FOUND"}
    assert (await sign_in(client, scn, device_token))["__typename"] == "TwoFactorRequired"


async def test_signing_out_everywhere_revokes_every_trusted_device(client: AsyncClient) -> None:
    enrolled = await member_with_sms(client)
    scn = enrolled["serviceCardNumber"]
    asked = await sign_in(client, scn)
    await gql(client, SEND, {"challenge": asked["challenge"]})
    done = await gql(
        client, COMPLETE, {"challenge": asked["challenge"], "code": await sms_code(client), "trust": True}
    )
    signed_in = done["data"]["completeSecondFactor"]
    await gql(client, SIGN_OUT_EVERYWHERE, token=signed_in["accessToken"])
    assert (await sign_in(client, scn, signed_in["trustedDeviceToken"]))["__typename"] == "TwoFactorRequired"


async def test_wrong_sms_codes_lock_the_sign_in(client: AsyncClient) -> None:
    enrolled = await member_with_sms(client)
    asked = await sign_in(client, enrolled["serviceCardNumber"])
    await gql(client, SEND, {"challenge": asked["challenge"]})
    code = await sms_code(client)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [
        (await gql(client, COMPLETE, {"challenge": asked["challenge"], "code": wrong, "trust": False}))[
            "data"
        ]["completeSecondFactor"]
        for _ in range(5)
    ]
    assert [answer.get("code") for answer in answers] == ["TWO_FACTOR_INVALID"] * 4 + ["TWO_FACTOR_LOCKED"]
    right = await gql(client, COMPLETE, {"challenge": asked["challenge"], "code": code, "trust": False})
    assert right["data"]["completeSecondFactor"]["code"] == "TWO_FACTOR_LOCKED"
    blocked = (await gql(client, SEND, {"challenge": asked["challenge"]}))["data"]["sendSignInSmsCode"]
    assert blocked == {"__typename": "AccountLocked", "code": "TWO_FACTOR_LOCKED"}


async def test_setting_up_needs_a_valid_number_and_an_authenticated_session(
    client: AsyncClient, app: Starlette
) -> None:
    enrolled = await enrolled_member(client)
    bad = (await gql(client, BEGIN, {"phone": "12"}, token=enrolled["accessToken"]))["data"][
        "beginSmsTwoFactor"
    ]
    assert bad == {"__typename": "InputError", "code": "PHONE_NUMBER_INVALID", "field": "phoneNumber"}
    identified = await identified_token(app, enrolled["accountNumber"])
    step_up = (await gql(client, BEGIN, {"phone": "+4915123456789"}, token=identified))["data"][
        "beginSmsTwoFactor"
    ]
    assert step_up == {"__typename": "StepUpRequired", "requiredLevel": "AUTHENTICATED"}


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


async def test_turning_sms_off_takes_a_fresh_code_sent_to_the_registered_number(client: AsyncClient) -> None:
    # given: SMS codes on, and a code for turning them off sent to the registered number
    enrolled = await member_with_sms(client)
    token = enrolled["accessToken"]
    sent = (await gql(client, SEND_DISABLE, token=token))["data"]["sendDisableSmsTwoFactorCode"]
    assert sent == {"__typename": "SmsCodeSent", "phoneNumberHint": "+49•••••••••89", "expiresIn": 300}
    row = await Notification.filter(template=SMS_TEMPLATE).order_by("-id").first()
    assert row is not None and row.recipient == "+4915123456789"
    code = await sms_code(client)

    # when: a wrong code is given, then the right one
    refused = (await gql(client, DISABLE, {"code": wrong(code)}, token=token))["data"]["disableSmsTwoFactor"]
    still_on = (await gql(client, DEVICES, token=token))["data"]["me"]["secondFactors"]
    done = (await gql(client, DISABLE, {"code": code}, token=token))["data"]["disableSmsTwoFactor"]

    # then: the wrong one changed nothing, the right one turned SMS codes off
    assert refused == {"__typename": "WrongCredentials", "code": "TWO_FACTOR_INVALID"}
    assert still_on == ["SMS"]
    assert done == {"__typename": "SmsTwoFactorDisabled", "disabled": True}
    assert (await gql(client, DEVICES, token=token))["data"]["me"]["secondFactors"] == []
    assert (await sign_in(client, enrolled["serviceCardNumber"]))["__typename"] == "SignedIn"
    # and there is nothing left to turn off
    again = (await gql(client, SEND_DISABLE, token=token))["data"]["sendDisableSmsTwoFactorCode"]
    assert again == {"__typename": "InputError", "code": "SMS_TWO_FACTOR_NOT_ENABLED"}


async def test_a_sign_in_code_does_not_turn_sms_off(client: AsyncClient) -> None:
    # given: a member signed in with an SMS code, who asked no code for turning SMS off
    enrolled = await member_with_sms(client)
    asked = await sign_in(client, enrolled["serviceCardNumber"])
    await gql(client, SEND, {"challenge": asked["challenge"]})
    code = await sms_code(client)
    signed_in = (
        await gql(client, COMPLETE, {"challenge": asked["challenge"], "code": code, "trust": False})
    )["data"]["completeSecondFactor"]
    token = signed_in["accessToken"]

    # when: that sign-in's code is given to turn SMS off
    result = (await gql(client, DISABLE, {"code": code}, token=token))["data"]["disableSmsTwoFactor"]

    # then: refused, and SMS codes stay on
    assert result == {"__typename": "WrongCredentials", "code": "TWO_FACTOR_INVALID"}
    assert (await gql(client, DEVICES, token=token))["data"]["me"]["secondFactors"] == ["SMS"]


async def test_turning_sms_off_needs_an_authenticated_session_and_a_code(
    client: AsyncClient, app: Starlette
) -> None:
    enrolled = await member_with_sms(client)
    identified = await identified_token(app, enrolled["accountNumber"])
    step_up = {"__typename": "StepUpRequired", "requiredLevel": "AUTHENTICATED"}

    asked = (await gql(client, SEND_DISABLE, token=identified))["data"]["sendDisableSmsTwoFactorCode"]
    disabled = (await gql(client, DISABLE, {"code": "123456"}, token=identified))["data"][
        "disableSmsTwoFactor"
    ]
    without_code = await gql(
        client, "mutation { disableSmsTwoFactor { __typename } }", token=enrolled["accessToken"]
    )

    assert asked == step_up and disabled == step_up
    assert await Notification.filter(template=SMS_TEMPLATE).count() == 1  # the set-up's code only
    assert "disableSmsTwoFactor" in without_code["errors"][0]["message"]
    me = (await gql(client, DEVICES, token=enrolled["accessToken"]))["data"]["me"]
    assert me["secondFactors"] == ["SMS"]
