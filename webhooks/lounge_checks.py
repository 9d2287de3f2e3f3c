"""The lounge and Fast Lane check, as partners ask for it: a signed request answered at once.

Partners talk to us with Standard Webhooks-signed requests (``webhooks.inbound``); a check cannot wait for
the inbox worker (the traveller stands at the desk), so it is the one request answered synchronously:
``POST /webhooks/partners/{code}/lounge-checks`` with a ``lounge.check`` body, signed like an event. The
partner needs the ``lounge_checks`` capability. The ``webhook-id`` is the request id: sent again (a retry
after a lost answer), it gets the recorded answer and records nothing more.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from loyalty.errors import DomainError
from loyalty.lounges.admission import AdmissionTable, Facility
from loyalty.lounges.models import LoungeCheck
from loyalty.lounges.service import CheckOutcome, PrivilegeCheck, check_privilege, refusal_message
from loyalty.rules import ProgrammeRules
from partners.models import PartnerCapability
from partners.secret_box import SecretBox
from partners.verification import VerificationCache
from webhooks.inbound import parse_event, verified_partner
from webhooks.signatures import DeliveryRefused

SCHEMA_FILE = Path(__file__).parent / "schemas" / "requests" / "lounge.check.json"
_SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
Draft202012Validator.check_schema(_SCHEMA)
_VALIDATOR = Draft202012Validator(_SCHEMA)


async def answer_lounge_check(
    *,
    partner_code: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_s: int,
    box: SecretBox,
    rules: ProgrammeRules,
    table: AdmissionTable,
    now: dt.datetime,
    verifications: VerificationCache | None = None,
) -> dict[str, Any]:
    """Verify, check and record; the JSON answer. Refusals of the request itself are ``DeliveryRefused``.

    ``verifications``: the process's cache of partners' signing material, as for event deliveries."""
    partner, normalised = await verified_partner(
        partner_code=partner_code,
        headers=headers,
        body=body,
        tolerance_s=tolerance_s,
        box=box,
        verifications=verifications,
    )
    if PartnerCapability.LOUNGE_CHECKS not in partner.capabilities:
        raise DeliveryRefused(
            403, "CAPABILITY_MISSING", "this partner may not ask for lounge checks (needs 'lounge_checks')"
        )
    _, event = parse_event(body)
    error = best_match(_VALIDATOR.iter_errors(event))
    if error is not None:
        path = ".".join(str(part) for part in error.absolute_path)
        code = "EVENT_TYPE_UNKNOWN" if path == "type" else "PAYLOAD_INVALID"
        raise DeliveryRefused(400, code, f"{path or 'the request'}: {error.message}"[:500], path=path)
    data = event["data"]
    asked = PrivilegeCheck(
        service_card_number=data["serviceCardNumber"],
        facility=Facility(data["facility"]),
        airport=data["airport"],
        boarding_pass=data["boardingPass"],
        fare_family=data.get("fareFamily"),
    )
    try:
        outcome = await check_privilege(
            partner_id=partner.id,
            request_id=normalised["webhook-id"],
            asked=asked,
            rules=rules,
            table=table,
            now=now,
        )
    except DomainError as refused:
        path = f"data.{refused.field}" if refused.field else ""
        raise DeliveryRefused(422, refused.code, refused.message, path=path) from None
    return check_answer(outcome)


def check_answer(outcome: CheckOutcome) -> dict[str, Any]:
    """The JSON a partner gets: the decision, its ground or reason, and what the check read."""
    check: LoungeCheck = outcome.check
    return {
        "checkId": str(check.id),
        "duplicate": outcome.duplicate,
        "admitted": check.admitted,
        "ground": check.ground,
        "reason": check.reason.value if check.reason is not None else None,
        "message": refusal_message(check.reason) if not check.admitted else "Welcome.",
        "facility": check.facility.value,
        "airport": check.airport,
        "tier": check.tier.value if check.tier is not None else None,
        "cabin": check.cabin,
        "flight": check.flight,
        "flightDate": check.flight_date.isoformat() if check.flight_date else None,
    }
