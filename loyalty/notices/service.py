"""Publishing, withdrawing and reading security notices; publishing and withdrawing are audited."""

from __future__ import annotations

import datetime as dt

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from loyalty.errors import NotFound, ValidationFailed
from loyalty.iso_codes import iso_language
from loyalty.notices.models import NoticeSeverity, SecurityNotice
from loyalty.privacy.service import audit

MAX_TITLE = 160
MAX_BODY = 5_000
FALLBACK_LANGUAGE = "en"


async def publish_notice(
    *,
    title: str,
    body: str,
    language: str,
    severity: NoticeSeverity,
    actor: str,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
) -> SecurityNotice:
    title, body, language = title.strip(), body.strip(), language.strip().lower()
    if not title or len(title) > MAX_TITLE:
        raise ValidationFailed(
            f"A title is 1 to {MAX_TITLE} characters.", field="title", code="NOTICE_TITLE_INVALID"
        )
    if not body or len(body) > MAX_BODY:
        raise ValidationFailed(
            f"A body is 1 to {MAX_BODY} characters.", field="body", code="NOTICE_BODY_INVALID"
        )
    if iso_language(language) is None:
        raise ValidationFailed(
            "A language is an ISO 639 code such as en or de.", field="language", code="LANGUAGE_INVALID"
        )
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed(
            "A notice expires in the future.", field="expiresAt", code="NOTICE_EXPIRY_INVALID"
        )
    async with in_transaction():
        notice = await SecurityNotice.create(
            title=title,
            body=body,
            language=language,
            severity=severity,
            published_by=actor,
            published_at=now,
            expires_at=expires_at,
        )
        await audit(
            actor=actor, action="notice.publish", account_id=None, now=now, details={"noticeId": notice.id}
        )
    return notice


async def withdraw_notice(*, notice_id: int, actor: str, now: dt.datetime) -> SecurityNotice:
    async with in_transaction():
        notice = await SecurityNotice.filter(id=notice_id).select_for_update().first()
        if notice is None:
            raise NotFound("No such notice.", field="id", code="NOTICE_NOT_FOUND")
        if notice.withdrawn_at is None:
            notice.withdrawn_at = now
            await notice.save(update_fields=["withdrawn_at"])
            await audit(
                actor=actor,
                action="notice.withdraw",
                account_id=None,
                now=now,
                details={"noticeId": notice.id},
            )
    return notice


async def current_notices(*, language: str, now: dt.datetime) -> list[SecurityNotice]:
    """Notices in force now in ``language`` (English ones when there are none in it), newest first."""
    live = SecurityNotice.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now), withdrawn_at__isnull=True, published_at__lte=now
    )
    wanted = language.strip().lower().split("-")[0]
    if not (wanted.isascii() and wanted.isalpha() and 2 <= len(wanted) <= 8):
        wanted = FALLBACK_LANGUAGE  # not a language code: the notices everyone gets
    found = await live.filter(language=wanted).order_by("-published_at", "-id")
    if found or wanted == FALLBACK_LANGUAGE:
        return found
    return await live.filter(language=FALLBACK_LANGUAGE).order_by("-published_at", "-id")
