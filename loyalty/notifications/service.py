"""The notification outbox: messages are written with the change they report, then delivered by a sender.

Programme rules:

- A notification is enqueued inside the caller's transaction, so a member hears of a change exactly when
  the change is committed (a rolled-back PIN reset sends no code).
- Templates are data files, one per language (``templates/<language>.toml``): a subject and a body per
  template. English is the fallback and has every template; a template another language lacks is sent in
  English. A payload that misses a placeholder is refused when the message is enqueued, so a broken
  template fails in tests, never silently in a member's inbox.
- Delivery is at least once: a row is sent, then marked SENT in the same transaction that holds its lock.
  A send that fails for now (the mail server answers 4xx, the connection is lost) is retried
  ``MAX_ATTEMPTS`` times in all, each retry no earlier than ``RETRY_AFTER`` after the row was created; then
  the row is FAILED. A refusal for good (``PermanentDeliveryError``: a 5xx answer) fails the row at once.
- Payloads may hold secrets (reset codes): they are never logged, never stored in clear (the row holds them
  sealed by the ``SecretSealer`` the process installed with ``use_secret_sealer``), and blanked in the row
  once it is SENT or FAILED.
"""

from __future__ import annotations

import datetime as dt
import logging
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from loyalty.notifications.models import Channel, Notification, NotificationState

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).with_name("templates")
FALLBACK_LANGUAGE = "en"
# Failed attempts so far -> how long after creation the next attempt may start; its length is the limit.
RETRY_AFTER: tuple[dt.timedelta, ...] = (
    dt.timedelta(0),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_AFTER)
SECRET_PAYLOAD_KEYS = frozenset({"token"})
REDACTED = "[redacted]"
SEALED_PREFIX = "sealed:"
"""A secret payload value as stored: this prefix, then what the installed ``SecretSealer`` made of it."""


class TemplateError(Exception):
    """A template is unknown, malformed, or its payload lacks a placeholder: a programming error."""


class PermanentDeliveryError(Exception):
    """Raised by a sender when the message can never be delivered as it is (a mail server's 5xx answer):
    the row is FAILED at once instead of being tried again. Any other exception means "try again later"."""


class SecretSealingError(Exception):
    """No sealer is installed, or a stored secret does not open with it (the service key changed)."""


class SecretSealer(Protocol):
    """Encrypts a payload's secrets for the notifications table (the gateway installs one derived from the
    service's secret key). ``context`` binds a sealed value to its message: it opens with the same only;
    ``open`` raises ``SecretSealingError`` when it cannot."""

    def seal(self, plaintext: str, *, context: str) -> str: ...

    def open(self, sealed: str, *, context: str) -> str: ...


_sealer: SecretSealer | None = None


def use_secret_sealer(sealer: SecretSealer | None) -> None:
    """Install the sealer every later enqueue and delivery in this process uses (``gateway.db`` does, with
    the database: like the ORM, it is one per process)."""
    global _sealer
    _sealer = sealer


def _installed_sealer() -> SecretSealer:
    if _sealer is None:
        raise SecretSealingError("no secret sealer is installed: open the database through gateway.db")
    return _sealer


def _sealing_context(template: str, recipient: str) -> str:
    return f"notification {template} to {recipient}"


def seal_payload(payload: Mapping[str, Any], *, template: str, recipient: str) -> dict[str, Any]:
    """The payload as it is stored: every secret value sealed, the rest as it is."""
    secrets = SECRET_PAYLOAD_KEYS & payload.keys()
    if not secrets:
        return dict(payload)
    sealer, context = _installed_sealer(), _sealing_context(template, recipient)
    return {
        key: SEALED_PREFIX + sealer.seal(str(value), context=context) if key in secrets else value
        for key, value in payload.items()
    }


