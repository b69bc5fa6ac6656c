"""The exact statements the snowflake adapter sends for each operation (recording connection, no warehouse).

Snowflake: DDL commits on its own, so staging happens outside any transaction, SWAP WITH replaces an
old table, delete+insert is DML in BEGIN/COMMIT, and names carry the target database (wh).
"""

from __future__ import annotations

import pytest

from tests.unit.adapters.recording import OPERATIONS, sent_by

EXPECTED = {
    'replace_table': [
        "CREATE TABLE wh.an.m__pds_tmp_00000000 AS SELECT 1 AS id, 'a' AS v",
        'ALTER TABLE wh.an.m SWAP WITH wh.an.m__pds_tmp_00000000',
        'DROP TABLE IF EXISTS wh.an.m__pds_tmp_00000000',
        'SELECT COUNT(*) FROM wh.an.m',
    ],
    'replace_table_first': [
        "CREATE TABLE wh.an.m__pds_tmp_00000000 AS SELECT 1 AS id, 'a' AS v",
        'ALTER TABLE wh.an.m__pds_tmp_00000000 RENAME TO wh.an.m',
        'DROP TABLE IF EXISTS wh.an.m__pds_tmp_00000000',
        'SELECT COUNT(*) FROM wh.an.m',
    ],
    'replace_view_by_table': [
        "CREATE TABLE wh.an.m__pds_tmp_00000000 AS SELECT 1 AS id, 'a' AS v",
        'DROP VIEW IF EXISTS wh.an.m',
        'ALTER TABLE wh.an.m__pds_tmp_00000000 RENAME TO wh.an.m',
        'DROP TABLE IF EXISTS wh.an.m__pds_tmp_00000000',
        'SELECT COUNT(*) FROM wh.an.m',
    ],
    'create_view': [
        "CREATE OR REPLACE VIEW wh.an.m AS SELECT 1 AS id, 'a' AS v",
    ],
    'create_view_over_table': [
        'DROP TABLE IF EXISTS wh.an.m CASCADE',
        "CREATE OR REPLACE VIEW wh.an.m AS SELECT 1 AS id, 'a' AS v",
    ],
    'append': [
        'SELECT * FROM wh.an.m LIMIT 0',
        'INSERT INTO wh.an.m ("id", "v") SELECT "id", "v" FROM (SELECT 1 AS id, \'a\' AS v) AS __pds_rows',
    ],
    'merge': [
        "CREATE TABLE wh.an.m__pds_incr_00000000 AS SELECT 1 AS id, 'a' AS v",
        'SELECT * FROM wh.an.m__pds_incr_00000000 LIMIT 0',
        'SELECT * FROM wh.an.m LIMIT 0',
        'MERGE INTO wh.an.m AS __pds_target USING wh.an.m__pds_incr_00000000 AS __pds_source ON __pds_target."id" = __pds_source."id" WHEN MATCHED THEN UPDATE SET "v" = __pds_source."v" WHEN NOT MATCHED THEN INSERT ("id", "v") VALUES (__pds_source."id", __pds_source."v")',
        'DROP TABLE IF EXISTS wh.an.m__pds_incr_00000000',
    ],
    'delete+insert': [
        "CREATE TABLE wh.an.m__pds_incr_00000000 AS SELECT 1 AS id, 'a' AS v",
        'SELECT * FROM wh.an.m__pds_incr_00000000 LIMIT 0',
        'SELECT * FROM wh.an.m LIMIT 0',
        'BEGIN',
        'DELETE FROM wh.an.m WHERE "id" IN (SELECT "id" FROM wh.an.m__pds_incr_00000000)',
        'INSERT INTO wh.an.m ("id", "v") SELECT "id", "v" FROM wh.an.m__pds_incr_00000000',
        'COMMIT',
        'DROP TABLE IF EXISTS wh.an.m__pds_incr_00000000',
    ],
    'ensure_schema': [
        'CREATE SCHEMA IF NOT EXISTS wh.an',
    ],
    'swap_in': [
        'ALTER TABLE wh.an.m SWAP WITH wh.an.m__pds_tmp_00000000',
    ],
    'drop_staging': [
        "SELECT table_schema, table_name, table_type AS table_type FROM wh.information_schema.tables WHERE LOWER(table_schema) IN (?) UNION SELECT table_schema, table_name, 'VIEW' AS table_type FROM wh.information_schema.views WHERE LOWER(table_schema) IN (?)",
        'DROP TABLE IF EXISTS wh.an.m__pds_tmp_12345678 CASCADE',
        'DROP VIEW IF EXISTS wh.an.v__pds_incr_abcdef01',
    ],
}


def test_every_operation_is_listed() -> None:
    assert sorted(EXPECTED) == sorted(OPERATIONS)


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_statements(operation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sent_by("snowflake", operation, monkeypatch) == EXPECTED[operation]
