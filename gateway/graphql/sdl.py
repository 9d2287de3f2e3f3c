"""The GraphQL schema as a committed artefact: its SDL, and what changed between two versions of it.

Web and mobile clients build against ``schema.graphql`` at the repository's root; operator tools against
``admin-schema.graphql``, the operators' schema served at ``/admin/graphql`` (``SchemaName``). ``live_sdl`` prints the
schema the code defines, sorted (types, fields, arguments, enum values, union members) so the text never
depends on import order; ``compare_sdl`` sorts graphql-core's findings into breaking and dangerous changes,
each with the schema coordinate it concerns (``Member.email``, ``Query.offers(first:)``, ``Tier.HON``,
``@key``). A breaking change is acceptable once it is announced: a line added to ``CHANGELOG.md`` that names
its coordinate as a whole word (``check_against``).

No Typer or Rich here: ``gateway/cli/schema.py`` is the command line over these functions. Every function
that reads files or git history takes the repository's root, so tests run it on a throwaway repository.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from graphql import (
    BreakingChangeType,
    DangerousChangeType,
    GraphQLError,
    GraphQLSchema,
    build_ast_schema,
    find_schema_changes,
    lexicographic_sort_schema,
    parse,
    print_schema,
)

from gateway.graphql.engine.edge import core_schema
from schema.admin.root import build_admin_schema
from schema.root import build_schema

SCHEMA_FILE = "schema.graphql"
ADMIN_SCHEMA_FILE = "admin-schema.graphql"
CHANGELOG_FILE = "CHANGELOG.md"
EXPORT_COMMAND = f"milesgate schema export --output {SCHEMA_FILE}"


class SchemaName(StrEnum):
    """The two schemas the gateway serves, each with its committed artefact."""

    MEMBER = "member"
    """``/graphql``: members, partners' frontends, the federation router."""
    ADMIN = "admin"
    """``/admin/graphql``: operators."""

    @property
    def artefact(self) -> str:
        return ADMIN_SCHEMA_FILE if self is SchemaName.ADMIN else SCHEMA_FILE

    @property
    def export_command(self) -> str:
        if self is SchemaName.MEMBER:
            return EXPORT_COMMAND
        return f"milesgate schema export --schema {self.value} --output {self.artefact}"


class SchemaArtefactError(Exception):
    """Something the comparison cannot work with; the command line answers it with exit status 2."""


class InvalidSdl(SchemaArtefactError):
    """A text that is not a valid GraphQL schema definition."""


class RevisionError(SchemaArtefactError):
    """A git revision that does not name a commit here, or git itself failing."""


@dataclass(frozen=True)
class SdlChange:
    """One change between two schemas, as graphql-core classifies and describes it."""

    kind: str
    """graphql-core's change type, e.g. ``FIELD_REMOVED`` or ``VALUE_ADDED_TO_ENUM``."""
    coordinate: str
    """The schema coordinate the change concerns, e.g. ``Member.email`` or ``Query.offers(first:)``."""
    description: str
    breaking: bool


@dataclass(frozen=True)
class SdlComparison:
    breaking: tuple[SdlChange, ...]
    dangerous: tuple[SdlChange, ...]


@dataclass(frozen=True)
class RevisionCheck:
    """The live schema compared with the ``schema.graphql`` of a revision."""

    revision: str
    base_found: bool
    """False when the revision has no ``schema.graphql``: nothing to compare, nothing can break."""
    comparison: SdlComparison
    unannounced: tuple[SdlChange, ...]
    """The breaking changes no line added to ``CHANGELOG.md`` since the revision names."""
    artefact: str = SCHEMA_FILE
    """The artefact compared."""

    @property
    def passed(self) -> bool:
        return not self.unannounced


# --- the SDL -------------------------------------------------------------------------------------------


def sdl_of(schema: GraphQLSchema) -> str:
    """The schema printed in lexicographic order, ending with one newline."""
    return print_schema(lexicographic_sort_schema(schema)).rstrip("\n") + "\n"


def live_sdl(which: SchemaName = SchemaName.MEMBER) -> str:
    """The SDL of a schema the service serves (the edge's extensions and config change no type)."""
    built = build_admin_schema() if which is SchemaName.ADMIN else build_schema()
    return sdl_of(core_schema(built))


