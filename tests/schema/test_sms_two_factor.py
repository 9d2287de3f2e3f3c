"""SMS codes and trusted devices through GraphQL (DOMAIN.md 2): set up, sign in with an SMS code, trust the
device, skip the code on it, list and revoke devices; signing out everywhere revokes them all."""

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
