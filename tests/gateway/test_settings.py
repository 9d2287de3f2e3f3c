"""``gateway.settings``: the embedded defaults, what Redis changes, what production demands, and the
development secret key kept in the data directory."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from gateway.settings import SECRET_KEY_FILE, ConfigurationError, Environment, Settings, load_settings
from tests.support import PRODUCTION_MAIL, PRODUCTION_MAIL_ENV

LONG_SECRET = "s" * 32
OTHER_VARIABLES = (
    "MILESGATE_DATA_DIR",
    "MILESGATE_RUN_WORKER_IN_PROCESS",
    "MILESGATE_HOST",
    "MILESGATE_PORT",
    "MILESGATE_LOG_LEVEL",
    "MILESGATE_WEBHOOK_MAX_BODY_BYTES",
    "MILESGATE_WEBHOOK_TOLERANCE_S",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No MILESGATE_* from the shell; the data directory is the test's own."""
    for name in OTHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("MILESGATE_DATA_DIR", str(data_dir))
    return data_dir


def test_defaults_are_embedded_development(clean_env: Path):
    # when
    settings = load_settings()

    # then
    assert settings.env is Environment.DEVELOPMENT
    assert settings.is_production is False
    assert settings.data_dir == clean_env
    assert settings.database_url is None
    assert settings.resolved_database_url == f"sqlite://{clean_env / 'milesgate.sqlite3'}"
    assert settings.redis_url is None
    assert settings.embedded is True
    assert settings.worker_in_process is True
    assert settings.secret_key is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.webhook_max_body_bytes == 256 * 1024
    assert settings.webhook_tolerance_s == 300
    # and reading settings writes nothing
    assert not clean_env.exists()


def test_default_data_dir_is_the_user_data_dir(monkeypatch: pytest.MonkeyPatch):
    # given
    monkeypatch.delenv("MILESGATE_DATA_DIR")

    # when
    settings = Settings()

    # then
    assert settings.data_dir == Path(platformdirs.user_data_dir("milesgate"))


def test_database_url_is_used_as_given(monkeypatch: pytest.MonkeyPatch):
    # given
    monkeypatch.setenv("MILESGATE_DATABASE_URL", "postgres://app@db.internal:5432/milesgate")

    # when
    settings = load_settings()

    # then
    assert settings.resolved_database_url == "postgres://app@db.internal:5432/milesgate"


def test_redis_url_turns_embedded_off_and_the_in_process_worker_with_it(monkeypatch: pytest.MonkeyPatch):
    # given
    monkeypatch.setenv("MILESGATE_REDIS_URL", "redis://127.0.0.1:6379/0")

    # when
    settings = load_settings()

    # then
    assert settings.resolved_redis_url == "redis://127.0.0.1:6379/0"
    assert settings.embedded is False
    assert settings.worker_in_process is False


@pytest.mark.parametrize(
    ("redis_url", "flag", "expected"),
    [
        pytest.param("redis://127.0.0.1:6379/0", "true", True, id="redis-forced-on"),
        pytest.param("redis://127.0.0.1:6379/0", "1", True, id="redis-forced-on-1"),
        pytest.param("redis://127.0.0.1:6379/0", "false", False, id="redis-explicit-off"),
        pytest.param(None, "false", False, id="embedded-forced-off"),
        pytest.param(None, "true", True, id="embedded-explicit-on"),
    ],
)
def test_run_worker_in_process_overrides_the_default(
    monkeypatch: pytest.MonkeyPatch, redis_url: str | None, flag: str, expected: bool
):
    # given
    if redis_url:
        monkeypatch.setenv("MILESGATE_REDIS_URL", redis_url)
    monkeypatch.setenv("MILESGATE_RUN_WORKER_IN_PROCESS", flag)

    # when
    settings = load_settings()

    # then
    assert settings.worker_in_process is expected
    assert settings.embedded is (redis_url is None)


def test_production_without_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch):
    # given
    monkeypatch.setenv("MILESGATE_ENV", "production")
    monkeypatch.setenv("MILESGATE_DATABASE_URL", "postgres://app@db:5432/milesgate")

    # when / then
    with pytest.raises(ConfigurationError, match="MILESGATE_SECRET_KEY"):
        load_settings()


