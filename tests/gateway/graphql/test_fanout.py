"""Fragment fan-out (issue 18, item 1): n fragments, each spreading the next twice, expand to 2^n paths
in a few hundred bytes. Validating such a document costs time linear in its size, it is refused with a
code, and the gateway keeps answering while it refuses them."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from types import FrameType
from typing import Any

import httpx2
import uvicorn
from graphql import parse, specified_rules, validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from gateway.app import create_app
from gateway.graphql.edge import document_rules
from gateway.graphql.engine import core_schema
from gateway.rate_limits import sensitive_field_counts
from gateway.settings import Settings
from schema.root import build_schema
from tests.support import deadline_s, wait_for

SCHEMA = core_schema(build_schema())
REFUSED_WITHIN_S = 0.05
"""How long the server may take to refuse a fan-out document (stretched on a slow machine)."""
ATTEMPTS = 5
"""Documents of each size sent: the fastest refusal is judged, so a busy machine's pause does not count
(an expansion that walked every path would be slow every time)."""

METRICS_TOKEN = "fan-out-test-metrics-token-0123456789abcdef"


def fan_out(n: int, name: str = "Fanout") -> str:
    """``F0`` spreads ``F1`` twice, ``F1`` spreads ``F2`` twice, … : 2^n paths to ``F{n}``."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n))
    return f"query {name} {{ ...F0 }} {chain} fragment F{n} on Query {{ __typename }}"


def codes(body: dict[str, Any]) -> list[str | None]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


# -- over HTTP, served by uvicorn on a loopback port ---------------------------------------------------


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    """The app behind uvicorn on 127.0.0.1, in a thread of its own with its own event loop (a server
    stuck on one document cannot stop the test from noticing), and a client that talks HTTP to it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=deadline_s(5)) as client:

            async def answers() -> bool:
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx2.TransportError:
                    return False

            await wait_for(answers, timeout_s=30, what="uvicorn answers /healthz")
            yield client
    finally:
        server.should_exit = True
        thread.join(deadline_s(10))


async def server_seconds(client: httpx2.AsyncClient, operation: str) -> float:
    """The time the server itself spent on the operation, from its own metrics."""
    answer = await client.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    metrics = answer.text
    for family in text_string_to_metric_families(metrics):
        if family.name == "milesgate_graphql_operation_seconds":
            for sample in family.samples:
                if sample.name.endswith("_sum") and sample.labels.get("operation") == operation:
                    return float(sample.value)
    raise AssertionError(f"no latency recorded for {operation}")


async def test_fan_out_documents_are_refused_fast_over_http(settings: Settings) -> None:
    # the token limit raised so that n = 60 reaches the expansion limit (at 400, n = 30 already fits)
    update = {"graphql_max_tokens": 1_000, "metrics_token": SecretStr(METRICS_TOKEN)}
    async with served(settings.model_copy(update=update)) as client:
        for n in (30, 60):
            took: list[float] = []
            for attempt in range(ATTEMPTS):
                name = f"Fanout{n}x{attempt}"  # a new text each time: no cached validation
                query = {"query": fan_out(n, name), "operationName": name}
                response = await client.post("/graphql", json=query)
                assert response.status_code == 200 and codes(response.json()) == ["QUERY_TOO_LARGE"]
                took.append(await server_seconds(client, name))
            assert min(took) < deadline_s(REFUSED_WITHIN_S), took


async def test_health_is_answered_while_fan_out_documents_are_refused(settings: Settings) -> None:
    async with served(settings) as client:
        refusals = [
            asyncio.create_task(client.post("/graphql", json={"query": fan_out(30)})) for _ in range(10)
        ]
        slowest = 0.0
        while not all(task.done() for task in refusals):
            asked = time.perf_counter()
            assert (await client.get("/healthz")).json() == {"status": "alive"}
            slowest = max(slowest, time.perf_counter() - asked)
        for refused in await asyncio.gather(*refusals):
            assert codes(refused.json()) == ["QUERY_TOO_LARGE"]
        assert slowest < deadline_s(0.5)


# -- the work of validation, counted -------------------------------------------------------------------


class BudgetSpent(Exception):
    pass


class CallCounter:
    """Counts the Python and C function calls made while it is on (``sys.setprofile``); past ``budget``
    it stops the work it counts, so a walk that would never end fails at once."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.calls = 0

    def __call__(self, frame: FrameType, event: str, arg: object) -> None:
        if event in ("call", "c_call"):
            self.calls += 1
            if self.calls > self.budget:
                raise BudgetSpent

    def count(self, work: Any) -> int:
        sys.setprofile(self)
        try:
            work()
        finally:
            sys.setprofile(None)
        return self.calls


Graph = tuple[tuple[tuple[int, ...], int, int], ...]
"""Per fragment: the fragments it spreads (each a later one, so no cycle; repeats allowed), how many
``__typename`` fields and how many aliased ones it selects."""


@st.composite
def fragment_graphs(draw: st.DrawFn) -> Graph:
    size = draw(st.integers(min_value=1, max_value=14))
    graph = []
    for index in range(size):
        later = st.integers(min_value=index + 1, max_value=size - 1)
        spreads = draw(st.lists(later, max_size=4)) if index < size - 1 else []
        graph.append((tuple(spreads), draw(st.integers(0, 2)), draw(st.integers(0, 2))))
    return tuple(graph)


def document_of(graph: Graph) -> str:
    fragments = []
    for index, (spreads, plain, aliased) in enumerate(graph):
        selections = [f"...F{spread}" for spread in spreads]
        selections += ["__typename"] * plain + [f"a{k}: __typename" for k in range(aliased)]
        fragments.append(f"fragment F{index} on Query {{ __typename {' '.join(selections)} }}")
    return "query Graph { ...F0 } " + " ".join(fragments)


def expanded_selections(graph: Graph) -> int:
    """The operation's selections once every spread is replaced by its fragment, counted the slow, plain
    way (the test's own, on the graph rather than the document)."""

    @cache
    def fragment(index: int) -> int:
        spreads, plain, aliased = graph[index]
        return 1 + plain + aliased + sum(1 + fragment(spread) for spread in spreads)

    return 1 + fragment(0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=fragment_graphs())
def test_validation_work_is_bounded_by_the_document_size(graph: Graph) -> None:
    limits = Settings(graphql_max_selections=200)
    document = parse(document_of(graph))
    rules = document_rules(limits)
    # graphql-core's own rules visit each node of the document a fixed number of times: the yardstick
    standard = CallCounter(budget=10**9).count(lambda: validate(SCHEMA, document, specified_rules))
    budget = 3 * standard + 5_000
    errors: list[Any] = []

    def edge_validation() -> None:
        errors.extend(validate(SCHEMA, document, rules))
        sensitive_field_counts(document, "Graph")

    assert CallCounter(budget).count(edge_validation) <= budget
    too_large = expanded_selections(graph) > limits.graphql_max_selections
    assert ("QUERY_TOO_LARGE" in [error.extensions.get("code") for error in errors]) == too_large
