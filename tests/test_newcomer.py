"""The newcomer's path: a fresh clone, the README's first command in a fresh virtual environment, then what a
new developer would try first: enrol a member through GraphQL (with the code from the development outbox),
send a signed partner accrual, and see the miles on the member's statement. Runs once (on the embedded stack
run); it installs the package, so it takes a minute or two."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from gateway.settings import Settings
from tests.factories import enrolled_member_sync
from tests.support import STACK, deadline_s, signed_delivery, wait_for_sync

ROOT = Path(__file__).resolve().parent.parent
STATEMENT = "{ me { statement(first: 5) { edges { node { partnerCode amounts { currency amount } } } } } }"

pytestmark = pytest.mark.skipif(
    STACK != "embedded", reason="the newcomer's path is walked once, on the embedded run"
)


def readme_run_command() -> str:
    """The README's first command: the first ```bash block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```bash\n(.+?)\n```", text, re.S)
    assert match, "the README opens with a bash block"
    return match.group(1).strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_a_fresh_clone_runs_with_the_readme_command_and_credits_a_partner_accrual(tmp_path: Path) -> None:
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

            # the README's command installs the project first: minutes on a cold cache
            wait_for_sync(up, timeout_s=600, interval_s=1, what="the service comes up")

            # GraphiQL is open in development
            assert (
                "graphiql"
                in http.get("/graphql", headers={"accept": "text/html"}, follow_redirects=True).text.lower()
            )
            # enrol a member: enrolMember e-mails a code (development: into <data dir>/outbox.jsonl), and
            # confirmEnrolment with it creates the member
            result = enrolled_member_sync(http, Settings(data_dir=tmp_path / "data"))
            # register a partner with the clone's own command line, as the README shows
            added = subprocess.run(
                [
                    str(clone / ".venv" / "bin" / "milesgate"),
                    "partners",
                    "add",
                    "newco",
                    "--name",
                    "NewCo Air",
                    "--kind",
                    "airline",
                ],
                cwd=clone,
                env=env,
                capture_output=True,
                text=True,
                timeout=deadline_s(120),
                check=True,
            )
            secret = next(line for line in added.stdout.splitlines() if line.startswith("whsec_"))
            # the partner sends a signed accrual
            event: dict[str, object] = {
                "type": "accrual.created",
                "data": {
                    "member": {"serviceCardNumber": result["serviceCardNumber"]},
                    "transactionId": "NEWCO-1",
                    "activityDate": "2026-03-01",
                    "miles": 1234,
                },
            }
            body, headers = signed_delivery(secret, event)
            answer = http.post("/webhooks/partners/newco", content=body, headers=headers)
            assert answer.status_code == 202, answer.text
            # and the miles show on the member's statement
            token = {"authorization": f"Bearer {result['accessToken']}"}

            def statement() -> list[Any]:
                answer = http.post("/graphql", json={"query": STATEMENT}, headers=token).json()
                found: list[Any] = answer["data"]["me"]["statement"]["edges"]
                return found

            wait_for_sync(statement, timeout_s=30, interval_s=0.3, what="the accrual reaches the statement")
            edges = statement()
            assert edges[0]["node"]["partnerCode"] == "newco"
            assert {"currency": "AWARD_MILES", "amount": 1234} in edges[0]["node"]["amounts"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=deadline_s(30))
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
