"""``milesgate partners`` (the partner registry and its signing keys) and ``milesgate operators`` (tokens).

Wired into the main CLI in ``gateway/cli/__init__.py``. Secrets are printed once, when created, on a line of their
own (plain ``print``, so nothing wraps or colours them); everything else is Rich output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gateway.cli.support import Operator, cli_settings, err_console, run_or_exit, run_with_db
from gateway.operators import MAX_TTL_S, OperatorTokens
from gateway.partner_changes import announce_once
from gateway.partner_secrets import partner_secret_box
from loyalty.errors import DomainError
from loyalty.operators import operator_tokens, revoke_token
from partners import service, signing
from partners.models import Partner, PartnerCapability, PartnerKind, PartnerState
from partners.secret_box import SecretBox

partners_app = typer.Typer(help="Manage partners (airlines, shops, banks, ...).", no_args_is_help=True)
secrets_app = typer.Typer(
    help="A partner's signing secrets (v1) and public keys (v1a).", no_args_is_help=True
)
partners_app.add_typer(secrets_app, name="secrets")
operators_app = typer.Typer(
    help="Operator access to the operators' GraphQL schema (/admin/graphql).", no_args_is_help=True
)
console = Console()
T = TypeVar("T")


def _run(work: Callable[[SecretBox], Awaitable[T]], *, changes: str | None = None) -> T:
    """Run ``work`` with the database open; a domain error prints its code and exits with status 1.

    ``changes``: the code of the partner whose deliveries are checked differently afterwards; the
    gateways are told (``gateway.partner_changes``) once ``work`` is done."""
    settings = cli_settings()
    box = partner_secret_box(settings)

    async def work_then_announce() -> T:
        result = await work(box)
        if changes is not None:
            await announce_once(settings, changes)
        return result

    try:
        return run_with_db(settings, work_then_announce)
    except DomainError as exc:
        err_console.print(f"[red]{exc.code}:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from exc


def _capabilities(values: list[PartnerCapability] | None) -> set[PartnerCapability] | None:
    return None if not values else set(values)


def _show_partner(partner: Partner) -> None:
    caps = ", ".join(sorted(item.value for item in partner.capabilities)) or "-"
    console.print(
        f"partner [bold]{escape(partner.code)}[/bold] ({partner.kind.value}, {partner.state.value}): "
        f"{escape(partner.name)}; capabilities {caps}; earning config {escape(partner.earning_config)}"
    )


def _print_secret(secret: str) -> None:
    console.print("signing secret (shown once, keep it safe):")
    print(secret)


CapabilityOption = Annotated[
    list[PartnerCapability] | None,
    typer.Option("--capability", help="What it may send (repeat); default: the usual ones for its kind."),
]


@partners_app.command("add")
def partners_add(
    code: Annotated[str, typer.Argument(help="Short code used in the webhook URL, e.g. 'swiss'.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    kind: Annotated[PartnerKind, typer.Option(help="What kind of partner.")],
    capability: CapabilityOption = None,
    earning_config: Annotated[str, typer.Option(help="Earning chart/configuration it uses.")] = "default",
) -> None:
    """Register a partner and print its webhook signing secret (shown once, keep it safe)."""

    async def work(box: SecretBox) -> service.NewPartner:
        return await service.add_partner(
            code=code,
            name=name,
            kind=kind,
            box=box,
            capabilities=_capabilities(capability),
            earning_config=earning_config,
        )

    created = _run(work)
    console.print(f"partner [bold]{created.code}[/bold] ({created.kind.value}) registered")
    console.print(f"webhook URL path: /webhooks/partners/{created.code}")
    _print_secret(created.signing_secret)


@partners_app.command("list")
def partners_list() -> None:
    """List partners: kind, state, capabilities, earning configuration, usable signing keys."""

    async def work(_: SecretBox) -> tuple[list[Partner], dict[int, list[signing.SigningMaterial]]]:
        rows = await service.list_partners()
        return rows, await signing.signing_material_for([row.id for row in rows])

    rows, keys = _run(work)
    if not rows:
        console.print("no partners", style="dim")
        return
    table = Table("code", "name", "kind", "state", "capabilities", "earning config", "usable keys")
    for row in rows:
        table.add_row(
            escape(row.code),
            escape(row.name),
            row.kind.value,
            row.state.value,
            ", ".join(sorted(item.value for item in row.capabilities)),
            escape(row.earning_config),
            str(sum(1 for item in keys[row.id] if item.usable)),
        )
    console.print(table)


@partners_app.command("update")
def partners_update(
    code: Annotated[str, typer.Argument(help="The partner's code.")],
    name: Annotated[str | None, typer.Option(help="New display name.")] = None,
    capability: Annotated[
        list[PartnerCapability] | None,
        typer.Option("--capability", help="The complete new list of capabilities (repeat)."),
    ] = None,
    earning_config: Annotated[str | None, typer.Option(help="New earning configuration.")] = None,
) -> None:
    """Change a partner's name, capabilities or earning configuration."""
    _show_partner(
        _run(
            lambda _: service.update_partner(
                code=code, name=name, capabilities=_capabilities(capability), earning_config=earning_config
            ),
            changes=code,
        )
    )


