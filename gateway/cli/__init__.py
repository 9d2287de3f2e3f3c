"""The ``milesgate`` command line for operators: serve, worker, migrate, partners, demo, ...

This module only joins the command groups, one module each in ``gateway/cli/``, into one Typer app; what
they share lives in ``gateway/cli/support.py``."""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from gateway.cli.cases import cases_app
from gateway.cli.engagement import quiz_app
from gateway.cli.hub import endpoints_app, inbox_app
from gateway.cli.ledger import expire_command, ledger_app, warn_expiring_command
from gateway.cli.mail import mail_app
from gateway.cli.offers import offers_app
from gateway.cli.partners import operators_app, partners_app
from gateway.cli.persisted import persisted_queries_app
from gateway.cli.pooling import pools_app
from gateway.cli.privacy import notices_app, privacy_app
from gateway.cli.retro_credit import retro_credit_app
from gateway.cli.schema import schema_app
from gateway.cli.service import demo, migrate, serve, worker
from gateway.cli.status import status_app

app = typer.Typer(
    help="milesgate: the loyalty programme backend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
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


app.add_typer(partners_app, name="partners")
app.add_typer(operators_app, name="operators")
app.add_typer(cases_app, name="cases")
app.add_typer(ledger_app, name="ledger")
app.add_typer(status_app, name="status")
app.add_typer(privacy_app, name="privacy")
app.add_typer(notices_app, name="notices")
app.add_typer(quiz_app, name="quiz")
app.add_typer(offers_app, name="offers")
app.command("expire")(expire_command)
app.command("warn-expiring")(warn_expiring_command)
app.add_typer(pools_app, name="pools")
app.add_typer(endpoints_app, name="endpoints")
app.add_typer(inbox_app, name="inbox")
app.add_typer(retro_credit_app, name="retro-credit")
app.add_typer(persisted_queries_app, name="persisted-queries")
app.add_typer(schema_app, name="schema")
app.add_typer(mail_app, name="mail")
app.command()(serve)
app.command()(worker)
app.command()(migrate)
app.command()(demo)


def main() -> None:
    app()
