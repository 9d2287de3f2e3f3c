"""graphql-cop's checks, against the app served by uvicorn on a loopback port.

graphql-cop (github.com/dolevf/graphql-cop) is a script, not a package: the name on the package registry
is an empty placeholder. So each of its checks is written here, sending what it sends and judging the
answer the way it does. Production must give no finding; development must give the findings that its
tools (GraphiQL, introspection, suggestions, GET) make, which shows the checks can find something.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import uvicorn
from pydantic import SecretStr

from gateway.app import create_app
from gateway.settings import Environment, Settings
from tests.support import deadline_s, wait_for

Check = Callable[[httpx2.AsyncClient], Awaitable[bool]]


def _json(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _first_error(body: Any) -> str:
    try:
        return str(body["errors"][0]["message"])
    except (KeyError, IndexError, TypeError):
        return ""


async def _query(client: httpx2.AsyncClient, query: str) -> Any:
    return _json(await client.post("/graphql", json={"query": query}))


async def field_suggestions(client: httpx2.AsyncClient) -> bool:
    return "Did you mean" in _first_error(await _query(client, "query { __schema { directive } }"))


async def introspection(client: httpx2.AsyncClient) -> bool:
    body = await _query(client, "query cop { __schema { types { name fields { name } } } }")
    return bool((body.get("data") or {}).get("__schema"))


async def graphiql(client: httpx2.AsyncClient) -> bool:
    marks = ("graphiql.min.css", "GraphQL Playground", "GraphiQL", "graphql-playground")
    for path in ("/graphiql", "/playground", "/console", "/graphql"):
        response = await client.get(path, headers={"accept": "text/html"})
        if any(mark in response.text for mark in marks):
            return True
    return False


async def get_method_support(client: httpx2.AsyncClient) -> bool:
    body = _json(await client.get("/graphql", params={"query": "query cop { __typename }"}))
    return (body.get("data") or {}).get("__typename") in ("Query", "QueryRoot", "query_root")


async def get_based_mutation(client: httpx2.AsyncClient) -> bool:
    body = _json(await client.get("/graphql", params={"query": "mutation cop { __typename }"}))
    return bool((body.get("data") or {}).get("__typename"))


async def post_based_csrf(client: httpx2.AsyncClient) -> bool:
    body = _json(await client.post("/graphql", data={"query": "query cop { __typename }"}))
    return bool((body.get("data") or {}).get("__typename"))


async def alias_overloading(client: httpx2.AsyncClient) -> bool:
    aliases = " ".join(f"alias{n}:__typename" for n in range(101))
    return bool(((await _query(client, f"query cop {{ {aliases} }}")).get("data") or {}).get("alias100"))


async def batch_queries(client: httpx2.AsyncClient) -> bool:
    body = _json(await client.post("/graphql", json=[{"query": "query cop { __typename }"}] * 11))
    return isinstance(body, list) and len(body) >= 10


async def field_duplication(client: httpx2.AsyncClient) -> bool:
    body = await _query(client, "query cop { " + "__typename \n" * 500 + "}")
    return bool((body.get("data") or {}).get("__typename"))


async def trace_mode(client: httpx2.AsyncClient) -> bool:
    body = await _query(client, "query cop { __typename }")
    return "tracing" in (body.get("extensions") or {}) or "stacktrace" in str(body).lower()


async def directive_overloading(client: httpx2.AsyncClient) -> bool:
    body = await _query(client, "query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }")
    return len(body.get("errors") or []) == 10


async def circular_introspection(client: httpx2.AsyncClient) -> bool:
    query = "query cop { __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }"
    body = await _query(client, query)
    return len(((body.get("data") or {}).get("__schema") or {}).get("types") or []) > 25


async def circular_fragment(client: httpx2.AsyncClient) -> bool:
    query = (
        "query cop { __schema { ...A } } fragment A on __Schema { __typename ...B } "
        "fragment B on __Schema { ...A }"
    )
    return "errors" not in await _query(client, query)


async def unhandled_errors(client: httpx2.AsyncClient) -> bool:
    body = await _query(client, "qwerty cop { abc }")
    return "exception" in str(body.get("errors") or "").lower()


CHECKS: dict[str, Check] = {
    "Field Suggestions": field_suggestions,
    "Introspection": introspection,
    "GraphQL IDE": graphiql,
    "GET method query support": get_method_support,
    "Mutation over GET": get_based_mutation,
    "POST based url-encoded query": post_based_csrf,
    "Alias Overloading": alias_overloading,
    "Array-based Query Batching": batch_queries,
    "Field Duplication": field_duplication,
    "Trace Mode": trace_mode,
    "Directive Overloading": directive_overloading,
    "Introspection-based Circular Query": circular_introspection,
    "Circular Fragment": circular_fragment,
    "Unhandled Errors Detection": unhandled_errors,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    """The app behind uvicorn on 127.0.0.1, and a client that talks HTTP to it."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: server.started or task.done(), timeout_s=15, what="uvicorn starts")
        assert server.started, "uvicorn did not start"
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=deadline_s(30)) as client:
            assert (await _query(client, "query { __typename }"))["data"]["__typename"] == "Query"
            yield client
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=deadline_s(10))


async def findings(client: httpx2.AsyncClient) -> list[str]:
    return [name for name, check in CHECKS.items() if await check(client)]


async def test_graphql_cop_finds_nothing_in_production(settings: Settings) -> None:
    production = settings.model_copy(
        update={"env": Environment.PRODUCTION, "database_url": SecretStr(settings.resolved_database_url)}
    )
    async with served(production) as client:
        assert await findings(client) == []


async def test_graphql_cop_checks_find_the_development_tools(settings: Settings) -> None:
    async with served(settings) as client:
        found = await findings(client)
    assert {"Field Suggestions", "Introspection", "GraphQL IDE", "GET method query support"} <= set(found)
    assert "Alias Overloading" not in found and "Field Duplication" not in found  # limits hold in both