@partners_app.command("suspend")
def partners_suspend(code: Annotated[str, typer.Argument(help="The partner's code.")]) -> None:
    """Refuse the partner's deliveries (403) from now on."""
    _show_partner(
        _run(lambda _: service.set_partner_state(code=code, state=PartnerState.SUSPENDED), changes=code)
    )


@partners_app.command("activate")
def partners_activate(code: Annotated[str, typer.Argument(help="The partner's code.")]) -> None:
    """Accept the partner's deliveries again."""
    _show_partner(
        _run(lambda _: service.set_partner_state(code=code, state=PartnerState.ACTIVE), changes=code)
    )


@secrets_app.command("add")
def secrets_add(
    code: Annotated[str, typer.Argument(help="The partner's code.")],
    label: Annotated[str, typer.Option(help="A note, e.g. 'rotation 2026-Q4'.")] = "",
) -> None:
    """Add a signing secret, usable at once next to the others; printed once."""
    created = _run(lambda box: signing.add_secret(code=code, box=box, label=label), changes=code)
    console.print(f"secret {created.id} added (fingerprint {created.fingerprint})")
    _print_secret(created.secret)


@secrets_app.command("add-key")
def secrets_add_key(
    code: Annotated[str, typer.Argument(help="The partner's code.")],
    public_key: Annotated[str, typer.Argument(help="ed25519 public key: whpk_ + base64 of 32 bytes.")],
    label: Annotated[str, typer.Option(help="A note.")] = "",
) -> None:
    """Register an ed25519 public key for v1a signatures."""
    added = _run(
        lambda _: signing.add_public_key(code=code, public_key=public_key, label=label), changes=code
    )
    console.print(f"public key {added.id} added (fingerprint {added.fingerprint})")


@secrets_app.command("list")
def secrets_list(code: Annotated[str, typer.Argument(help="The partner's code.")]) -> None:
    """The partner's secrets and public keys (never the secrets themselves)."""
    items = _run(lambda _: signing.list_signing_material(code=code))
    table = Table("id", "kind", "fingerprint", "label", "created", "expires", "revoked", "usable")

    def when(value: dt.datetime | None) -> str:
        return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")

    for item in items:
        table.add_row(
            str(item.id),
            item.kind,
            item.fingerprint,
            escape(item.label),
            when(item.created_at),
            when(item.expires_at),
            when(item.revoked_at),
            "yes" if item.usable else "no",
        )
    console.print(table)


