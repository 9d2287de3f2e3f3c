"""Test data in one place: members, partners and GraphQL documents used by several test modules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx2 import ASGITransport, AsyncClient
from starlette.applications import Starlette

from gateway.notification_secrets import outbox_box
from gateway.partner_secrets import partner_secret_box
from gateway.services import services
from gateway.settings import Settings
from gateway.tokens import TokenService
from gateway.workers.notifications import FileSink, read_outbox
from loyalty.addresses import CODE_TEMPLATE as VERIFICATION_TEMPLATE
from loyalty.enrolment import CODE_TEMPLATE, EnrolledMember, Enrolment, enrol
from loyalty.members.models import Member, SessionLevel
from loyalty.notifications.models import Notification
from loyalty.notifications.service import deliver_pending, open_payload
from loyalty.rules import current_rules
from partners.models import PartnerCapability, PartnerKind
from partners.secret_box import SecretBox
from partners.service import NewPartner, add_partner
from tests.support import wait_for_sync
from tests.waiting import eventually

ENROL_MEMBER = """
mutation Enrol($input: EnrolMemberInput!) {
  enrolMember(input: $input) {
    __typename
    ... on EnrolmentPending { enrolmentId expiresAt message }
    ... on InputError { code field message }
  }
}
"""

CONFIRM_ENROLMENT = """
mutation Confirm($input: ConfirmEnrolmentInput!) {
  confirmEnrolment(input: $input) {
    __typename
    ... on EnrolMemberSuccess {
      serviceCardNumber accountNumber accessToken expiresIn
      member { accountNumber givenName tier }
    }
    ... on InputError { code field message }
  }
}
"""

ME = """
query Me {
  me {
    accountNumber givenName familyName
    card { number numberGrouped state tier holderName }
    balances { awardMiles points qualifyingPoints honCirclePoints lifetimeQualifyingPoints }
  }
}
"""


def enrolment_input(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "givenName": "Ada",
        "familyName": "Lovelace",
        "email": "ada@example.com",
        "dateOfBirth": "1990-12-10",
        "country": "DE",
        "pin": "739152",
    }
    data.update(overrides)
    return data


async def gql(
    client: AsyncClient, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def admin_gql(
    client: AsyncClient, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
) -> dict[str, Any]:
    """A document posted to the operators' schema (``/admin/graphql``)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/admin/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_member(
    email: str = "member@example.com", *, advertising_consent: bool = True, email_verified: bool = True
) -> EnrolledMember:
    """A member as enrolment makes one (its address verified); ``email_verified=False``: one enrolled
    before addresses were verified."""
    return await enrol(
        enrolment=Enrolment(
            given_name="Grace",
            family_name="Hopper",
            email=email,
            date_of_birth=dt.date(1985, 3, 4),
            country="DE",
            pin="739152",
            advertising_consent=advertising_consent,
        ),
        rules=current_rules(),
        email_verified_at=dt.datetime.now(dt.UTC) if email_verified else None,
    )


TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


def partner_box_for_tests() -> SecretBox:
    """The box the test app encrypts partner secrets with (every test stack uses TEST_SECRET)."""
    return partner_secret_box(Settings(secret_key=TEST_SECRET))


async def make_partner(
    code: str = "swiss",
    kind: PartnerKind = PartnerKind.AIRLINE,
    *,
    capabilities: set[PartnerCapability] | None = None,
) -> NewPartner:
    return await add_partner(
        code=code, name=code.upper(), kind=kind, box=partner_box_for_tests(), capabilities=capabilities
    )


def _code_in(
    settings: Settings, enrolment_id: str, *, template: str = CODE_TEMPLATE, key: str = "enrolment_id"
) -> str | None:
    """The code of ``enrolment_id`` in the development sink's sealed outbox, once the message was sent
    (another e-mailed code: its ``template`` and the payload ``key`` that names its id)."""
    for line in reversed(read_outbox(settings.data_dir, outbox_box(settings))):
        payload = line["payload"]
        if line["template"] == template and payload.get(key) == enrolment_id:
            return str(payload["token"])
    return None


async def _code_waiting(
    enrolment_id: str, *, template: str = CODE_TEMPLATE, key: str = "enrolment_id"
) -> str | None:
    """The code of ``enrolment_id`` from its notification row while it is not sent (sealed there; blanked
    once sent), opened with the key this process installed when it opened the database."""
    for row in await Notification.filter(template=template).order_by("-id"):
        payload = open_payload(row)
        if payload.get(key) == enrolment_id and str(payload.get("token", "")).isdigit():
            return str(payload["token"])
    return None


