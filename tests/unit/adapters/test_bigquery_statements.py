"""The exact statements the bigquery adapter sends for each operation (recording connection, no warehouse).

BigQuery: a staged table copied over the old one by a copy job; drops, schema creation and the catalog
through the REST API; delete+insert as one transaction script.
"""

from __future__ import annotations

import pytest

from tests.unit.adapters.recording import OPERATIONS, sent_by

EXPECTED = {
    'replace_table': [
        "CREATE TABLE proj.an.m__pds_tmp_00000000 AS SELECT 1 AS id, 'a' AS v",
        'API copy_table proj.an.m__pds_tmp_00000000 -> proj.an.m (WRITE_TRUNCATE)',
        'API delete_table proj.an.m__pds_tmp_00000000',
    ],
    'replace_table_first': [
        "CREATE TABLE proj.an.m__pds_tmp_00000000 AS SELECT 1 AS id, 'a' AS v",
        'API copy_table proj.an.m__pds_tmp_00000000 -> proj.an.m (WRITE_TRUNCATE)',
        'API delete_table proj.an.m__pds_tmp_00000000',
    ],
    'replace_view_by_table': [
        "CREATE TABLE proj.an.m__pds_tmp_00000000 AS SELECT 1 AS id, 'a' AS v",
        'API delete_table proj.an.m',
        'API copy_table proj.an.m__pds_tmp_00000000 -> proj.an.m (WRITE_TRUNCATE)',
        'API delete_table proj.an.m__pds_tmp_00000000',
    ],
    'create_view': [
        "CREATE OR REPLACE VIEW proj.an.m AS SELECT 1 AS id, 'a' AS v",
    ],
    'create_view_over_table': [
        'API delete_table proj.an.m',
        "CREATE OR REPLACE VIEW proj.an.m AS SELECT 1 AS id, 'a' AS v",
    ],
    'append': [
        "INSERT INTO proj.an.m (`id`, `v`) SELECT `id`, `v` FROM (SELECT 1 AS id, 'a' AS v) AS __pds_rows",
    ],
    'merge': [
        "CREATE TABLE proj.an.m__pds_incr_00000000 AS SELECT 1 AS id, 'a' AS v",
        'MERGE INTO proj.an.m AS __pds_target USING proj.an.m__pds_incr_00000000 AS __pds_source ON __pds_target.`id` = __pds_source.`id` WHEN MATCHED THEN UPDATE SET `v` = __pds_source.`v` WHEN NOT MATCHED THEN INSERT (`id`, `v`) VALUES (__pds_source.`id`, __pds_source.`v`)',
        'API delete_table proj.an.m__pds_incr_00000000',
    ],
    'delete+insert': [
        "CREATE TABLE proj.an.m__pds_incr_00000000 AS SELECT 1 AS id, 'a' AS v",
        'BEGIN TRANSACTION;\nDELETE FROM proj.an.m WHERE `id` IN (SELECT `id` FROM proj.an.m__pds_incr_00000000);\nINSERT INTO proj.an.m (`id`, `v`) SELECT `id`, `v` FROM proj.an.m__pds_incr_00000000;\nCOMMIT TRANSACTION',
        'API delete_table proj.an.m__pds_incr_00000000',
    ],
    'ensure_schema': [
        'API create_dataset an',
    ],
    'swap_in': [
        'API copy_table proj.an.m__pds_tmp_00000000 -> proj.an.m (WRITE_TRUNCATE)',
    ],
    'drop_staging': [
        'API delete_table proj.an.m__pds_tmp_12345678',
        'API delete_table proj.an.v__pds_incr_abcdef01',
    ],
}


def test_every_operation_is_listed() -> None:
    assert sorted(EXPECTED) == sorted(OPERATIONS)


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_statements(operation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sent_by("bigquery", operation, monkeypatch) == EXPECTED[operation]
