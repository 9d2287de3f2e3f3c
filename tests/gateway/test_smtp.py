"""E-mail over SMTP against a real server on loopback (aiosmtpd): the delivered message, STARTTLS, implicit
TLS and AUTH, retries on 4xx answers and dropped connections, failure on 5xx, and the settings that choose
the sink (production refuses the development file)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.settings import ConfigurationError, NotificationSink, Settings, SmtpTls, load_settings
from gateway.workers.notifications import ChannelSenders, FileSink, notification_sender
from gateway.workers.smtp import SmtpSender
from loyalty.notifications.models import Channel, Notification, NotificationState
from loyalty.notifications.service import REDACTED, RETRY_AFTER, deliver_pending, enqueue_notification
from tests.support import PRODUCTION_MAIL_ENV, collapse, free_port

ROOT = Path(__file__).resolve().parents[2]
SENDER = "Miles & More <no-reply@milesgate.example>"
RECIPIENT = "jürgen@example.com"
RESET = {"given_name": "Jürgen", "token": "c0de-for-jürgen", "expires_minutes": 30}
USER, PASSWORD = "milesgate", "smtp-pass-" + "x" * 20


@dataclass
class Mailbox:
    """An aiosmtpd handler: answers DATA with the next scripted reply (then 250), keeps what it accepted."""

    script: list[str] = field(default_factory=list)
    accepted: list[tuple[Envelope, bool, bool]] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.attempts += 1
            reply = self.script.pop(0) if self.script else "250 OK"
        if reply == "drop":
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()  # the connection is lost before the server answers
            return "250 never seen"
        if reply.startswith("250"):
            with self.lock:
                self.accepted.append((envelope, session.ssl is not None, bool(session.authenticated)))
        return reply

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [
                email.message_from_bytes(bytes(envelope.original_content or b""), policy=email.policy.default)
                for envelope, _, _ in self.accepted
            ]


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made here: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "milesgate test mail server")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("smtp-tls")
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


MailServer = Callable[..., tuple[Mailbox, int]]


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """Start aiosmtpd on 127.0.0.1 and a free port: ``mail_server(script=[...], **smtp_options)``."""
    controllers: list[Controller] = []

    def start(*, script: list[str] | None = None, **options: Any) -> tuple[Mailbox, int]:
        mailbox = Mailbox(script=list(script or []))
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return mailbox, port

    yield start
    for controller in controllers:
        controller.stop()


def _settings(base: Settings, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "notification_sink": NotificationSink.SMTP,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": SmtpTls.NONE,
        "smtp_from": SENDER,
        "smtp_timeout_s": 10.0,
        **overrides,
    }
    return Settings(**{**base.model_dump(exclude_unset=True), **values})


async def _enqueue(language: str = "de", template: str = "pin_reset") -> Notification:
    return await enqueue_notification(
        account_id=7,
        channel=Channel.EMAIL,
        recipient=RECIPIENT,
        template=template,
        language=language,
        payload=dict(RESET),
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def test_a_message_is_delivered_in_the_members_language(db: Settings, mail_server: MailServer) -> None:
    # given
    mailbox, port = mail_server(enable_SMTPUTF8=True)
    row = await _enqueue("de-CH")
    sender = SmtpSender(_settings(db, port))
    # when
    assert await deliver_pending(sender=sender, now=_now()) == 1
    # then
    [(envelope, _, _)] = mailbox.accepted
    assert envelope.mail_from == "no-reply@milesgate.example"
    assert envelope.rcpt_tos == [RECIPIENT]
    [message] = mailbox.messages()
    assert message["From"] == SENDER
    assert message["To"] == RECIPIENT
    assert message["Subject"] == "Ihre neue Miles & More PIN"
    assert message["Content-Language"] == "de-CH"
    assert message["Message-ID"].startswith(f"<notification.{row.id}.")
    assert message["Message-ID"].endswith("@milesgate.example>")
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert "Guten Tag Jürgen" in body
    assert "c0de-for-jürgen" in body
    assert "30 Minuten" in body
    sent = await Notification.get(id=row.id)
    assert (sent.state, sent.attempts, sent.payload["token"]) == (NotificationState.SENT, 1, REDACTED)


async def test_a_language_without_the_template_gets_english(db: Settings, mail_server: MailServer) -> None:
    mailbox, port = mail_server(enable_SMTPUTF8=True)
    await _enqueue("fr")
    assert await deliver_pending(sender=SmtpSender(_settings(db, port)), now=_now()) == 1
    [message] = mailbox.messages()
    assert message["Subject"] == "Your Miles & More PIN reset"
    assert "Dear Jürgen" in message.get_content()


async def test_starttls_and_auth_with_the_servers_own_ca(
    db: Settings, mail_server: MailServer, certificate: tuple[Path, Path]
) -> None:
    # given: a server that requires STARTTLS before anything and AUTH before mail
    mailbox, port = mail_server(
        enable_SMTPUTF8=True,
        tls_context=_server_context(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticate,
    )
    await _enqueue()
    settings = _settings(
        db,
        port,
        smtp_tls=SmtpTls.STARTTLS,
        smtp_ca_file=certificate[0],
        smtp_username=USER,
        smtp_password=PASSWORD,
    )
    # when
    assert await deliver_pending(sender=SmtpSender(settings), now=_now()) == 1
    # then: it went over TLS, authenticated
    [(_, over_tls, authenticated)] = mailbox.accepted
    assert (over_tls, authenticated) == (True, True)


async def test_implicit_tls(db: Settings, mail_server: MailServer, certificate: tuple[Path, Path]) -> None:
    mailbox, port = mail_server(enable_SMTPUTF8=True, ssl_context=_server_context(certificate))
    await _enqueue()
    settings = _settings(db, port, smtp_tls=SmtpTls.TLS, smtp_ca_file=certificate[0])
    assert await deliver_pending(sender=SmtpSender(settings), now=_now()) == 1
    assert len(mailbox.accepted) == 1


async def test_an_untrusted_certificate_or_a_wrong_password_is_retried_later(
    db: Settings, mail_server: MailServer, certificate: tuple[Path, Path]
) -> None:
    # given
    mailbox, port = mail_server(
        enable_SMTPUTF8=True,
        tls_context=_server_context(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticate,
    )
    row = await _enqueue()
    untrusted = _settings(db, port, smtp_tls=SmtpTls.STARTTLS, smtp_username=USER, smtp_password=PASSWORD)
    wrong_password = _settings(
        db,
        port,
        smtp_tls=SmtpTls.STARTTLS,
        smtp_ca_file=certificate[0],
        smtp_username=USER,
        smtp_password="not-the-password",
    )
    # when / then: neither delivers, the row waits for its next try
    for attempt, settings in enumerate((untrusted, wrong_password), start=1):
        due = row.created_at + RETRY_AFTER[attempt - 1]
        assert await deliver_pending(sender=SmtpSender(settings), now=due) == 0
        pending = await Notification.get(id=row.id)
        assert (pending.state, pending.attempts) == (NotificationState.PENDING, attempt)
        assert pending.payload["token"] != REDACTED
    assert mailbox.accepted == []


async def test_a_4xx_answer_is_retried_and_the_message_delivered_once(
    db: Settings, mail_server: MailServer
) -> None:
    # given: the server answers 451 first, then accepts
    mailbox, port = mail_server(enable_SMTPUTF8=True, script=["451 4.3.0 try again later"])
    row = await _enqueue()
    sender = SmtpSender(_settings(db, port))
    # when: the first try is refused for now; the row stays pending until its retry is due
    assert await deliver_pending(sender=sender, now=row.created_at) == 0
    pending = await Notification.get(id=row.id)
    assert (pending.state, pending.attempts) == (NotificationState.PENDING, 1)
    assert await deliver_pending(sender=sender, now=row.created_at + RETRY_AFTER[1] / 2) == 0  # not yet due
    assert await deliver_pending(sender=sender, now=row.created_at + RETRY_AFTER[1]) == 1
    # then
    assert mailbox.attempts == 2
    assert len(mailbox.accepted) == 1
    sent = await Notification.get(id=row.id)
    assert (sent.state, sent.attempts) == (NotificationState.SENT, 2)
    assert await deliver_pending(sender=sender, now=_now() + dt.timedelta(days=1)) == 0
    assert len(mailbox.accepted) == 1


async def test_a_dropped_connection_is_retried(db: Settings, mail_server: MailServer) -> None:
    mailbox, port = mail_server(enable_SMTPUTF8=True, script=["drop"])
    row = await _enqueue()
    sender = SmtpSender(_settings(db, port))
    assert await deliver_pending(sender=sender, now=row.created_at) == 0
    assert (await Notification.get(id=row.id)).state is NotificationState.PENDING
    assert await deliver_pending(sender=sender, now=row.created_at + RETRY_AFTER[1]) == 1
    assert (mailbox.attempts, len(mailbox.accepted)) == (2, 1)


async def test_no_server_listening_is_retried(db: Settings) -> None:
    row = await _enqueue()
    sender = SmtpSender(_settings(db, free_port()))
    assert await deliver_pending(sender=sender, now=row.created_at) == 0
    pending = await Notification.get(id=row.id)
    assert (pending.state, pending.attempts) == (NotificationState.PENDING, 1)


async def test_a_5xx_answer_fails_the_message_at_once(db: Settings, mail_server: MailServer) -> None:
    # given
    mailbox, port = mail_server(enable_SMTPUTF8=True, script=["550 5.1.1 mailbox unavailable"] * 10)
    row = await _enqueue()
    sender = SmtpSender(_settings(db, port))
    # when
    assert await deliver_pending(sender=sender, now=row.created_at) == 0
    # then: failed for good, its code blanked, never tried again
    failed = await Notification.get(id=row.id)
    assert (failed.state, failed.attempts, failed.payload["token"]) == (NotificationState.FAILED, 1, REDACTED)
    for retry in RETRY_AFTER:
        assert await deliver_pending(sender=sender, now=row.created_at + retry + dt.timedelta(days=1)) == 0
    assert (mailbox.attempts, mailbox.accepted) == (1, [])


async def test_push_has_no_sender_behind_smtp(db: Settings, mail_server: MailServer) -> None:
    mailbox, port = mail_server()
    row = await enqueue_notification(
        account_id=7,
        channel=Channel.PUSH,
        recipient="member:992000001",
        template="miles_credited",
        language="en",
        payload={"given_name": "Ada", "miles": 500, "source": "a flight"},
    )
    assert await deliver_pending(sender=SmtpSender(_settings(db, port)), now=_now()) == 0
    assert (await Notification.get(id=row.id)).state is NotificationState.FAILED
    assert mailbox.attempts == 0


# --- settings ------------------------------------------------------------------------------------------


def test_the_sink_follows_the_settings(tmp_path: Path) -> None:
    assert isinstance(_mail_sender(Settings(data_dir=tmp_path, secret_key="k" * 40)), FileSink)
    smtp = Settings(data_dir=tmp_path, secret_key="k" * 40, smtp_host="mail.example", smtp_from=SENDER)
    assert smtp.resolved_notification_sink is NotificationSink.SMTP
    assert isinstance(_mail_sender(smtp), SmtpSender)
    assert smtp.resolved_smtp_port == 587
    assert smtp.model_copy(update={"smtp_tls": SmtpTls.TLS}).resolved_smtp_port == 465
    assert smtp.model_copy(update={"smtp_tls": SmtpTls.NONE}).resolved_smtp_port == 25
    forced = Settings(
        data_dir=tmp_path,
        secret_key="k" * 40,
        smtp_host="mail.example",
        smtp_from=SENDER,
        notification_sink="file",
    )
    assert isinstance(_mail_sender(forced), FileSink)


def _mail_sender(settings: Settings) -> object:
    """The sender e-mail goes to (SMS have their own, ``tests/gateway/test_sms.py``)."""
    senders = notification_sender(settings)
    assert isinstance(senders, ChannelSenders)
    return senders.default


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"MILESGATE_NOTIFICATION_SINK": "smtp"}, "MILESGATE_SMTP_HOST"),
        ({"MILESGATE_SMTP_HOST": "mail.example"}, "MILESGATE_SMTP_FROM"),
        ({"MILESGATE_SMTP_HOST": "mail.example", "MILESGATE_SMTP_FROM": "nobody"}, "MILESGATE_SMTP_FROM"),
        (
            {
                "MILESGATE_SMTP_HOST": "h",
                "MILESGATE_SMTP_FROM": "a@b.example",
                "MILESGATE_SMTP_USERNAME": "u",
            },
            "MILESGATE_SMTP_PASSWORD",
        ),
        ({"MILESGATE_SMTP_TLS": "ssl"}, "MILESGATE_SMTP_TLS"),
        ({"MILESGATE_SMTP_CA_FILE": "no-such-ca.pem"}, "MILESGATE_SMTP_CA_FILE"),
    ],
)
def test_incomplete_smtp_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=named):
        load_settings()


PRODUCTION = {
    "MILESGATE_ENV": "production",
    "MILESGATE_SECRET_KEY": "p" * 40,
    "MILESGATE_DATABASE_URL": "postgres://app@db:5432/milesgate",
}


@pytest.mark.parametrize(
    "variables",
    [
        {},
        {"MILESGATE_NOTIFICATION_SINK": "file"},
        {**PRODUCTION_MAIL_ENV, "MILESGATE_NOTIFICATION_SINK": "file"},
    ],
    ids=["no-mail-server", "file-sink-asked-for", "file-sink-beside-a-mail-server"],
)
def test_production_refuses_the_file_sink(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    for name, value in {**PRODUCTION, **variables}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match="development only"):
        load_settings()


def test_production_refuses_a_password_without_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        **PRODUCTION,
        **PRODUCTION_MAIL_ENV,
        "MILESGATE_SMTP_USERNAME": USER,
        "MILESGATE_SMTP_PASSWORD": PASSWORD,
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match="MILESGATE_SMTP_TLS") as refused:
        load_settings()
    assert PASSWORD not in str(refused.value)


def test_production_with_a_mail_server_starts_and_hides_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        **PRODUCTION,
        **PRODUCTION_MAIL_ENV,
        "MILESGATE_SMTP_TLS": "starttls",
        "MILESGATE_SMTP_USERNAME": USER,
        "MILESGATE_SMTP_PASSWORD": PASSWORD,
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.resolved_notification_sink is NotificationSink.SMTP
    shown = repr(settings) + str(settings.model_dump()) + settings.model_dump_json()
    assert PASSWORD not in shown


def test_a_production_worker_without_a_mail_server_stops_at_start_with_one_line(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MILESGATE_") or key.startswith("MILESGATE_TEST_")
    }
    env |= {**PRODUCTION, "MILESGATE_REDIS_URL": "redis://127.0.0.1:1/0", "MILESGATE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    message = collapse(result.stderr)
    assert "configuration error" in message
    assert "MILESGATE_SMTP_HOST" in message
    assert "development only" in message
    assert "Traceback" not in result.stderr


def test_compose_runs_a_mail_catcher_and_points_the_service_at_it() -> None:
    compose = (ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8")
    assert "image: axllent/mailpit" in compose
    assert "MILESGATE_SMTP_HOST: ${MILESGATE_SMTP_HOST:-mailpit}" in compose


def test_empty_smtp_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # compose passes ${MILESGATE_SMTP_USERNAME:-}: an empty login means no login, not an empty one
    for name, value in {
        **PRODUCTION,
        **PRODUCTION_MAIL_ENV,
        "MILESGATE_SMTP_USERNAME": "",
        "MILESGATE_SMTP_PASSWORD": "",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert (settings.smtp_username, settings.smtp_password) == (None, None)
