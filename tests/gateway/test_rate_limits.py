"""Rate limits per client IP, per member and per sensitive operation; aliases and fragments count
one by one, and a refusal is a RATE_LIMITED error with a retry time and HTTP 429."""

from __future__ import annotations

from typing import Any

import pytest
from httpx2 import AsyncClient

from loyalty.members.models import PendingEnrolment
from tests.factories import CONFIRM_ENROLMENT, ENROL_MEMBER, enrolled_member, enrolment_input
from tests.gateway.conftest import ClientFactory, EdgeApps

# the shared rate-limit windows: Redis on the production stack, and a Redis Cluster in .ci/run's cluster part
pytestmark = pytest.mark.redis

SIGN_IN = (
    '{alias}: signIn(input: {{method: SERVICE_CARD_NUMBER, identifier: "992000000000000", secret: "284917"}}) '
    "{{ __typename }}"
)


def sign_ins(count: int, start: int = 0) -> str:
    return " ".join(SIGN_IN.format(alias=f"a{n}") for n in range(start, start + count))


async def post(client: AsyncClient, query: str, token: str | None = None, **extra: Any) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json={"query": query, **extra}, headers=headers)


def assert_rate_limited(response: Any, scope: str) -> None:
    assert response.status_code == 429
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["scope"] == scope
    retry_after = error["extensions"]["retryAfter"]
    assert isinstance(retry_after, int) and 1 <= retry_after <= 900
    assert response.headers["retry-after"] == str(retry_after)


async def test_every_aliased_sign_in_counts(edge_client: ClientFactory) -> None:
    client = await edge_client(rate_limit_sign_in=5)
    four = await post(client, f"mutation {{ {sign_ins(4)} }}")
    assert four.status_code == 200 and len(four.json()["data"]) == 4
    # one more is fine, two more are not: the whole request is refused before anything runs
    refused = await post(client, f"mutation {{ {sign_ins(2)} }}")
    assert_rate_limited(refused, "sign_in")


async def test_sign_ins_in_fragments_count_too(edge_client: ClientFactory) -> None:
    client = await edge_client(rate_limit_sign_in=3)
    document = f"mutation {{ ...A ...B }} fragment A on Mutation {{ {sign_ins(2)} }} " + (
        f"fragment B on Mutation {{ {sign_ins(2, start=2)} }}"
    )
    assert_rate_limited(await post(client, document), "sign_in")


async def test_the_limit_is_per_client_ip(edge_apps: EdgeApps) -> None:
    app = await edge_apps.app(rate_limit_sign_in=2)
    first = await edge_apps.client(app, "198.51.100.1")
    second = await edge_apps.client(app, "198.51.100.2")
    assert (await post(first, f"mutation {{ {sign_ins(2)} }}")).status_code == 200
    assert_rate_limited(await post(first, f"mutation {{ {sign_ins(1)} }}"), "sign_in")
    assert (await post(second, f"mutation {{ {sign_ins(2)} }}")).status_code == 200


async def test_resets_second_factor_and_lost_number_forms_are_limited(edge_client: ClientFactory) -> None:
    client = await edge_client(rate_limit_reset=2, rate_limit_two_factor=1, rate_limit_lost_number=1)
    reset = 'mutation { a: requestPasswordReset(email: "x@example.com") { __typename } ' + (
        'b: remindUserId(email: "x@example.com") { __typename } }'
    )
    assert (await post(client, reset)).status_code == 200
    assert_rate_limited(
        await post(client, 'mutation { completePinReset(token: "t", newPin: "739152") { __typename } }'),
        "reset",
    )

    two_factor = 'mutation { completeSignIn(challenge: "c", code: "123456") { __typename } }'
    assert (await post(client, two_factor)).status_code == 200
    assert_rate_limited(await post(client, two_factor), "two_factor")

    lost = (
        "mutation($input: LostServiceCardNumberInput!) "
        "{ reportLostServiceCardNumber(input: $input) { __typename } }"
    )
    variables = {
        "input": {
            "givenName": "Ada",
            "familyName": "Lovelace",
            "dateOfBirth": "1990-12-10",
            "email": "ada@example.com",
            "idDocumentReference": "certified copy 17",
        }
    }
    await post(client, lost, variables=variables)
    assert_rate_limited(await post(client, lost, variables=variables), "lost_number")


