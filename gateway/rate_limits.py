"""Rate limits at the edge, on the ``RateLimiter`` port (Redis in production).

Three kinds, each in its own window:
- every GraphQL request, per client IP and per signed-in member;
- sensitive operations (sign-in, second factor, PIN/password resets, the lost-number form, enrolment and
  e-mail verification), per
  client IP and, where a member is signed in, per member too. Each *occurrence* of such a field in the
  document counts, so aliases and fragments cannot fit twenty sign-in attempts into one request;
- the Travel ID login and callback routes, per client IP.

A refusal is a ``RATE_LIMITED`` error with ``retryAfter`` seconds (and HTTP 429 with ``Retry-After``).
The client IP is the ASGI client address: behind a proxy, run uvicorn with ``--forwarded-allow-ips``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, get_operation_ast
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from gateway.settings import Settings
from loyalty.ports import RateLimitDecision, RateLimiter
from schema.context import Context
from schema.selections import FragmentGraph, root_field_counts

SENSITIVE_FIELDS: dict[str, str] = {
    "signIn": "sign_in",
    "completeSignIn": "two_factor",
    "completeSecondFactor": "two_factor",
    # SMS codes: each of these sends an SMS (which costs money and reaches a phone) or checks a code
    "sendSignInSmsCode": "two_factor",
    "beginSmsTwoFactor": "two_factor",
    "confirmSmsTwoFactor": "two_factor",
    "confirmTwoFactor": "two_factor",
    "disableTwoFactor": "two_factor",
    # turning SMS codes off: each request may send an SMS, and each checks a code
    "sendDisableSmsTwoFactorCode": "two_factor",
    "disableSmsTwoFactor": "two_factor",
    "requestPinReset": "reset",
    "requestPasswordReset": "reset",
    "remindUserId": "reset",
    "completePinReset": "reset",
    "completePasswordReset": "reset",
    "reportLostServiceCardNumber": "lost_number",
    "enrolMember": "enrolment",
    "confirmEnrolment": "enrolment",
    # e-mailed codes that verify an address: the same limit (each request may send an e-mail)
    "requestEmailVerification": "enrolment",
    "confirmEmailVerification": "enrolment",
}
"""Mutation field → the operation group whose limit it counts against."""


class RateLimited(GraphQLError):
    """Too many requests: the client should wait ``retry_after_s`` seconds."""

    def __init__(self, scope: str, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(round(retry_after_s, 3)))  # no 901 s from float noise
        super().__init__(
            f"Too many requests; try again in {self.retry_after_s} seconds.",
            extensions={"code": "RATE_LIMITED", "scope": scope, "retryAfter": self.retry_after_s},
        )


@dataclass(frozen=True, slots=True)
class Limit:
    limit: int
    window_s: int


def client_ip(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


def member_key(account_id: int, scope: str) -> str:
    return f"ratelimit:{{acct:{account_id}}}:{scope}"


def ip_key(ip: str, scope: str) -> str:
    return f"ratelimit:{{ip:{ip}}}:{scope}"


class EdgeRateLimits:
    """The limits of one app, read from settings once."""

    def __init__(self, settings: Settings) -> None:
        window = settings.rate_limit_window_s
        sensitive = settings.rate_limit_sensitive_window_s
        self.per_ip = Limit(settings.rate_limit_per_ip, window)
        self.per_member = Limit(settings.rate_limit_per_member, window)
        self.groups: dict[str, Limit] = {
            "sign_in": Limit(settings.rate_limit_sign_in, sensitive),
            "two_factor": Limit(settings.rate_limit_two_factor, sensitive),
            "reset": Limit(settings.rate_limit_reset, sensitive),
            "lost_number": Limit(settings.rate_limit_lost_number, sensitive),
            "enrolment": Limit(settings.rate_limit_enrolment, sensitive),
            "travel_id": Limit(settings.rate_limit_travel_id, sensitive),
        }

    @staticmethod
    async def _hit(limiter: RateLimiter, key: str, limit: Limit, cost: int = 1) -> RateLimitDecision | None:
        """The refusal, or None when the hit fits (a limit of 0 is no limit)."""
        if limit.limit == 0:
            return None
        decision = await limiter.hit(key, limit=limit.limit, window_s=limit.window_s, cost=cost)
        return None if decision.allowed else decision

    async def admit_request(
        self, limiter: RateLimiter, ip: str, account_id: int | None
    ) -> RateLimited | None:
        """Count one GraphQL request against the client IP and the signed-in member."""
        refused = await self._hit(limiter, ip_key(ip, "graphql"), self.per_ip)
        if refused is not None:
            return RateLimited("ip", refused.retry_after_s)
        if account_id is not None:
            refused = await self._hit(limiter, member_key(account_id, "graphql"), self.per_member)
            if refused is not None:
                return RateLimited("member", refused.retry_after_s)
        return None

    async def admit_group(
        self, limiter: RateLimiter, group: str, ip: str, account_id: int | None, count: int = 1
    ) -> RateLimited | None:
        """Count ``count`` uses of a sensitive operation group against the IP (and the member)."""
        limit = self.groups[group]
        refused = await self._hit(limiter, ip_key(ip, group), limit, count)
        if refused is None and account_id is not None:
            refused = await self._hit(limiter, member_key(account_id, group), limit, count)
        return None if refused is None else RateLimited(group, refused.retry_after_s)

    async def admit_operation(self, context: object, counts: Counter[str]) -> RateLimited | None:
        """Count an HTTP operation's sensitive fields (``sensitive_field_counts``) against their groups."""
        if not isinstance(context, Context) or not isinstance(context.request, HTTPConnection):
            return None
        account_id = context.principal.account_id if context.principal is not None else None
        for group, count in sorted(counts.items()):
            refusal = await self.admit_group(
                context.backends.rate_limiter, group, client_ip(context.request), account_id, count
            )
            if refusal is not None:
                return refusal
        return None

    async def refuse_http(self, request: HTTPConnection, limiter: RateLimiter, group: str) -> Response | None:
        """For plain routes (Travel ID): a 429 JSON answer, or None when the request may go on."""
        refusal = await self.admit_group(limiter, group, client_ip(request), None)
        if refusal is None:
            return None
        return JSONResponse(
            {
                "error": {
                    "code": "RATE_LIMITED",
                    "message": refusal.message,
                    "retryAfter": refusal.retry_after_s,
                }
            },
            status_code=429,
            headers={"Retry-After": str(refusal.retry_after_s)},
        )


def sensitive_field_counts(document: DocumentNode | None, operation_name: str | None) -> Counter[str]:
    """Operation group → how often the operation's root fields name it (aliases and fragments count)."""
    operation = get_operation_ast(document, operation_name) if document is not None else None
    if document is None or operation is None:
        return Counter()
    counts: Counter[str] = Counter()
    for name, times in root_field_counts(FragmentGraph(document), operation).items():
        if name in SENSITIVE_FIELDS:
            counts[SENSITIVE_FIELDS[name]] += times
    return counts


def mark_refused(context: object, refusal: RateLimited) -> None:
    """Answer HTTP 429 with Retry-After where the request has a response to set them on."""
    response = getattr(context, "response", None)
    if isinstance(response, Response):
        response.status_code = 429
        response.headers["Retry-After"] = str(refusal.retry_after_s)
