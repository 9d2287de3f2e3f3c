"""``milesgate partners`` and ``milesgate operators``, run with Typer's CliRunner on an embedded data directory."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from svix.webhooks import Webhook
from typer.testing import CliRunner, Result

from gateway.cli import app
from gateway.operators import OperatorTokens
from gateway.partner_secrets import partner_secret_box
from gateway.settings import Settings
from loyalty.operators import OperatorRole
from partners.models import Partner, PartnerCapability, PartnerKind, PartnerSecret, PartnerState
from partners.signing import usable_secrets
from tests.support import collapse, in_embedded_db, seed_embedded_db

runner = CliRunner()
SECRET_KEY = "cli-test-secret-key-long-enough-0123456789abcdef"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An embedded (SQLite) installation in the test's own data directory; wide output, no wrapping."""
    seed_embedded_db(tmp_path)  # a migrated copy: migrating anew takes seconds a test
    return {"MILESGATE_DATA_DIR": str(tmp_path), "MILESGATE_SECRET_KEY": SECRET_KEY, "COLUMNS": "200"}


def milesgate(args: list[str], env: dict[str, str]) -> Result:
    return runner.invoke(app, args, env=env)


def printed_secret(result: Result) -> str:
    secrets = [line for line in result.stdout.splitlines() if line.startswith("whsec_")]
    assert len(secrets) == 1, result.stdout
    return secrets[0]


def add_swiss(env: dict[str, str], *extra: str) -> str:
    result = milesgate(["partners", "add", "swiss", "--name", "SWISS", "--kind", "airline", *extra], env)
    assert result.exit_code == 0, result.output
    return printed_secret(result)


def secrets_of(tmp_path: Path, code: str = "swiss") -> list[str]:
    """The usable secrets as the entry point decrypts them."""
    box = partner_secret_box(Settings(data_dir=tmp_path, secret_key=SECRET_KEY))

    async def work() -> list[str]:
        partner = await Partner.get(code=code)
        return await usable_secrets(partner.id, box)

    return in_embedded_db(tmp_path, work)


def test_partners_add_prints_a_standard_webhooks_secret_stored_encrypted(env: dict[str, str], tmp_path: Path):
    # when
    result = milesgate(["partners", "add", "swiss", "--name", "SWISS", "--kind", "airline"], env)

    # then: a secret svix accepts, printed once
    assert result.exit_code == 0, result.output
    secret = printed_secret(result)
    webhook = Webhook(secret)
    now = dt.datetime.now(dt.UTC)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp()))}
    webhook.verify("{}", {**headers, "webhook-signature": webhook.sign("msg_1", now, "{}")})
    assert "/webhooks/partners/swiss" in result.stdout
    # and the partner is stored, active, with its kind's capabilities and the secret encrypted
    partner = in_embedded_db(tmp_path, lambda: Partner.get(code="swiss"))
    assert (partner.name, partner.kind, partner.state) == ("SWISS", PartnerKind.AIRLINE, PartnerState.ACTIVE)
    assert partner.capabilities == {PartnerCapability.ACCRUAL, PartnerCapability.FLOWN_DATA}
    assert partner.earning_config == "default"
    rows = in_embedded_db(tmp_path, lambda: PartnerSecret.filter(partner_id=partner.id))
    assert [(row.secret, row.active) for row in rows] == [(None, True)]
    assert rows[0].ciphertext is not None
    assert secret.removeprefix("whsec_") not in rows[0].ciphertext
    assert secrets_of(tmp_path) == [secret]


def test_partners_add_with_capabilities_and_earning_config(env: dict[str, str], tmp_path: Path):
    # when
    add_swiss(env, "--capability", "accrual", "--earning-config", "lx-chart-2026")

    # then
    partner = in_embedded_db(tmp_path, lambda: Partner.get(code="swiss"))
    assert partner.capabilities == {PartnerCapability.ACCRUAL}
    assert partner.earning_config == "lx-chart-2026"


def test_partners_add_twice_is_refused(env: dict[str, str], tmp_path: Path):
    # given
    add_swiss(env)

    # when
    again = milesgate(["partners", "add", "swiss", "--name", "Swiss again", "--kind", "airline"], env)

    # then
    assert again.exit_code == 1
    assert "PARTNER_EXISTS" in again.stderr
    assert "whsec_" not in again.stdout
    assert "Traceback" not in again.output
    assert in_embedded_db(tmp_path, lambda: Partner.get(code="swiss")).name == "SWISS"
    assert in_embedded_db(tmp_path, lambda: PartnerSecret.all().count()) == 1


