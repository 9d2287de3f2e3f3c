"""Sending member e-mail over SMTP (aiosmtplib): the production ``NotificationSender``.

One connection per message: TLS as configured (STARTTLS required, or implicit TLS; ``none`` only for a
relay or mail catcher on a trusted network), then AUTH when a user is set, then the message. How an
answer is read:

- the server accepts (2xx): the message is delivered and the row is marked SENT;
- it answers 4xx, the connection fails, drops or times out, TLS or AUTH fails: ``SmtpTransientError``,
  and the row stays PENDING for the notification retry schedule (a fixed password or a mail server back
  up delivers it later);
- it refuses the sender, the recipient or the message with 5xx: ``PermanentDeliveryError``, and the row
  is FAILED at once.

The log names the notification and the SMTP code, never the recipient, the text or the server's words
(which often repeat the address).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

import aiosmtplib
from aiosmtplib.errors import SMTPException, SMTPRecipientsRefused, SMTPResponseException

from gateway.settings import Settings, SmtpTls
from loyalty.notifications.models import Channel, Notification
from loyalty.notifications.service import PermanentDeliveryError, RenderedMessage

log = logging.getLogger(__name__)

PERMANENT_CODES = range(500, 600)
AUTH_CODES = frozenset({530, 534, 535, 538})
"""5xx answers to AUTH: the configuration is wrong, not the message; fixed, the message still goes."""


class SmtpTransientError(Exception):
    """The message was not accepted this time (4xx, lost connection, timeout): try again later."""


class SmtpSender:
    """Sends ``Channel.EMAIL`` notifications through one mail server; other channels need their own
    provider and fail at once (no push provider is built)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host or not settings.smtp_from:
            raise ValueError("the SMTP sender needs MILESGATE_SMTP_HOST and MILESGATE_SMTP_FROM")
        self.host = settings.smtp_host
        self.port = settings.resolved_smtp_port
        self.tls = settings.smtp_tls
        self.sender = settings.smtp_from
        self.username = settings.smtp_username
        self._password = settings.smtp_password
        self.timeout_s = settings.smtp_timeout_s
        self._tls_context = ssl.create_default_context(
            cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
        )
        self.domain = email.utils.parseaddr(self.sender)[1].rpartition("@")[2]

    def message(self, rendered: RenderedMessage, notification: Notification) -> EmailMessage:
        """The MIME message: UTF-8 plain text, in the member's language, with a Message-ID that stays the same
        when the row is tried again (so a receiving system can tell a repeat)."""
        message = EmailMessage(policy=SMTP_POLICY)
        message.set_content(rendered.body, charset="utf-8")  # first: it replaces every Content-* header
        message["From"] = self.sender
        message["To"] = notification.recipient
        message["Subject"] = rendered.subject
        message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        created = int(notification.created_at.timestamp()) if notification.created_at else 0
        message["Message-ID"] = f"<notification.{notification.id}.{created}@{self.domain}>"
        message["Content-Language"] = notification.language
        message["Auto-Submitted"] = "auto-generated"
        return message

    async def send(self, message: RenderedMessage, notification: Notification) -> None:
        if notification.channel is not Channel.EMAIL:
            raise PermanentDeliveryError(f"no sender for the {notification.channel.value} channel")
        mime = self.message(message, notification)
        try:
            await aiosmtplib.send(
                mime,
                hostname=self.host,
                port=self.port,
                use_tls=self.tls is SmtpTls.TLS,
                start_tls=self.tls is SmtpTls.STARTTLS,
                tls_context=self._tls_context if self.tls is not SmtpTls.NONE else None,
                username=self.username,
                password=self._password.get_secret_value() if self._password is not None else None,
                timeout=self.timeout_s,
            )
        except SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            self._raise(notification, codes[0] if codes else 0, exc)
        except SMTPResponseException as exc:
            self._raise(notification, exc.code, exc)
        except (SMTPException, OSError) as exc:  # connection refused, dropped, timed out, TLS failed
            log.warning(
                "smtp delivery failed, will retry (%s)",
                type(exc).__name__,
                extra={"notification_id": notification.id},
            )
            raise SmtpTransientError(type(exc).__name__) from exc

    def _raise(self, notification: Notification, code: int, exc: Exception) -> None:
        permanent = code in PERMANENT_CODES and code not in AUTH_CODES
        log.warning(
            "smtp server refused the message (%s, code %d)%s",
            type(exc).__name__,
            code,
            "" if permanent else ", will retry",
            extra={"notification_id": notification.id, "smtp_code": code},
        )
        if permanent:
            raise PermanentDeliveryError(f"the mail server refused it with {code}") from exc
        raise SmtpTransientError(f"the mail server answered {code}") from exc
