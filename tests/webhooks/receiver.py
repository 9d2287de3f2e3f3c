"""A partner's webhook receiver for tests: a real HTTP server on loopback that answers what the test
scripts (fail N times, 410, 429 with Retry-After, a redirect) and keeps every request it got."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support import deadline_s, wait_for


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    """Scripted answers, used in order; when none is left the receiver answers 200."""
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self.answers.extend([(status, headers or {})] * times)

    async def handle(self, request: Request) -> Response:
        self.requests.append(Received(request.url.path, dict(request.headers), await request.body()))
        status, headers = self.answers.popleft() if self.answers else (200, {})
        return Response(f"answer {status}", status_code=status, headers=headers)


def verify_standard_webhook(secret: str, received: Received) -> bool:
    """An independent Standard Webhooks v1 check (HMAC-SHA256 over ``id.timestamp.body``)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = b".".join(
        [
            received.headers["webhook-id"].encode(),
            received.headers["webhook-timestamp"].encode(),
            received.body,
        ]
    )
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [
        item.split(",", 1)[1]
        for item in received.headers["webhook-signature"].split()
        if item.startswith("v1,")
    ]
    return any(hmac.compare_digest(expected, value) for value in offered)


@contextlib.asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await wait_for(
        lambda: server.started or task.done(), timeout_s=10, interval_s=0.01, what="the receiver starts"
    )
    assert server.started, "the receiver did not start"
    receiver.port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=deadline_s(10))
