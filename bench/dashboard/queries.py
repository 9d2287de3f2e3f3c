"""The member dashboard: the GraphQL document the app sends, and the shape both servers answer with.

The baseline (``baseline.py``) answers with exactly the JSON milesgate answers this document with, so
``run.py`` can check that both return the same data before it measures either.
"""

from __future__ import annotations

DASHBOARD = """query Dashboard {
  me {
    accountNumber givenName familyName tier
    card { number validUntil }
    balances { awardMiles points qualifyingPoints honCirclePoints lifetimeQualifyingPoints }
    statement(first: 10) {
      edges { node { postingId activityDate bookedAt source partnerCode description
        amounts { currency amount } } }
      pageInfo { hasNextPage endCursor }
    }
    milesExpiring { expiresOn miles }
    offers(first: 3) { code partnerCode kind title bonusMiles endsAt activated personalised }
  }
}"""
"""Member, active card, balances, the last 10 transactions, miles expiring and 3 offers."""

STATEMENT_PAGE = 10
OFFERS_SHOWN = 3
