"""GraphiQL for developers: our own static files (built from the npm graphiql package), a strict
Content-Security-Policy, nothing in production, and a real query run from headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any, NoReturn

import httpx2
import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from pydantic import SecretStr

from gateway.app import create_app
from gateway.http.graphiql import GRAPHIQL_DIR
from gateway.settings import Environment, Settings
from tests.gateway.test_graphql_cop import served
from tests.support import deadline_s, in_ci

ASSETS = ["graphiql.js", "graphiql.css", "editor.worker.js", "json.worker.js", "graphql.worker.js"]


def _missing(what: str) -> NoReturn:
    """CI installs Chromium, Playwright and the GraphiQL build tools (.ci/run): there a gap fails."""
    if in_ci():
        pytest.fail(what)
    pytest.skip(what)


def _csp(response: httpx2.Response) -> dict[str, str]:
    policy = response.headers.get("content-security-policy", "")
    return {part.split()[0]: part for part in (item.strip() for item in policy.split(";")) if part}


async def test_the_page_and_its_assets_come_from_us_under_a_strict_csp(client: AsyncClient) -> None:
    page = await client.get("/graphiql")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = _csp(page)
    assert policy["default-src"] == "default-src 'none'"
    assert policy["script-src"] == "script-src 'self'"  # no CDN, no inline script, no eval
    assert policy["connect-src"] == "connect-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "http://" not in page.text and "https://" not in page.text
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/graphiql/static/graphiql.js" defer>']
    assert "style=" not in page.text and "<style" not in page.text
    for name in ASSETS:
        asset = await client.get(f"/graphiql/static/{name}")
        assert asset.status_code == 200, name
        assert _csp(asset)["worker-src"] == "worker-src 'self'"  # a worker obeys its own response's CSP


async def test_a_browser_asking_for_graphql_is_sent_to_our_graphiql(client: AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 307 and response.headers["location"] == "/graphiql"


async def test_the_operators_schema_has_its_own_graphiql_page(client: AsyncClient) -> None:
    response = await client.get("/admin/graphql", headers={"accept": "text/html"})
    assert response.status_code == 307 and response.headers["location"] == "/admin/graphiql"
    page = await client.get("/admin/graphiql")
    assert page.status_code == 200 and _csp(page)["script-src"] == "script-src 'self'"
    assert page.text == (await client.get("/graphiql")).text  # the bundle picks the endpoint by path


async def test_production_serves_no_graphiql(settings: Settings) -> None:
    production = settings.model_copy(
        update={"env": Environment.PRODUCTION, "database_url": SecretStr(settings.resolved_database_url)}
    )
    app = create_app(production)
    async with (
        LifespanManager(app, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://prod") as client,
    ):
        for path in ("/graphiql", "/admin/graphiql", "/graphiql/static/graphiql.js"):
            assert (await client.get(path)).status_code == 404, path
        for path in ("/graphql", "/admin/graphql"):
            page = await client.get(path, headers={"accept": "text/html"})
            assert page.status_code != 307 and "graphiql" not in page.text.lower()


def test_the_committed_bundle_is_up_to_date() -> None:
    """``npm run build --prefix gateway/graphiql`` rebuilds static/; this rebuilds it aside and compares."""
    node = shutil.which("node")
    if node is None or not (GRAPHIQL_DIR / "node_modules" / "esbuild").exists():
        _missing("the GraphiQL build needs node and `npm ci --prefix gateway/graphiql`")
    result = subprocess.run(
        [node, str(GRAPHIQL_DIR / "build.mjs"), "--check"],
        capture_output=True,
        text=True,
        timeout=deadline_s(300),
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _chromium() -> str:
    path = os.environ.get("MILESGATE_TEST_CHROMIUM") or shutil.which("chromium")
    if path is None:
        _missing("Chromium is not installed (apt-get install chromium)")
    return path


async def test_graphiql_runs_a_query_in_headless_chromium(settings: Settings) -> None:
    chromium = _chromium()
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing("Playwright's Python package is not installed")

    async with served(settings) as api, async_playwright() as playwright:
        base = str(api.base_url).rstrip("/")
        expected = (await api.post("/graphql", json={"query": "{ rewards { code } }"})).json()
        first_code = expected["data"]["rewards"][0]["code"]
        # The system's Chromium: Playwright downloads no browser of its own.
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            problems: list[str] = []
            requested: list[str] = []
            page.on("console", lambda message: _note_console(message, problems))
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("request", lambda request: requested.append(request.url))

            # given GraphiQL, opened the way a developer does: GET /graphql in the browser
            await page.goto(f"{base}/graphql")
            assert page.url == f"{base}/graphiql"
            editor = page.locator(".graphiql-query-editor .monaco-editor").first
            await editor.wait_for(timeout=deadline_s(30_000))
            # it opens with the first document of README.md's "First ten minutes" (tests/test_newcomer.py)
            await page.wait_for_function(
                """() => document.querySelector(".graphiql-query-editor .view-lines")
                    .innerText.includes("enrolMember")""",
                timeout=deadline_s(30_000),
            )

            # when a query is typed and run
            await editor.click()
            await page.keyboard.press("Control+A")
            await page.keyboard.press("Delete")
            # Inserted as one paste: typed key by key, the editor's completions and brace closing race
            # the keystrokes on a loaded machine.
            await page.keyboard.insert_text("{ rewards { code miles } }")
            await page.wait_for_function(
                """() => document.querySelector(".graphiql-query-editor .view-lines")
                    .innerText.replace(/\\s+/g, " ").startsWith("{ rewards { code miles } }")""",
                timeout=deadline_s(30_000),
            )
            await page.keyboard.press("Escape")  # close the field suggestions, if they opened
            await page.keyboard.press("Control+Enter")  # GraphiQL's "run"

            # then the result shows, and nothing was blocked or fetched from elsewhere
            response = page.locator(".graphiql-response")
            await response.get_by_text(first_code).first.wait_for(timeout=deadline_s(30_000))
            assert '"miles"' in await response.inner_text()
            assert problems == []
            assert [url for url in requested if not url.startswith(base)] == []

            # and the browser enforces the policy: an injected inline script does not run
            injected = await page.evaluate(
                """() => {
                    const script = document.createElement("script");
                    script.textContent = "window.injectedScriptRan = true";
                    document.head.appendChild(script);
                    return window.injectedScriptRan === true;
                }"""
            )
            assert injected is False
            assert any("script-src 'self'" in problem for problem in problems)
        finally:
            await browser.close()


async def test_the_admin_graphiql_page_talks_to_the_operators_schema(settings: Settings) -> None:
    chromium = _chromium()
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing("Playwright's Python package is not installed")

    async with served(settings) as api, async_playwright() as playwright:
        base = str(api.base_url).rstrip("/")
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            posted: list[str] = []
            page.on(
                "request", lambda request: posted.append(request.url) if request.method == "POST" else None
            )

            # given the operators' GraphiQL, opened as GET /admin/graphql in the browser
            await page.goto(f"{base}/admin/graphql")
            assert page.url == f"{base}/admin/graphiql"
            editor = page.locator(".graphiql-query-editor .monaco-editor").first
            await editor.wait_for(timeout=deadline_s(30_000))

            # when its opening document (the partner list) runs without an operator token
            await page.wait_for_function(
                """() => document.querySelector(".graphiql-query-editor .view-lines")
                    .innerText.includes("partners")""",
                timeout=deadline_s(30_000),
            )
            await editor.click()
            await page.keyboard.press("Control+Enter")

            # then /admin/graphql answers it, and refuses it
            response = page.locator(".graphiql-response")
            await response.get_by_text("FORBIDDEN").first.wait_for(timeout=deadline_s(30_000))
            assert f"{base}/admin/graphql" in posted
            assert f"{base}/graphql" not in posted
        finally:
            await browser.close()


def _note_console(message: Any, problems: list[str]) -> None:
    if message.type == "error" or "Content Security Policy" in message.text:
        problems.append(f"console {message.type}: {message.text[:300]}")
