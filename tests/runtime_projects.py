"""The dbt runtime features as projects: snapshots, hooks and on_schema_change, with what dbt-core 1.11 built.

Each scenario is a project (files), the steps that change it between runs, and the tables dbt-core 1.11
(dbt-duckdb 1.11.1, dbt-postgres 1.11.0) left after running the same project through the same steps: the
rows were read from dbt's tables and written here (CI has no dbt), normalised by `normalize()` so that
values dbt takes from the clock (the check strategy's times, deletion times and the hashes of them) are
compared by the run they come from, and every other value exactly. tests/test_runtime.py builds each
scenario with pds on every engine of tests/engine_*.py and compares.
"""

from __future__ import annotations

import re
from typing import Any

# ---- snapshots ---------------------------------------------------------------------------------------------
CUSTOMERS = [  # the snapshots' source, one CSV per run: updates, inserts, deletes, unchanged rows, a row
    # changing back (alice), a row deleted and back (bob), a column added (tier)
    """id,name,status,updated_at
1,alice,active,2024-01-01 10:00:00
2,bob,active,2024-01-01 10:00:00
3,carol,active,2024-01-01 10:00:00
4,dave,active,2024-01-01 10:00:00
5,erin,active,2024-01-01 10:00:00
""",
    """id,name,status,updated_at
1,alice,inactive,2024-01-02 09:00:00
3,carol,active,2024-01-01 10:00:00
4,dave,vip,2024-01-01 10:00:00
5,erin,active,2024-01-01 10:00:00
6,frank,active,2024-01-02 09:00:00
""",
    """id,name,status,updated_at
1,alice,active,2024-01-03 08:00:00
2,bob,active,2024-01-03 08:00:00
3,carol,active,2024-01-01 10:00:00
4,dave,vip,2024-01-01 10:00:00
6,frank,active,2024-01-02 09:00:00
7,gina,new,2024-01-03 08:00:00
""",
    """id,name,status,updated_at,tier
1,alice,active,2024-01-03 08:00:00,gold
2,bob,active,2024-01-03 08:00:00,silver
3,carol,active,2024-01-01 10:00:00,gold
4,dave,vip,2024-01-01 10:00:00,bronze
6,frank,active,2024-01-02 09:00:00,silver
7,gina,new,2024-01-03 08:00:00,gold
""",
]
SNAPSHOT_BLOCKS = """\
{% snapshot snap_ts %}
{{ config(strategy='timestamp', unique_key='id', updated_at='updated_at', target_schema=target.schema ~ '_hist') }}
select * from {{ ref('customers') }}
{% endsnapshot %}

{% snapshot snap_ts_inv %}
{{ config(strategy='timestamp', unique_key='id', updated_at='updated_at', invalidate_hard_deletes=True,
          schema='snaps') }}
select * from {{ ref('customers') }}
{% endsnapshot %}

{% snapshot snap_ts_new %}
{{ config(strategy='timestamp', unique_key='id', updated_at='updated_at', hard_deletes='new_record') }}
select * from {{ ref('customers') }}
{% endsnapshot %}

{% snapshot snap_check_all %}
{{ config(strategy='check', unique_key='id', check_cols='all', hard_deletes='invalidate') }}
select * from {{ ref('customers') }}
{% endsnapshot %}

{% snapshot snap_check_list %}
{{ config(strategy='check', unique_key=['id', 'name'], check_cols=['status'],
          snapshot_meta_column_names={'dbt_valid_from': 'valid_from', 'dbt_valid_to': 'valid_to',
                                      'dbt_scd_id': 'scd_id', 'dbt_updated_at': 'changed_at'},
          dbt_valid_to_current="cast('9999-12-31' as timestamp)") }}
select id, name, status from {{ ref('customers') }}
{% endsnapshot %}
"""
SNAPSHOT_YAML = """\
snapshots:
  - name: snap_yaml
    relation: ref('customers')
    config:
      schema: yamlsnaps
      strategy: timestamp
      unique_key: id
      updated_at: updated_at
      hard_deletes: new_record
"""


