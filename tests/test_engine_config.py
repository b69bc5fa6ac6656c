"""Engine-only config on an engine that does not act on it (DuckDB here; Spark's side is in
tests/test_spark_cli.py): a strategy the target cannot run is a plan-time error naming the engine, at the
model's file and line, before anything is built; a storage key of another engine is a warning naming
that engine, and the build goes on."""

from __future__ import annotations

from tests.projects import invoke, pds, query, write_project


def test_a_strategy_the_engine_cannot_run_is_a_plan_time_error(tmp_path):
    project = write_project(tmp_path / "p", {
        "models/first.sql": "select 1 as id",
        "models/days.sql": "-- one row per day\n{{ config(materialized='incremental',\n"
                           "  incremental_strategy='insert_overwrite') }}\nselect 1 as id\n",
    })
    code, output = invoke(project, "build")
    assert code == 2, output
    assert "models/days.sql:3: incremental_strategy 'insert_overwrite' is not one the duckdb adapter runs" in output
    assert "append, merge, delete+insert" in output and "Traceback" not in output
    assert not (project / "proj.duckdb").exists()  # nothing was built


def test_another_engines_storage_keys_warn_and_the_build_goes_on(tmp_path):
    project = write_project(tmp_path / "p", {
        "pds_project.yml": "name: proj\nmodels:\n  +file_format: delta\n",
        "models/a.sql": "{{ config(materialized='table', partition_by=['day']) }}\nselect 1 as id, 2 as day",
        "models/b.sql": "{{ config(materialized='table') }}\nselect 2 as id",
    })
    result = pds(project, "build")
    assert "Warning: models/a.sql:1: 'partition_by' is set on a, but the duckdb target does not act on it: " \
           "it is a config key of spark targets" in result.stderr
    assert "'file_format' is set on a (and 1 more)" in result.stderr
    assert query(project, "select id, day from main.a") == [(1, 2)]


def test_bad_types_of_engine_keys_are_refused_where_they_are_written(tmp_path):
    project = write_project(tmp_path / "p", {
        "models/a.sql": "{{ config(materialized='table', buckets='eight') }}\nselect 1 as id",
    })
    code, output = invoke(project, "compile")
    assert code == 2 and "'buckets' in config of model 'a' must be a number" in output, output
