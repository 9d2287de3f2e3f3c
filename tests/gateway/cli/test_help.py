"""The command line's start-up and help: ``milesgate --help`` loads none of the service, every command's help
is plain text without markup lost or left over (issue 19, item 6)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer
from typer import _click as click
from typer.testing import CliRunner

from gateway.cli import COMMANDS, LazyCommand, LazyGroup, app, load_command

runner = CliRunner()

# What the service needs and a look at the help does not: the ORM, the GraphQL stack, Redis, the webhook
# signatures (svix), password hashes (argon2), the ASGI server and Rich.
HEAVY = (
    "tortoise",
    "strawberry",
    "graphql",
    "svix",
    "argon2",
    "redis",
    "uvicorn",
    "starlette",
    "pydantic",
    "rich",
)

_LOADED_BY_HELP = """
import json, sys
sys.argv = ["milesgate", "--help"]
from gateway.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def test_help_imports_none_of_the_service() -> None:
    # when: a fresh interpreter shows the top-level help
    result = subprocess.run(
        [sys.executable, "-c", _LOADED_BY_HELP], capture_output=True, text=True, timeout=60, check=True
    )

    # then: it listed the commands without importing any of them
    assert "serve" in result.stdout and "partners" in result.stdout
    loaded = json.loads(result.stderr.strip().splitlines()[-1])
    heavy = sorted(name for name in loaded if name.split(".")[0] in HEAVY)
    assert heavy == []
    ours = sorted(
        name for name in loaded if name.split(".")[0] in ("gateway", "loyalty", "schema", "webhooks")
    )
    assert ours == ["gateway", "gateway.cli"]


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda entry: entry.name)
def test_each_listed_command_loads_and_its_summary_is_its_own(entry: LazyCommand) -> None:
    # given: the root group as the top-level help sees it
    root = typer.main.get_command(app)
    ctx = click.Context(root, info_name="milesgate")
    assert isinstance(root, LazyGroup)
    listed = root.get_command(ctx, entry.name)
    assert listed is not None

    # when
    command = load_command(entry)

    # then: the top-level help shows what the command's own help starts with
    assert command.name == entry.name
    for width in (40, 80, 400):
        assert command.get_short_help_str(width) == listed.get_short_help_str(width)


def _every_command_path() -> Iterator[list[str]]:
    root = typer.main.get_command(app)
    assert isinstance(root, LazyGroup)

    def walk(command: click.Command, path: list[str], ctx: click.Context) -> Iterator[list[str]]:
        yield path
        if isinstance(command, LazyGroup):
            children = {name: command.load(name) for name in command.list_commands(ctx)}
        elif isinstance(command, typer.core.TyperGroup):
            children = {name: command.get_command(ctx, name) for name in command.list_commands(ctx)}
        else:
            children = {}
        for name, child in children.items():
            assert child is not None, [*path, name]
            yield from walk(child, [*path, name], click.Context(child, info_name=name, parent=ctx))

    yield from walk(root, [], click.Context(root, info_name="milesgate"))


RST_LEFT_OVER = re.compile(r"``|:(func|class|meth|mod|attr|ref|data):|\w::(\s|$)")


def test_every_help_text_is_plain_and_complete() -> None:
    helps: dict[str, str] = {}
    for path in _every_command_path():
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "400"})
        assert result.exit_code == 0, (path, result.output)
        helps[" ".join(path)] = result.output

    # then: every command was reached, nested ones too
    assert {"partners secrets revoke", "endpoints replay-failed", "quiz create", "serve"} <= helps.keys()
    # no reStructuredText from the docstrings shows
    left_over = {
        path: RST_LEFT_OVER.findall(text) for path, text in helps.items() if RST_LEFT_OVER.search(text)
    }
    assert left_over == {}
    # TOML tables in square brackets are text, not markup that disappears
    assert "[[offers]] as TOML" in helps["offers add"]
    assert "[[prizes]]" in helps["quiz create"]
    # and they point at the sample files (examples/, tests/gateway/cli/test_examples.py)
    assert "examples/offers.toml" in helps["offers add"]
    assert "examples/quiz.toml" in helps["quiz create"]
    assert "[[rewards]]" in helps["rewards check"]
    assert "examples/charts" in helps["charts check"]
    # an IPv6 loopback is not RST
    assert "127.0.0.1,::1" in " ".join(helps["serve"].split())
