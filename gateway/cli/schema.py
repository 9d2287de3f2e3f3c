"""``milesgate schema export`` and ``milesgate schema check``: the committed SDL clients build against.

Wired into the main CLI in ``gateway/cli.py`` with ``app.add_typer(schema_app, name="schema")``.
``export`` prints (or writes) the live schema's SDL; ``check`` fails when the committed ``schema.graphql``
is not that SDL, and, with ``--against REV``, when a breaking change since REV is not announced in
``CHANGELOG.md`` (a line added since REV naming its schema coordinate). ``--schema admin`` does the same
for the operators' schema (``admin-schema.graphql``, served at ``/admin/graphql``). Exit status: 0 fine,
1 a check failed, 2 the comparison could not be made (unknown revision, SDL that does not parse, no git).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from gateway.graphql.sdl import (
    CHANGELOG_FILE,
    RevisionCheck,
    SchemaArtefactError,
    SchemaName,
    artefact_diff,
    check_against,
    live_sdl,
    repository_root,
)

schema_app = typer.Typer(
    help="The GraphQL schemas as committed artefacts (schema.graphql, admin-schema.graphql) and their breaking changes.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

DIFF_LINES_SHOWN = 60

RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        file_okay=False,
        help="The repository's root (schema.graphql, CHANGELOG.md); default: the git top level here.",
    ),
]
SchemaOption = Annotated[
    SchemaName,
    typer.Option(
        "--schema",
        help="member: /graphql (schema.graphql); admin: the operators' /admin/graphql (admin-schema.graphql).",
    ),
]


@schema_app.command("export")
def export_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write the SDL to this file; default: stdout."),
    ] = None,
    which: SchemaOption = SchemaName.MEMBER,
) -> None:
    """Print the live schema's SDL, sorted so the same code always gives the same text."""
    sdl = live_sdl(which)
    if output is None:
        sys.stdout.write(sdl)
        return
    output.write_text(sdl, encoding="utf-8")
    err_console.print(f"wrote {escape(str(output))}", style="green", highlight=False)


def _report_artefact(root: Path, live: str, which: SchemaName) -> bool:
    diff = artefact_diff(root, live, which.artefact)
    if not diff:
        console.print(f"{which.artefact} matches the live schema", style="green")
        return True
    err_console.print(
        f"[red]{which.artefact} differs from the live schema:[/red] run "
        f"[bold]{which.export_command}[/bold] and commit it",
        highlight=False,
    )
    for line in diff[:DIFF_LINES_SHOWN]:
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    if len(diff) > DIFF_LINES_SHOWN:
        err_console.print(f"… {len(diff) - DIFF_LINES_SHOWN} more diff lines", highlight=False)
    return False


def _report_revision(result: RevisionCheck) -> None:
    revision = escape(result.revision)
    if not result.base_found:
        console.print(
            f"{revision} has no {result.artefact}: nothing to compare against",
            style="yellow",
            highlight=False,
        )
        return
    for change in result.comparison.dangerous:
        err_console.print(
            f"[yellow]warning:[/yellow] {escape(change.coordinate)}: {escape(change.description)} "
            f"({change.kind})",
            highlight=False,
        )
    missing = set(result.unannounced)
    for change in result.comparison.breaking:
        if change not in missing:
            console.print(
                f"breaking, announced in {CHANGELOG_FILE}: {escape(change.coordinate)}: "
                f"{escape(change.description)}",
                highlight=False,
            )
    for change in result.unannounced:
        err_console.print(
            f"[red]breaking, not announced in {CHANGELOG_FILE}:[/red] [bold]{escape(change.coordinate)}"
            f"[/bold]: {escape(change.description)} ({change.kind})",
            highlight=False,
        )
    if result.unannounced:
        err_console.print(
            f"[red]{len(result.unannounced)} breaking change(s) since {revision} not announced:[/red] add "
            f"a line naming each coordinate to {CHANGELOG_FILE} (under Unreleased)",
            highlight=False,
        )
    else:
        count = len(result.comparison.breaking)
        console.print(
            f"no unannounced breaking change since {revision}" + (f" ({count} announced)" if count else ""),
            style="green",
            highlight=False,
        )


@schema_app.command("check")
def check_command(
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            metavar="REV",
            help=f"Also compare with the artefact at this git revision; breaking changes must be "
            f"announced in {CHANGELOG_FILE}.",
        ),
    ] = None,
    root: RootOption = None,
    which: SchemaOption = SchemaName.MEMBER,
) -> None:
    """Fail if schema.graphql (or admin-schema.graphql) is not the live schema, or (--against) on an
    unannounced breaking change."""
    repository = root if root is not None else repository_root(Path.cwd())
    live = live_sdl(which)
    current = _report_artefact(repository, live, which)
    announced = True
    if against is not None:
        try:
            result = check_against(repository, against, live, which.artefact)
        except SchemaArtefactError as exc:
            err_console.print(f"[red]cannot check against {escape(against)}:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from exc
        _report_revision(result)
        announced = result.passed
    if not (current and announced):
        raise typer.Exit(1)