def _retire(code: str, kind: str, key_id: int, at: dt.datetime | None, force: bool) -> None:
    item = _run(
        lambda _: signing.retire(code=code, kind=kind, material_id=key_id, at=at, force=force), changes=code
    )
    state = "revoked" if item.revoked_at else f"expires {item.expires_at:%Y-%m-%d %H:%M} UTC"
    console.print(f"{kind.replace('_', ' ')} {item.id} ({item.fingerprint}) {state}")


KindOption = Annotated[bool, typer.Option("--public-key", help="The id is a public key's, not a secret's.")]


@secrets_app.command("revoke")
def secrets_revoke(
    code: Annotated[str, typer.Argument(help="The partner's code.")],
    key_id: Annotated[int, typer.Argument(help="The id shown by 'secrets list'.")],
    public_key: KindOption = False,
    force: Annotated[bool, typer.Option(help="Also revoke the partner's last usable key.")] = False,
) -> None:
    """Stop accepting deliveries signed with this secret (or public key) now."""
    _retire(code, "public_key" if public_key else "secret", key_id, None, force)


@secrets_app.command("expire")
def secrets_expire(
    code: Annotated[str, typer.Argument(help="The partner's code.")],
    key_id: Annotated[int, typer.Argument(help="The id shown by 'secrets list'.")],
    hours: Annotated[float, typer.Option(min=0, help="Hours from now until it stops verifying.")] = 24.0,
    public_key: KindOption = False,
) -> None:
    """Let a secret (or public key) keep verifying for a while, then stop: the end of a rotation."""
    at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    _retire(code, "public_key" if public_key else "secret", key_id, at, False)


@operators_app.command("token")
def operators_token(
    name: Annotated[str, typer.Option(help="Who the token is for (appears in logs).")],
    hours: Annotated[float, typer.Option(min=0.01, max=MAX_TTL_S / 3600, help="Lifetime in hours.")] = 8.0,
) -> None:
    """Mint an operator token for /admin/graphql: send it as 'Authorization: Bearer <token>'."""
    settings = cli_settings()
    tokens = OperatorTokens(settings.resolved_secret_key())
    try:
        token, record = run_with_db(settings, lambda: tokens.mint(name=name, ttl_s=int(hours * 3600)))
    except ValueError as exc:
        err_console.print(f"[red]OPERATOR_TOKEN_INVALID:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    console.print(
        f"operator token {record.id} for [bold]{escape(name)}[/bold], valid {hours:g} h:", highlight=False
    )
    print(token)


tokens_app = typer.Typer(help="The operator tokens minted: list them, revoke one.", no_args_is_help=True)
operators_app.add_typer(tokens_app, name="tokens")


@tokens_app.command("list")
def operators_tokens_list(
    all_: Annotated[bool, typer.Option("--all", help="Expired tokens too.")] = False,
) -> None:
    """The operator tokens not yet expired (revoked ones included), newest first; never the tokens themselves."""
    now = dt.datetime.now(dt.UTC)
    rows = run_or_exit(lambda: operator_tokens(now=now, include_expired=all_))
    table = Table("id", "operator", "role", "issued", "expires", "state", title="operator tokens")
    for row in rows:
        state = (
            f"revoked {row.revoked_at.isoformat(timespec='seconds')} by {row.revoked_by}"
            if row.revoked_at is not None
            else ("expired" if row.expires_at <= now else "active")
        )
        table.add_row(
            str(row.id),
            escape(row.name),
            row.role.value,
            row.issued_at.isoformat(timespec="seconds"),
            row.expires_at.isoformat(timespec="seconds"),
            escape(state),
        )
    console.print(table)


@tokens_app.command("revoke")
def operators_tokens_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The id shown by 'operators tokens list'.")],
    operator: Operator,
) -> None:
    """Revoke an operator token: refused from the next request on."""
    revoked = run_or_exit(lambda: revoke_token(id=token_id, by=operator, now=dt.datetime.now(dt.UTC)))
    console.print(f"operator token {revoked.id} of {escape(revoked.name)} revoked", highlight=False)