def parse_sdl(sdl: str, *, source: str = "SDL") -> GraphQLSchema:
    """Build a schema from SDL text; ``InvalidSdl`` (naming ``source``) if it is not a valid one."""
    try:
        return build_ast_schema(parse(sdl))
    except (GraphQLError, TypeError) as exc:
        raise InvalidSdl(f"{source} is not a valid GraphQL schema: {exc}") from exc


# --- what changed --------------------------------------------------------------------------------------

_NAME = r"[_A-Za-z][_0-9A-Za-z]*"
_BEFORE = r"(?<![\w.@])"
# A member coordinate: Type.field, Type.field(arg:), @directive, @directive(arg:).
_MEMBER = re.compile(rf"{_BEFORE}(@{_NAME}(?:\({_NAME}:\))?|{_NAME}\.{_NAME}(?:\({_NAME}:\))?)(?![\w(]|\.\w)")
# Changes of a type as a whole (their descriptions name no member coordinate).
_TYPE_LEVEL = (
    re.compile(rf"was (?:added to|removed from) union type ({_NAME})\.$"),
    re.compile(rf"added to interfaces implemented by ({_NAME})\.$"),
    re.compile(rf"^({_NAME}) no longer implements interface"),
    re.compile(rf"^({_NAME}) changed from"),
    re.compile(rf"^(?:Standard scalar )?({_NAME}) was (?:removed|added)\b"),
)


def coordinate_of(description: str) -> str:
    """The schema coordinate one of graphql-core's change descriptions is about.

    Field, argument, enum value and directive changes name theirs first (``Field Member.email was
    removed.``, ``OBJECT was removed from @tag.``); a union, an interface list or a type's kind changing
    is about the type (``Offer was removed from union type SearchResult.`` concerns ``SearchResult``). A
    description of neither shape is its own coordinate.
    """
    member = _MEMBER.search(description)
    if member:
        return member.group(1)
    for pattern in _TYPE_LEVEL:
        match = pattern.search(description)
        if match:
            return match.group(1)
    return description


def compare_sdl(
    old: str, new: str, *, old_source: str = "the old SDL", new_source: str = "the new SDL"
) -> SdlComparison:
    """Breaking and dangerous changes from ``old`` to ``new`` (``InvalidSdl``, naming its source, if
    either is not SDL).

    graphql-core 3.3's ``find_schema_changes`` is the one pass that ``find_breaking_changes`` and
    ``find_dangerous_changes`` (deprecated there) filter; safe changes are left out.
    """
    changes = find_schema_changes(parse_sdl(old, source=old_source), parse_sdl(new, source=new_source))
    breaking: list[SdlChange] = []
    dangerous: list[SdlChange] = []
    for change in changes:
        if isinstance(change.type, BreakingChangeType):
            target, is_breaking = breaking, True
        elif isinstance(change.type, DangerousChangeType):
            target, is_breaking = dangerous, False
        else:
            continue
        target.append(
            SdlChange(
                kind=change.type.name,
                coordinate=coordinate_of(change.description),
                description=change.description,
                breaking=is_breaking,
            )
        )
    return SdlComparison(breaking=tuple(breaking), dangerous=tuple(dangerous))


# --- the changelog -------------------------------------------------------------------------------------


def added_lines(old: str, new: str) -> list[str]:
    """The lines of ``new`` that ``old`` does not have (counting repeats; a moved line is not added)."""
    remaining = Counter(old.splitlines())
    added: list[str] = []
    for line in new.splitlines():
        if remaining[line] > 0:
            remaining[line] -= 1
        else:
            added.append(line)
    return added


def names_coordinate(line: str, coordinate: str) -> bool:
    """Whether ``line`` names ``coordinate`` as a whole word.

    ``Member.email`` is named by "removed `Member.email`." but not by ``Member.emailAddress``,
    ``OldMember.email`` or ``Member.email(format:)`` (an argument is a coordinate of its own).
    """
    pattern = rf"{_BEFORE}{re.escape(coordinate)}(?![\w(]|\.\w)"
    return re.search(pattern, line) is not None