def snapshot_files(name: str = "snaps") -> dict[str, str]:
    return {
        "pds_project.yml": f"name: {name}\nseeds:\n  +column_types:\n    updated_at: timestamp\n",
        "seeds/customers.csv": CUSTOMERS[0],
        "snapshots/snaps.sql": SNAPSHOT_BLOCKS,
        "snapshots/yaml_snaps.yml": SNAPSHOT_YAML,
        # ref() to a snapshot: built after it in `pds build`
        "models/current_customers.sql": "{{ config(materialized='table') }}\n"
                                        "select id, name, status from {{ ref('snap_ts') }} where dbt_valid_to is null\n",
    }


# table -> (schema suffix after the target schema, the meta columns that hold times, the scd_id column, key columns)
SNAPSHOT_TABLES = {
    "snap_ts": ("_hist", ("dbt_updated_at", "dbt_valid_from", "dbt_valid_to"), "dbt_scd_id"),
    "snap_ts_inv": ("_snaps", ("dbt_updated_at", "dbt_valid_from", "dbt_valid_to"), "dbt_scd_id"),
    "snap_ts_new": ("", ("dbt_updated_at", "dbt_valid_from", "dbt_valid_to"), "dbt_scd_id"),
    "snap_check_all": ("", ("dbt_updated_at", "dbt_valid_from", "dbt_valid_to"), "dbt_scd_id"),
    "snap_check_list": ("", ("changed_at", "valid_from", "valid_to"), "scd_id"),
    "snap_yaml": ("_yamlsnaps", ("dbt_updated_at", "dbt_valid_from", "dbt_valid_to"), "dbt_scd_id"),
}
DATA_TIMES = {"2024-01-01 10:00:00.000000", "2024-01-02 09:00:00.000000", "2024-01-03 08:00:00.000000",
              "9999-12-31 00:00:00.000000"}
MD5 = re.compile(r"^[0-9a-f]{32}$")


def normalize(columns: list[str], rows: list[tuple[Any, ...]], times: tuple[str, ...], scd: str,
              exact_hashes: bool = True) -> list[tuple[Any, ...]]:
    """Rows with each time taken from the clock replaced by its rank among this table's clock times (T1 <
    T2 < ...: one per run that wrote one), and each dbt_scd_id hashed from a clock time by '<md5>'.
    Values are canonical (tests/test_engines.canonical): timestamps as text, numbers as floats."""
    index = {c: i for i, c in enumerate(columns)}
    clock = sorted({row[index[c]] for row in rows for c in times
                    if row[index[c]] is not None and row[index[c]] not in DATA_TIMES})
    label = {value: f"T{i}" for i, value in enumerate(clock, 1)}
    out = []
    for row in rows:
        values = list(row)
        from_clock = any(values[index[c]] in label for c in times[:2])  # its version began at a clock time
        for c in times:
            values[index[c]] = label.get(values[index[c]], values[index[c]])
        assert values[index[scd]] == "<md5>" or MD5.match(str(values[index[scd]])), values[index[scd]]
        if from_clock or not exact_hashes:
            values[index[scd]] = "<md5>"
        out.append(tuple(values))
    return sorted(out, key=lambda r: tuple((0, "") if v is None else (1, str(v)) for v in r))