@pytest.mark.parametrize(
    "document",
    [
        'mutation { completeSecondFactor(input: {challenge: "c", code: "123456"}) { __typename } }',
        'mutation { sendSignInSmsCode(input: {challenge: "c"}) { __typename } }',
        'mutation { beginSmsTwoFactor(input: {phoneNumber: "+4915112345678"}) { __typename } }',
        'mutation { confirmSmsTwoFactor(input: {code: "123456"}) { __typename } }',
    ],
    ids=["completeSecondFactor", "sendSignInSmsCode", "beginSmsTwoFactor", "confirmSmsTwoFactor"],
)
async def test_second_factor_and_sms_code_fields_count_against_the_two_factor_limit(
    edge_client: ClientFactory, document: str
) -> None:
    # given: one second-factor operation allowed per window
    client = await edge_client(rate_limit_two_factor=1)

    # when / then: the first is answered (whatever its answer), the second refused before it runs
    assert (await post(client, document)).status_code == 200
    assert_rate_limited(await post(client, document), "two_factor")


async def test_enrolment_has_a_per_ip_limit_of_its_own(edge_apps: EdgeApps) -> None:
    app = await edge_apps.app(rate_limit_enrolment=3)
    first = await edge_apps.client(app, "198.51.100.1")
    second = await edge_apps.client(app, "198.51.100.2")
    # one enrolment is two fields (enrolMember, then confirmEnrolment) ...
    await enrolled_member(first, email="one@example.com")
    pending = await post(first, ENROL_MEMBER, variables={"input": enrolment_input(email="two@example.com")})
    assert pending.json()["data"]["enrolMember"]["__typename"] == "EnrolmentPending"
    # ... so the fourth field from this IP is refused, before anything is written
    before = await PendingEnrolment.all().count()
    refused = await post(first, ENROL_MEMBER, variables={"input": enrolment_input(email="three@example.com")})
    assert_rate_limited(refused, "enrolment")
    confirm = {"input": {"enrolmentId": pending.json()["data"]["enrolMember"]["enrolmentId"], "code": "0"}}
    assert_rate_limited(await post(first, CONFIRM_ENROLMENT, variables=confirm), "enrolment")
    assert await PendingEnrolment.all().count() == before
    # aliases count one by one
    aliased = (
        "mutation($input: EnrolMemberInput!) { a: enrolMember(input: $input) { __typename } "
        "b: enrolMember(input: $input) { __typename } c: enrolMember(input: $input) { __typename } "
        "d: enrolMember(input: $input) { __typename } }"
    )
    assert_rate_limited(await post(second, aliased, variables={"input": enrolment_input()}), "enrolment")
    # another IP is not held up by the others, and sign-in is not held up by enrolment
    third = await edge_apps.client(app, "198.51.100.3")
    assert (await enrolled_member(third, email="four@example.com"))["accessToken"]
    assert (await post(first, f"mutation {{ {sign_ins(1)} }}")).status_code == 200


async def test_requests_are_limited_per_ip(edge_client: ClientFactory) -> None:
    client = await edge_client(rate_limit_per_ip=3)
    for _ in range(3):
        assert (await post(client, "{ __typename }")).status_code == 200
    assert_rate_limited(await post(client, "{ __typename }"), "ip")


async def test_requests_are_limited_per_member(edge_client: ClientFactory) -> None:
    client = await edge_client(rate_limit_per_member=2)
    token = (await enrolled_member(client))["accessToken"]
    for _ in range(2):
        me = await post(client, "{ me { accountNumber } }", token=token)
        assert me.status_code == 200 and me.json()["data"]["me"]["accountNumber"]
    assert_rate_limited(await post(client, "{ me { accountNumber } }", token=token), "member")
    # the same IP without the member's token still gets through
    assert (await post(client, "{ __typename }")).status_code == 200


async def test_travel_id_login_is_limited_per_ip(edge_client: ClientFactory) -> None:
    client = await edge_client(rate_limit_travel_id=2)
    for _ in range(2):
        response = await client.get("/auth/travel-id/login")
        assert response.status_code != 429
    refused = await client.get("/auth/travel-id/login")
    assert refused.status_code == 429
    body = refused.json()["error"]
    assert body["code"] == "RATE_LIMITED" and refused.headers["retry-after"] == str(body["retryAfter"])


async def test_a_limit_of_zero_turns_it_off(edge_client: ClientFactory) -> None:
    client = await edge_client(rate_limit_sign_in=0)
    assert (await post(client, f"mutation {{ {sign_ins(8)} }}")).status_code == 200
