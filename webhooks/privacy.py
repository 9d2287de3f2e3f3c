"""The partner inbox as a source of personal data: deliveries that name a member are exported, and on
erasure their stored payloads lose every field that identifies the person (amounts and ids stay)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loyalty.privacy.sources import ERASED, plain
from webhooks.models import PartnerInbox

PERSONAL_KEYS = frozenset(
    {
        "serviceCardNumber",
        "accountNumber",
        "frequentFlyerNumber",
        "givenName",
        "familyName",
        "firstName",
        "lastName",
        "name",
        "passengerName",
        "email",
        "phone",
        "dateOfBirth",
        "address",
    }
)


def strip_personal(value: Any) -> Any:
    """A copy of a payload with every personal field (at any depth) replaced by ``erased``."""
    if isinstance(value, dict):
        return {key: ERASED if key in PERSONAL_KEYS else strip_personal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [strip_personal(item) for item in value]
    return value


class InboxSource:
    name = "partnerDeliveries"
    tables = (PartnerInbox,)

    async def export(self, account_id: int) -> Any:
        deliveries = await PartnerInbox.filter(account_id=account_id).order_by("id").select_related("partner")
        return [
            {
                "partner": row.partner.code,
                "webhookId": row.webhook_id,
                "eventType": row.event_type,
                "receivedAt": plain(row.received_at),
                "state": plain(row.state),
                "payload": row.payload,
            }
            for row in deliveries
        ]

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        changed = 0
        for row in await PartnerInbox.filter(account_id=account_id).select_for_update():
            row.payload = strip_personal(row.payload)
            await row.save(update_fields=["payload"])
            changed += 1
        return changed
