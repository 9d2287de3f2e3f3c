"""``milesgate mail``: member e-mail for developers: the development outbox file, opened."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer

from gateway.cli.support import cli_settings, err_console
from gateway.notification_secrets import outbox_box
from gateway.workers.notifications import OUTBOX_FILE, OutboxUnreadable, read_outbox

mail_app = typer.Typer(help="Member e-mail: what the development file sink wrote.", no_args_is_help=True)


@mail_app.command("outbox")
def show_outbox(
    last: Annotated[int, typer.Option(min=1, help="Show this many of the newest messages.")] = 10,
    template: Annotated[
        str | None, typer.Option(help="Only messages of this template (pin_reset, ...).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object a line, with the payload.")
    ] = False,
) -> None:
    """Show the messages the development file sink wrote to the data directory's outbox.jsonl, opened
    with the key derived from MILESGATE_SECRET_KEY (the file itself holds them sealed)."""
    settings = cli_settings()
    try:
        messages = read_outbox(settings.data_dir, outbox_box(settings))
    except OutboxUnreadable as exc:
        err_console.print(f"OUTBOX_UNREADABLE: {exc}", markup=False)
        raise typer.Exit(1) from exc
    if template is not None:
        messages = [message for message in messages if message.get("template") == template]
    if not messages:
        typer.echo(f"no messages in {settings.data_dir / OUTBOX_FILE}")
        return
    for message in messages[-last:]:
        typer.echo(orjson.dumps(message).decode() if as_json else _as_text(message))


def _as_text(message: dict[str, Any]) -> str:
    return (
        f"#{message['id']} {message['channel']} {message['template']} ({message['language']})\n"
        f"To: {message['recipient']}\nSubject: {message['subject']}\n\n{message['body']}\n"
    )
