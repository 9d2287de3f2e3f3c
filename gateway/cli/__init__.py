"""The ``milesgate`` command line for operators: serve, worker, migrate, partners, demo, ...

This module only joins the command groups, one module each in ``gateway/cli/``, into one Typer app; what
they share lives in ``gateway/cli/support.py``.

The command modules are imported when their command runs, not before: ``milesgate --help`` and
``milesgate --version`` import Typer and nothing of the service (no ORM, GraphQL schema, Redis, svix or
argon2), so they answer at once. ``COMMANDS`` lists each command with the module and attribute that hold
it and the first sentence of its help, which is all the top-level help shows; ``tests/gateway/cli``
checks that every entry loads and that its sentence is the command's own. Deferring a module here is for
start-up time only: ARCHITECTURE.md's rule against imports inside functions is about hiding import
cycles, and nothing below a command module imports the CLI back.

Help texts are plain text (``rich_markup_mode=None``): ``[[offers]]`` is a TOML table, not Rich markup,
and plain help needs no Rich at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Annotated, Any

import typer
from typer import _click as click  # Typer vendors Click; TyperGroup extends its Group API
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """A command of ``milesgate``: ``target`` is ``module:attribute`` (a Typer app or a command function)."""

    name: str
    target: str
    summary: str


COMMANDS: tuple[LazyCommand, ...] = (
    LazyCommand(
        "partners", "gateway.cli.partners:partners_app", "Manage partners (airlines, shops, banks, ...)."
    ),
    LazyCommand(
        "operators",
        "gateway.cli.partners:operators_app",
        "Operator access to the operators' GraphQL schema (/admin/graphql).",
    ),
    LazyCommand(
        "cases",
        "gateway.cli.cases:cases_app",
        "Support cases the service team decides by hand (lost service card numbers, lost second factors).",
    ),
    LazyCommand("ledger", "gateway.cli.ledger:ledger_app", "Check the mileage ledger."),
    LazyCommand(
        "status",
        "gateway.cli.status:status_app",
        "Status tiers: the daily expiry run, a member's status and the Status Stars import.",
    ),
    LazyCommand(
        "privacy", "gateway.cli.privacy:privacy_app", "Members' privacy rights: export, erasure, audit log."
    ),
    LazyCommand(
        "notices", "gateway.cli.privacy:notices_app", "Security notices the apps show (phishing warnings...)."
    ),
    LazyCommand("quiz", "gateway.cli.engagement:quiz_app", "The monthly quiz and its auditable prize draw."),
    LazyCommand("offers", "gateway.cli.offers:offers_app", "Partner offers to earn and to redeem miles."),
    LazyCommand(
        "rewards", "gateway.cli.data_files:rewards_app", "The rewards catalogue (MILESGATE_REWARDS_FILE)."
    ),
    LazyCommand("charts", "gateway.cli.data_files:charts_app", "The earning charts (MILESGATE_CHARTS_DIR)."),
    LazyCommand(
        "expire",
        "gateway.cli.ledger:expire_command",
        "Expire the award miles that are due (idempotent: a second run expires nothing more).",
    ),
    LazyCommand(
        "warn-expiring",
        "gateway.cli.ledger:warn_expiring_command",
        "Warn members whose miles expire at the coming quarter end (the newsletter's notice, DOMAIN.md 5): "
        "from warning_months (rules.toml) before it, once per member and quarter, by the channels they consented to.",
    ),
    LazyCommand("pools", "gateway.cli.pooling:pools_app", "Mileage pools."),
    LazyCommand(
        "endpoints", "gateway.cli.hub:endpoints_app", "Partners' endpoints for our events: add, list, replay."
    ),
    LazyCommand(
        "inbox",
        "gateway.cli.hub:inbox_app",
        "Partner deliveries: unmatched accruals, dead letters, re-processing.",
    ),
    LazyCommand(
        "retro-credit", "gateway.cli.retro_credit:retro_credit_app", "Retroactive credit of flights."
    ),
    LazyCommand(
        "persisted-queries",
        "gateway.cli.persisted:persisted_queries_app",
        "The safelist of GraphQL documents (MILESGATE_PERSISTED_QUERIES_DIR).",
    ),
    LazyCommand(
        "schema",
        "gateway.cli.schema:schema_app",
        "The GraphQL schemas as committed artefacts (schema.graphql, admin-schema.graphql) and their breaking changes.",
    ),
    LazyCommand("mail", "gateway.cli.mail:mail_app", "Member e-mail: what the development file sink wrote."),
    LazyCommand("serve", "gateway.cli.service:serve", "Run the gateway."),
    LazyCommand(
        "worker",
        "gateway.cli.service:worker",
        "Run a webhook inbox worker, the notification sender, the domain-event relay and the outbound "
        "webhook sender (needs MILESGATE_REDIS_URL).",
    ),
    LazyCommand(
        "migrate",
        "gateway.cli.service:migrate",
        "Apply the database migrations that have not been applied yet.",
    ),
    LazyCommand(
        "demo",
        "gateway.cli.service:demo",
        "Fill a development database with sample members, partners and accruals (progress bar).",
    ),
)


class _NotLoaded(TyperCommand):
    """Stands for a command in listings (help, suggestions) until it runs."""


def load_command(entry: LazyCommand) -> click.Command:
    """Import the module of ``entry`` and turn its Typer app or function into the Click command."""
    module_name, _, attribute = entry.target.partition(":")
    target: Any = getattr(importlib.import_module(module_name), attribute)
    holder = typer.Typer(rich_markup_mode=None, add_completion=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=entry.name)
    else:
        holder.command(entry.name)(target)
    command = typer.main.get_group(holder).commands[entry.name]
    return command


class LazyGroup(TyperGroup):
    """The root group: lists ``COMMANDS`` from their summaries and imports one only to run it."""

    def __init__(self, *, commands: Mapping[str, click.Command] | None = None, **attrs: Any) -> None:
        listed: dict[str, click.Command] = {
            entry.name: _NotLoaded(name=entry.name, help=entry.summary, rich_markup_mode=None)
            for entry in COMMANDS
        }
        super().__init__(commands={**listed, **(commands or {})}, **attrs)
        self._entries = {entry.name: entry for entry in COMMANDS}

    def load(self, name: str) -> click.Command | None:
        """The command ``name``, imported now if it was not yet."""
        command = self.commands.get(name)
        if isinstance(command, _NotLoaded):
            command = self.commands[name] = load_command(self._entries[name])
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, _NotLoaded):
            command = self.load(name)
        return name, command, rest


app = typer.Typer(
    cls=LazyGroup,
    help="milesgate: the loyalty programme backend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"milesgate {version('milesgate')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """milesgate: the loyalty programme backend."""


def main() -> None:
    app()
