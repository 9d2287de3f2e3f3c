"""The signed-in member in one statement: profile, active card and balances (the dashboard's first read).

``SNAPSHOT_SQL`` answers what ``Member.get``, the active-card lookup and ``member_balances_for``
(balances plus this year's counters) answer together, with one fixed statement instead of four
ORM-built ones; ``read_dashboard`` (``loyalty.dashboard.read``) runs it, alone or with the rest of
the dashboard, and ``snapshot_from_row`` reads its row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from loyalty.fixed_sql import as_date, as_datetime, as_optional_date, enum_by_value
from loyalty.ledger.models import STATUS_CURRENCIES, Currency
from loyalty.members.models import CardState, Tier


@dataclass(frozen=True, slots=True)
class CardSnapshot:
    number: str
    state: CardState
    tier: Tier
    issued_at: dt.datetime
    valid_until: dt.date | None


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    account_id: int
    account_number: str
    given_name: str
    family_name: str
    email: str | None
    country: str
    language: str
    tier: Tier
    date_of_birth: dt.date
    user_id: str | None
    email_verified: bool
    card: CardSnapshot | None
    """The ACTIVE service card (the newest, should there ever be two); None without one."""
    balances: dict[Currency, int]
    """Every currency: running totals, and the counters of the year asked for (0 when none)."""


def _alias(currency: Currency) -> str:
    return f"b_{currency.value.lower()}"  # PostgreSQL folds unquoted names to lower case


def _balance_column(currency: Currency) -> str:
    if currency in STATUS_CURRENCIES:
        source = "year_counters b WHERE b.account_id = m.id AND b.year = $2 AND"
    else:
        source = "balances b WHERE b.account_id = m.id AND"
    return (
        f"coalesce((SELECT b.amount FROM {source} b.currency = '{currency.value}'), 0) AS {_alias(currency)}"  # noqa: S608 - enum values
    )


SNAPSHOT_SQL = f"""
SELECT m.id, m.account_number, m.given_name, m.family_name, m.email, m.country, m.language, m.tier,
       m.date_of_birth, m.user_id, m.email_verified_at IS NOT NULL AS email_verified,
       c.number AS card_number, c.state AS card_state, c.tier AS card_tier, c.issued_at AS card_issued_at,
       c.valid_until AS card_valid_until,
       {", ".join(_balance_column(currency) for currency in Currency)}
FROM members m
LEFT JOIN service_cards c ON c.id = (
  SELECT max(a.id) FROM service_cards a WHERE a.account_id = m.id AND a.state = '{CardState.ACTIVE.value}'
)
WHERE m.id = $1
"""  # noqa: S608 - constant fragments, no input


_CARD_STATE = enum_by_value(CardState)
_TIER = enum_by_value(Tier)
_BALANCE_ALIASES = tuple((currency, _alias(currency)) for currency in Currency)


def snapshot_from_row(row: dict[str, Any]) -> MemberSnapshot:
    card = None
    if row["card_number"] is not None:
        card = CardSnapshot(
            number=row["card_number"],
            state=_CARD_STATE(row["card_state"]),
            tier=_TIER(row["card_tier"]),
            issued_at=as_datetime(row["card_issued_at"]),
            valid_until=as_optional_date(row["card_valid_until"]),
        )
    return MemberSnapshot(
        account_id=int(row["id"]),
        account_number=row["account_number"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        email=row["email"],
        country=row["country"],
        language=row["language"],
        tier=_TIER(row["tier"]),
        date_of_birth=as_date(row["date_of_birth"]),
        user_id=row["user_id"],
        email_verified=bool(row["email_verified"]),
        card=card,
        balances={currency: int(row[alias]) for currency, alias in _BALANCE_ALIASES},
    )