def open_payload(notification: Notification) -> dict[str, Any]:
    """The row's payload with its secrets opened, for rendering and sending (a value stored in clear by an
    older version is taken as it is)."""
    context = _sealing_context(notification.template, notification.recipient)
    opened: dict[str, Any] = {}
    for key, value in notification.payload.items():
        if key in SECRET_PAYLOAD_KEYS and isinstance(value, str) and value.startswith(SEALED_PREFIX):
            value = _installed_sealer().open(value.removeprefix(SEALED_PREFIX), context=context)
        opened[key] = value
    return opened


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    subject: str
    body: str
    fields: frozenset[str]


class NotificationSender(Protocol):
    """Delivers one rendered message (production: ``gateway.workers.smtp.SmtpSender``; development:
    ``gateway.workers.notifications.FileSink``). Raising means "not delivered, try again later", except
    ``PermanentDeliveryError``, which means "never": the row fails at once."""

    async def send(self, message: RenderedMessage, notification: Notification) -> None: ...


def _placeholders(text: str, where: str) -> set[str]:
    names: set[str] = set()
    for _, name, spec, _ in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or (spec and "{" in spec):
            raise TemplateError(f"{where}: placeholder {{{name}}} must be a plain name")
        names.add(name)
    return names


def _read_language(path: Path) -> dict[str, MessageTemplate]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    versions: dict[str, MessageTemplate] = {}
    for name, texts in data.items():
        where = f"{path.name}: {name}"
        if not isinstance(texts, dict) or not {"subject", "body"} <= texts.keys():
            raise TemplateError(f"{where} needs a subject and a body")
        fields = _placeholders(texts["subject"], where) | _placeholders(texts["body"], where)
        versions[name] = MessageTemplate(texts["subject"], texts["body"], frozenset(fields))
    return versions


def load_templates(directory: Path = TEMPLATES_DIR) -> dict[str, dict[str, MessageTemplate]]:
    """Read ``<language>.toml`` of every language; the fallback language needs every template another
    language has, and each template the same placeholders in all its languages."""
    by_language = {
        path.stem.lower(): _read_language(path) for path in sorted(directory.glob("*.toml")) if path.is_file()
    }
    fallback = by_language.get(FALLBACK_LANGUAGE)
    if fallback is None:
        raise TemplateError(f"{directory} has no {FALLBACK_LANGUAGE}.toml (the fallback language)")
    templates: dict[str, dict[str, MessageTemplate]] = {name: {} for name in fallback}
    for language, versions in by_language.items():
        for name, version in versions.items():
            if name not in fallback:
                raise TemplateError(f"template {name!r} has no {FALLBACK_LANGUAGE!r} version")
            if version.fields != fallback[name].fields:
                raise TemplateError(
                    f"template {name!r} uses different placeholders in {language!r} than in "
                    f"{FALLBACK_LANGUAGE!r}"
                )
            templates[name][language] = version
    return templates


@cache
def _templates() -> dict[str, dict[str, MessageTemplate]]:
    return load_templates()


def _pick(template: str, language: str) -> MessageTemplate:
    versions = _templates().get(template)
    if versions is None:
        raise TemplateError(f"unknown template {template!r}")
    wanted = language.strip().lower().replace("_", "-")
    for candidate in (wanted, wanted.split("-")[0], FALLBACK_LANGUAGE):
        if candidate in versions:
            return versions[candidate]
    raise AssertionError("unreachable: every template has the fallback language")  # pragma: no cover


