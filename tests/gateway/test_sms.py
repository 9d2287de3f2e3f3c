"""SMS codes leave through Twilio's Messages API: the sender against a loopback server that speaks that API
(basic auth, form body, 201 with the message's sid, Twilio's error JSON), fed from the notification outbox."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.settings import Settings, SmsProvider
from gateway.workers.notifications import ChannelSenders, FileSink, notification_sender
from gateway.workers.sms import TwilioSender
from loyalty.auth import sms
from loyalty.notifications.models import Channel, Notification, NotificationState
from loyalty.notifications.service import REDACTED, deliver_pending
from loyalty.rules import current_rules
from tests.factories import TEST_SECRET, make_member
from tests.support import deadline_s, wait_for

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-for-tests"
SENDER = "+15005550006"
KEY = b"k" * 32
RULES = current_rules()


@dataclass
class FakeTwilio:
    """Twilio's Messages resource on loopback: checks what Twilio checks, answers as Twilio answers."""

    port: int = 0
    received: list[dict[str, str]] = field(default_factory=list)
    scripted: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(self, status: int, code: int, message: str) -> None:
        more_info = f"https://www.twilio.com/docs/errors/{code}"
        self.scripted.append(
            (status, {"code": code, "message": message, "more_info": more_info, "status": status})
        )

    async def messages(self, request: Request) -> JSONResponse:
        sid = request.path_params["account_sid"]
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if sid != ACCOUNT_SID or request.headers.get("authorization") != expected:
            return self._error(401, 20003, "Authenticate")
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return self._error(400, 20001, "Invalid content type")
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        self.received.append(form)
        if self.scripted:
            status, body = self.scripted.popleft()
            return JSONResponse(body, status_code=status)
        if not form.get("Body"):
            return self._error(400, 21602, "Message body is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return self._error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required.")
        to = form.get("To", "")
        if not (to.startswith("+") and to[1:].isdigit()):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        message_sid = "SM" + secrets.token_hex(16)
        return JSONResponse(
            {
                "sid": message_sid,
                "account_sid": ACCOUNT_SID,
                "to": to,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_sid}.json",
            },
            status_code=201,
        )

    def _error(self, status: int, code: int, message: str) -> JSONResponse:
        more_info = f"https://www.twilio.com/docs/errors/{code}"
        body = {"code": code, "message": message, "more_info": more_info, "status": status}
        return JSONResponse(body, status_code=status)


