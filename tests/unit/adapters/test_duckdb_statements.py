"""The exact statements the duckdb adapter sends for each operation (recording connection, no warehouse).

DuckDB: transactional DDL and an atomic CREATE OR REPLACE TABLE; names carry the file's catalog (wh).
"""

from __future__ import annotations

import pytest

from tests.unit.adapters.recording import OPERATIONS, sent_by

EXPECTED = {
    'replace_table': [
        'BEGIN',
        "CREATE OR REPLACE TABLE wh.an.m AS SELECT 1 AS id, 'a' AS v",
        'COMMIT',
        'SELECT COUNT(*) FROM wh.an.m',
    ],
    'replace_table_first': [
        'BEGIN',
        "CREATE OR REPLACE TABLE wh.an.m AS SELECT 1 AS id, 'a' AS v",
        'COMMIT',
        'SELECT COUNT(*) FROM wh.an.m',
    ],
    'replace_view_by_table': [
        'BEGIN',
        'DROP VIEW IF EXISTS wh.an.m CASCADE',
        "CREATE OR REPLACE TABLE wh.an.m AS SELECT 1 AS id, 'a' AS v",
        'COMMIT',
        'SELECT COUNT(*) FROM wh.an.m',
    ],
    'create_view': [
        'BEGIN',
        "CREATE OR REPLACE VIEW wh.an.m AS SELECT 1 AS id, 'a' AS v",
        'COMMIT',
    ],
    'create_view_over_table': [
        'BEGIN',
        'DROP TABLE IF EXISTS wh.an.m CASCADE',
        "CREATE OR REPLACE VIEW wh.an.m AS SELECT 1 AS id, 'a' AS v",
        'COMMIT',
    ],
    'append': [
        'BEGIN',
        'SELECT * FROM wh.an.m LIMIT 0',
        'INSERT INTO wh.an.m ("id", "v") SELECT "id", "v" FROM (SELECT 1 AS id, \'a\' AS v) AS __pds_rows',
        'COMMIT',
    ],
    'merge': [
        'BEGIN',
        "CREATE TABLE wh.an.m__pds_incr_00000000 AS SELECT 1 AS id, 'a' AS v",
        'SELECT * FROM wh.an.m__pds_incr_00000000 LIMIT 0',
        'SELECT * FROM wh.an.m LIMIT 0',
        'MERGE INTO wh.an.m AS __pds_target USING wh.an.m__pds_incr_00000000 AS __pds_source ON __pds_target."id" = __pds_source."id" WHEN MATCHED THEN UPDATE SET "v" = __pds_source."v" WHEN NOT MATCHED THEN INSERT ("id", "v") VALUES (__pds_source."id", __pds_source."v")',
        'DROP TABLE IF EXISTS wh.an.m__pds_incr_00000000',
        'COMMIT',
    ],
    'delete+insert': [
        'BEGIN',
        "CREATE TABLE wh.an.m__pds_incr_00000000 AS SELECT 1 AS id, 'a' AS v",
        'SELECT * FROM wh.an.m__pds_incr_00000000 LIMIT 0',
        'SELECT * FROM wh.an.m LIMIT 0',
        'DELETE FROM wh.an.m WHERE "id" IN (SELECT "id" FROM wh.an.m__pds_incr_00000000)',
        'INSERT INTO wh.an.m ("id", "v") SELECT "id", "v" FROM wh.an.m__pds_incr_00000000',
        'DROP TABLE IF EXISTS wh.an.m__pds_incr_00000000',
        'COMMIT',
    ],
    'ensure_schema': [
        'CREATE SCHEMA IF NOT EXISTS wh.an',
    ],
    'swap_in': [
        'DROP TABLE IF EXISTS wh.an.m CASCADE',
        'ALTER TABLE wh.an.m__pds_tmp_00000000 RENAME TO m',
    ],
    'drop_staging': [
        'SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE LOWER(table_schema) IN (?) AND table_catalog = CURRENT_DATABASE()',
        'DROP TABLE IF EXISTS wh.an.m__pds_tmp_12345678 CASCADE',
        'DROP VIEW IF EXISTS wh.an.v__pds_incr_abcdef01 CASCADE',
    ],
}


def test_every_operation_is_listed() -> None:
    assert sorted(EXPECTED) == sorted(OPERATIONS)


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_statements(operation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sent_by("duckdb", operation, monkeypatch) == EXPECTED[operation]
