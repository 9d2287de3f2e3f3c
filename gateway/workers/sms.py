"""Sending SMS codes through Twilio's Messages API: the production SMS ``NotificationSender``.

``POST {api}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth (Account SID and Auth
Token) and a form body: ``To``, ``From`` (or ``MessagingServiceSid``) and ``Body`` (the rendered template's
body; SMS has no subject). How an answer is read:

- ``201 Created`` (any 2xx) with the message's ``sid``: handed to Twilio, the row is SENT;
- ``400`` and other 4xx with Twilio's error JSON (``code``, ``message``, ``more_info``, ``status``), e.g.
  21211 (not a valid phone number) or 21610 (the recipient replied STOP): this message can never go,
  ``PermanentDeliveryError``, the row is FAILED at once;
- ``401``/``403``/``404`` (wrong credentials or Account SID: the configuration, not the message), ``429``
  (too many requests) and 5xx, a timeout or a lost connection: ``SmsTransientError``, and the row stays
  PENDING for the notification retry schedule.

The log names the notification, the HTTP status and Twilio's error code, never the number or the text.
"""

from __future__ import annotations

import logging

import httpx2

from gateway.settings import Settings
from loyalty.notifications.models import Channel, Notification
from loyalty.notifications.service import PermanentDeliveryError, RenderedMessage

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
CONFIGURATION_STATUSES = frozenset({401, 403, 404})
"""Answers that say the account or credentials are wrong: fixed, the message still goes."""


class SmsTransientError(Exception):
    """Twilio did not take the message this time (429, 5xx, credentials, network): try again later."""


class TwilioSender:
    """Sends ``Channel.SMS`` notifications with one Twilio account."""

    def __init__(self, settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        if not settings.twilio_account_sid or settings.twilio_auth_token is None:
            raise ValueError("the Twilio sender needs MILESGATE_TWILIO_ACCOUNT_SID and _AUTH_TOKEN")
        self.account_sid = settings.twilio_account_sid
        self._auth_token = settings.twilio_auth_token
        self.sender = settings.twilio_from
        self.messaging_service_sid = settings.twilio_messaging_service_sid
        base = settings.twilio_api_url.rstrip("/")
        self.url = f"{base}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        self.timeout_s = settings.sms_timeout_s
        self._transport = transport

    def form(self, rendered: RenderedMessage, notification: Notification) -> dict[str, str]:
        """The form fields of the Messages API: To, the sender, Body."""
        fields = {"To": notification.recipient, "Body": rendered.body}
        if self.messaging_service_sid:
            fields["MessagingServiceSid"] = self.messaging_service_sid
        else:
            fields["From"] = self.sender or ""
        return fields

    async def send(self, message: RenderedMessage, notification: Notification) -> None:
        if notification.channel is not Channel.SMS:
            raise PermanentDeliveryError(f"the SMS sender does not send {notification.channel.value}")
        try:
            async with httpx2.AsyncClient(timeout=self.timeout_s, transport=self._transport) as client:
                response = await client.post(
                    self.url,
                    data=self.form(message, notification),
                    auth=(self.account_sid, self._auth_token.get_secret_value()),
                    headers={"accept": "application/json"},
                    follow_redirects=False,
                )
        except httpx2.HTTPError as exc:
            log.warning(
                "sms delivery failed, will retry (%s)",
                type(exc).__name__,
                extra={"notification_id": notification.id},
            )
            raise SmsTransientError(type(exc).__name__) from exc
        if response.is_success:
            log.info(
                "sms handed to twilio",
                extra={"notification_id": notification.id, "twilio_sid": _json_field(response, "sid")},
            )
            return
        self._raise(notification, response)

    def _raise(self, notification: Notification, response: httpx2.Response) -> None:
        status, code = response.status_code, _json_field(response, "code")
        permanent = 400 <= status < 500 and status not in CONFIGURATION_STATUSES and status != 429
        log.warning(
            "twilio refused the sms (status %d, code %s)%s",
            status,
            code,
            "" if permanent else ", will retry",
            extra={"notification_id": notification.id, "http_status": status, "twilio_code": code},
        )
        if permanent:
            raise PermanentDeliveryError(f"Twilio refused it with {status} (error {code})")
        raise SmsTransientError(f"Twilio answered {status} (error {code})")


def _json_field(response: httpx2.Response, name: str) -> str | None:
    try:
        value = response.json().get(name)
    except (ValueError, AttributeError):
        return None
    return None if value is None else str(value)