@pytest.mark.parametrize("secret", ["", "short", "s" * 31])
def test_production_with_a_short_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch, secret: str):
    # given
    monkeypatch.setenv("MILESGATE_ENV", "production")
    monkeypatch.setenv("MILESGATE_DATABASE_URL", "postgres://app@db:5432/milesgate")
    monkeypatch.setenv("MILESGATE_SECRET_KEY", secret)

    # when / then
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        load_settings()


def test_production_without_database_url_is_refused(monkeypatch: pytest.MonkeyPatch, clean_env: Path):
    # given: everything but a database, so it would otherwise fall back to SQLite
    monkeypatch.setenv("MILESGATE_ENV", "production")
    monkeypatch.setenv("MILESGATE_SECRET_KEY", LONG_SECRET)

    # when / then
    with pytest.raises(ConfigurationError, match="MILESGATE_DATABASE_URL"):
        load_settings()
    assert not clean_env.exists()


def test_production_with_secret_and_database_is_accepted(monkeypatch: pytest.MonkeyPatch):
    # given
    monkeypatch.setenv("MILESGATE_ENV", "production")
    monkeypatch.setenv("MILESGATE_SECRET_KEY", LONG_SECRET)
    monkeypatch.setenv("MILESGATE_DATABASE_URL", "postgres://app@db:5432/milesgate")
    monkeypatch.setenv("MILESGATE_REDIS_URL", "redis://cache:6379/0")
    for name, value in PRODUCTION_MAIL_ENV.items():
        monkeypatch.setenv(name, value)

    # when
    settings = load_settings()

    # then
    assert settings.is_production is True
    assert settings.resolved_secret_key() == LONG_SECRET
    assert settings.embedded is False
    assert settings.worker_in_process is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MILESGATE_ENV", "staging"),
        ("MILESGATE_PORT", "0"),
        ("MILESGATE_PORT", "eighty"),
        ("MILESGATE_WEBHOOK_MAX_BODY_BYTES", "10"),
    ],
)
def test_invalid_values_are_a_configuration_error(monkeypatch: pytest.MonkeyPatch, name: str, value: str):
    # given
    monkeypatch.setenv(name, value)

    # when / then
    with pytest.raises(ConfigurationError):
        load_settings()


def test_development_secret_is_generated_once_into_the_data_dir(clean_env: Path):
    # given
    settings = load_settings()

    # when
    first = settings.resolved_secret_key()
    second = settings.resolved_secret_key()
    from_another_instance = Settings().resolved_secret_key()

    # then
    path = clean_env / SECRET_KEY_FILE
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="ascii").strip() == first
    assert len(first) >= 32
    assert first == second == from_another_instance


def test_development_secret_differs_between_data_dirs(tmp_path: Path):
    # when
    one = Settings(data_dir=tmp_path / "one").resolved_secret_key()
    two = Settings(data_dir=tmp_path / "two").resolved_secret_key()

    # then
    assert one != two


def test_existing_secret_file_is_kept(clean_env: Path):
    # given: a key written by an earlier start
    clean_env.mkdir(parents=True)
    (clean_env / SECRET_KEY_FILE).write_text("kept-from-an-earlier-start-0123456789\n", encoding="ascii")

    # when
    key = load_settings().resolved_secret_key()

    # then
    assert key == "kept-from-an-earlier-start-0123456789"


def test_explicit_secret_key_is_used_as_is_and_nothing_is_written(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
):
    # given
    monkeypatch.setenv("MILESGATE_SECRET_KEY", "an-explicit-key-from-the-environment")

    # when
    key = load_settings().resolved_secret_key()

    # then
    assert key == "an-explicit-key-from-the-environment"
    assert not (clean_env / SECRET_KEY_FILE).exists()


def test_an_empty_secret_file_never_becomes_the_key(clean_env: Path):
    # given: the file exists, its content not written yet
    clean_env.mkdir(parents=True)
    (clean_env / SECRET_KEY_FILE).touch()

    # when
    key = load_settings().resolved_secret_key()

    # then
    assert len(key) >= 32


