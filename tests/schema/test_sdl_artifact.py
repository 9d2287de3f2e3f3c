"""The committed SDL (``schema.graphql``) and ``milesgate schema export|check``.

The cases that need git history run on a throwaway repository in ``tmp_path``: a first commit holds an
older ``schema.graphql`` and ``CHANGELOG.md``, the working tree then holds the live schema, and
``schema check --root <that repository> --against HEAD`` (or ``HEAD~1`` after a second commit) compares
them. Nothing depends on this repository's own history.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import BreakingChangeType, build_schema
from typer.testing import CliRunner, Result

from gateway.cli import app
from gateway.graphql.sdl import (
    ADMIN_SCHEMA_FILE,
    CHANGELOG_FILE,
    SCHEMA_FILE,
    InvalidSdl,
    RevisionError,
    SchemaName,
    added_lines,
    check_against,
    compare_sdl,
    file_at_revision,
    live_sdl,
    names_coordinate,
    parse_sdl,
    sdl_of,
)
from tests.support import collapse

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
CHANGELOG_HEADER = "# Changelog\n\nBreaking schema changes are announced here.\n\n## Unreleased\n"


@pytest.fixture(scope="module")
def live() -> str:
    return live_sdl()


def milesgate(*args: str) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=Schema Test",
            "-c",
            "user.email=schema-test@example.invalid",
            "-c",
            "commit.gpgsign=false",
            "-C",
            str(repo),
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def commit(repo: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (repo / name).write_text(text, encoding="utf-8")
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    return path


def in_type(sdl: str, type_name: str, old: str, new: str) -> str:
    """``sdl`` with ``old`` replaced by ``new`` once, inside the definition of ``type_name``."""
    heads = [f"\n{kind} {type_name} {{\n" for kind in ("type", "enum")]
    start = next(sdl.index(head) for head in heads if head in sdl)
    end = sdl.index("\n}\n", start) + 3
    block = sdl[start:end]
    assert block.count(old) == 1, (type_name, old)
    return sdl[:start] + block.replace(old, new) + sdl[end:]


def with_extra_member_field(sdl: str) -> str:
    """An older schema whose Member still had ``legacyCode``: the live one has removed it."""
    return in_type(
        sdl, "Member", "  accountNumber: String!\n", "  accountNumber: String!\n\n  legacyCode: String\n"
    )


def with_numeric_account_number(sdl: str) -> str:
    """An older schema in which ``Member.accountNumber`` was an Int!: the live one changed its type."""
    return in_type(sdl, "Member", "  accountNumber: String!\n", "  accountNumber: Int!\n")


def check(repo: Path, against: str | None = "HEAD") -> Result:
    args = ["schema", "check", "--root", str(repo)]
    return milesgate(*args, *(["--against", against] if against else []))


# --- the artefact --------------------------------------------------------------------------------------


def test_the_committed_sdl_is_the_live_schema(live: str):
    committed = (ROOT / SCHEMA_FILE).read_text(encoding="utf-8")

    assert committed == live, "run: milesgate schema export --output schema.graphql"


def test_the_committed_admin_sdl_is_the_live_operators_schema():
    committed = (ROOT / ADMIN_SCHEMA_FILE).read_text(encoding="utf-8")

    assert committed == live_sdl(SchemaName.ADMIN), (
        "run: milesgate schema export --schema admin --output admin-schema.graphql"
    )


def test_the_two_schemas_share_no_root_field(live: str):
    """The operators' fields left the member schema (announced in CHANGELOG.md); the admin schema holds them."""
    member, admin = (parse_sdl(live_sdl(which)) for which in SchemaName)
    for root in ("query_type", "mutation_type"):
        member_fields = set(getattr(member, root).fields) - {"_service", "_entities"}
        assert member_fields.isdisjoint(getattr(admin, root).fields)
    assert admin.query_type is not None
    assert {"partners", "outboundDeliveries"} <= set(admin.query_type.fields)
    assert member.get_type("PartnerEndpoint") is None and admin.get_type("PartnerEndpoint") is not None