async def enrolment_code(
    settings: Settings,
    enrolment_id: str,
    *,
    deliver: bool = True,
    template: str = CODE_TEMPLATE,
    key: str = "enrolment_id",
) -> str:
    """The code e-mailed for ``enrolment_id``, read from the app's sealed ``<data dir>/outbox.jsonl`` (the
    code is blanked in the notification row once sent). ``deliver``: send the outbox from this process first
    (its database is open here); otherwise wait for the app's own sender (a served process). ``template``
    and ``key``: another e-mailed code (an address verification: ``verification_code``)."""
    sink = FileSink(settings.data_dir, outbox_box(settings))

    async def sent() -> str | None:
        if deliver:
            # The app's own sender may have taken the message first: in production it sends over SMTP,
            # to a test mail server that is not there, and the row waits, its code sealed, for a retry.
            waiting = await _code_waiting(enrolment_id, template=template, key=key)
            if waiting is not None:
                return waiting
            await deliver_pending(sender=sink, now=dt.datetime.now(dt.UTC))
        return _code_in(settings, enrolment_id, template=template, key=key)

    code = await eventually(sent, lambda found: found is not None, what=f"the code of {key} {enrolment_id}")
    assert code is not None
    return code


async def verification_code(settings: Settings, verification_id: str) -> str:
    """The code e-mailed to verify an address (``requestEmailVerification``)."""
    return await enrolment_code(
        settings, verification_id, template=VERIFICATION_TEMPLATE, key="verification_id"
    )


def enrolment_code_sync(settings: Settings, enrolment_id: str) -> str:
    """The same for a served process's sender, from synchronous tests."""
    found: list[str] = []

    def sent() -> bool:
        code = _code_in(settings, enrolment_id)
        found[:] = [code] if code is not None else []
        return bool(found)

    wait_for_sync(sent, timeout_s=10, interval_s=0.1, what=f"the code of enrolment {enrolment_id}")
    return found[0]


def app_settings(client: AsyncClient) -> Settings:
    """The settings of the in-process app behind ``client`` (its data directory and key: its outbox)."""
    transport = client._transport
    assert isinstance(transport, ASGITransport), transport
    app = transport.app
    assert isinstance(app, Starlette), app
    return services(app).settings


async def confirm_enrolment(client: AsyncClient, enrolment_id: str, code: str) -> dict[str, Any]:
    body = await gql(client, CONFIRM_ENROLMENT, {"input": {"enrolmentId": enrolment_id, "code": code}})
    result: dict[str, Any] = body["data"]["confirmEnrolment"]
    return result


async def enrol_through_graphql(
    client: AsyncClient, *, settings: Settings | None = None, deliver: bool = True, **overrides: Any
) -> dict[str, Any]:
    """Both steps of enrolment through GraphQL with the code from the outbox: the confirmation's result
    (``EnrolMemberSuccess`` or an ``InputError``), or the first step's refusal. The app is in this process
    unless ``settings`` are a served one's (then pass ``deliver=False``: its own sender sends)."""
    body = await gql(client, ENROL_MEMBER, {"input": enrolment_input(**overrides)})
    pending: dict[str, Any] = body["data"]["enrolMember"]
    if pending["__typename"] != "EnrolmentPending":
        return pending
    code = await enrolment_code(settings or app_settings(client), pending["enrolmentId"], deliver=deliver)
    return await confirm_enrolment(client, pending["enrolmentId"], code)


async def enrolled_member(
    client: AsyncClient, *, settings: Settings | None = None, deliver: bool = True, **overrides: Any
) -> dict[str, Any]:
    """Enrol through GraphQL (both steps); the success result (account and card numbers, access token)."""
    result = await enrol_through_graphql(client, settings=settings, deliver=deliver, **overrides)
    assert result["__typename"] == "EnrolMemberSuccess", result
    return result


def enrolled_member_sync(http: Any, settings: Settings, **overrides: Any) -> dict[str, Any]:
    """The same for a synchronous client (Starlette's ``TestClient``, ``httpx2.Client``) of an app with
    ``settings`` that sends its own outbox (its in-process sender)."""
    variables = {"input": enrolment_input(**overrides)}
    pending = http.post("/graphql", json={"query": ENROL_MEMBER, "variables": variables}).json()
    pending = pending["data"]["enrolMember"]
    assert pending["__typename"] == "EnrolmentPending", pending
    code = enrolment_code_sync(settings, pending["enrolmentId"])
    confirm = {"input": {"enrolmentId": pending["enrolmentId"], "code": code}}
    confirmed = http.post("/graphql", json={"query": CONFIRM_ENROLMENT, "variables": confirm}).json()
    result: dict[str, Any] = confirmed["data"]["confirmEnrolment"]
    assert result["__typename"] == "EnrolMemberSuccess", result
    return result


async def identified_token(app: Starlette, account_number: str) -> str:
    """An access token at IDENTIFIED level (as after a refresh): for step-up tests."""
    member = await Member.get(account_number=account_number)
    tokens: TokenService = services(app).tokens
    return tokens.issue(
        account_id=member.id, level=SessionLevel.IDENTIFIED, generation=member.session_generation
    )