@contextlib.asynccontextmanager
async def running_twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    path = "/2010-04-01/Accounts/{account_sid}/Messages.json"
    app = Starlette(routes=[Route(path, fake.messages, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started or task.done(), timeout_s=10, interval_s=0.01, what="twilio starts")
    assert server.started
    fake.port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield fake
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=deadline_s(10))


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with running_twilio() as fake:
        yield fake


def twilio_settings(tmp_path: Path, url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "secret_key": TEST_SECRET,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from": SENDER,
        "twilio_api_url": url,
    }
    return Settings(**(values | changes))


async def queued_sms(phone: str = "+4915123456789") -> Notification:
    """A set-up code for a new member, written to the outbox as the service does."""
    account_id = (await make_member(f"{secrets.token_hex(4)}@example.com")).member.id
    await sms.begin_enrolment(
        account_id=account_id,
        phone_number=phone,
        key=KEY,
        rules=RULES.sms_two_factor,
        now=dt.datetime.now(dt.UTC),
    )
    row = await Notification.filter(account_id=account_id).get()
    return row


async def deliver(settings: Settings) -> Notification:
    await deliver_pending(sender=notification_sender(settings), now=dt.datetime.now(dt.UTC))
    return await Notification.filter().order_by("-id").get()


async def test_a_code_is_sent_through_twilio_from_the_outbox(
    db: Settings, tmp_path: Path, twilio: FakeTwilio
) -> None:
    # given: a code waiting in the outbox, and the Twilio provider configured
    row = await queued_sms()
    settings = twilio_settings(tmp_path, twilio.url)
    assert settings.resolved_sms_provider is SmsProvider.TWILIO

    # when: the worker's sender runs
    sent = await deliver(settings)

    # then: Twilio got To, From and the body with the 6-digit code; the row is SENT and its code blanked
    [form] = twilio.received
    assert (form["To"], form["From"]) == ("+4915123456789", SENDER)
    code = form["Body"].split()[0]
    assert len(code) == 6 and code.isdigit()
    assert form["Body"] == f"{code} is your Miles & More code. It works once, for 5 minutes. Never share it."
    assert (sent.id, sent.state, sent.attempts) == (row.id, NotificationState.SENT, 1)
    assert sent.payload["token"] == REDACTED


async def test_a_messaging_service_is_sent_instead_of_a_sender(
    db: Settings, tmp_path: Path, twilio: FakeTwilio
) -> None:
    await queued_sms()
    settings = twilio_settings(
        tmp_path, twilio.url, twilio_from=None, twilio_messaging_service_sid="MG" + "1" * 32
    )
    assert (await deliver(settings)).state is NotificationState.SENT
    assert "From" not in twilio.received[0] and twilio.received[0]["MessagingServiceSid"] == "MG" + "1" * 32


async def test_an_invalid_number_fails_at_once(db: Settings, tmp_path: Path, twilio: FakeTwilio) -> None:
    await queued_sms()
    twilio.fail(400, 21211, "The 'To' number +4915123456789 is not a valid phone number.")
    failed = await deliver(twilio_settings(tmp_path, twilio.url))
    assert (failed.state, failed.attempts, failed.payload["token"]) == (NotificationState.FAILED, 1, REDACTED)


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (429, 20429, "Too Many Requests"),
        (500, 20500, "Internal Server Error"),
        (503, 20503, "Service Unavailable"),
    ],
)
async def test_busy_or_broken_twilio_is_tried_again(
    db: Settings, tmp_path: Path, twilio: FakeTwilio, status: int, code: int, message: str
) -> None:
    await queued_sms()
    twilio.fail(status, code, message)
    waiting = await deliver(twilio_settings(tmp_path, twilio.url))
    assert (waiting.state, waiting.attempts) == (NotificationState.PENDING, 1)
    assert str(waiting.payload["token"]).startswith("sealed:")  # kept for the retry


async def test_wrong_credentials_keep_the_message_for_when_they_are_fixed(
    db: Settings, tmp_path: Path, twilio: FakeTwilio
) -> None:
    await queued_sms()
    waiting = await deliver(twilio_settings(tmp_path, twilio.url, twilio_auth_token="wrong"))
    assert (waiting.state, twilio.received) == (NotificationState.PENDING, [])
    row = await Notification.get(id=waiting.id)
    row.created_at = row.created_at - dt.timedelta(minutes=2)  # the retry schedule's first wait is over
    await row.save(update_fields=["created_at"])
    assert (await deliver(twilio_settings(tmp_path, twilio.url))).state is NotificationState.SENT


async def test_an_unreachable_twilio_is_tried_again(db: Settings, tmp_path: Path) -> None:
    async with running_twilio() as gone:
        url = gone.url
    await queued_sms()
    waiting = await deliver(twilio_settings(tmp_path, url))
    assert (waiting.state, waiting.attempts) == (NotificationState.PENDING, 1)


async def test_without_a_provider_sms_fail_at_once(db: Settings, tmp_path: Path) -> None:
    await queued_sms()
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, sms_provider=SmsProvider.NONE)
    assert (await deliver(settings)).state is NotificationState.FAILED


def test_the_sms_provider_follows_the_settings(tmp_path: Path) -> None:
    development = Settings(data_dir=tmp_path, secret_key=TEST_SECRET)
    assert development.resolved_sms_provider is SmsProvider.FILE
    senders = notification_sender(development)
    assert isinstance(senders, ChannelSenders) and isinstance(senders.by_channel[Channel.SMS], FileSink)
    twilio = notification_sender(twilio_settings(tmp_path, "https://api.twilio.com"))
    assert isinstance(twilio, ChannelSenders) and isinstance(twilio.by_channel[Channel.SMS], TwilioSender)
    with pytest.raises(ValidationError, match="AUTH_TOKEN"):
        Settings(data_dir=tmp_path, secret_key=TEST_SECRET, twilio_account_sid=ACCOUNT_SID)
    with pytest.raises(ValidationError, match="TWILIO_FROM"):
        twilio_settings(tmp_path, "https://api.twilio.com", twilio_from=None)
