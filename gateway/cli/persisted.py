"""``milesgate persisted-queries``: register the documents the safelist accepts, and list them.

Wired into the main CLI with ``app.add_typer(persisted_queries_app, name="persisted-queries")``.
``register`` checks each document against the schema and the edge's limits (the ones set by the
``MILESGATE_GRAPHQL_*`` variables in force) and writes it, unchanged, as ``<sha256>.graphql`` into the
safelist directory; clients send that sha256 as ``extensions.persistedQuery.sha256Hash``. With
``--schema admin`` the documents are checked against the operators' schema and its limits
(``MILESGATE_ADMIN_GRAPHQL_*``) and go into the directory's ``admin/`` folder, ``/admin/graphql``'s
safelist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse, validate
from rich.console import Console

from gateway.cli.support import cli_settings, err_console
from gateway.graphql.edge import EdgeLimits, document_rules
from gateway.graphql.engine import core_schema
from gateway.graphql.persisted_queries import ADMIN_SAFELIST_FOLDER, Safelist, SafelistError, document_hash
from gateway.graphql.sdl import SchemaName
from gateway.settings import Settings
from schema.admin.root import build_admin_schema
from schema.root import build_schema

persisted_queries_app = typer.Typer(
    help="The safelist of GraphQL documents (MILESGATE_PERSISTED_QUERIES_DIR).", no_args_is_help=True
)
console = Console()

DirOption = Annotated[
    Path | None,
    typer.Option("--dir", help="The safelist directory; default: MILESGATE_PERSISTED_QUERIES_DIR."),
]
SchemaOption = Annotated[
    SchemaName,
    typer.Option(
        "--schema",
        help="member: /graphql's safelist; admin: /admin/graphql's (the directory's admin/ folder).",
    ),
]


def _directory(given: Path | None, settings: Settings, which: SchemaName) -> Path:
    directory = given or settings.persisted_queries_dir
    if directory is None:
        err_console.print(
            "[red]SAFELIST_DIRECTORY_MISSING:[/red] pass --dir or set MILESGATE_PERSISTED_QUERIES_DIR."
        )
        raise typer.Exit(2)
    return directory / ADMIN_SAFELIST_FOLDER if which is SchemaName.ADMIN else directory


def document_problems(text: str, settings: Settings, which: SchemaName = SchemaName.MEMBER) -> list[str]:
    """Why the schema or the edge's limits refuse this document; empty when it may be registered."""
    admin = which is SchemaName.ADMIN
    limits = EdgeLimits.admin(settings) if admin else EdgeLimits.member(settings)
    try:
        document = parse(text, max_tokens=limits.max_tokens)
    except GraphQLSyntaxError as exc:
        return [exc.message]
    schema = build_admin_schema() if admin else build_schema()
    return [error.message for error in validate(core_schema(schema), document, document_rules(limits))]


def operation_names(text: str) -> str:
    names = [
        definition.name.value if definition.name else "(anonymous)"
        for definition in parse(text).definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    return ", ".join(names)


@persisted_queries_app.command("register")
def register(
    files: Annotated[
        list[Path], typer.Argument(help=".graphql files to accept", exists=True, dir_okay=False)
    ],
    directory: DirOption = None,
    which: SchemaOption = SchemaName.MEMBER,
) -> None:
    """Check each document and add it to the safelist; nothing is written if one of them is refused."""
    settings = cli_settings()
    target = _directory(directory, settings, which)
    texts: list[str] = []
    refused = False
    for path in files:
        text = path.read_text(encoding="utf-8")
        problems = document_problems(text, settings, which)
        for problem in problems:
            err_console.print(f"DOCUMENT_REFUSED: {path}: {problem}", markup=False, highlight=False)
        refused = refused or bool(problems)
        texts.append(text)
    if refused:
        raise typer.Exit(1)
    target.mkdir(parents=True, exist_ok=True)
    for path, text in zip(files, texts, strict=True):
        sha256 = document_hash(text)
        (target / f"{sha256}.graphql").write_text(text, encoding="utf-8")
        console.print(f"{sha256}  {operation_names(text)}  ({path.name})", highlight=False)


@persisted_queries_app.command("list")
def list_documents(directory: DirOption = None, which: SchemaOption = SchemaName.MEMBER) -> None:
    """Every registered document: its sha256 and its operations."""
    settings = cli_settings()
    try:
        safelist = Safelist.from_directory(_directory(directory, settings, which))
    except SafelistError as exc:
        err_console.print(f"SAFELIST_INVALID: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from exc
    for sha256, text in sorted(safelist.documents.items()):
        console.print(f"{sha256}  {operation_names(text)}", highlight=False)
