"""``milesgate endpoints`` and ``milesgate inbox`` on an embedded installation (CliRunner)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import Result

from gateway.cli import app
from loyalty.ledger.models import Posting
from partners.models import Partner
from tests.gateway.cli.test_partners import SECRET_KEY, add_swiss, printed_secret, runner
from tests.support import collapse, in_embedded_db, seed_embedded_db
from webhooks.models import InboxState, PartnerInbox
from webhooks.outbound.models import (
    DeliveryState,
    EndpointState,
    OutboundDelivery,
    OutboundMessage,
    PartnerEndpoint,
)
from webhooks.outbound.service import publish


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


def hub_env(tmp_path: Path) -> dict[str, str]:
    seed_embedded_db(tmp_path)  # a migrated copy: migrating anew takes seconds a test
    return {
        "MILESGATE_DATA_DIR": str(tmp_path),
        "MILESGATE_SECRET_KEY": SECRET_KEY,
        "COLUMNS": "250",
        "MILESGATE_OUTBOUND_ALLOWED_HOSTS": "hooks.swiss.example",
    }


def test_endpoints_add_list_disable_and_replay(tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    add_swiss(env)
    # an endpoint on a host off the allow-list is refused with its code
    refused = milesgate(
        ["endpoints", "add", "swiss", "https://evil.example/x", "--event", "accrual.credited"], env
    )
    assert refused.exit_code == 1 and "URL_HOST_NOT_ALLOWED" in refused.output
    unknown = milesgate(
        ["endpoints", "add", "swiss", "https://hooks.swiss.example/in", "--event", "nope"], env
    )
    assert unknown.exit_code == 1 and "EVENT_TYPE_UNKNOWN" in unknown.output

    added = milesgate(
        [
            "endpoints",
            "add",
            "swiss",
            "https://hooks.swiss.example/in",
            "--event",
            "accrual.credited",
            "--event",
            "accrual.rejected",
        ],
        env,
    )
    assert added.exit_code == 0, added.output
    assert printed_secret(added).startswith("whsec_")
    listed = collapse(milesgate(["endpoints", "list"], env).stdout)
    assert "https://hooks.swiss.example/in" in listed and "accrual.credited, accrual.rejected" in listed

    endpoint = in_embedded_db(tmp_path, lambda: PartnerEndpoint.get(url="https://hooks.swiss.example/in"))
    assert milesgate(["endpoints", "disable", str(endpoint.id)], env).exit_code == 0
    assert (
        in_embedded_db(tmp_path, lambda: PartnerEndpoint.get(id=endpoint.id)).state is EndpointState.DISABLED
    )
    assert milesgate(["endpoints", "enable", str(endpoint.id)], env).exit_code == 0

    # a failed delivery is replayed
    async def fail_one() -> str:
        partner = await Partner.get(code="swiss")
        message = await publish(
            event_type="accrual.credited",
            data={"transactionId": "LX-1"},
            now=dt.datetime.now(dt.UTC),
            partner_id=partner.id,
        )
        await OutboundDelivery.filter(message_id=message.id).update(
            state=DeliveryState.FAILED, step=8, attempts=8
        )
        return message.webhook_id

    webhook_id = in_embedded_db(tmp_path, fail_one)
    dead = collapse(milesgate(["endpoints", "deliveries", "--state", "failed"], env).stdout)
    assert webhook_id in dead
    replayed = milesgate(["endpoints", "replay-failed", str(endpoint.id), "--since", "2020-01-01"], env)
    assert replayed.exit_code == 0 and "1 failed deliveries queued again" in replayed.stdout
    delivery = in_embedded_db(tmp_path, lambda: OutboundDelivery.get(message__webhook_id=webhook_id))
    assert (delivery.state, delivery.step) == (DeliveryState.PENDING, 0)
    again = milesgate(["endpoints", "replay", webhook_id], env)
    assert again.exit_code == 0 and "1 deliveries queued again" in again.stdout
    missing = milesgate(["endpoints", "replay", "msg_nope"], env)
    assert missing.exit_code == 1 and "MESSAGE_NOT_FOUND" in missing.output
    assert in_embedded_db(tmp_path, lambda: OutboundMessage.all().count()) == 1


def test_inbox_unmatched_and_reprocess_once_the_member_is_known(tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    add_swiss(env)

    # given: an accrual parked as unmatched (the card number in it was not known when it came)
    async def park() -> int:
        from loyalty.rules import current_rules
        from tests.factories import make_member
        from webhooks.worker import process_inbox_row

        member = await make_member()
        partner = await Partner.get(code="swiss")
        row = await PartnerInbox.create(
            partner_id=partner.id,
            webhook_id="msg_unmatched",
            event_type="accrual.created",
            payload={
                "type": "accrual.created",
                "data": {
                    "member": {"accountNumber": "999999999"},
                    "transactionId": "LX-9",
                    "activityDate": "2026-03-01",
                    "miles": 400,
                },
            },
        )
        processed = await process_inbox_row(row.id, current_rules())
        assert processed is not None and processed.state is InboxState.UNMATCHED, (
            processed and processed.error_code
        )
        # the operators find the member: the partner had a typo, support corrects the stored reference
        row.payload["data"]["member"] = {"accountNumber": member.member.account_number}
        await PartnerInbox.filter(id=row.id).update(payload=row.payload)
        return int(row.id)

    inbox_id = in_embedded_db(tmp_path, park)
    listed = collapse(milesgate(["inbox", "unmatched"], env).stdout)
    assert "msg_unmatched" in listed and "MEMBER_NOT_FOUND" in listed

    # when
    result = milesgate(["inbox", "reprocess"], env)

    # then: processed now, credited once; reprocessing again finds nothing to do
    assert result.exit_code == 0, result.output
    row = in_embedded_db(tmp_path, lambda: PartnerInbox.get(id=inbox_id))
    assert row.state is InboxState.PROCESSED
    assert in_embedded_db(tmp_path, lambda: Posting.filter(source="PARTNER_ACCRUAL").count()) == 1
    assert "0 rows queued again" in milesgate(["inbox", "reprocess"], env).stdout

    # and a row named that does not exist, or that is settled already, is refused with nothing queued
    unknown = milesgate(["inbox", "reprocess", str(inbox_id + 1000)], env)
    assert unknown.exit_code == 1
    assert f"INBOX_ROW_NOT_FOUND: No partner delivery has inbox id {inbox_id + 1000}." in collapse(
        unknown.output
    )
    settled = milesgate(["inbox", "reprocess", str(inbox_id)], env)
    assert settled.exit_code == 1
    assert (
        f"INBOX_ROW_NOT_REPROCESSABLE: Only unmatched or failed rows are processed again, not {inbox_id} "
        in (collapse(settled.output))
    )
    assert in_embedded_db(tmp_path, lambda: PartnerInbox.get(id=inbox_id)).state is InboxState.PROCESSED
