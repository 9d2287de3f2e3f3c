"""``milesgate operators token`` records what it mints; ``operators tokens list`` shows the tokens (never
the tokens themselves) and ``operators tokens revoke ID`` ends one at once (issue 19)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.operators import OperatorTokens
from loyalty.operators import OperatorToken
from loyalty.privacy.models import AuditEntry
from tests.gateway.cli.stacks import SECRET_KEY, in_stack_db, milesgate, stack_env


@pytest.fixture
def env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    return stack_env(tmp_path, request)


def _mint(env: dict[str, str], name: str) -> tuple[int, str]:
    result = milesgate(["operators", "token", "--name", name, "--hours", "1"], env)
    assert result.exit_code == 0, result.output
    first, token = result.stdout.strip().splitlines()[-2:]
    assert first.startswith("operator token ") and f"for {name}" in first, first
    return int(first.split()[2]), token


def _admitted(env: dict[str, str], token: str) -> bool:
    async def work() -> bool:
        return await OperatorTokens(SECRET_KEY).admit(token) is not None

    return in_stack_db(env, work)


def test_tokens_are_listed_without_secrets_and_a_revoked_one_is_refused_at_once(env: dict[str, str]) -> None:
    alice, alice_token = _mint(env, "ops.alice")
    bob, bob_token = _mint(env, "ops.bob")
    assert _admitted(env, alice_token) and _admitted(env, bob_token)

    listed = milesgate(["operators", "tokens", "list"], env)
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.stdout.splitlines() if "ops." in line]
    cells = [[cell.strip() for cell in line.split("│") if cell.strip()] for line in rows]
    assert [(row[0], row[1], row[-1]) for row in cells] == [
        (str(bob), "ops.bob", "active"),
        (str(alice), "ops.alice", "active"),
    ], listed.stdout
    for token in (alice_token, bob_token):  # neither the token nor any part of it
        assert all(part not in listed.stdout for part in token.split(".")), listed.stdout

    # when
    revoked = milesgate(["operators", "tokens", "revoke", str(alice), "--operator", "ops.carol"], env)

    # then: refused from the next check on; the other token still passes
    assert revoked.exit_code == 0, revoked.output
    assert f"operator token {alice} of ops.alice revoked" in revoked.stdout
    assert not _admitted(env, alice_token)
    assert _admitted(env, bob_token)
    after = milesgate(["operators", "tokens", "list"], env)
    assert "revoked" in after.stdout and "ops.carol" in after.stdout

    async def audited() -> list[tuple[str, str]]:
        return [
            (entry.actor, entry.action) for entry in await AuditEntry.filter(action__startswith="operator.")
        ]

    assert ("operator:ops.carol", "operator.token.revoke") in in_stack_db(env, audited)


def test_revoking_an_unknown_or_revoked_token_says_why(env: dict[str, str]) -> None:
    token_id, _ = _mint(env, "ops.alice")
    unknown = milesgate(
        ["operators", "tokens", "revoke", str(token_id + 1000), "--operator", "ops.carol"], env
    )
    assert unknown.exit_code == 1
    assert "OPERATOR_TOKEN_NOT_FOUND:" in unknown.output
    assert (
        milesgate(["operators", "tokens", "revoke", str(token_id), "--operator", "ops.carol"], env).exit_code
        == 0
    )
    again = milesgate(["operators", "tokens", "revoke", str(token_id), "--operator", "ops.carol"], env)
    assert again.exit_code == 1
    assert "OPERATOR_TOKEN_REVOKED:" in again.output


def test_a_token_signed_but_never_recorded_is_refused(env: dict[str, str]) -> None:
    _mint(env, "ops.alice")  # the database exists
    unrecorded = OperatorTokens(SECRET_KEY).issue(name="ops.mallory", ttl_s=600)
    assert OperatorTokens(SECRET_KEY).verify(unrecorded) is not None  # a valid signature
    assert not _admitted(env, unrecorded)


def test_expired_tokens_are_listed_with_all_only(env: dict[str, str]) -> None:
    token_id, _ = _mint(env, "ops.alice")

    async def expire() -> None:
        await OperatorToken.filter(id=token_id).update(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        )

    in_stack_db(env, expire)
    assert "ops.alice" not in milesgate(["operators", "tokens", "list"], env).stdout
    every = milesgate(["operators", "tokens", "list", "--all"], env)
    assert "ops.alice" in every.stdout and "expired" in every.stdout
