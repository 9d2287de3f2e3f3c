"""How outbound deliveries are retried and where they may go.

The schedule follows Svix: an attempt at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
(configurable). Only a 2xx is a success. A 410 disables the endpoint; 429 and 503 are retried no sooner
than their ``Retry-After`` says. An endpoint failing without a single success for ``disable_after`` is
disabled.

Endpoints may only be http(s) URLs on hosts an operator allowed (``MILESGATE_OUTBOUND_ALLOWED_HOSTS``:
exact names, IP addresses, or ``*.example.com`` for the subdomains of a domain). A host given by name
must also resolve to public addresses only, so a partner cannot point a name at our own network, and a
delivery connects to the very address that was checked (DNS is not asked twice); an operator who wants a
private address allows that address itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from loyalty.errors import ValidationFailed

DEFAULT_SCHEDULE_S: tuple[int, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    schedule_s: tuple[int, ...] = DEFAULT_SCHEDULE_S
    timeout_s: float = 15.0
    disable_after: dt.timedelta = dt.timedelta(days=5)
    max_retry_after_s: int = 36_000
    rate_limit_per_s: int = 20
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)
    allow_http: bool = False
    lease_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.schedule_s or any(delay < 0 for delay in self.schedule_s):
            raise ValueError("the retry schedule needs at least one delay, none negative")

    def delay_before(self, step: int) -> dt.timedelta | None:
        """The wait before attempt number ``step`` (0 is the first), or None when the schedule is used up."""
        if step >= len(self.schedule_s):
            return None
        return dt.timedelta(seconds=self.schedule_s[step])


def retry_after_s(value: str | None, *, now: dt.datetime) -> int | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0, int((when - now).total_seconds()))


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            continue
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry:
            return True
    return False


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, policy: DeliveryPolicy) -> str:
    """The URL if an endpoint may have it, else ``ValidationFailed`` with a code (checked on registration
    and again before every attempt, since the allow-list can change)."""

    def refuse(code: str, message: str) -> ValidationFailed:
        return ValidationFailed(message, field="url", code=code)

    if len(url) > 500:
        raise refuse("URL_TOO_LONG", "The URL has at most 500 characters.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise refuse("URL_INVALID", "The URL cannot be read.") from None
    if parts.scheme not in ("https", "http") or not host:
        raise refuse("URL_SCHEME_NOT_ALLOWED", "The URL is an https URL with a host.")
    if parts.scheme == "http" and not policy.allow_http:
        raise refuse("URL_SCHEME_NOT_ALLOWED", "Only https URLs are allowed here.")
    if parts.username is not None or parts.password is not None:
        raise refuse("URL_CREDENTIALS_NOT_ALLOWED", "The URL carries no user name or password.")
    if not host_allowed(host, policy.allowed_hosts):
        raise refuse("URL_HOST_NOT_ALLOWED", f"The host {host!r} is not on the operators' allow-list.")
    return url


Resolver = Callable[[str], Awaitable[Sequence[str]]]
"""A host name's addresses: the system's DNS (``system_resolver``), or another in tests."""


async def system_resolver(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def checked_address(url: str, resolver: Resolver = system_resolver) -> str | None:
    """The one address a delivery to ``url`` may connect to: the host name resolved once, refused when any
    answer is a loopback, private, link-local or otherwise non-public address. None for a host given as an
    IP address (one the operators allowed themselves, taken as it is).

    The sender connects to this address and to no other: resolving the name again to connect would let a
    partner who controls its DNS answer a public address here and a private one there."""
    host = urlsplit(url).hostname or ""
    if _literal_ip(host) is not None:
        return None
    try:
        addresses = list(await resolver(host))
    except OSError:
        addresses = []
    if not addresses:
        raise ValidationFailed(
            f"The host {host!r} does not resolve.", field="url", code="URL_HOST_UNRESOLVED"
        )
    if not all(_is_public(address) for address in addresses):
        raise ValidationFailed(
            f"The host {host!r} resolves to a non-public address.", field="url", code="URL_HOST_NOT_PUBLIC"
        )
    return addresses[0]


def _is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:  # a scoped IPv6 address (fe80::1%eth0) and anything else unreadable
        return False


@dataclass(frozen=True, slots=True)
class PinnedRequest:
    """Where a delivery goes: the URL with the checked address in place of the name, the Host header the
    name gives, and the name for TLS (SNI and the certificate check) as httpx2's ``sni_hostname``."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, str]


def pinned_request(url: str, address: str | None) -> PinnedRequest:
    if address is None:
        return PinnedRequest(url, {}, {})
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    extensions = {"sni_hostname": parts.hostname or ""} if parts.scheme == "https" else {}
    return PinnedRequest(urlunsplit(parts._replace(netloc=netloc)), {"host": parts.netloc}, extensions)