@pytest.mark.parametrize("code", ["Bad Code!", "x", "_starts-with-underscore", "a" * 33, "ümlaut"])
def test_partners_add_with_an_invalid_code_is_refused(env: dict[str, str], tmp_path: Path, code: str):
    # when
    result = milesgate(["partners", "add", code, "--name", "Someone", "--kind", "shop"], env)

    # then
    assert result.exit_code == 1
    assert "PARTNER_CODE_INVALID" in result.stderr
    assert "whsec_" not in result.output
    assert in_embedded_db(tmp_path, lambda: Partner.all().count()) == 0


def test_partners_add_with_an_unknown_kind_is_a_usage_error(env: dict[str, str], tmp_path: Path):
    # given
    database = tmp_path / "milesgate.sqlite3"
    before = database.read_bytes()

    # when
    result = milesgate(["partners", "add", "zeppelin", "--name", "Zeppelin", "--kind", "airship"], env)

    # then: refused before the database is opened
    assert result.exit_code == 2
    assert "airship" in result.output
    assert database.read_bytes() == before


def test_partners_list_shows_registered_partners(env: dict[str, str]):
    # given
    for code, name, kind in (("swiss", "SWISS", "airline"), ("dkb", "DKB", "bank")):
        added = milesgate(["partners", "add", code, "--name", name, "--kind", kind], env)
        assert added.exit_code == 0, added.output

    # when
    result = milesgate(["partners", "list"], env)

    # then: a table, no secrets
    assert result.exit_code == 0, result.output
    text = collapse(result.stdout)
    assert "dkb │ DKB │ bank │ active │ accrual, card_protection │ default │ 1" in text
    assert "swiss │ SWISS │ airline │ active │ accrual, flown_data │ default │ 1" in text
    assert text.index("dkb") < text.index("swiss")
    assert "whsec_" not in result.stdout


def test_partners_list_on_an_empty_database(env: dict[str, str]):
    # when
    result = milesgate(["partners", "list"], env)

    # then
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "no partners"


def test_partners_list_prints_names_literally(env: dict[str, str]):
    # given: a name that looks like Rich markup
    added = milesgate(["partners", "add", "brackets", "--name", "Shop [/x] [bold]", "--kind", "shop"], env)
    assert added.exit_code == 0, added.output

    # when
    result = milesgate(["partners", "list"], env)

    # then
    assert result.exit_code == 0, result.output
    assert "Shop [/x] [bold]" in result.stdout


def test_suspend_and_activate(env: dict[str, str], tmp_path: Path):
    # given
    add_swiss(env)

    # when / then
    suspended = milesgate(["partners", "suspend", "swiss"], env)
    assert suspended.exit_code == 0, suspended.output
    assert "suspended" in suspended.stdout
    assert in_embedded_db(tmp_path, lambda: Partner.get(code="swiss")).state is PartnerState.SUSPENDED
    activated = milesgate(["partners", "activate", "swiss"], env)
    assert activated.exit_code == 0, activated.output
    assert in_embedded_db(tmp_path, lambda: Partner.get(code="swiss")).state is PartnerState.ACTIVE


def test_update_changes_capabilities_and_earning_config(env: dict[str, str], tmp_path: Path):
    # given
    add_swiss(env)

    # when
    result = milesgate(
        [
            "partners",
            "update",
            "swiss",
            "--capability",
            "accrual",
            "--capability",
            "photo_credit",
            "--earning-config",
            "chart-b",
            "--name",
            "Swiss International",
        ],
        env,
    )

    # then
    assert result.exit_code == 0, result.output
    partner = in_embedded_db(tmp_path, lambda: Partner.get(code="swiss"))
    assert partner.capabilities == {PartnerCapability.ACCRUAL, PartnerCapability.PHOTO_CREDIT}
    assert (partner.name, partner.earning_config) == ("Swiss International", "chart-b")


def test_unknown_partner_is_an_error(env: dict[str, str]):
    # when
    result = milesgate(["partners", "suspend", "nobody"], env)

    # then
    assert result.exit_code == 1
    assert "PARTNER_NOT_FOUND" in result.stderr


