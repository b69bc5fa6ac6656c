"""The exact statements the postgres adapter sends for each operation (recording connection, no warehouse).

Postgres: one transaction per operation; a staged table renamed into place; views bound to a dropped
relation are looked up first, under pds's swap lock (and re-created after, when there are any); views dropped
and re-created.
"""

from __future__ import annotations

import pytest

from tests.unit.adapters.recording import OPERATIONS, sent_by

EXPECTED = {
    'replace_table': [
        'BEGIN',
        "CREATE TABLE an.m__pds_tmp_00000000 AS SELECT 1 AS id, 'a' AS v",
        'SELECT pg_advisory_xact_lock(7357001)',
        '-- dependent views of an.m',
        'DROP TABLE IF EXISTS an.m CASCADE',
        'ALTER TABLE an.m__pds_tmp_00000000 RENAME TO m',
        'COMMIT',
        'SELECT COUNT(*) FROM an.m',
    ],
    'replace_table_first': [
        'BEGIN',
        "CREATE TABLE an.m__pds_tmp_00000000 AS SELECT 1 AS id, 'a' AS v",
        'ALTER TABLE an.m__pds_tmp_00000000 RENAME TO m',
        'COMMIT',
        'SELECT COUNT(*) FROM an.m',
    ],
    'replace_view_by_table': [
        'BEGIN',
        "CREATE TABLE an.m__pds_tmp_00000000 AS SELECT 1 AS id, 'a' AS v",
        'SELECT pg_advisory_xact_lock(7357001)',
        '-- dependent views of an.m',
        'DROP VIEW IF EXISTS an.m CASCADE',
        'ALTER TABLE an.m__pds_tmp_00000000 RENAME TO m',
        'COMMIT',
        'SELECT COUNT(*) FROM an.m',
    ],
    'create_view': [
        'BEGIN',
        'SELECT pg_advisory_xact_lock(7357001)',
        '-- dependent views of an.m',
        'DROP VIEW IF EXISTS an.m CASCADE',
        "CREATE VIEW an.m AS SELECT 1 AS id, 'a' AS v",
        'COMMIT',
    ],
    'create_view_over_table': [
        'BEGIN',
        'SELECT pg_advisory_xact_lock(7357001)',
        '-- dependent views of an.m',
        'DROP TABLE IF EXISTS an.m CASCADE',
        "CREATE VIEW an.m AS SELECT 1 AS id, 'a' AS v",
        'COMMIT',
    ],
    'append': [
        'BEGIN',
        'SELECT * FROM an.m LIMIT 0',
        'INSERT INTO an.m ("id", "v") SELECT "id", "v" FROM (SELECT 1 AS id, \'a\' AS v) AS __pds_rows',
        'COMMIT',
    ],
    'merge': [
        'BEGIN',
        "CREATE TABLE an.m__pds_incr_00000000 AS SELECT 1 AS id, 'a' AS v",
        'SELECT * FROM an.m__pds_incr_00000000 LIMIT 0',
        'SELECT * FROM an.m LIMIT 0',
        'MERGE INTO an.m AS __pds_target USING an.m__pds_incr_00000000 AS __pds_source ON __pds_target."id" = __pds_source."id" WHEN MATCHED THEN UPDATE SET "v" = __pds_source."v" WHEN NOT MATCHED THEN INSERT ("id", "v") VALUES (__pds_source."id", __pds_source."v")',
        'DROP TABLE IF EXISTS an.m__pds_incr_00000000',
        'COMMIT',
    ],
    'delete+insert': [
        'BEGIN',
        "CREATE TABLE an.m__pds_incr_00000000 AS SELECT 1 AS id, 'a' AS v",
        'SELECT * FROM an.m__pds_incr_00000000 LIMIT 0',
        'SELECT * FROM an.m LIMIT 0',
        'DELETE FROM an.m WHERE "id" IN (SELECT "id" FROM an.m__pds_incr_00000000)',
        'INSERT INTO an.m ("id", "v") SELECT "id", "v" FROM an.m__pds_incr_00000000',
        'DROP TABLE IF EXISTS an.m__pds_incr_00000000',
        'COMMIT',
    ],
    'ensure_schema': [
        'CREATE SCHEMA IF NOT EXISTS an',
    ],
    'swap_in': [
        'SELECT pg_advisory_xact_lock(7357001)',
        '-- dependent views of an.m',
        'DROP TABLE IF EXISTS an.m CASCADE',
        'ALTER TABLE an.m__pds_tmp_00000000 RENAME TO m',
    ],
    'drop_staging': [
        'SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE LOWER(table_schema) IN (%s) AND table_catalog = CURRENT_DATABASE()',
        'DROP TABLE IF EXISTS an.m__pds_tmp_12345678 CASCADE',
        'DROP VIEW IF EXISTS an.v__pds_incr_abcdef01 CASCADE',
    ],
}


def test_every_operation_is_listed() -> None:
    assert sorted(EXPECTED) == sorted(OPERATIONS)


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_statements(operation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sent_by("postgres", operation, monkeypatch) == EXPECTED[operation]
