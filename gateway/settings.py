"""Service settings, read from ``MILESGATE_*`` environment variables.

Nothing set means the embedded default: a SQLite file under the data directory, in-process queue,
pub/sub, rate limits and cache, and GraphiQL open. Production is chosen by ``MILESGATE_ENV=production``
and then requires a secret key and refuses to fall back to SQLite silently.
"""

from __future__ import annotations

import contextlib
import difflib
import email.utils
import logging
import os
import secrets
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, FilePath, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from loyalty.members.pins import OWASP_MEMORY_KIB, OWASP_PARALLELISM, OWASP_TIME_COST


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class NotificationSink(StrEnum):
    FILE = "file"
    SMTP = "smtp"


class SmsProvider(StrEnum):
    NONE = "none"
    FILE = "file"
    TWILIO = "twilio"


class SmtpTls(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


SMTP_DEFAULT_PORTS = {SmtpTls.NONE: 25, SmtpTls.STARTTLS: 587, SmtpTls.TLS: 465}


class ConfigurationError(RuntimeError):
    """The settings cannot start a service (for example production without a secret key)."""


SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
_MIN_SECRET_LENGTH = 32
_MAX_REVOCATION_DELAY_MS = 1000
_DATABASE_SCHEMES = ("postgres", "postgresql", "asyncpg", "sqlite")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
ENV_PREFIX = "MILESGATE_"
# MILESGATE_ variables that no field below reads, and that are not misspellings: the data files read by
# loyalty/rules.py, loyalty/rewards/catalogue.py, loyalty/engagement/definitions.py, loyalty/awards/config.py,
# loyalty/lounges/admission.py and partners/charts,
# and the tooling around the service (compose's image, the CI script's schema base; the CI script's and
# the tests' own variables start with MILESGATE_CI_ and MILESGATE_TEST_). Nothing warns about these.
OTHER_VARIABLES = frozenset(
    {
        "MILESGATE_RULES_FILE",
        "MILESGATE_REWARDS_FILE",
        "MILESGATE_CHALLENGES_FILE",
        "MILESGATE_CHARTS_DIR",
        "MILESGATE_AWARDS_FILE",
        "MILESGATE_LOUNGE_ADMISSION_FILE",
        "MILESGATE_IMAGE",
        "MILESGATE_SCHEMA_BASE",
    }
)
OTHER_PREFIXES = ("MILESGATE_TEST_", "MILESGATE_CI_")


class Settings(BaseSettings):
    """Every setting, its environment variable and its default; the README table mirrors this class."""

    model_config = SettingsConfigDict(env_prefix="MILESGATE_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    database_url: SecretStr | None = Field(
        default=None,
        description="Tortoise DB URL, e.g. postgres://user:password@host:5432/db (a secret); unset: SQLite file",
    )
    database_replica_url: SecretStr | None = Field(
        default=None,
        description="A PostgreSQL streaming replica (a secret): read-only GraphQL operations read there",
    )
    replica_wait_ms: int = Field(
        default=250,
        ge=0,
        le=10_000,
        description="How long a member's read waits for the replica to replay the member's last write "
        "before it reads the primary instead",
    )
    replica_write_memory_s: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="How long the position of a member's last write is kept (reads wait for the replica "
        "to pass it)",
    )
    redis_url: SecretStr | None = Field(
        default=None, description="redis://:password@host:6379/0 (a secret); unset: in-process"
    )
    redis_cluster: bool = Field(
        default=False,
        description="MILESGATE_REDIS_URL names a node of a Redis Cluster (keys by slot, sharded pub/sub)",
    )
    redis_prefix: str = Field(
        default="",
        max_length=64,
        description="Put before every Redis key, stream and channel, so deployments sharing one Redis stay apart",
    )
    redis_retry_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="While Redis is unreachable, a process tries it again at most this often (in between: "
        "in-process rate limits, cache misses)",
    )
    redis_backoff_max_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Longest wait of the inbox worker between attempts while Redis is unreachable",
    )
    unavailable_retry_after_s: int = Field(
        default=5,
        ge=1,
        le=3600,
        description="Retry-After of a 503 SERVICE_UNAVAILABLE answer (the database unreachable)",
    )
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("milesgate")),
        description="Where the SQLite file and the generated development secret live",
    )
    secret_key: SecretStr | None = Field(default=None, description="Signs tokens; generated in development")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    db_pool_max: int = Field(default=10, ge=1, description="PostgreSQL connections per process")
    access_token_ttl_s: int = Field(default=900, ge=60)
    secret_hash_time_cost: int = Field(
        default=OWASP_TIME_COST, ge=1, description="argon2id passes for PIN and password hashes"
    )
    secret_hash_memory_kib: int = Field(
        default=OWASP_MEMORY_KIB,
        ge=8,
        description="argon2id memory (KiB) for PIN and password hashes",
    )
    secret_hash_parallelism: int = Field(
        default=OWASP_PARALLELISM, ge=1, description="argon2id lanes for PIN and password hashes"
    )
    secret_hash_threads: int = Field(
        default=0,
        ge=0,
        description="Threads per process that hash PINs and passwords at once; 0: one per CPU",
    )
    session_check_local_ttl_ms: int = Field(
        default=250,
        ge=0,
        le=1000,
        description="How long a process keeps a member's session generation (revoked access tokens); 0: not",
    )
    session_check_shared_ttl_ms: int = Field(
        default=750,
        ge=1,
        le=1000,
        description="How long the shared cache (Redis in production) keeps it; with the local time, at most 1 s",
    )
    webhook_max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    webhook_tolerance_s: int = Field(default=300, ge=1)
    partner_cache_ttl_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="How long a process keeps a partner's signing material for checking deliveries; a change "
        "made through GraphQL or the CLI is announced over pub/sub and seen at once; 0: not kept",
    )
    run_worker_in_process: bool | None = Field(
        default=None, description="Run the webhook worker inside `serve`; default: only when embedded"
    )
    inbox_batch: int = Field(
        default=50,
        ge=1,
        le=500,
        description="Messages an inbox worker reads from a partition at once; on PostgreSQL the leading "
        "fresh accruals among them are credited in one transaction",
    )
    inbox_batches_per_lease: int = Field(
        default=4,
        ge=1,
        le=100,
        description="Reads of one partition an inbox worker makes in a row, while each read fills up, "
        "before it lets the partition go",
    )
    inbox_partitions: int = Field(
        default=8, ge=1, le=256, description="Inbox stream partitions; one member's deliveries stay in one"
    )
    inbox_max_attempts: int = Field(
        default=5, ge=1, description="Attempts before an inbox delivery becomes a dead letter"
    )
    inbox_retry_base_s: float = Field(
        default=5.0, ge=0, description="First wait after a failed inbox attempt; doubles each attempt"
    )
    inbox_lease_ms: int = Field(
        default=10_000, ge=100, description="How long a worker's hold on a partition lasts unless renewed"
    )
    inbox_lease_keep_max_s: float = Field(
        default=120.0,
        gt=0,
        description="Longest a batch in progress keeps renewing its partition's lease, so a slow batch is "
        "not taken over; a worker stuck longer lets the partition go",
    )
    inbox_claim_idle_ms: int = Field(
        default=10_000, ge=0, description="Idle time after which another worker takes over a message"
    )
    inbox_sweep_every_s: float = Field(
        default=30.0, gt=0, description="How often a worker re-queues inbox rows that stayed pending"
    )
    inbox_sweep_older_than_s: float = Field(
        default=60.0, ge=0, description="Age from which the sweep re-queues a pending inbox row"
    )
    worker_sweep_s: float = Field(
        default=30.0,
        gt=0,
        description="Safety sweep: how often the event relay and the notification and outbound senders look "
        "for work nothing woke them for (they wake on PostgreSQL NOTIFY, or in process on SQLite)",
    )
    expired_codes_sweep_s: float = Field(
        default=900.0,
        gt=0,
        description="How often a worker deletes pending enrolments and e-mail verifications whose code has "
        "expired (a full batch is followed at once by the next)",
    )
    worker_listen_retry_s: float = Field(
        default=1.0,
        gt=0,
        description="First wait before the worker connects again to LISTEN on PostgreSQL; doubles up to 30 s",
    )
    outbound_retry_schedule: str = Field(
        default="0,5,300,1800,7200,18000,36000,36000",
        description="Seconds before each outbound attempt, comma-separated (Svix's schedule)",
    )
    outbound_timeout_s: float = Field(default=15.0, gt=0, description="Per outbound attempt")
    outbound_disable_after_days: float = Field(
        default=5.0, gt=0, description="Disable an endpoint failing without a success for this long"
    )
    outbound_rate_limit_per_s: int = Field(
        default=20, ge=1, description="Outbound requests per endpoint per second (endpoints may set less)"
    )
    outbound_allowed_hosts: str = Field(
        default="",
        description="Hosts partner endpoints may use, comma-separated: names, IPs or *.domain; empty: none",
    )
    outbound_allow_http: bool | None = Field(
        default=None, description="Allow http:// endpoints; default: only outside production"
    )
    travel_id_issuer: str | None = Field(
        default=None, description="Travel ID OpenID issuer URL (discovery at its /.well-known); unset: off"
    )
    travel_id_client_id: str | None = Field(default=None, description="Our client id at Travel ID")
    travel_id_client_secret: SecretStr | None = Field(
        default=None, description="Our client secret at Travel ID; unset: public client (PKCE only)"
    )
    travel_id_redirect_uri: str | None = Field(
        default=None, description="Registered callback URL; default: /auth/travel-id/callback on this host"
    )
    travel_id_allow_http: bool = Field(
        default=False, description="Accept an http:// issuer (loopback tests only; production needs https)"
    )
    graphql_max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest POST /graphql body; larger ones get 413"
    )
    graphql_max_depth: int = Field(default=10, ge=1, description="Deepest field nesting in one operation")
    graphql_max_aliases: int = Field(default=15, ge=0, description="Aliases in one document")
    graphql_max_tokens: int = Field(default=400, ge=10, description="Lexical tokens in one document")
    graphql_max_directives: int = Field(default=8, ge=0, description="Directive uses in one document")
    graphql_max_cost: int = Field(
        default=2_500, ge=1, description="Query cost: 1 a field, times first/last for what is below it"
    )
    graphql_max_page_size: int = Field(
        default=100, ge=1, description="The page size a first/last given by a variable is costed at"
    )
    graphql_max_mutations: int = Field(default=10, ge=1, description="Mutation fields in one request")
    graphql_max_selections: int = Field(
        default=2_000,
        ge=1,
        description="Fields, spreads and inline fragments of one operation once its fragments are spread",
    )
    admin_graphql_max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest POST /admin/graphql body; larger ones get 413"
    )
    admin_graphql_max_depth: int = Field(
        default=8, ge=1, description="Operators' schema: deepest field nesting in one operation"
    )
    admin_graphql_max_aliases: int = Field(
        default=10, ge=0, description="Operators' schema: aliases in one document"
    )
    admin_graphql_max_tokens: int = Field(
        default=1_000, ge=10, description="Operators' schema: lexical tokens in one document"
    )
    admin_graphql_max_directives: int = Field(
        default=8, ge=0, description="Operators' schema: directive uses in one document"
    )
    admin_graphql_max_cost: int = Field(
        default=5_000,
        ge=1,
        description="Operators' schema: query cost (1 a field, times first for what is below)",
    )
    admin_graphql_max_page_size: int = Field(
        default=100,
        ge=1,
        description="Operators' schema: the page size a first given by a variable is costed at",
    )
    admin_graphql_max_mutations: int = Field(
        default=5, ge=1, description="Operators' schema: mutation fields in one request"
    )
    admin_graphql_max_selections: int = Field(
        default=1_000,
        ge=1,
        description="Operators' schema: fields, spreads and inline fragments of one operation once spread",
    )
    gc_gen0_threshold: int = Field(
        default=700,
        ge=1,
        description="Allocations between young garbage collections in served processes (Python's default: 700)",
    )
    graphql_document_cache_size: int = Field(
        default=512, ge=0, description="Documents kept parsed and validated (LRU); 0: none"
    )
    graphql_fast_path: bool = Field(
        default=True,
        description="Serve GraphQL through gateway/graphql/engine (document cache, one-hook edge, plain-part "
        "shortcut of the executor); off: Strawberry's stock execution",
    )
    rate_limit_window_s: int = Field(
        default=60, ge=1, description="Window of the per-IP and per-member limits"
    )
    rate_limit_per_ip: int = Field(
        default=1_200, ge=0, description="GraphQL requests per client IP and window; 0: no limit"
    )
    rate_limit_per_member: int = Field(
        default=600, ge=0, description="GraphQL requests per signed-in member and window; 0: no limit"
    )
    rate_limit_sensitive_window_s: int = Field(
        default=900, ge=1, description="Window of the per-operation limits on sensitive operations"
    )
    rate_limit_sign_in: int = Field(default=30, ge=0, description="signIn fields per client IP and window")
    rate_limit_two_factor: int = Field(
        default=30, ge=0, description="second-factor and SMS-code fields per IP (and member)"
    )
    rate_limit_reset: int = Field(
        default=10, ge=0, description="PIN/password reset and user-ID reminder fields per client IP"
    )
    rate_limit_lost_number: int = Field(
        default=5, ge=0, description="Lost-service-card-number forms per client IP and window"
    )
    rate_limit_enrolment: int = Field(
        default=20,
        ge=0,
        description="enrolMember, confirmEnrolment and e-mail verification fields per client IP (and "
        "member) and window",
    )
    rate_limit_travel_id: int = Field(
        default=30, ge=0, description="Travel ID login and callback requests per client IP and window"
    )
    persisted_queries: bool = Field(
        default=True, description="Accept automatic persisted queries (APQ, sha256 → document in the cache)"
    )
    persisted_query_ttl_s: int = Field(default=86_400, ge=60, description="How long an APQ document is kept")
    persisted_queries_dir: Path | None = Field(
        default=None, description="Directory of registered .graphql documents (the safelist)"
    )
    safelist_only: bool | None = Field(
        default=None, description="Accept only registered documents; default: on in production with a dir"
    )
    federation_router_secret: SecretStr | None = Field(
        default=None,
        min_length=_MIN_SECRET_LENGTH,
        description="Shared secret the federation router sends in Milesgate-Router-Secret; unset: only "
        "operator tokens open _service and _entities",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        min_length=_MIN_SECRET_LENGTH,
        description="Bearer token Prometheus sends for GET /metrics (Authorization: Bearer ...); unset: "
        "/metrics answers 403",
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1", description="Interface `milesgate worker` serves /metrics, /healthz, /readyz on"
    )
    worker_metrics_port: int = Field(
        default=8001, ge=0, le=65535, description="Port of the worker's /metrics, /healthz, /readyz; 0: none"
    )
    worker_metrics_interval_s: float = Field(
        default=15.0,
        ge=1.0,
        le=3600.0,
        description="How often a worker reads the backlog gauges (inbox, outbound, relay, notifications)",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1,::1",
        description="Proxies (IPs or networks, comma-separated; * any) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed: the client IP of the per-IP and sign-in limits comes from them",
    )
    graphql_max_subscriptions: int = Field(
        default=5, ge=1, description="Subscriptions running at once on one WebSocket connection"
    )
    notification_sink: NotificationSink | None = Field(
        default=None,
        description="Where member e-mail goes: smtp, or file (development only: a sealed outbox file in the "
        "data directory); default: smtp when MILESGATE_SMTP_HOST is set, else file",
    )
    smtp_host: str | None = Field(default=None, description="Mail server (submission) host name")
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="Mail server port; default: 587 starttls, 465 tls, 25 none"
    )
    smtp_tls: SmtpTls = Field(
        default=SmtpTls.STARTTLS,
        description="starttls (upgrade after connecting, required), tls (implicit TLS) or none",
    )
    smtp_username: str | None = Field(default=None, description="SMTP AUTH user; unset: no authentication")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP AUTH password (a secret)")
    smtp_from: str | None = Field(
        default=None, description="Sender address (From), e.g. Miles & More <no-reply@example.com>"
    )
    smtp_timeout_s: float = Field(default=30.0, gt=0, description="Per SMTP connection and command")
    smtp_ca_file: FilePath | None = Field(
        default=None,
        description="PEM file of the CA(s) that sign the mail server's certificate; default: the system's",
    )

    sms_provider: SmsProvider | None = Field(
        default=None,
        description="Where SMS codes go: twilio (Twilio's Messages API), file (development only: the sealed "
        "outbox file, like e-mail) or none (every SMS fails at once); default: twilio when "
        "MILESGATE_TWILIO_ACCOUNT_SID is set, else file in development and none in production",
    )
    twilio_account_sid: str | None = Field(default=None, description="Twilio Account SID (AC…)")
    twilio_auth_token: SecretStr | None = Field(default=None, description="Twilio Auth Token (a secret)")
    twilio_from: str | None = Field(
        default=None, description="Sender: a Twilio number in E.164 or an alphanumeric sender ID"
    )
    twilio_messaging_service_sid: str | None = Field(
        default=None, description="Messaging Service SID (MG…), sent instead of a sender when set"
    )
    twilio_api_url: str = Field(
        default="https://api.twilio.com",
        description="Base URL of Twilio's REST API (tests: a loopback server)",
    )
    sms_timeout_s: float = Field(default=10.0, gt=0, description="Per SMS provider request")

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_url(value.get_secret_value(), _DATABASE_SCHEMES, "database")
        return value

    @field_validator("database_replica_url")
    @classmethod
    def _replica_url_is_postgres(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_url(value.get_secret_value(), _DATABASE_SCHEMES[:-1], "replica database")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_is_supported(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_url(value.get_secret_value(), _REDIS_SCHEMES, "Redis")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level_is_known(cls, value: str) -> str:
        if not isinstance(logging.getLevelName(value.upper()), int):
            raise ValueError("is one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @model_validator(mode="after")
    def _production_needs_explicit_setup(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            key = self.secret_key.get_secret_value() if self.secret_key else ""
            if len(key) < _MIN_SECRET_LENGTH:
                raise ValueError(
                    f"MILESGATE_SECRET_KEY of at least {_MIN_SECRET_LENGTH} characters "
                    "is required in production"
                )
            if not self.database_url:
                raise ValueError("MILESGATE_DATABASE_URL is required in production")
            if self.travel_id_allow_http:
                raise ValueError(
                    "MILESGATE_TRAVEL_ID_ALLOW_HTTP is for loopback tests only: production needs an https issuer"
                )
        if self.session_check_local_ttl_ms + self.session_check_shared_ttl_ms > _MAX_REVOCATION_DELAY_MS:
            raise ValueError(
                "MILESGATE_SESSION_CHECK_LOCAL_TTL_MS + MILESGATE_SESSION_CHECK_SHARED_TTL_MS must be at most "
                f"{_MAX_REVOCATION_DELAY_MS}: a revoked access token stops working within that time"
            )
        if self.safelist_only and self.persisted_queries_dir is None:
            raise ValueError("MILESGATE_SAFELIST_ONLY needs MILESGATE_PERSISTED_QUERIES_DIR")
        return self

    @field_validator(
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "smtp_from",
        "smtp_ca_file",
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_from",
        "twilio_messaging_service_sid",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty variable (compose's ``${MILESGATE_SMTP_USERNAME:-}``) means "not set"."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _mail_is_configured(self) -> Settings:
        if self.resolved_notification_sink is NotificationSink.FILE:
            if self.is_production:
                raise ValueError(
                    "production sends e-mail over SMTP: set MILESGATE_SMTP_HOST and MILESGATE_SMTP_FROM "
                    "(MILESGATE_NOTIFICATION_SINK=file is for development only)"
                )
            return self
        if not self.smtp_host:
            raise ValueError("MILESGATE_NOTIFICATION_SINK=smtp needs MILESGATE_SMTP_HOST")
        if not self.smtp_from or "@" not in email.utils.parseaddr(self.smtp_from)[1]:
            raise ValueError("MILESGATE_SMTP_FROM needs a sender address such as no-reply@example.com")
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("MILESGATE_SMTP_USERNAME and MILESGATE_SMTP_PASSWORD go together")
        if self.is_production and self.smtp_tls is SmtpTls.NONE and self.smtp_username is not None:
            raise ValueError(
                "MILESGATE_SMTP_TLS=none would send MILESGATE_SMTP_PASSWORD in clear: use starttls or tls"
            )
        return self

    @model_validator(mode="after")
    def _sms_is_configured(self) -> Settings:
        provider = self.resolved_sms_provider
        if provider is SmsProvider.FILE and self.is_production:
            raise ValueError("MILESGATE_SMS_PROVIDER=file is for development only: use twilio or none")
        if provider is not SmsProvider.TWILIO:
            return self
        if not self.twilio_account_sid or self.twilio_auth_token is None:
            raise ValueError(
                "MILESGATE_SMS_PROVIDER=twilio needs MILESGATE_TWILIO_ACCOUNT_SID and _AUTH_TOKEN"
            )
        if not self.twilio_from and not self.twilio_messaging_service_sid:
            raise ValueError("Twilio needs MILESGATE_TWILIO_FROM or MILESGATE_TWILIO_MESSAGING_SERVICE_SID")
        _check_url(self.twilio_api_url, ("https", "http"), "Twilio API")
        if self.is_production and not self.twilio_api_url.startswith("https://"):
            raise ValueError(
                "MILESGATE_TWILIO_API_URL must be https in production (it carries the Auth Token)"
            )
        return self

    @property
    def resolved_sms_provider(self) -> SmsProvider:
        if self.sms_provider is not None:
            return self.sms_provider
        if self.twilio_account_sid:
            return SmsProvider.TWILIO
        return SmsProvider.NONE if self.is_production else SmsProvider.FILE

    @property
    def resolved_notification_sink(self) -> NotificationSink:
        if self.notification_sink is not None:
            return self.notification_sink
        return NotificationSink.SMTP if self.smtp_host else NotificationSink.FILE

    @property
    def resolved_smtp_port(self) -> int:
        return self.smtp_port or SMTP_DEFAULT_PORTS[self.smtp_tls]

    @model_validator(mode="after")
    def _outbound_schedule_is_numbers(self) -> Settings:
        self.outbound_schedule_s()
        return self

    def outbound_schedule_s(self) -> tuple[int, ...]:
        try:
            delays = tuple(int(item) for item in self.outbound_retry_schedule.split(",") if item.strip())
        except ValueError:
            raise ValueError("MILESGATE_OUTBOUND_RETRY_SCHEDULE is whole seconds, comma-separated") from None
        if not delays or min(delays) < 0:
            raise ValueError("MILESGATE_OUTBOUND_RETRY_SCHEDULE needs at least one delay, none negative")
        return delays

    @property
    def outbound_hosts(self) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.outbound_allowed_hosts.split(",") if item.strip())

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def safelist_enforced(self) -> bool:
        """Only registered documents run: as configured, or by default in production with a safelist."""
        if self.safelist_only is not None:
            return self.safelist_only
        return self.is_production and self.persisted_queries_dir is not None

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: queue and worker live inside the gateway process."""
        return self.redis_url is None

    @property
    def resolved_database_replica_url(self) -> str | None:
        """The replica's URL in clear, when the primary is PostgreSQL too; None: every read on the primary."""
        if self.database_replica_url is None or not self.database_url:
            return None
        return self.database_replica_url.get_secret_value()

    @property
    def resolved_redis_url(self) -> str | None:
        """The Redis URL in clear (with its password), for the client that connects; None: in-process."""
        return self.redis_url.get_secret_value() if self.redis_url is not None else None

    @property
    def worker_in_process(self) -> bool:
        if self.run_worker_in_process is not None:
            return self.run_worker_in_process
        return self.embedded

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url.get_secret_value()
        return f"sqlite://{self.data_dir / 'milesgate.sqlite3'}"

    def resolved_secret_key(self) -> str:
        """The configured key, or in development one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key.get_secret_value()
        if self.is_production:  # pragma: no cover - the validator refuses this earlier
            raise ConfigurationError("MILESGATE_SECRET_KEY is required in production")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / SECRET_KEY_FILE
        key = _read_key(path)
        if key is None:
            _publish_new_key(path)
            key = _read_key(path)
        if key is None:
            raise ConfigurationError(f"the development secret in {path} is empty or unreadable")
        return key


def _check_url(url: str, schemes: tuple[str, ...], what: str) -> None:
    """Refuse a URL that does not parse or that no client of ours speaks. The message shows no part of
    the value: a URL carries its password."""
    expected = ", ".join(f"{scheme}://" for scheme in schemes)
    try:
        parts = urlsplit(url.strip())
        if parts.scheme != "sqlite":
            parts.port  # noqa: B018 - parses the port, raising ValueError when it is not a number
    except ValueError:
        raise ValueError(f"is not a {what} URL (expected {expected}; the value is not shown)") from None
    if parts.scheme not in schemes:
        raise ValueError(f"is not a supported {what} URL (expected {expected}; the value is not shown)")


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """The ``MILESGATE_*`` variables set in ``environ`` that no setting reads (a misspelling, mostly),
    each with the closest setting's variable when one is close: ``MILESGATE_REDIS_ULR (did you mean
    MILESGATE_REDIS_URL?)``. Variables read elsewhere (``OTHER_VARIABLES``, ``OTHER_PREFIXES``) are known."""
    known = [name.upper() for name in Settings.model_fields]
    known += [name.removeprefix(ENV_PREFIX) for name in OTHER_VARIABLES]
    found = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper.startswith(OTHER_PREFIXES):
            continue
        suffix = upper.removeprefix(ENV_PREFIX)
        if suffix in known:
            continue
        close = difflib.get_close_matches(suffix, known, n=1, cutoff=0.75)
        found.append(f"{name} (did you mean {ENV_PREFIX}{close[0]}?)" if close else name)
    return found


def _read_key(path: Path) -> str | None:
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return key if len(key) >= _MIN_SECRET_LENGTH else None


def _publish_new_key(path: Path) -> None:
    """Write a fresh key to a private temporary file, then link it into place in one step.

    A reader never sees a created-but-empty file, and when two processes start at once the first link
    wins and the other keeps (and later reads) that one. An empty file left by an older crash is replaced.
    """
    staging = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists() and _read_key(path) is None:
            path.unlink(missing_ok=True)  # empty or truncated: never a key
        with contextlib.suppress(FileExistsError):  # another process published its key first
            os.link(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def load_settings() -> Settings:
    """Read settings from the environment, turning validation failures into one clear error.

    The error names the variables and what is wrong with them, never their values: pydantic's own text
    shows each input (``input_value=...``), which for a secret is the secret."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_errors(exc)) from None
    except SettingsError as exc:
        raise ConfigurationError(f"a MILESGATE_ variable cannot be read ({type(exc).__name__})") from None


def describe_errors(error: ValidationError) -> str:
    """One line per problem: the variable it concerns (when a field does) and pydantic's message."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False, include_context=False):
        field = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"MILESGATE_{field.upper()}: {message}" if field else message)
    return "; ".join(lines)
