"""Storing a verified delivery in the partner inbox with one fixed statement (``loyalty.fixed_sql``).

The insert is the entry point's only statement in the common case: ``ON CONFLICT DO NOTHING`` on the
inbox's two unique indexes turns a duplicate into no row instead of an error, and only then is the stored
row looked up. Building the insert through the ORM cost more CPU than PostgreSQL needs to run it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from loyalty.fixed_sql import fetch
from webhooks.models import InboxState, PartnerInbox

INSERT_SQL = """
INSERT INTO partner_inbox (partner_id, webhook_id, business_key, event_type, payload, state, attempts,
                           received_at)
VALUES ($1, $2, $3, $4, $5, $6, 0, $7)
ON CONFLICT DO NOTHING
RETURNING id
"""
DUPLICATE_SQL = """
SELECT id FROM partner_inbox
WHERE partner_id = $1 AND (webhook_id = $2 OR business_key = $3)
ORDER BY CASE WHEN webhook_id = $2 THEN 0 ELSE 1 END
LIMIT 1
"""
_RECEIVED_AT = PartnerInbox._meta.fields_map["received_at"]


async def store_delivery(
    *, partner_id: int, webhook_id: str, event_type: str, event: dict[str, Any], business_key: str
) -> int | None:
    """The new inbox row's id, or None when the webhook id or the business key is stored already."""
    received_at = _RECEIVED_AT.to_db_value(dt.datetime.now(dt.UTC), PartnerInbox)
    rows = await fetch(
        INSERT_SQL,
        partner_id,
        webhook_id,
        business_key,
        event_type,
        orjson.dumps(event).decode(),
        InboxState.PENDING.value,
        received_at,
    )
    return int(rows[0]["id"]) if rows else None


async def stored_duplicate(*, partner_id: int, webhook_id: str, business_key: str) -> int:
    """The inbox row a refused insert duplicates: the same webhook id first, else the same business key."""
    rows = await fetch(DUPLICATE_SQL, partner_id, webhook_id, business_key)
    if not rows:
        raise RuntimeError("the inbox refused a delivery that duplicates no stored row")
    return int(rows[0]["id"])