def test_secret_rotation_add_list_expire_revoke(env: dict[str, str], tmp_path: Path):
    # given: a partner with its first secret
    first = add_swiss(env)

    # when: a second secret is added
    added = milesgate(["partners", "secrets", "add", "swiss", "--label", "rotation"], env)

    # then: both verify
    assert added.exit_code == 0, added.output
    second = printed_secret(added)
    assert sorted(secrets_of(tmp_path)) == sorted([first, second])
    listed = milesgate(["partners", "secrets", "list", "swiss"], env)
    assert listed.exit_code == 0, listed.output
    assert "whsec_" not in listed.stdout
    assert "rotation" in listed.stdout
    ids = in_embedded_db(tmp_path, lambda: PartnerSecret.all().order_by("id").values_list("id", flat=True))

    # when: the first one expires in an hour (still verifying), then is revoked
    expiring = milesgate(["partners", "secrets", "expire", "swiss", str(ids[0]), "--hours", "1"], env)
    assert expiring.exit_code == 0, expiring.output
    assert "expires" in expiring.stdout
    assert sorted(secrets_of(tmp_path)) == sorted([first, second])
    revoked = milesgate(["partners", "secrets", "revoke", "swiss", str(ids[0])], env)

    # then: only the second verifies
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.stdout
    assert secrets_of(tmp_path) == [second]

    # and the last one is only revoked with --force
    last = milesgate(["partners", "secrets", "revoke", "swiss", str(ids[1])], env)
    assert last.exit_code == 1
    assert "LAST_SIGNING_KEY" in last.stderr
    assert secrets_of(tmp_path) == [second]
    forced = milesgate(["partners", "secrets", "revoke", "swiss", str(ids[1]), "--force"], env)
    assert forced.exit_code == 0, forced.output
    assert secrets_of(tmp_path) == []


def test_public_key_is_added_and_listed(env: dict[str, str]):
    # given
    add_swiss(env)
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = "whpk_" + base64.b64encode(raw).decode()

    # when
    added = milesgate(["partners", "secrets", "add-key", "swiss", key, "--label", "hsm"], env)
    twice = milesgate(["partners", "secrets", "add-key", "swiss", key], env)
    bad = milesgate(["partners", "secrets", "add-key", "swiss", "whpk_bm90IGEga2V5"], env)

    # then
    assert added.exit_code == 0, added.output
    assert twice.exit_code == 1 and "PUBLIC_KEY_EXISTS" in twice.stderr
    assert bad.exit_code == 1 and "PUBLIC_KEY_INVALID" in bad.stderr
    listed = milesgate(["partners", "secrets", "list", "swiss"], env)
    assert "public_key" in listed.stdout
    assert "hsm" in listed.stdout


def test_operators_token_is_an_admin_token(env: dict[str, str]):
    # when
    result = milesgate(["operators", "token", "--name", "ops.alice", "--hours", "1"], env)

    # then
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    operator = OperatorTokens(SECRET_KEY).verify(token)
    assert operator is not None
    assert (operator.name, operator.role) == ("ops.alice", OperatorRole.ADMIN)
    assert OperatorTokens("another-secret-key-long-enough-0123456789abcdef").verify(token) is None


def test_operators_token_refuses_a_bad_name(env: dict[str, str]):
    # when
    result = milesgate(["operators", "token", "--name", "alice smith; drop"], env)

    # then
    assert result.exit_code == 1
    assert "OPERATOR_TOKEN_INVALID" in result.stderr


def test_migrate_encrypts_secrets_stored_in_plain_text(env: dict[str, str], tmp_path: Path):
    # given: a partner whose secret was stored in plain text (before encryption at rest)
    add_swiss(env)
    legacy = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"

    async def plant() -> None:
        partner = await Partner.get(code="swiss")
        await PartnerSecret.create(partner_id=partner.id, secret=legacy)

    in_embedded_db(tmp_path, plant)

    # when
    result = milesgate(["migrate"], env)

    # then
    assert result.exit_code == 0, result.output
    assert "encrypted 1 partner signing secret" in collapse(result.stdout)
    assert in_embedded_db(tmp_path, lambda: PartnerSecret.filter(secret__not_isnull=True).count()) == 0
    assert legacy in secrets_of(tmp_path)
