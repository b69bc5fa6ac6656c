"""Injection: model, column, schema and seed names with quotes, dashes, spaces (in aliases, schemas and
columns: a file name with a space is refused, as dbt does), reserved words and unicode are
quoted by the DuckDB and Postgres adapters (built end to end and read back with the engine's own
driver), and values from vars or seeds stay data: they become SQL text only where the user's template
puts them, and a planted `victim` table survives every attempt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import engine_params, run_pds
from tests.reliability_kit import ENGINES, Engine, make_engine, write_project

EVIL = "x'); drop table victim; --"
SEED_HEADER = '"a b",select,"q""uote",ünï,"it\'s"'
SEED_ROWS = [(1, EVIL, 'say "hi"', "ça", "{{ 7 * 6 }}"), (2, "'; delete from victim; --", "a,b", "ж", "$$ $1 ?")]
ODD_MODELS = ["select", "my-model", "it's", 'we"ird', "Ünïcødé_модель", "MixedCase"]  # (no spaces: refused)
PY_MODEL = """import pandas as pd


def model(ctx):
    ctx.config(materialized="table")
    return pd.DataFrame({"a b": [1], "select": [ctx.var("evil")], 'q"uote': ["ok"], "ünï": ["é"], "x'y": [2]})
"""
INCREMENTAL = """{{ config(materialized='incremental', unique_key=['id col', 'select'], incremental_strategy=var('how')) }}
select id as "id col", 'k' as "select", '{{ var('round') }}' as "va""lue" from {{ ref('nums') }}
"""


@pytest.fixture(params=engine_params(ENGINES))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_engine(request.param, tmp_path)


def odd_project(engine: Engine, folder: Path) -> Path:
    files = {"seeds/my-seed's.csv": SEED_HEADER + "\n" + "".join(
        ",".join('"' + str(v).replace('"', '""') + '"' for v in row) + "\n" for row in SEED_ROWS)}
    previous = "victim_source"
    for name in ODD_MODELS:
        files[f"models/{name}.sql"] = (
            f'select n + 1 as n, 1 as "col with space", 2 as "from", 3 as "quo""te", 4 as "ünï" '
            f'from {{{{ ref({json.dumps(previous)}) }}}}\n')
        previous = name
    files["models/victim_source.sql"] = "{{ config(materialized='table') }}\nselect 0 as n\n"
    files["models/odd_schema.sql"] = ("{{ config(materialized='table', schema='odd sch\"ema', alias=var('alias')) }}\n"
                                      "select n from {{ ref('MixedCase') }}\n")
    files["models/frame.py"] = PY_MODEL
    files["models/nums.sql"] = "{{ config(materialized='table') }}\nselect 1 as id union all select 2 as id\n"
    files["models/merged.sql"] = INCREMENTAL
    files["models/echo.sql"] = "select {{ \"'\" ~ var('evil') | replace(\"'\", \"''\") ~ \"'\" }} as v\n"
    return write_project(folder, engine, files)


def build(project: Path, **vars: str) -> None:
    result = run_pds("build", "--project-dir", str(project), "--vars", json.dumps(vars))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_odd_names_are_quoted_and_values_stay_data(engine: Engine, tmp_path: Path) -> None:
    project = odd_project(engine, tmp_path / "p")
    table = engine.qualified
    victim = "victim"
    if engine.name == "duckdb":
        import duckdb

        con = duckdb.connect(engine.settings["path"])
        con.execute(f"CREATE SCHEMA {engine.schema}; CREATE TABLE {table(victim)} AS SELECT 42 AS x")
        con.close()
    else:
        from tests import engine_postgres as pg

        with pg.connect() as conn:
            conn.execute(f"CREATE SCHEMA {engine.schema}; CREATE TABLE {table(victim)} AS SELECT 42 AS x")
    vars_ = {"evil": EVIL, "alias": 'al"ias; drop table victim', "how": "merge", "round": "1"}
    # a var pasted raw into a template is SQL text by the user's choice: a second statement is still refused
    raw = run_pds("build", "--project-dir", str(project), "--vars",
                  json.dumps({**vars_, "round": "1'; drop table victim; --"}))
    assert raw.returncode == 2 and "a model must be one SELECT statement" in raw.stderr, raw.stdout + raw.stderr
    build(project, **vars_)
    build(project, **{**vars_, "round": "2"})  # the incremental model merges ...
    build(project, **{**vars_, "how": "delete+insert", "round": "3"})  # ... then deletes and inserts

    # every odd model exists under its exact name and the chain of refs through them worked
    for depth, name in enumerate(ODD_MODELS, start=1):
        rows = engine.query(f'SELECT n, "col with space", "from", "quo""te", "ünï" FROM {table(name)}')
        assert rows == [(depth, 1, 2, 3, 4)], name
    odd_schema = f'{engine.schema}_odd sch"ema'
    assert engine.query(f"SELECT n FROM {table(vars_['alias'], odd_schema)}") == [(len(ODD_MODELS),)]
    # a seed's names and values come back exactly as written in the file
    seed_table = table("my-seed's")
    seed = engine.query(f'SELECT "a b", "select", "q""uote", "ünï", "it\'s" FROM {seed_table} ORDER BY "a b"')
    assert [tuple(str(v) for v in row) for row in seed] == [tuple(str(v) for v in row) for row in SEED_ROWS]
    # a Python model's column names are quoted on write; a var it returns is a value
    assert engine.query(f'SELECT "a b", "select", "q""uote", "ünï", "x\'y" FROM {table("frame")}') == \
        [(1, EVIL, "ok", "é", 2)]
    # merge and delete+insert keys and columns with odd names: one row per key, the last value
    assert sorted(engine.query(f'SELECT "id col", "select", "va""lue" FROM {table("merged")}')) == \
        [(1, "k", "3"), (2, "k", "3")]
    # the user's own template put a var into SQL, escaping it as a string literal: it stays a value
    assert engine.query(f"SELECT v FROM {table('echo')}") == [(EVIL,)]
    assert engine.query(f"SELECT x FROM {table(victim)}") == [(42,)]


def test_sql_in_seed_column_types_is_rejected_not_run(engine: Engine, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", engine, {
        "seeds/s.csv": "a,b\n1,2\n",
        "seeds/schema.yml": "seeds:\n  - name: s\n    config:\n      column_types:\n"
                            "        a: 'integer); drop table victim; --'\n",
    })
    result = run_pds("build", "--project-dir", str(project))
    out = result.stdout + result.stderr
    assert result.returncode == 1 and "column_types" in out and "Traceback" not in out, out
    assert "s" not in engine.relations()
