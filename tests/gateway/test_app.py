"""What clients see at the edges of the app: health, readiness, metrics, request ids, GraphiQL, errors."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from pydantic import SecretStr

from gateway.app import create_app
from gateway.logs import JsonFormatter, request_id_var
from gateway.settings import Environment, Settings
from tests.factories import ENROL_MEMBER, enrolment_input, gql
from tests.support import PRODUCTION_MAIL, deadline_s

PROD_SECRET = "p" * 48


async def test_healthz(client: AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "alive"}


async def test_readyz_reports_each_dependency(client: AsyncClient, settings: Settings) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["redis"] == ("ok" if settings.redis_url else "in-process")


async def test_readyz_is_503_naming_redis_when_it_is_down(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=PROD_SECRET, redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client,
    ):
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "unreachable"


METRICS_TOKEN = "metrics-" + "t" * 40


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The stack's settings with a metrics token, so /metrics can be read."""
    return settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})


async def test_metrics_count_operations_by_name(client: AsyncClient) -> None:
    await gql(client, ENROL_MEMBER, {"input": enrolment_input()})
    await gql(client, "query Nope { me { accountNumber } }")
    text = (await client.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})).text
    assert 'milesgate_graphql_operations_total{operation="Enrol",outcome="ok",type="mutation"} 1.0' in text
    assert 'milesgate_graphql_operations_total{operation="Nope",outcome="error",type="query"} 1.0' in text
    assert 'milesgate_http_requests_total{method="POST",route="/graphql",status="200"} 2.0' in text
    assert "milesgate_graphql_operation_seconds_bucket" in text


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-" + "t" * 40, f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", "Bearer "],
)
async def test_metrics_without_the_token_are_refused(client: AsyncClient, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}

    response = await client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "METRICS_TOKEN_INVALID"
    assert response.headers["www-authenticate"] == "Bearer"
    assert "milesgate_" not in response.text


async def test_metrics_are_off_without_a_configured_token(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, secret_key=PROD_SECRET))
    async with (
        LifespanManager(app, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client,
    ):
        response = await client.get("/metrics", headers={"authorization": "Bearer anything"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "METRICS_DISABLED"


async def test_request_id_is_echoed_or_made(client: AsyncClient) -> None:
    given = await client.get("/healthz", headers={"x-request-id": "abc-12345678"})
    assert given.headers["x-request-id"] == "abc-12345678"
    made = await client.get("/healthz", headers={"x-request-id": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces" and len(made.headers["x-request-id"]) == 32


def test_log_lines_are_json_with_the_request_id() -> None:
    token = request_id_var.set("req-42")
    try:
        record = logging.makeLogRecord(
            {"name": "t", "levelno": 20, "levelname": "INFO", "msg": "hi %s", "args": ("x",)}
        )
        record.__dict__["inbox_id"] = 7
        line = orjson.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["msg"] == "hi x" and line["request_id"] == "req-42" and line["inbox_id"] == 7


async def test_graphiql_is_served_in_development(client: AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"}, follow_redirects=True)
    assert response.status_code == 200 and "graphiql" in response.text.lower()
    assert str(response.url).endswith("/graphiql")  # our own page (tests/gateway/test_graphiql.py)


async def test_production_has_no_graphiql_and_masks_unexpected_errors(tmp_path: Path) -> None:
    dev = Settings(data_dir=tmp_path, secret_key=PROD_SECRET)
    # Production needs an explicit database: migrate it first as an operator would.
    from gateway.db import apply_migrations

    await apply_migrations(dev)
    settings = Settings(
        env=Environment.PRODUCTION,
        data_dir=tmp_path,
        secret_key=PROD_SECRET,
        database_url=dev.resolved_database_url,
        **PRODUCTION_MAIL,
    )
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client,
    ):
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code in {404, 405} or "graphiql" not in page.text.lower()
        via_get = await client.get("/graphql", params={"query": "{ __typename }"})
        assert via_get.status_code >= 400
        typed = await gql(client, ENROL_MEMBER, {"input": enrolment_input(pin="111111")})
        assert typed["data"]["enrolMember"]["code"] == "PIN_TOO_SIMPLE"


@pytest.mark.parametrize("path", ["/nowhere", "/webhooks/partners"])
async def test_unknown_paths_are_json_404(client: AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "HTTP_404"
