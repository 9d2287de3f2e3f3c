"""Which statements a replica may answer inside a read-only GraphQL operation (``loyalty.read_replica``)."""

from __future__ import annotations

import pytest

from loyalty.read_replica import is_plain_read


@pytest.mark.parametrize(
    ("sql", "replica"),
    [
        ('SELECT "id","given_name" FROM "members" WHERE "id"=$1', True),
        ("  select count(*) from postings", True),
        ("WITH recent AS (SELECT * FROM entries) SELECT * FROM recent", True),
        ('SELECT "id" FROM "members" WHERE "id"=$1 FOR UPDATE', False),
        ('SELECT "id" FROM "members" WHERE "id"=$1 FOR NO KEY UPDATE', False),
        ("SELECT * FROM balances FOR SHARE", False),
        ("WITH moved AS (UPDATE balances SET amount = 0 RETURNING *) SELECT * FROM moved", False),
        ('INSERT INTO "postings" ("id") VALUES ($1)', False),
        ('UPDATE "members" SET "given_name"=$1', False),
        ("DELETE FROM sessions", False),
        ("SELECT pg_current_wal_lsn()", True),
    ],
)
def test_only_plain_reads_go_to_the_replica(sql: str, replica: bool) -> None:
    assert is_plain_read(sql) is replica
