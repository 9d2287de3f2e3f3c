"""Which second factors a member has on: the authenticator app, SMS codes, or both (DOMAIN.md 2)."""

from __future__ import annotations

from enum import StrEnum

from loyalty.auth.models import SmsFactor, TotpFactor
from loyalty.fixed_sql import fetch


class SecondFactor(StrEnum):
    APP = "APP"
    SMS = "SMS"


_CONFIRMED_SQL = f"""SELECT
  EXISTS (SELECT 1 FROM "{TotpFactor._meta.db_table}" WHERE "account_id" = $1 AND "confirmed_at" IS NOT NULL) AS app,
  EXISTS (SELECT 1 FROM "{SmsFactor._meta.db_table}" WHERE "account_id" = $1 AND "confirmed_at" IS NOT NULL) AS sms"""  # noqa: S608 - table names of the models


async def second_factors(*, account_id: int) -> tuple[SecondFactor, ...]:
    """The member's confirmed second factors, the app first; empty when sign-in needs none. One statement:
    every sign-in asks."""
    [row] = await fetch(_CONFIRMED_SQL, account_id)
    return tuple(
        factor for factor, on in ((SecondFactor.APP, row["app"]), (SecondFactor.SMS, row["sms"])) if on
    )