class _StrictPayload(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        raise TemplateError(f"the payload has no value for the placeholder {{{key}}}")


def render(template: str, language: str, payload: Mapping[str, Any]) -> RenderedMessage:
    """The message in the member's language ("de-CH" tries "de-ch", then "de", then English)."""
    chosen = _pick(template, language)
    values = _StrictPayload(payload)
    return RenderedMessage(chosen.subject.format_map(values), chosen.body.format_map(values))


async def enqueue_notification(
    *,
    account_id: int | None,
    channel: Channel,
    recipient: str,
    template: str,
    language: str,
    payload: dict[str, Any],
) -> Notification:
    """Write a message to the outbox; call it inside the transaction of the change it reports."""
    render(template, language, payload)  # a broken template or payload fails here, in the caller
    return await Notification.create(
        account_id=account_id,
        channel=channel,
        recipient=recipient,
        template=template,
        language=language,
        payload=seal_payload(payload, template=template, recipient=recipient),
    )


class Addressee(Protocol):
    """A member as an e-mail to them needs them (the model, or a snapshot of it)."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str | None: ...

    @property
    def language(self) -> str: ...

    @property
    def given_name(self) -> str: ...


async def email_member(member: Addressee, template: str, **payload: Any) -> Notification | None:
    """Write ``template`` to the outbox for the member, to the address on file, in their language, with
    their given name and ``payload``; None, and nothing written, when they have no address. Call it
    inside the transaction of the change it reports."""
    if member.email is None:
        return None
    return await enqueue_notification(
        account_id=member.id,
        channel=Channel.EMAIL,
        recipient=member.email,
        template=template,
        language=member.language,
        payload={"given_name": member.given_name, **payload},
    )


def _due(now: dt.datetime) -> QuerySet[Notification]:
    due = Q(attempts=0)
    for failed, wait in enumerate(RETRY_AFTER[1:], start=1):
        due |= Q(attempts=failed, created_at__lte=now - wait)
    return Notification.filter(due, state=NotificationState.PENDING)


def _settle(row: Notification, state: NotificationState, now: dt.datetime) -> None:
    row.state = state
    if state is NotificationState.SENT:
        row.sent_at = now
    if state is not NotificationState.PENDING:
        row.payload = {
            key: REDACTED if key in SECRET_PAYLOAD_KEYS else value for key, value in row.payload.items()
        }


async def _attempt(row: Notification, sender: NotificationSender, now: dt.datetime) -> None:
    """One delivery try of a locked row; payload and recipient stay out of the log."""
    row.attempts += 1
    try:
        message = render(row.template, row.language, open_payload(row))
    except (TemplateError, SecretSealingError) as exc:
        log.error(
            "notification cannot be rendered (%s)",
            type(exc).__name__,
            extra={"notification_id": row.id, "template": row.template},
        )
        _settle(row, NotificationState.FAILED, now)
        return
    try:
        await sender.send(message, row)
    except Exception as exc:
        final = row.attempts >= MAX_ATTEMPTS or isinstance(exc, PermanentDeliveryError)
        _settle(row, NotificationState.FAILED if final else NotificationState.PENDING, now)
        log.warning(
            "notification not delivered (%s)",
            type(exc).__name__,
            extra={"notification_id": row.id, "attempts": row.attempts, "final": final},
        )
        return
    _settle(row, NotificationState.SENT, now)


async def _deliver_next(
    *, sender: NotificationSender, after_id: int, now: dt.datetime
) -> Notification | None:
    async with in_transaction():
        # Rows another sender holds are skipped, not waited for (a no-op on SQLite, which has one writer).
        row = await (
            _due(now).filter(id__gt=after_id).order_by("id").select_for_update(skip_locked=True).first()
        )
        if row is None:
            return None
        await _attempt(row, sender, now)
        await row.save(update_fields=["state", "attempts", "sent_at", "payload"])
        return row


async def deliver_pending(*, sender: NotificationSender, limit: int = 100, now: dt.datetime) -> int:
    """Deliver up to ``limit`` due messages, oldest first, one short transaction each; returns how many
    were sent. Each row is locked while it is sent, so parallel senders never send one message twice."""
    sent, after_id = 0, 0
    for _ in range(limit):
        row = await _deliver_next(sender=sender, after_id=after_id, now=now)
        if row is None:
            break
        after_id = row.id
        sent += row.state is NotificationState.SENT
    return sent
