"""Automatic persisted queries (Apollo's protocol) in the cache port, and the safelist in production."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from httpx2 import AsyncClient
from strawberry.http import GraphQLRequestData
from typer.testing import CliRunner

from gateway.backends.memory import MemoryCache
from gateway.cli.persisted import persisted_queries_app
from gateway.graphql.persisted_queries import (
    PersistedQueries,
    PersistedQueryError,
    Safelist,
    SafelistError,
    document_hash,
)
from gateway.services import services
from gateway.settings import Settings
from tests.gateway.conftest import ClientFactory, EdgeApps

REWARDS = "query Rewards { rewards { code } }"
NOTICES = 'query Notices { securityNotices(language: "en") { title } }'


def apq(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}


async def send(
    client: AsyncClient, *, query: str | None = None, extensions: Any = None, path: str = "/graphql"
) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if query is not None:
        payload["query"] = query
    if extensions is not None:
        payload["extensions"] = extensions
    response = await client.post(path, json=payload)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def code(body: dict[str, Any]) -> str | None:
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else None


def register(directory: Path, *files: Path, schema: str = "member") -> Any:
    return CliRunner().invoke(
        persisted_queries_app,
        ["register", "--dir", str(directory), "--schema", schema, *map(str, files)],
        env={"COLUMNS": "200"},
    )


async def test_apq_round_trip(edge_client: ClientFactory) -> None:
    client = await edge_client(production=True)
    missing = await send(client, extensions=apq(REWARDS))
    assert missing["errors"][0]["message"] == "PersistedQueryNotFound"
    assert code(missing) == "PERSISTED_QUERY_NOT_FOUND"

    stored = await send(client, query=REWARDS, extensions=apq(REWARDS))
    assert stored["data"]["rewards"]
    by_hash = await send(client, extensions=apq(REWARDS))
    assert by_hash == stored


async def test_apq_documents_are_shared_through_the_cache_port(edge_apps: EdgeApps) -> None:
    app = await edge_apps.app(production=True)
    one, other = await edge_apps.client(app, "192.0.2.1"), await edge_apps.client(app, "192.0.2.2")
    await send(one, query=NOTICES, extensions=apq(NOTICES))
    cached = await services(app).backends.ports.cache.get("apq:" + document_hash(NOTICES))
    assert cached == NOTICES.encode()
    assert "errors" not in await send(other, extensions=apq(NOTICES))


async def test_apq_documents_a_process_saw_answer_without_the_cache() -> None:
    """A hash names one text for ever: once seen, a process keeps it and spares the cache a round trip
    per request; a process that never saw it asks the cache."""
    cache = MemoryCache()
    seen, other = (
        PersistedQueries(safelist=Safelist.empty(), enforce_safelist=False, apq=True, ttl_s=60) for _ in "ab"
    )
    sha256 = document_hash(NOTICES)
    by_hash = GraphQLRequestData(query=None, variables=None, operation_name=None, extensions=apq(NOTICES))
    await seen.resolve(dataclasses.replace(by_hash, query=NOTICES), cache)
    assert (await other.resolve(by_hash, cache)).query == NOTICES

    await cache.delete("apq:" + sha256)
    assert (await seen.resolve(by_hash, cache)).query == NOTICES
    with pytest.raises(PersistedQueryError) as refused:
        await PersistedQueries(safelist=Safelist.empty(), enforce_safelist=False, apq=True, ttl_s=60).resolve(
            by_hash, cache
        )
    assert refused.value.extensions == {"code": "PERSISTED_QUERY_NOT_FOUND"}


async def test_apq_refuses_a_wrong_hash_and_a_bad_extension(edge_client: ClientFactory) -> None:
    client = await edge_client(production=True)
    mismatch = await send(client, query=REWARDS, extensions=apq(NOTICES))
    assert code(mismatch) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert code(await send(client, extensions=apq(NOTICES))) == "PERSISTED_QUERY_NOT_FOUND"  # not stored
    bad = {"persistedQuery": {"version": 2, "sha256Hash": document_hash(REWARDS)}}
    assert code(await send(client, query=REWARDS, extensions=bad)) == "PERSISTED_QUERY_INVALID"
    short = {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}
    assert code(await send(client, extensions=short)) == "PERSISTED_QUERY_INVALID"


async def test_apq_can_be_turned_off(edge_client: ClientFactory) -> None:
    client = await edge_client(persisted_queries=False)
    body = await send(client, query=REWARDS, extensions=apq(REWARDS))
    assert code(body) == "PERSISTED_QUERY_NOT_SUPPORTED"


async def test_production_with_a_safelist_runs_only_registered_documents(
    edge_client: ClientFactory, tmp_path: Path
) -> None:
    source = tmp_path / "rewards.graphql"
    source.write_text(REWARDS, encoding="utf-8")
    safelist = tmp_path / "safelist"
    assert register(safelist, source).exit_code == 0
    client = await edge_client(production=True, persisted_queries_dir=safelist)

    assert (await send(client, extensions=apq(REWARDS)))["data"]["rewards"]
    assert (await send(client, query=REWARDS))["data"]["rewards"]
    assert (await send(client, query=REWARDS, extensions=apq(REWARDS)))["data"]["rewards"]

    for refused in (
        await send(client, query=NOTICES),
        await send(client, query=NOTICES, extensions=apq(NOTICES)),
        await send(client, extensions=apq(NOTICES)),
        await send(client, query="{ __typename }"),
    ):
        assert code(refused) == "PERSISTED_QUERY_NOT_ALLOWED" and refused["data"] is None


PARTNERS = "query Partners { partners { code } }"


async def test_the_operators_schema_has_its_own_safelist(edge_client: ClientFactory, tmp_path: Path) -> None:
    # given: a member document and an operator document, each registered for its own schema
    member_doc, admin_doc = tmp_path / "rewards.graphql", tmp_path / "partners.graphql"
    member_doc.write_text(REWARDS, encoding="utf-8")
    admin_doc.write_text(PARTNERS, encoding="utf-8")
    safelist = tmp_path / "safelist"
    refused = register(safelist, admin_doc)  # the member schema has no partners field
    assert refused.exit_code == 1 and "DOCUMENT_REFUSED" in refused.output
    assert register(safelist, member_doc).exit_code == 0
    assert register(safelist, admin_doc, schema="admin").exit_code == 0
    assert [path.name for path in (safelist / "admin").iterdir()] == [f"{document_hash(PARTNERS)}.graphql"]
    client = await edge_client(production=True, persisted_queries_dir=safelist)

    # then: each endpoint runs its own registered documents only (the partner list is refused for want
    # of an operator token, not by the safelist)
    admin = await send(client, extensions=apq(PARTNERS), path="/admin/graphql")
    assert code(admin) == "FORBIDDEN"
    assert code(await send(client, query=REWARDS, path="/admin/graphql")) == "PERSISTED_QUERY_NOT_ALLOWED"
    assert code(await send(client, query=PARTNERS)) == "PERSISTED_QUERY_NOT_ALLOWED"
    assert (await send(client, query=REWARDS))["data"]["rewards"]


async def test_development_with_a_safelist_still_runs_other_documents(
    edge_client: ClientFactory, tmp_path: Path
) -> None:
    source = tmp_path / "rewards.graphql"
    source.write_text(REWARDS, encoding="utf-8")
    assert register(tmp_path / "safelist", source).exit_code == 0
    client = await edge_client(persisted_queries_dir=tmp_path / "safelist")
    assert (await send(client, extensions=apq(REWARDS)))["data"]["rewards"]
    assert "errors" not in await send(client, query=NOTICES)


def test_register_writes_documents_by_hash_and_list_shows_them(tmp_path: Path) -> None:
    first, second = tmp_path / "a.graphql", tmp_path / "b.graphql"
    first.write_text(REWARDS, encoding="utf-8")
    second.write_text(NOTICES, encoding="utf-8")
    safelist = tmp_path / "safelist"

    result = register(safelist, first, second)

    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in safelist.iterdir()) == sorted(
        f"{document_hash(text)}.graphql" for text in (REWARDS, NOTICES)
    )
    listed = CliRunner().invoke(
        persisted_queries_app, ["list", "--dir", str(safelist)], env={"COLUMNS": "200"}
    )
    assert listed.exit_code == 0
    assert f"{document_hash(REWARDS)}  Rewards" in listed.output
    assert f"{document_hash(NOTICES)}  Notices" in listed.output


def test_register_refuses_invalid_or_too_costly_documents_and_writes_nothing(tmp_path: Path) -> None:
    good, unknown, broken, costly = (tmp_path / f"{name}.graphql" for name in ("g", "u", "b", "c"))
    good.write_text(REWARDS, encoding="utf-8")
    unknown.write_text("{ me { favouriteColour } }", encoding="utf-8")
    broken.write_text("query {", encoding="utf-8")
    costly.write_text("{ me { statement(first: 100000) { edges { cursor } } } }", encoding="utf-8")
    safelist = tmp_path / "safelist"

    result = CliRunner().invoke(
        persisted_queries_app,
        ["register", "--dir", str(safelist), *map(str, (good, unknown, broken, costly))],
        env={"COLUMNS": "200"},
    )

    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "Cannot query field 'favouriteColour' on type 'Member'" in output
    assert "Syntax Error" in output and "costs 200002" in output
    assert f"{good}:" not in output
    assert not safelist.exists()


def test_a_broken_or_missing_safelist_stops_the_start(settings: Settings, tmp_path: Path) -> None:
    from gateway.app import create_app

    (tmp_path / "broken.graphql").write_text("query {", encoding="utf-8")
    with pytest.raises(SafelistError, match=r"broken\.graphql"):
        create_app(settings.model_copy(update={"persisted_queries_dir": tmp_path}))
    with pytest.raises(SafelistError, match="does not exist"):
        create_app(settings.model_copy(update={"persisted_queries_dir": tmp_path / "nowhere"}))
