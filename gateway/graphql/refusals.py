"""The answer to a request ``/graphql`` refuses before any operation runs.

Strawberry raises these as HTTP exceptions with a reason (a batch, a body that is not JSON, another
content type, no query…) and answers them in plain text. Here they get the GraphQL error shape a client
already reads, ``{"errors": [{"message": …, "extensions": {"code": …}}]}``, with one code per kind and
the status the GraphQL-over-HTTP specification gives it; a reason not known here keeps Strawberry's status
and is coded ``HTTP_<status>``, like the app's other HTTP errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cross_web import HTTPException
from starlette.responses import JSONResponse


@dataclass(frozen=True, slots=True)
class RequestRefusal:
    code: str
    status: int


BATCH_NOT_SUPPORTED = RequestRefusal("BATCH_NOT_SUPPORTED", 400)
REQUEST_INVALID = RequestRefusal("REQUEST_INVALID", 400)
OPERATION_NOT_ALLOWED = RequestRefusal("OPERATION_NOT_ALLOWED", 405)

REFUSALS: dict[str, RequestRefusal] = {
    "Batching is not enabled": BATCH_NOT_SUPPORTED,
    "Too many operations": BATCH_NOT_SUPPORTED,
    "Unable to parse request body as JSON": RequestRefusal("BODY_NOT_JSON", 400),
    "Unsupported content type": RequestRefusal("CONTENT_TYPE_UNSUPPORTED", 415),
    "No GraphQL query found in the request": RequestRefusal("QUERY_MISSING", 400),
    "Can't get GraphQL operation type": RequestRefusal("OPERATION_NOT_FOUND", 400),
    "Unable to parse the multipart body": REQUEST_INVALID,
    "File(s) missing in form data": REQUEST_INVALID,
    "GraphQL only supports GET and POST requests.": RequestRefusal("METHOD_NOT_ALLOWED", 405),
    "Not Found": RequestRefusal("NOT_FOUND", 404),
}
"""Strawberry's reason → what the refusal is."""

REFUSAL_PREFIXES: tuple[tuple[str, RequestRefusal], ...] = (
    ("The GraphQL operation's `", REQUEST_INVALID),  # query, variables or extensions of the wrong type
    ("Unknown operation named ", RequestRefusal("OPERATION_NOT_FOUND", 400)),
    ("Batching is not supported", BATCH_NOT_SUPPORTED),  # over a streaming transport
)
REFUSAL_SUFFIXES: tuple[tuple[str, RequestRefusal], ...] = (
    (" are not allowed when using GET", OPERATION_NOT_ALLOWED),  # a mutation, or any operation in production
)
ALLOWED_METHODS = "GET, POST"


def request_refusal(reason: str, status: int) -> RequestRefusal:
    known = REFUSALS.get(reason)
    if known is not None:
        return known
    for prefix, refusal in REFUSAL_PREFIXES:
        if reason.startswith(prefix):
            return refusal
    for suffix, refusal in REFUSAL_SUFFIXES:
        if reason.endswith(suffix):
            return refusal
    return RequestRefusal(f"HTTP_{status}", status)


def graphql_error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """``{"errors": [{"message": …, "extensions": {"code": …}}]}`` with ``status``."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def refusal_response(exception: HTTPException) -> JSONResponse:
    """The GraphQL-shaped JSON answer to a request Strawberry refused with ``exception``."""
    refusal = request_refusal(exception.reason, exception.status_code)
    headers = {"Allow": ALLOWED_METHODS} if refusal.status == 405 else None
    return graphql_error_response(refusal.status, refusal.code, exception.reason, headers)