def unannounced(changes: Iterable[SdlChange], announcements: Sequence[str]) -> tuple[SdlChange, ...]:
    """The changes whose coordinate none of the announcement lines names."""
    return tuple(
        change
        for change in changes
        if not any(names_coordinate(line, change.coordinate) for line in announcements)
    )


# --- files and git -------------------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except FileNotFoundError:
        return None


def committed_sdl(root: Path, name: str = SCHEMA_FILE) -> str | None:
    """The artefact ``name`` (default ``schema.graphql``) in the working tree at ``root``; None if there
    is none."""
    return _read(root / name)


def artefact_diff(root: Path, live: str, name: str = SCHEMA_FILE) -> list[str]:
    """How the artefact ``name`` at ``root`` differs from the live SDL (a unified diff); empty if it is
    current. A missing file differs from everything."""
    committed = committed_sdl(root, name)
    if committed == live:
        return []
    return list(
        difflib.unified_diff(
            (committed or "").splitlines(),
            live.splitlines(),
            fromfile=f"{name} (committed)" if committed is not None else f"{name} (missing)",
            tofile=f"{name} (live)",
            lineterm="",
        )
    )


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise RevisionError("git is not installed (needed to read the schema of another revision)")
    # Arguments are a fixed git subcommand plus a revision checked not to start with "-".
    return subprocess.run(  # noqa: S603
        [git, "-C", str(root), *args], capture_output=True, text=True, encoding="utf-8", check=False
    )


def file_at_revision(root: Path, revision: str, name: str) -> str | None:
    """The text of ``name`` (relative to ``root``) at ``revision``; None if that commit has no such file.

    ``RevisionError`` if ``revision`` names no commit of the repository at ``root`` (in a shallow clone,
    ``HEAD~1`` may simply not have been fetched).
    """
    if not revision or revision.startswith("-"):
        raise RevisionError(f"{revision!r} is not a git revision")
    resolved = _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if resolved.returncode != 0:
        message = f"{revision!r} names no commit in {root}"
        shallow = _git(root, "rev-parse", "--is-shallow-repository")
        if shallow.returncode == 0 and shallow.stdout.strip() == "true":
            message += " (this is a shallow clone: fetch more history, e.g. git fetch --deepen=1)"
        elif resolved.stderr.strip():
            message += f": {resolved.stderr.strip()}"
        raise RevisionError(message)
    commit = resolved.stdout.strip()
    spec = f"{commit}:./{name}"
    if _git(root, "cat-file", "-e", spec).returncode != 0:
        return None
    shown = _git(root, "show", spec)
    if shown.returncode != 0:
        raise RevisionError(f"git show {spec} failed: {shown.stderr.strip()}")
    return shown.stdout.replace("\r\n", "\n")


def repository_root(start: Path) -> Path:
    """The top level of the git working tree holding ``start``; ``start`` itself outside of git."""
    try:
        found = _git(start, "rev-parse", "--show-toplevel")
    except RevisionError:
        return start
    return Path(found.stdout.strip()) if found.returncode == 0 else start


def check_against(root: Path, revision: str, live: str, name: str = SCHEMA_FILE) -> RevisionCheck:
    """Compare the artefact ``name`` (default ``schema.graphql``) of ``revision`` with ``live``; every
    breaking change must be named by a line added to ``CHANGELOG.md`` (the working tree's, at ``root``)
    since ``revision``.

    Raises ``RevisionError`` for a revision that is no commit, ``InvalidSdl`` for a schema that does not
    parse.
    """
    base = file_at_revision(root, revision, name)
    if base is None:
        return RevisionCheck(revision, False, SdlComparison((), ()), (), name)
    comparison = compare_sdl(base, live, old_source=f"{name} at {revision}", new_source="the live schema")
    if not comparison.breaking:
        return RevisionCheck(revision, True, comparison, (), name)
    announcements = added_lines(
        file_at_revision(root, revision, CHANGELOG_FILE) or "", _read(root / CHANGELOG_FILE) or ""
    )
    return RevisionCheck(revision, True, comparison, unannounced(comparison.breaking, announcements), name)