def test_check_and_export_take_the_admin_schema(tmp_path: Path, repo: Path):
    admin = live_sdl(SchemaName.ADMIN)
    target = tmp_path / "admin.graphql"
    exported = milesgate("schema", "export", "--schema", "admin", "--output", str(target))
    assert exported.exit_code == 0, exported.output
    assert target.read_text(encoding="utf-8") == admin

    # an operators' field removed since the revision, unannounced: the admin check fails, naming it
    older = admin.replace("type Query {\n", "type Query {\n  legacyPartners: [String!]\n\n", 1)
    commit(repo, {ADMIN_SCHEMA_FILE: older, CHANGELOG_FILE: CHANGELOG_HEADER}, "old")
    (repo / ADMIN_SCHEMA_FILE).write_text(admin, encoding="utf-8")
    refused = milesgate("schema", "check", "--schema", "admin", "--root", str(repo), "--against", "HEAD")
    assert refused.exit_code == 1, refused.output
    assert "not announced in CHANGELOG.md: Query.legacyPartners" in collapse(refused.output)

    # announced: it passes
    (repo / CHANGELOG_FILE).write_text(
        CHANGELOG_HEADER + "- Removed `Query.legacyPartners`.\n", encoding="utf-8"
    )
    passed = milesgate("schema", "check", "--schema", "admin", "--root", str(repo), "--against", "HEAD")
    assert passed.exit_code == 0, passed.output
    assert "admin-schema.graphql matches the live schema" in collapse(passed.output)


def test_check_passes_on_this_repository():
    result = check(ROOT, against=None)

    assert result.exit_code == 0, result.output
    assert "schema.graphql matches the live schema" in collapse(result.output)


