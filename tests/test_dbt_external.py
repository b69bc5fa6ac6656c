"""dbt-duckdb's external materialization and external sources on the embedded default, end to end: the files
written (read back with DuckDB), the views over them, atomic rewrites, and sources read through
external_location. The same project built by hand with dbt-duckdb 1.11 (/work/dbt-venv; its external_root
folders created first, which dbt-duckdb does not do) wrote the same files with the same bytes of CSV and
JSON, the same partition folders, and views with the same reader calls, on relative paths where pds's name
absolute ones; the values are written out here, so the test runs without dbt."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.projects import pds, query, write_project

PROFILES = """\
proj:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: proj.duckdb
      schema: main
      external_root: out
"""
SOURCES = """\
sources:
  - name: lake
    meta:
      external_location: "read_parquet('data/{name}.parquet')"
    tables:
      - name: raw_items
        columns:
          - name: id
            tests: [not_null, unique]
  - name: files
    tables:
      - name: raw_csv
        config:
          external_location: "data/{name}.csv"
      - name: renamed
        identifier: raw_csv
        meta:
          external_location: "read_csv('data/${identifier}.csv', header=true)"
          formatter: template
"""
MODELS = {
    "models/ext_items.sql": "{{ config(materialized='external') }}\nselect * from {{ source('lake', 'raw_items') }}\n",
    "models/ext_csv.sql": "{{ config(materialized='external', format='csv', delimiter='|') }}\n"
                          "select * from {{ source('files', 'raw_csv') }}\n",
    "models/ext_part.sql": "{{ config(materialized='external', options={'partition_by': 's'}) }}\n"
                           "select * from {{ source('lake', 'raw_items') }}\n",
    "models/ext_json.sql": "{{ config(materialized='external', location='out/custom/items.json') }}\n"
                           "select * from {{ ref('ext_items') }}\n",
    "models/renamed.sql": "select * from {{ source('files', 'renamed') }}\n",
    "models/downstream.sql": "{{ config(materialized='table') }}\nselect sum(id) as total from {{ ref('ext_part') }}\n",
}


def lake(tmp_path: Path, **extra: str) -> Path:
    project = write_project(tmp_path / "p", {"profiles.yml": PROFILES, "models/sources.yml": SOURCES,
                                             **MODELS, **extra})
    (project / "data").mkdir()
    con = duckdb.connect()
    con.execute(f"copy (select 1 as id, 'a' as s union all select 2, 'b') to '{project}/data/raw_items.parquet'")
    con.execute(f"copy (select 7 as k, 'z' as w) to '{project}/data/raw_csv.csv' (header)")
    con.close()
    return project


def files(project: Path) -> list[str]:
    return sorted(str(p.relative_to(project / "out")) for p in (project / "out").rglob("*") if p.is_file())


def read(path: Path, fmt: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(f"select * from read_{fmt}('{path}') order by all").fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_external_files_and_views(tmp_path):
    project = lake(tmp_path)
    result = pds(project, "build")
    assert "Completed successfully" in result.stdout, result.stdout
    assert files(project) == ["custom/items.json", "ext_csv.csv", "ext_items.parquet",
                              "ext_part/s=a/data_0.parquet", "ext_part/s=b/data_0.parquet"]
    out = project / "out"
    assert read(out / "ext_items.parquet", "parquet") == [(1, "a"), (2, "b")]
    assert (out / "ext_csv.csv").read_text() == "k|w\n7|z\n"
    assert (out / "custom/items.json").read_text() == '{"id":1,"s":"a"}\n{"id":2,"s":"b"}\n'
    assert read(out / "ext_part/s=a/data_0.parquet", "parquet") == [(1, "a")]  # s from the folder name
    views = dict(query(project, "select view_name, sql from duckdb_views() where schema_name = 'main'"))
    assert f"read_parquet('{out}/ext_items.parquet', (union_by_name = false))" in views["ext_items"]
    assert f"read_csv('{out}/ext_csv.csv', (auto_detect = true))" in views["ext_csv"]
    assert f"read_parquet('{out}/ext_part/*/*.parquet', (union_by_name = false))" in views["ext_part"]
    assert f"read_json('{out}/custom/items.json', (auto_detect = true))" in views["ext_json"]
    assert query(project, "select * from ext_part order by id") == [(1, "a"), (2, "b")]
    assert query(project, "select * from ext_csv") == [(7, "z")]
    assert query(project, "select * from renamed") == [(7, "z")]  # identifier placeholder, template formatter
    assert query(project, "select total from downstream") == [(3,)]
    compiled = (project / "target/compiled/proj/models/ext_items.sql").read_text()
    assert f"read_parquet('{project}/data/raw_items.parquet')" in compiled.lower()


@pytest.mark.slow
def test_an_empty_result_keeps_its_column_types(tmp_path):
    project = lake(tmp_path, **{"models/ext_items.sql": "{{ config(materialized='external') }}\n"
                                                        "select * from {{ source('lake', 'raw_items') }} where id > 5\n"})
    pds(project, "build", "-s", "ext_items")
    assert read(project / "out/ext_items.parquet", "parquet") == [(None, None)]  # as dbt-duckdb writes it
    assert query(project, "select count(*) from ext_items") == [(0,)]
    assert query(project, "select data_type from duckdb_columns() where table_name = 'ext_items' "
                          "order by column_index") == [("INTEGER",), ("VARCHAR",)]


@pytest.mark.slow
def test_a_failed_rewrite_keeps_the_old_files_and_view(tmp_path):
    project = lake(tmp_path)
    pds(project, "build", "-s", "ext_items", "ext_part")
    old = (project / "out/ext_items.parquet").read_bytes()
    old_part = files(project)
    # the query fails: nothing is written
    (project / "models/ext_items.sql").write_text("{{ config(materialized='external') }}\nselect 1/0 as id, "
                                                  "cast('x' as integer) as s\n")
    assert "ERROR" in pds(project, "build", "-s", "ext_items", expect=1).stdout
    assert (project / "out/ext_items.parquet").read_bytes() == old
    # the files are written, then the view over them fails: the old files come back
    (project / "models/ext_items.sql").write_text(
        "{{ config(materialized='external', parquet_read_options={'no_such_option': 1}) }}\nselect 5 as id\n")
    (project / "models/ext_part.sql").write_text(
        "{{ config(materialized='external', options={'partition_by': 's'}, parquet_read_options={'bad': 1}) }}\n"
        "select 9 as id, 'z' as s\n")
    result = pds(project, "build", "-s", "ext_items", "ext_part", expect=1)
    assert result.stdout.count("ERROR") >= 2
    assert (project / "out/ext_items.parquet").read_bytes() == old
    assert files(project) == old_part
    assert not [p for p in (project / "out").rglob(".*")]  # no temporary files left behind
    assert query(project, "select * from ext_items order by id") == [(1, "a"), (2, "b")]
    assert query(project, "select * from ext_part order by id") == [(1, "a"), (2, "b")]


@pytest.mark.slow
def test_external_source_tests_and_python_models_read_the_files(tmp_path):
    project = lake(tmp_path, **{"models/py_items.py": "def model(ctx):\n    df = ctx.source('lake', 'raw_items')\n"
                                                      "    return df.assign(double=df['id'] * 2)\n"})
    result = pds(project, "build", "-s", "source:lake+", "py_items")
    assert "Completed successfully" in result.stdout, result.stdout
    assert "not_null" in result.stdout and "unique" in result.stdout
    assert query(project, "select id, double from py_items order by id") == [(1, 2), (2, 4)]
    # a duplicate in the file fails the unique test
    con = duckdb.connect()
    con.execute(f"copy (select 1 as id, 'a' as s union all select 1, 'b') to '{project}/data/raw_items.parquet'")
    con.close()
    result = pds(project, "test", "-s", "source:lake", expect=1)
    assert "FAIL" in result.stdout and "unique" in result.stdout