def test_the_safelist_is_enforced_in_production_with_a_directory(tmp_path: Path) -> None:
    production: dict[str, Any] = {
        "env": Environment.PRODUCTION,
        "secret_key": LONG_SECRET,
        "database_url": "sqlite://x",
        **PRODUCTION_MAIL,
    }
    assert Settings(**production).safelist_enforced is False
    assert Settings(**production, persisted_queries_dir=tmp_path).safelist_enforced is True
    assert (
        Settings(**production, persisted_queries_dir=tmp_path, safelist_only=False).safelist_enforced is False
    )
    assert Settings(persisted_queries_dir=tmp_path).safelist_enforced is False
    assert Settings(persisted_queries_dir=tmp_path, safelist_only=True).safelist_enforced is True
    with pytest.raises(ValueError, match="MILESGATE_PERSISTED_QUERIES_DIR"):
        Settings(safelist_only=True)


def test_the_readme_documents_every_setting_with_its_default() -> None:
    """Each setting has its row in the README's configuration table, with the default the code has."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {
        cells[0].strip("` "): cells[1].strip()
        for line in readme.splitlines()
        if line.startswith("| `MILESGATE_")
        for cells in [line.strip("|").split("|")]
    }
    for name, field in Settings.model_fields.items():
        variable = f"MILESGATE_{name.upper()}"
        assert variable in rows, f"{variable} has no row in the README"
        default = field.default
        if isinstance(default, bool | int) and not isinstance(default, Path):
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            assert rows[variable].strip("`").replace(",", "") == shown, (variable, rows[variable], default)


SECRET_VARIABLES = {
    "MILESGATE_SECRET_KEY": "key-" + "k" * 40,
    "MILESGATE_DATABASE_URL": "postgres://app:db-pass-1234567@db:5432/milesgate",
    "MILESGATE_REDIS_URL": "redis://:redis-pass-1234567@redis:6379/0",
    "MILESGATE_TRAVEL_ID_CLIENT_SECRET": "oidc-" + "c" * 30,
    "MILESGATE_FEDERATION_ROUTER_SECRET": "router-" + "r" * 30,
    "MILESGATE_METRICS_TOKEN": "metrics-" + "m" * 30,
}


def test_every_secret_is_masked_when_the_settings_are_shown(monkeypatch: pytest.MonkeyPatch):
    # given
    for name, value in SECRET_VARIABLES.items():
        monkeypatch.setenv(name, value)

    # when
    settings = load_settings()

    # then: usable where they are needed, and in no repr, str or dump
    assert settings.resolved_secret_key() == SECRET_VARIABLES["MILESGATE_SECRET_KEY"]
    assert settings.resolved_database_url == SECRET_VARIABLES["MILESGATE_DATABASE_URL"]
    assert settings.resolved_redis_url == SECRET_VARIABLES["MILESGATE_REDIS_URL"]
    shown = repr(settings) + str(settings) + str(settings.model_dump()) + settings.model_dump_json()
    for value in SECRET_VARIABLES.values():
        assert value not in shown


def test_production_refuses_an_http_travel_id_issuer(monkeypatch: pytest.MonkeyPatch):
    # given
    monkeypatch.setenv("MILESGATE_ENV", "production")
    monkeypatch.setenv("MILESGATE_DATABASE_URL", "postgres://app@db:5432/milesgate")
    monkeypatch.setenv("MILESGATE_SECRET_KEY", LONG_SECRET)
    monkeypatch.setenv("MILESGATE_TRAVEL_ID_ALLOW_HTTP", "true")

    # when / then
    with pytest.raises(ConfigurationError, match="MILESGATE_TRAVEL_ID_ALLOW_HTTP"):
        load_settings()


def test_development_may_allow_an_http_travel_id_issuer(monkeypatch: pytest.MonkeyPatch):
    # given
    monkeypatch.setenv("MILESGATE_TRAVEL_ID_ALLOW_HTTP", "true")

    # when / then
    assert load_settings().travel_id_allow_http is True
