"""A served app that answers with the id of the process that answered, for ``test_processes``.

  python -m tests.gateway.pid_app PORT WORKERS   (on 127.0.0.1, through ``gateway.processes.serve``)

With ``PID_APP_FAIL_START`` set, its start-up (lifespan) fails, as milesgate's does without a database.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.processes import serve

HOST = "127.0.0.1"


async def pid(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(os.getpid()))


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    if os.environ.get("PID_APP_FAIL_START"):
        raise RuntimeError("start-up fails, as asked")
    yield


def create_app() -> Starlette:
    return Starlette(routes=[Route("/", pid)], lifespan=lifespan)


if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    app = "tests.gateway.pid_app:create_app"
    sys.exit(serve(app, workers=workers, factory=True, host=HOST, port=port, log_level="warning"))
