"""The newcomer's path, as README.md's "First ten minutes" writes it: a fresh clone, the README's first
command in a fresh virtual environment, then every command and GraphQL document of that section, read from
README.md between its ``first-ten-minutes`` markers and run in order, so the section cannot rot.

Only what a reader fills in differs from the text: each ``<…>`` placeholder becomes the value an earlier step
answered (``<enrolmentId>``, ``<code>``, ``<serviceCardNumber>``, ``<accessToken>``, ``<whsec_ secret>``),
and the served port is a free one instead of 8000. Runs once (on the embedded stack run); it installs the
package, so it takes a minute or two."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support import STACK, deadline_s, stop_process, wait_for_sync

ROOT = Path(__file__).resolve().parent.parent
FIRST_DOCUMENT = ROOT / "gateway" / "graphiql" / "src" / "first-document.graphql"
SECTION = re.compile(r"<!-- first-ten-minutes -->\n(.+?)<!-- /first-ten-minutes -->", re.S)
BLOCK = re.compile(r"^```(bash|graphql|json)\n(.*?)\n```$", re.S | re.M)
PLACEHOLDER = re.compile(r"<[A-Za-z][^<>\n]*>")
README_ADDRESS = "127.0.0.1:8000"

pytestmark = pytest.mark.skipif(
    STACK != "embedded", reason="the newcomer's path is walked once, on the embedded run"
)


@dataclass(frozen=True)
class Block:
    kind: str  # bash, graphql or json
    text: str


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def readme_run_command() -> str:
    """The README's first command: the first ```bash block."""
    match = re.search(r"```bash\n(.+?)\n```", readme(), re.S)
    assert match, "the README opens with a bash block"
    return match.group(1).strip()


def walkthrough(text: str | None = None) -> list[Block]:
    """The code blocks of "First ten minutes", in order."""
    section = SECTION.search(text if text is not None else readme())
    assert section, "README.md has the first-ten-minutes markers"
    return [Block(kind, body) for kind, body in BLOCK.findall(section.group(1))]


def fill(text: str, values: dict[str, str]) -> str:
    """The block with each placeholder replaced by what an earlier step answered."""
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    left = PLACEHOLDER.findall(text)
    assert not left, f"no earlier step answered {left}"
    return text


def harvest(answer: Any, values: dict[str, str]) -> None:
    """The values later steps paste, from a GraphQL answer."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key in ("enrolmentId", "serviceCardNumber", "accessToken") and isinstance(value, str):
                values[f"<{key}>"] = value
            harvest(value, values)
    elif isinstance(answer, list):
        for item in answer:
            harvest(item, values)


def harvest_output(output: str, values: dict[str, str]) -> None:
    """The values later steps paste, from a command's output."""
    secret = re.search(r"^(whsec_\S+)$", output, re.M)
    if secret:
        values["<whsec_ secret>"] = secret.group(1)
    code = re.search(r"^\s*([0-9]{6,10})\s*$", output, re.M)
    if code and "enrolment_code" in output:
        values["<code>"] = code.group(1)


def operation_name(document: str) -> str:
    match = re.search(r"^(?:query|mutation)\s+(\w+)", document, re.M)
    assert match, document
    return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the section itself (fast) ---------------------------------------------------------------------


def test_graphiql_opens_with_the_walkthroughs_first_document() -> None:
    first = next(block for block in walkthrough() if block.kind == "graphql")
    assert first.text.strip() == FIRST_DOCUMENT.read_text(encoding="utf-8").strip()
    assert "firstDocument" in (ROOT / "gateway" / "graphiql" / "src" / "main.jsx").read_text(encoding="utf-8")


def test_the_walkthrough_has_every_step_in_order() -> None:
    blocks = walkthrough()
    documents = [operation_name(block.text) for block in blocks if block.kind == "graphql"]
    assert documents == ["Enrol", "Confirm", "SignIn", "Dashboard"]
    commands = " | ".join(block.text for block in blocks if block.kind == "bash")
    for step in ("milesgate mail outbox", "milesgate partners add", "curl", "python3 -c"):
        assert step in commands
    assert "$(date -u +%F)" in commands, "the accrual is dated today"
    assert '"description"' in commands
    assert README_ADDRESS in commands


def test_a_placeholder_no_step_answers_is_caught() -> None:
    blocks = walkthrough(
        '<!-- first-ten-minutes -->\n```json\n{"a": "<token>"}\n```\n<!-- /first-ten-minutes -->'
    )
    assert blocks == [Block("json", '{"a": "<token>"}')]
    with pytest.raises(AssertionError, match="token"):
        fill(blocks[0].text, {"<accessToken>": "x"})


