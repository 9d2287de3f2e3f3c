"""When a dependency is unreachable: an answer that says so, ``503 SERVICE_UNAVAILABLE`` with Retry-After,
instead of a 500.

``is_unavailable`` tells an outage (PostgreSQL restarting or its connections cut, a refused or reset
socket, a port's backend away: ``loyalty.ports.BackendUnavailable``) from a bug. The app's exception
handlers (``unavailable_handlers``) answer an outage that reached them in the shape of the route: the
GraphQL error shape on ``/graphql``, ``{"error": {...}}`` elsewhere (a partner delivery that could not
be stored: the partner sends it again after Retry-After, and nothing was acknowledged). The GraphQL edge
turns a resolver's outage into the same coded error (``unavailable_error``).

While the database stays unreachable, one warning every ``LOG_EVERY_S`` seconds counts the answers,
rather than a traceback per request.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import asyncpg
from graphql import GraphQLError
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler
from starlette.websockets import WebSocket
from tortoise.exceptions import BaseORMException, DBConnectionError

from gateway.services import services
from loyalty.ports import BackendUnavailable

log = logging.getLogger(__name__)

CODE = "SERVICE_UNAVAILABLE"
MESSAGE = "A service this request needs is unreachable for now; try again after Retry-After seconds."
LOG_EVERY_S = 10.0
WEBSOCKET_TRY_AGAIN_LATER = 1013
_CHAIN_DEPTH = 8


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, BackendUnavailable | DBConnectionError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, asyncpg.exceptions.QueryCanceledError):  # a statement timeout: not an outage
        return False
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError  # 08xxx: connection failures
        | asyncpg.exceptions.OperatorInterventionError  # 57xxx: terminated, shutting down, starting up
        | asyncpg.exceptions.TooManyConnectionsError
        | asyncpg.exceptions.ConnectionDoesNotExistError
        # a pooled connection a cut left half-way through an operation: the pool replaces it
        | asyncpg.exceptions.InternalClientError,
    ):
        return True
    if isinstance(exc, asyncpg.exceptions.ObjectNotInPrerequisiteStateError):
        return "not currently accepting connections" in str(exc)  # ALLOW_CONNECTIONS false
    return isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc)


def is_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) means a dependency is unreachable, rather than a bug."""
    seen = 0
    while exc is not None and seen < _CHAIN_DEPTH:
        if _is_outage(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class _OutageLog:
    """One warning per ``LOG_EVERY_S`` at most, with how many answers were 503 since the last one."""

    def __init__(self) -> None:
        self._next_at = 0.0
        self._count = 0

    def note(self, exc: BaseException, path: str) -> None:
        self._count += 1
        now = time.monotonic()
        if now < self._next_at:
            return
        self._next_at = now + LOG_EVERY_S
        log.warning(
            "dependency unreachable (%s): answered %s request(s) 503 %s",
            type(exc).__name__,
            self._count,
            CODE,
            extra={"path": path},
        )
        self._count = 0


_outage_log = _OutageLog()


def retry_after_s(connection: HTTPConnection) -> int:
    return services(connection).settings.unavailable_retry_after_s


def unavailable_response(connection: HTTPConnection, graphql_paths: tuple[str, ...]) -> Response:
    retry_after = retry_after_s(connection)
    headers = {"Retry-After": str(retry_after)}
    if connection.url.path in graphql_paths:
        error = {"message": MESSAGE, "extensions": {"code": CODE, "retryAfter": retry_after}}
        return JSONResponse({"errors": [error]}, status_code=503, headers=headers)
    body = {"error": {"code": CODE, "message": MESSAGE, "retryAfter": retry_after}}
    return JSONResponse(body, status_code=503, headers=headers)


def unavailable_handlers(graphql_paths: tuple[str, ...]) -> dict[Any, ExceptionHandler]:
    """Starlette exception handlers: an outage is a 503 (a WebSocket is closed with 1013, try again
    later); any other error of these kinds goes on to the 500 handler."""

    async def handle(connection: HTTPConnection, exc: Exception) -> Response | None:
        if not is_unavailable(exc):
            raise exc
        _outage_log.note(exc, connection.url.path)
        if isinstance(connection, WebSocket):
            await connection.close(code=WEBSOCKET_TRY_AGAIN_LATER)
            return None
        return unavailable_response(connection, graphql_paths)

    kinds: tuple[type[Exception], ...] = (
        OSError,  # ConnectionError, TimeoutError, BackendUnavailable
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,
        BaseORMException,
    )
    return dict.fromkeys(kinds, cast(ExceptionHandler, handle))


def unavailable_error(error: GraphQLError, retry_after: int) -> GraphQLError:
    """A resolver's outage as a coded error (kept in production, where other unexpected errors are masked)."""
    extensions = {"code": CODE, "retryAfter": retry_after}
    return GraphQLError(
        MESSAGE,
        nodes=error.nodes,
        path=error.path,
        original_error=GraphQLError(MESSAGE, extensions=extensions),
        extensions=extensions,
    )


def mark_unavailable(context: object, result: object, retry_after: int) -> None:
    """After an operation with an outage's error: Retry-After on its HTTP response, and 503 when it has no
    data at all (partial data stays 200)."""
    errors = getattr(result, "errors", None) or []
    if not any((error.extensions or {}).get("code") == CODE for error in errors):
        return
    response = getattr(context, "response", None)
    if not isinstance(response, Response):
        return
    response.headers["Retry-After"] = str(retry_after)
    data = getattr(result, "data", None)
    if data is None or not any(value is not None for value in data.values()):
        response.status_code = 503
