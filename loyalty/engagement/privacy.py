"""Challenges, quizzes and activated offers as a source of personal data (``loyalty.privacy.sources``).

Here rather than in ``loyalty.privacy``: the quiz draw audits through ``loyalty.privacy``, so the privacy
package must not import this one; the gateway hands this source to export and erasure with the others."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loyalty.engagement.models import ChallengeEnrolment, QuizEntry, QuizWinner
from loyalty.offers.models import OfferActivation
from loyalty.privacy.sources import rows


class EngagementSource:
    name = "engagement"
    tables = (ChallengeEnrolment, QuizEntry, QuizWinner, OfferActivation)

    async def export(self, account_id: int) -> Any:
        return {
            "challengeEnrolments": rows(
                await ChallengeEnrolment.filter(account_id=account_id).order_by("id")
            ),
            "quizEntries": rows(await QuizEntry.filter(account_id=account_id).order_by("id")),
            "quizPrizes": rows(await QuizWinner.filter(account_id=account_id).order_by("id")),
            "offerActivations": rows(await OfferActivation.filter(account_id=account_id).order_by("id")),
        }

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        """Like redemptions these stay: challenge rewards, offer bonuses and prizes were credited through
        the ledger, which refers to them, and a quiz entry is a number; none of them names the person."""
        return 0
