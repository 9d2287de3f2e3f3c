"""Challenges and the monthly quiz over GraphQL (issue 7)."""

from __future__ import annotations

import datetime as dt

from httpx2 import AsyncClient

from loyalty.engagement import quiz
from tests.factories import enrolled_member, gql

CHALLENGES = "query { me { challenges { code joined progress target kind } quiz { month question options myAnswer } } }"
JOIN = """
mutation Join($code: String!) {
  joinChallenge(code: $code) {
    __typename ... on ChallengeJoined { challenge { code joined progress } } ... on InputError { code }
  }
}
"""
ENTER = """
mutation Enter($answer: Int!) {
  enterQuiz(answer: $answer) { __typename ... on QuizEntered { month answer } ... on InputError { code } }
}
"""


async def test_join_a_challenge_and_answer_the_quiz(client: AsyncClient) -> None:
    token = (await enrolled_member(client))["accessToken"]
    before = (await gql(client, CHALLENGES, token=token))["data"]["me"]
    codes = {c["code"]: c for c in before["challenges"]}
    assert codes["LHG-2-FLIGHTS-2026-12"]["joined"] is False
    assert before["quiz"] is None

    joined = (await gql(client, JOIN, {"code": "LHG-2-FLIGHTS-2026-12"}, token=token))["data"][
        "joinChallenge"
    ]
    assert joined == {
        "__typename": "ChallengeJoined",
        "challenge": {"code": "LHG-2-FLIGHTS-2026-12", "joined": True, "progress": 0},
    }
    twice = (await gql(client, JOIN, {"code": "LHG-2-FLIGHTS-2026-12"}, token=token))["data"]["joinChallenge"]
    assert twice == {"__typename": "InputError", "code": "ALREADY_JOINED"}

    now = dt.datetime.now(dt.UTC)
    await quiz.create_quiz(
        month=quiz.month_of(now),
        question="How many miles does a redemption need at least?",
        options=["1,000", "3,000"],
        correct_option=1,
        prizes=[{"partner": "shop", "prize": "Trolley", "count": 1}],
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(hours=1),
        actor="operator:ada",
        now=now,
    )
    entered = (await gql(client, ENTER, {"answer": 1}, token=token))["data"]["enterQuiz"]
    assert entered == {"__typename": "QuizEntered", "month": quiz.month_of(now), "answer": 1}
    again = (await gql(client, ENTER, {"answer": 0}, token=token))["data"]["enterQuiz"]
    assert again == {"__typename": "InputError", "code": "ALREADY_ENTERED"}
    after = (await gql(client, CHALLENGES, token=token))["data"]["me"]["quiz"]
    assert after["myAnswer"] == 1