@pytest.mark.slow
def test_export_prints_the_same_sdl_in_every_process(live: str):
    """Two interpreters with different hash seeds (so different set and dict orders) print one text."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MILESGATE_")}
    printed = [
        subprocess.run(
            [sys.executable, "-m", "gateway.cli", "schema", "export"],
            cwd=ROOT,
            env={**env, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in ("1", "2")
    ]

    assert printed[0] == printed[1] == live


def test_the_sdl_does_not_depend_on_definition_order():
    one = build_schema("type Query { b: B a: A }\ntype B { y: Int x: Int }\ntype A { z: E }\nenum E { Q P }")
    other = build_schema(
        "enum E { P Q }\ntype A { z: E }\ntype B { x: Int y: Int }\ntype Query { a: A b: B }"
    )

    assert sdl_of(one) == sdl_of(other)
    assert sdl_of(one).index("type A") < sdl_of(one).index("type B") < sdl_of(one).index("type Query")


def test_export_writes_the_file(tmp_path: Path, live: str):
    target = tmp_path / "out.graphql"

    result = milesgate("schema", "export", "--output", str(target))

    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == live


def test_check_fails_when_the_committed_sdl_is_stale(repo: Path, live: str):
    (repo / SCHEMA_FILE).write_text(with_extra_member_field(live), encoding="utf-8")

    result = check(repo, against=None)

    assert result.exit_code == 1
    output = collapse(result.output)
    assert "schema.graphql differs from the live schema" in output
    assert "milesgate schema export --output schema.graphql" in output
    assert "legacyCode" in output  # the diff


def test_check_fails_when_there_is_no_committed_sdl(repo: Path):
    result = check(repo, against=None)

    assert result.exit_code == 1
    assert "milesgate schema export --output schema.graphql" in collapse(result.output)


# --- breaking changes ----------------------------------------------------------------------------------


def test_a_removed_field_and_a_changed_type_are_breaking_with_their_coordinates(live: str):
    removed = compare_sdl(with_extra_member_field(live), live)
    changed = compare_sdl(with_numeric_account_number(live), live)

    assert [(c.kind, c.coordinate) for c in removed.breaking] == [("FIELD_REMOVED", "Member.legacyCode")]
    assert [(c.kind, c.coordinate) for c in changed.breaking] == [
        ("FIELD_CHANGED_KIND", "Member.accountNumber")
    ]
    assert compare_sdl(live, live).breaking == ()


def test_every_kind_of_breaking_change_has_its_coordinate():
    old = """
    directive @tag(name: String!, x: Int) repeatable on FIELD_DEFINITION | OBJECT
    directive @gone on FIELD_DEFINITION
    interface Node { id: ID! }
    type Query { offers(first: Int, after: String): [Offer!]! me: Member search: SearchResult tier: Tier }
    type Member implements Node { id: ID! email: String! accountNumber: String! }
    type Offer { code: String! }
    type Other { code: String! }
    union SearchResult = Offer | Member
    enum Tier { BASE HON }
    input Filter { a: Int }
    type Mutation { go(filter: Filter): Int }
    scalar Gone
    type Kind { a: Int }
    """
    new = """
    directive @tag(name: String!, y: Int!) on FIELD_DEFINITION
    interface Node { id: ID! }
    type Query { offers(first: String!, need: Int!): [Offer!] me: Member search: SearchResult tier: Tier }
    type Member { id: ID! accountNumber: Int! }
    type Offer { code: String! }
    type Other { code: String! }
    union SearchResult = Offer | Other
    enum Tier { BASE SEN }
    input Filter { a: Int b: Int! }
    type Mutation { go(filter: Filter): Int }
    input Kind { a: Int }
    """

    found = {(c.kind, c.coordinate) for c in compare_sdl(old, new).breaking}

    assert found == {
        ("TYPE_REMOVED", "Gone"),
        ("TYPE_CHANGED_KIND", "Kind"),
        ("TYPE_REMOVED_FROM_UNION", "SearchResult"),
        ("VALUE_REMOVED_FROM_ENUM", "Tier.HON"),
        ("REQUIRED_INPUT_FIELD_ADDED", "Filter.b"),
        ("IMPLEMENTED_INTERFACE_REMOVED", "Member"),
        ("FIELD_REMOVED", "Member.email"),
        ("FIELD_CHANGED_KIND", "Member.accountNumber"),
        ("FIELD_CHANGED_KIND", "Query.offers"),
        ("REQUIRED_ARG_ADDED", "Query.offers(need:)"),
        ("ARG_REMOVED", "Query.offers(after:)"),
        ("ARG_CHANGED_KIND", "Query.offers(first:)"),
        ("DIRECTIVE_REMOVED", "@gone"),
        ("DIRECTIVE_ARG_REMOVED", "@tag(x:)"),
        ("REQUIRED_DIRECTIVE_ARG_ADDED", "@tag(y:)"),
        ("DIRECTIVE_REPEATABLE_REMOVED", "@tag"),
        ("DIRECTIVE_LOCATION_REMOVED", "@tag"),
    }
    assert {kind for kind, _ in found} == {kind.name for kind in BreakingChangeType}


def test_dangerous_changes_are_not_breaking():
    old = "type Query { tier(at: Int = 1): Tier }\nenum Tier { BASE }"
    new = "type Query { tier(at: Int = 2): Tier }\nenum Tier { BASE HON }"

    comparison = compare_sdl(old, new)

    assert comparison.breaking == ()
    assert {(c.kind, c.coordinate) for c in comparison.dangerous} == {
        ("VALUE_ADDED_TO_ENUM", "Tier.HON"),
        ("ARG_DEFAULT_VALUE_CHANGE", "Query.tier(at:)"),
    }


def test_sdl_that_does_not_parse_is_refused():
    with pytest.raises(InvalidSdl, match="the old SDL"):
        compare_sdl("type Query {", "type Query { a: Int }")


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("- Removed `Member.email`: use Member.contact.", True),
        ("- Member.email was removed.", True),
        ("Member.email, Query.offers", True),
        ("- Removed Member.emailAddress", False),
        ("- Removed OldMember.email", False),
        ("- Removed Member.email(format:)", False),
        ("- Removed Member", False),
    ],
)
def test_an_announcement_names_the_coordinate_as_a_whole_word(line: str, named: bool):
    assert names_coordinate(line, "Member.email") is named


def test_an_argument_is_named_with_its_parentheses():
    assert names_coordinate("- `Member.offers(first:)` is now required", "Member.offers(first:)")
    assert not names_coordinate("- `Member.offers` changed", "Member.offers(first:)")


def test_added_lines_are_the_new_ones_only():
    assert added_lines("a\nb\nb\n", "b\na\nc\nb\nb\n") == ["c", "b"]


# --- check --against on a throwaway repository ---------------------------------------------------------


def test_an_unannounced_removed_field_fails(repo: Path, live: str):
    commit(repo, {SCHEMA_FILE: with_extra_member_field(live), CHANGELOG_FILE: CHANGELOG_HEADER}, "old")
    (repo / SCHEMA_FILE).write_text(live, encoding="utf-8")

    result = check(repo)

    assert result.exit_code == 1, result.output
    output = collapse(result.output)
    assert "breaking, not announced in CHANGELOG.md: Member.legacyCode" in output
    assert "1 breaking change(s) since HEAD not announced" in output


def test_an_unannounced_changed_type_fails_after_a_commit(repo: Path, live: str):
    commit(repo, {SCHEMA_FILE: with_numeric_account_number(live), CHANGELOG_FILE: CHANGELOG_HEADER}, "old")
    commit(repo, {SCHEMA_FILE: live}, "new")

    result = check(repo, "HEAD~1")

    assert result.exit_code == 1, result.output
    assert "not announced in CHANGELOG.md: Member.accountNumber" in collapse(result.output)


def test_an_announced_breaking_change_passes(repo: Path, live: str):
    commit(repo, {SCHEMA_FILE: with_extra_member_field(live), CHANGELOG_FILE: CHANGELOG_HEADER}, "old")
    announced = CHANGELOG_HEADER + "\n- Removed `Member.legacyCode`; use `Member.accountNumber`.\n"
    commit(repo, {SCHEMA_FILE: live, CHANGELOG_FILE: announced}, "new")

    result = check(repo, "HEAD~1")

    assert result.exit_code == 0, result.output
    output = collapse(result.output)
    assert "breaking, announced in CHANGELOG.md: Member.legacyCode" in output
    assert "no unannounced breaking change since HEAD~1 (1 announced)" in output


def test_an_announcement_from_before_the_revision_does_not_count(repo: Path, live: str):
    """The line must be added since REV: an old entry naming the same coordinate announces nothing new."""
    old_changelog = CHANGELOG_HEADER + "\n- `Member.legacyCode` is deprecated.\n"
    commit(repo, {SCHEMA_FILE: with_extra_member_field(live), CHANGELOG_FILE: old_changelog}, "old")
    commit(repo, {SCHEMA_FILE: live}, "new")

    result = check(repo, "HEAD~1")

    assert result.exit_code == 1, result.output
    assert "not announced in CHANGELOG.md: Member.legacyCode" in collapse(result.output)


def test_a_similar_name_does_not_announce(repo: Path, live: str):
    commit(repo, {SCHEMA_FILE: with_extra_member_field(live), CHANGELOG_FILE: CHANGELOG_HEADER}, "old")
    commit(repo, {SCHEMA_FILE: live, CHANGELOG_FILE: CHANGELOG_HEADER + "- Member.legacyCodes gone\n"}, "new")

    assert check(repo, "HEAD~1").exit_code == 1


def test_dangerous_changes_are_warnings(repo: Path, live: str):
    commit(repo, {SCHEMA_FILE: in_type(live, "Tier", "  SEN\n", ""), CHANGELOG_FILE: CHANGELOG_HEADER}, "old")
    (repo / SCHEMA_FILE).write_text(live, encoding="utf-8")

    result = check(repo)

    assert result.exit_code == 0, result.output
    output = collapse(result.output)
    assert "warning: Tier.SEN: Enum value Tier.SEN was added." in output
    assert "no unannounced breaking change since HEAD" in output


def test_the_module_compares_a_given_live_schema(repo: Path, live: str):
    """``check_against`` takes the live SDL as a parameter: here the live schema is the older one."""
    commit(repo, {SCHEMA_FILE: live, CHANGELOG_FILE: CHANGELOG_HEADER}, "old")
    (repo / CHANGELOG_FILE).write_text(CHANGELOG_HEADER + "- Member.legacyCode\n", encoding="utf-8")

    result = check_against(repo, "HEAD", with_extra_member_field(live))
    removed = check_against(repo, "HEAD", with_numeric_account_number(live))

    assert result.passed and result.base_found and result.comparison.breaking == ()
    assert [c.coordinate for c in result.comparison.dangerous] == []  # a nullable field added is safe
    assert not removed.passed
    assert [c.coordinate for c in removed.unannounced] == ["Member.accountNumber"]


def test_no_schema_at_the_revision_means_nothing_to_compare(repo: Path, live: str):
    commit(repo, {CHANGELOG_FILE: CHANGELOG_HEADER}, "before the artefact")
    (repo / SCHEMA_FILE).write_text(live, encoding="utf-8")

    result = check(repo)

    assert result.exit_code == 0, result.output
    assert "HEAD has no schema.graphql: nothing to compare against" in collapse(result.output)
    assert file_at_revision(repo, "HEAD", SCHEMA_FILE) is None


@pytest.mark.parametrize("revision", ["no-such-branch", "HEAD~5", "--output=x", "0123456789abcdef"])
def test_a_bad_revision_exits_2(repo: Path, live: str, revision: str):
    commit(repo, {SCHEMA_FILE: live, CHANGELOG_FILE: CHANGELOG_HEADER}, "only")

    result = check(repo, revision)

    assert result.exit_code == 2, result.output
    assert f"cannot check against {revision}" in collapse(result.output)
    with pytest.raises(RevisionError):
        file_at_revision(repo, revision, SCHEMA_FILE)


def test_outside_a_git_repository_exits_2(tmp_path: Path, live: str):
    (tmp_path / SCHEMA_FILE).write_text(live, encoding="utf-8")

    result = check(tmp_path)

    assert result.exit_code == 2, result.output


def test_a_schema_at_the_revision_that_does_not_parse_exits_2(repo: Path, live: str):
    commit(repo, {SCHEMA_FILE: "type Member {\n", CHANGELOG_FILE: CHANGELOG_HEADER}, "broken")
    (repo / SCHEMA_FILE).write_text(live, encoding="utf-8")

    result = check(repo)

    assert result.exit_code == 2, result.output
    assert "schema.graphql at HEAD is not a valid GraphQL schema" in collapse(result.output)