# dbt-core 1.11 (dbt-duckdb 1.11.1) after the four runs of CUSTOMERS, through normalize(); dbt-postgres 1.11.0
# gives the same rows (checked when this was written)
EXPECTED_SNAPSHOTS = {
    'snap_ts': (['id', 'name', 'status', 'updated_at', 'dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'tier'], [
        (1.0, 'alice', 'active', '2024-01-01 10:00:00.000000', '4f5746d2de2c81b300d78040e8c6008e', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', '2024-01-02 09:00:00.000000', None),
        (1.0, 'alice', 'active', '2024-01-03 08:00:00.000000', '48452116344891bd2f31499ad4ed3e62', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, None),
        (1.0, 'alice', 'inactive', '2024-01-02 09:00:00.000000', '85a90bceeec582f937c7efe73cced556', '2024-01-02 09:00:00.000000', '2024-01-02 09:00:00.000000', '2024-01-03 08:00:00.000000', None),
        (2.0, 'bob', 'active', '2024-01-01 10:00:00.000000', '196df3baf027da9165d6c7f37b56a7fe', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', '2024-01-03 08:00:00.000000', None),
        (2.0, 'bob', 'active', '2024-01-03 08:00:00.000000', '9ca7639472c53dcc471a0515807613f2', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, None),
        (3.0, 'carol', 'active', '2024-01-01 10:00:00.000000', 'c637e7532da837b1b56aebcb2bf6beab', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', None, None),
        (4.0, 'dave', 'active', '2024-01-01 10:00:00.000000', '0bfd1bc45acd7ac79c5b7b90fa58f184', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', None, None),
        (5.0, 'erin', 'active', '2024-01-01 10:00:00.000000', '0bdc3e8a1d0317af8e88b1d42ae0fe3d', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', None, None),
        (6.0, 'frank', 'active', '2024-01-02 09:00:00.000000', '1f7ed0dde7d65a2b3c4d67f8241736ed', '2024-01-02 09:00:00.000000', '2024-01-02 09:00:00.000000', None, None),
        (7.0, 'gina', 'new', '2024-01-03 08:00:00.000000', '55367869a3453aed4aa8792d00c889dd', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, None),
    ]),
    'snap_ts_inv': (['id', 'name', 'status', 'updated_at', 'dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'tier'], [
        (1.0, 'alice', 'active', '2024-01-01 10:00:00.000000', '4f5746d2de2c81b300d78040e8c6008e', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', '2024-01-02 09:00:00.000000', None),
        (1.0, 'alice', 'active', '2024-01-03 08:00:00.000000', '48452116344891bd2f31499ad4ed3e62', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, None),
        (1.0, 'alice', 'inactive', '2024-01-02 09:00:00.000000', '85a90bceeec582f937c7efe73cced556', '2024-01-02 09:00:00.000000', '2024-01-02 09:00:00.000000', '2024-01-03 08:00:00.000000', None),
        (2.0, 'bob', 'active', '2024-01-01 10:00:00.000000', '196df3baf027da9165d6c7f37b56a7fe', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', 'T1', None),
        (2.0, 'bob', 'active', '2024-01-03 08:00:00.000000', '9ca7639472c53dcc471a0515807613f2', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, None),
        (3.0, 'carol', 'active', '2024-01-01 10:00:00.000000', 'c637e7532da837b1b56aebcb2bf6beab', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', None, None),
        (4.0, 'dave', 'active', '2024-01-01 10:00:00.000000', '0bfd1bc45acd7ac79c5b7b90fa58f184', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', None, None),
        (5.0, 'erin', 'active', '2024-01-01 10:00:00.000000', '0bdc3e8a1d0317af8e88b1d42ae0fe3d', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', 'T2', None),
        (6.0, 'frank', 'active', '2024-01-02 09:00:00.000000', '1f7ed0dde7d65a2b3c4d67f8241736ed', '2024-01-02 09:00:00.000000', '2024-01-02 09:00:00.000000', None, None),
        (7.0, 'gina', 'new', '2024-01-03 08:00:00.000000', '55367869a3453aed4aa8792d00c889dd', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, None),
    ]),
    'snap_ts_new': (['id', 'name', 'status', 'updated_at', 'dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'dbt_is_deleted', 'tier'], [
        (1.0, 'alice', 'active', '2024-01-01 10:00:00.000000', '4f5746d2de2c81b300d78040e8c6008e', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', '2024-01-02 09:00:00.000000', 'False', None),
        (1.0, 'alice', 'active', '2024-01-03 08:00:00.000000', '48452116344891bd2f31499ad4ed3e62', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, 'False', None),
        (1.0, 'alice', 'inactive', '2024-01-02 09:00:00.000000', '85a90bceeec582f937c7efe73cced556', '2024-01-02 09:00:00.000000', '2024-01-02 09:00:00.000000', '2024-01-03 08:00:00.000000', 'False', None),
        (2.0, 'bob', 'active', '2024-01-01 10:00:00.000000', '196df3baf027da9165d6c7f37b56a7fe', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', 'T1', 'False', None),
        (2.0, 'bob', 'active', '2024-01-01 10:00:00.000000', '<md5>', 'T1', 'T1', '2024-01-03 08:00:00.000000', 'True', None),
        (2.0, 'bob', 'active', '2024-01-03 08:00:00.000000', '9ca7639472c53dcc471a0515807613f2', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, 'False', None),
        (3.0, 'carol', 'active', '2024-01-01 10:00:00.000000', 'c637e7532da837b1b56aebcb2bf6beab', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', None, 'False', None),
        (4.0, 'dave', 'active', '2024-01-01 10:00:00.000000', '0bfd1bc45acd7ac79c5b7b90fa58f184', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', None, 'False', None),
        (5.0, 'erin', 'active', '2024-01-01 10:00:00.000000', '0bdc3e8a1d0317af8e88b1d42ae0fe3d', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', 'T2', 'False', None),
        (5.0, 'erin', 'active', '2024-01-01 10:00:00.000000', '<md5>', 'T2', 'T2', None, 'True', None),
        (6.0, 'frank', 'active', '2024-01-02 09:00:00.000000', '1f7ed0dde7d65a2b3c4d67f8241736ed', '2024-01-02 09:00:00.000000', '2024-01-02 09:00:00.000000', None, 'False', None),
        (7.0, 'gina', 'new', '2024-01-03 08:00:00.000000', '55367869a3453aed4aa8792d00c889dd', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, 'False', None),
    ]),
    'snap_check_all': (['id', 'name', 'status', 'updated_at', 'dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'tier'], [
        (1.0, 'alice', 'active', '2024-01-01 10:00:00.000000', '<md5>', 'T1', 'T1', 'T2', None),
        (1.0, 'alice', 'active', '2024-01-03 08:00:00.000000', '<md5>', 'T3', 'T3', 'T4', None),
        (1.0, 'alice', 'active', '2024-01-03 08:00:00.000000', '<md5>', 'T4', 'T4', None, 'gold'),
        (1.0, 'alice', 'inactive', '2024-01-02 09:00:00.000000', '<md5>', 'T2', 'T2', 'T3', None),
        (2.0, 'bob', 'active', '2024-01-01 10:00:00.000000', '<md5>', 'T1', 'T1', 'T2', None),
        (2.0, 'bob', 'active', '2024-01-03 08:00:00.000000', '<md5>', 'T3', 'T3', 'T4', None),
        (2.0, 'bob', 'active', '2024-01-03 08:00:00.000000', '<md5>', 'T4', 'T4', None, 'silver'),
        (3.0, 'carol', 'active', '2024-01-01 10:00:00.000000', '<md5>', 'T1', 'T1', 'T4', None),
        (3.0, 'carol', 'active', '2024-01-01 10:00:00.000000', '<md5>', 'T4', 'T4', None, 'gold'),
        (4.0, 'dave', 'active', '2024-01-01 10:00:00.000000', '<md5>', 'T1', 'T1', 'T2', None),
        (4.0, 'dave', 'vip', '2024-01-01 10:00:00.000000', '<md5>', 'T2', 'T2', 'T4', None),
        (4.0, 'dave', 'vip', '2024-01-01 10:00:00.000000', '<md5>', 'T4', 'T4', None, 'bronze'),
        (5.0, 'erin', 'active', '2024-01-01 10:00:00.000000', '<md5>', 'T1', 'T1', 'T3', None),
        (6.0, 'frank', 'active', '2024-01-02 09:00:00.000000', '<md5>', 'T2', 'T2', 'T4', None),
        (6.0, 'frank', 'active', '2024-01-02 09:00:00.000000', '<md5>', 'T4', 'T4', None, 'silver'),
        (7.0, 'gina', 'new', '2024-01-03 08:00:00.000000', '<md5>', 'T3', 'T3', 'T4', None),
        (7.0, 'gina', 'new', '2024-01-03 08:00:00.000000', '<md5>', 'T4', 'T4', None, 'gold'),
    ]),
    'snap_check_list': (['id', 'name', 'status', 'scd_id', 'changed_at', 'valid_from', 'valid_to'], [
        (1.0, 'alice', 'active', '<md5>', 'T1', 'T1', 'T2'),
        (1.0, 'alice', 'active', '<md5>', 'T3', 'T3', '9999-12-31 00:00:00.000000'),
        (1.0, 'alice', 'inactive', '<md5>', 'T2', 'T2', 'T3'),
        (2.0, 'bob', 'active', '<md5>', 'T1', 'T1', '9999-12-31 00:00:00.000000'),
        (3.0, 'carol', 'active', '<md5>', 'T1', 'T1', '9999-12-31 00:00:00.000000'),
        (4.0, 'dave', 'active', '<md5>', 'T1', 'T1', 'T2'),
        (4.0, 'dave', 'vip', '<md5>', 'T2', 'T2', '9999-12-31 00:00:00.000000'),
        (5.0, 'erin', 'active', '<md5>', 'T1', 'T1', '9999-12-31 00:00:00.000000'),
        (6.0, 'frank', 'active', '<md5>', 'T2', 'T2', '9999-12-31 00:00:00.000000'),
        (7.0, 'gina', 'new', '<md5>', 'T3', 'T3', '9999-12-31 00:00:00.000000'),
    ]),
    'snap_yaml': (['id', 'name', 'status', 'updated_at', 'dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'dbt_is_deleted', 'tier'], [
        (1.0, 'alice', 'active', '2024-01-01 10:00:00.000000', '4f5746d2de2c81b300d78040e8c6008e', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', '2024-01-02 09:00:00.000000', 'False', None),
        (1.0, 'alice', 'active', '2024-01-03 08:00:00.000000', '48452116344891bd2f31499ad4ed3e62', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, 'False', None),
        (1.0, 'alice', 'inactive', '2024-01-02 09:00:00.000000', '85a90bceeec582f937c7efe73cced556', '2024-01-02 09:00:00.000000', '2024-01-02 09:00:00.000000', '2024-01-03 08:00:00.000000', 'False', None),
        (2.0, 'bob', 'active', '2024-01-01 10:00:00.000000', '196df3baf027da9165d6c7f37b56a7fe', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', 'T1', 'False', None),
        (2.0, 'bob', 'active', '2024-01-01 10:00:00.000000', '<md5>', 'T1', 'T1', '2024-01-03 08:00:00.000000', 'True', None),
        (2.0, 'bob', 'active', '2024-01-03 08:00:00.000000', '9ca7639472c53dcc471a0515807613f2', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, 'False', None),
        (3.0, 'carol', 'active', '2024-01-01 10:00:00.000000', 'c637e7532da837b1b56aebcb2bf6beab', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', None, 'False', None),
        (4.0, 'dave', 'active', '2024-01-01 10:00:00.000000', '0bfd1bc45acd7ac79c5b7b90fa58f184', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', None, 'False', None),
        (5.0, 'erin', 'active', '2024-01-01 10:00:00.000000', '0bdc3e8a1d0317af8e88b1d42ae0fe3d', '2024-01-01 10:00:00.000000', '2024-01-01 10:00:00.000000', 'T2', 'False', None),
        (5.0, 'erin', 'active', '2024-01-01 10:00:00.000000', '<md5>', 'T2', 'T2', None, 'True', None),
        (6.0, 'frank', 'active', '2024-01-02 09:00:00.000000', '1f7ed0dde7d65a2b3c4d67f8241736ed', '2024-01-02 09:00:00.000000', '2024-01-02 09:00:00.000000', None, 'False', None),
        (7.0, 'gina', 'new', '2024-01-03 08:00:00.000000', '55367869a3453aed4aa8792d00c889dd', '2024-01-03 08:00:00.000000', '2024-01-03 08:00:00.000000', None, 'False', None),
    ]),
}


# ---- hooks -------------------------------------------------------------------------------------------------
LOG = "{{ target.schema }}.hook_log"
TEXT = "{{ 'string' if target.type == 'bigquery' else 'varchar' }}"


def log_hook(step: str, node: str = "{{ this.name }}", seq: str = f"(select count(*) from {LOG})") -> str:
    """A hook that appends (step, node, its place in the log) to hook_log: the log's rows say the order."""
    return f"insert into {LOG} (step, node, seq) select '{step}', '{node}', {seq}"


NODES = "{{ results | map(attribute='node') | map(attribute='name') | sort | join(',') }}"
STATUSES = "{{ results | map(attribute='status') | map('string') | unique | sort | join(',') }}"
SCHEMAS = "{{ schemas | join(',') }}"
THIS_ROWS = "(select count(*) from {{ this }})"
HOOKS_PROJECT = f"""\
name: hooks
on-run-start:
  - "create table if not exists {LOG} (step {TEXT}, node {TEXT}, seq integer)"
  - "{log_hook('start', 'run')}"
on-run-end:
  - "{log_hook('end', NODES)}"
  - "{log_hook('end-status', STATUSES)}"
  - "{log_hook('end-schemas', SCHEMAS)}"
models:
  +pre-hook: "{log_hook('project-pre')}"
  hooks:
    marts:
      +post-hook:
        - "{log_hook('folder-post')}"
"""
HOOKED_MODEL = f"""\
{{{{ config(materialized='table',
          pre_hook=["{log_hook('model-pre')}", before_begin("{log_hook('before-begin')}")],
          post_hook=["{log_hook('model-post')}",
                     "{log_hook('rows', seq=THIS_ROWS)}",
                     after_commit("{log_hook('after-commit')}")]) }}}}
select 1 as id union all select 2 as id
"""


def hooks_files(config_file: str = "pds_project.yml") -> dict[str, str]:
    return {
        config_file: HOOKS_PROJECT + ("profile: hooks\nversion: '1.0'\n" if config_file == "dbt_project.yml" else ""),
        "models/marts/hooked.sql": HOOKED_MODEL,
        "models/after.sql": "{{ config(materialized='view', post_hook=\"" + log_hook("view-post") + "\") }}\n"
                            "select id from {{ ref('hooked') }}\n",
    }


# ---- on_schema_change --------------------------------------------------------------------------------------
EVENTS = [
    "id,a,b\n1,10,x\n2,20,y\n",
    "id,a,b,c\n1,10,x,p\n2,20,y,q\n3,30,z,r\n",
]
NEW_ROWS = "{% if is_incremental() %} where id > (select max(id) from {{ this }}){% endif %}"
STRING = "{{ 'string' if target.type == 'bigquery' else 'varchar' }}"
SCHEMA_CHANGE_MODES = ("ignore", "fail", "append_new_columns", "sync_all_columns")


def schema_change_model(mode: str, step: int) -> str:
    """Step 1 selects id, a, b; step 2 adds c, and sync_all_columns' query also drops b and turns a into text."""
    config = "materialized='incremental'" + (f", on_schema_change='{mode}'" if mode != "ignore" else "")
    if step == 1:
        columns = "id, a, b"
    elif mode == "sync_all_columns":
        columns = f"id, cast(a as {STRING}) as a, c"
    else:
        columns = "id, a, b, c"
    return f"{{{{ config({config}) }}}}\nselect {columns} from {{{{ ref('events') }}}}{NEW_ROWS}\n"


def schema_change_files(step: int, config_file: str = "pds_project.yml") -> dict[str, str]:
    files = {config_file: "name: osc\nprofile: osc\nversion: '1.0'\n" if config_file == "dbt_project.yml" else "name: osc\n",
             "seeds/events.csv": EVENTS[step - 1]}
    for mode in SCHEMA_CHANGE_MODES:
        files[f"models/inc_{mode}.sql"] = schema_change_model(mode, step)
    return files
# dbt-core 1.11 (dbt-duckdb 1.11.1) after the two steps: column names in the table's order, rows by id
EXPECTED_SCHEMA_CHANGES = {
    "inc_ignore": (["id", "a", "b"], [(1.0, 10.0, "x"), (2.0, 20.0, "y"), (3.0, 30.0, "z")]),
    "inc_fail": (["id", "a", "b"], [(1.0, 10.0, "x"), (2.0, 20.0, "y")]),
    "inc_append_new_columns": (["id", "a", "b", "c"], [(1.0, 10.0, "x", None), (2.0, 20.0, "y", None),
                                                       (3.0, 30.0, "z", "r")]),
    "inc_sync_all_columns": (["id", "c", "a"], [(1.0, None, "10"), (2.0, None, "20"), (3.0, "r", "30")]),
}
# dbt-core 1.11's hook_log after one `dbt build` of hooks_files() (ordered by seq): project hooks before the
# model's own, before_begin ones first and after_commit ones last, on-run-end seeing results and schemas
EXPECTED_HOOK_LOG = [
    ("start", "run", 0.0), ("before-begin", "hooked", 1.0), ("project-pre", "hooked", 2.0), ("rows", "hooked", 2.0),
    ("model-pre", "hooked", 3.0), ("folder-post", "hooked", 4.0), ("model-post", "hooked", 5.0),
    ("after-commit", "hooked", 7.0), ("project-pre", "after", 8.0), ("view-post", "after", 9.0),
    ("end", "after,hooked", 10.0), ("end-status", "success", 11.0), ("end-schemas", "<schema>", 12.0),
]