# --- walked from a fresh clone (slow) ----------------------------------------------------------------


class Walk:
    """One reader's session: the served app, a second terminal in the clone, GraphiQL's headers."""

    def __init__(self, clone: Path, env: dict[str, str], http: httpx2.Client, port: int) -> None:
        self.clone, self.env, self.http, self.port = clone, env, http, port
        self.values: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        self.documents: dict[str, str] = {}

    def run(self, block: Block) -> None:
        text = fill(block.text, self.values)
        if block.kind == "graphql":
            self.documents[operation_name(text)] = text
            harvest(self.graphql(text), self.values)
        elif block.kind == "json":
            self.headers = json.loads(text)
        else:
            self.shell(text.replace(README_ADDRESS, f"127.0.0.1:{self.port}"))

    def graphql(self, document: str) -> dict[str, Any]:
        answer = self.http.post("/graphql", json={"query": document}, headers=self.headers).json()
        assert "errors" not in answer, answer
        data: dict[str, Any] = answer["data"]
        assert "InputError" not in json.dumps(data), data
        return data

    def shell(self, script: str) -> None:
        def once() -> str:
            done = subprocess.run(
                ["bash", "-c", script],
                cwd=self.clone,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=deadline_s(120),
                check=False,
            )
            assert done.returncode == 0, (script, done.stdout, done.stderr)
            return done.stdout

        if "mail outbox" in script:  # the sender inside serve writes the e-mail a moment after the request
            wait_for_sync(
                lambda: "<code>" in self._harvested(once()),
                timeout_s=30,
                interval_s=0.5,
                what="the e-mailed code",
            )
        elif "curl" in script:
            answer = json.loads(once())
            assert answer["duplicate"] is False, answer
        else:
            self._harvested(once())

    def _harvested(self, output: str) -> dict[str, str]:
        harvest_output(output, self.values)
        return self.values


@pytest.mark.slow
def test_a_fresh_clone_walks_the_first_ten_minutes_as_the_readme_writes_them(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=deadline_s(120))
    command = readme_run_command()
    assert command.startswith("python3 -m venv .venv") and command.endswith("milesgate serve"), command
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MILESGATE_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update({"MILESGATE_DATA_DIR": str(tmp_path / "data"), "MILESGATE_PORT": str(port)})
    # The README says python3; use this interpreter's version of it so the test runs where the suite runs.
    command = command.replace("python3 ", f"{shlex.quote(sys.executable)} ", 1)
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        ["bash", "-c", command], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx2.Client(base_url=base, trust_env=False, timeout=deadline_s(10)) as http:

            def up() -> bool:
                assert server.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
                try:
                    return http.get("/readyz").status_code == 200
                except httpx2.HTTPError:
                    return False

            # 1. the README's command installs the project first: minutes on a cold cache
            wait_for_sync(up, timeout_s=600, interval_s=1, what="the service comes up")
            assert "/graphiql" in (tmp_path / "serve.log").read_text(errors="replace")

            # 2. GraphiQL, and the bundle it loads opens with the walkthrough's first document
            page = http.get("/graphiql")
            assert page.status_code == 200 and "graphiql" in page.text.lower()
            assert "mutation Enrol" in http.get("/graphiql/static/graphiql.js").text

            # 3.-7. every block of the section, in order
            walk = Walk(clone, env, http, port)
            for block in walkthrough(readme()):
                walk.run(block)

            # 8. the miles: Dashboard again, once the worker inside serve has credited the accrual
            def dashboard() -> dict[str, Any]:
                me: dict[str, Any] = walk.graphql(walk.documents["Dashboard"])["me"]
                return me

            wait_for_sync(
                lambda: dashboard()["balances"]["awardMiles"] == 1200,
                timeout_s=30,
                interval_s=0.3,
                what="the accrual reaches the balance",
            )
            me = dashboard()
            # this year's Points: the accrual is dated today
            assert me["balances"] == {"awardMiles": 1200, "points": 20, "qualifyingPoints": 20}
            first = me["statement"]["edges"][0]["node"]
            assert first["description"] == "NewCo Air NC 100 FRA-ZRH"
            assert first["partnerCode"] == "newco"
            assert first["activityDate"] == dt.datetime.now(dt.UTC).date().isoformat()
            assert {"currency": "AWARD_MILES", "amount": 1200} in first["amounts"]
    finally:
        stop_process(server, timeout_s=30)
        log.close()
