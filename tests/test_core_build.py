"""End to end: Jinja SQL models, Python models, seeds and sources, built by the real CLI on DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from tests.projects import column_types, pds, query, relations, write_project

FILES = {
    "pds_project.yml": """
        name: shop
        vars:
          factor: 2
          country: NL
        models:
          shop:
            marts:
              +materialized: table
        seeds:
          prices:
            +column_types:
              code: varchar
    """,
    "seeds/prices.csv": """
        id,code,price,valid_from,active
        1,007,1.5,2024-01-01,true
        2,010,2.25,2024-02-01,false
    """,
    "seeds/props.yml": """
        seeds:
          - name: prices
            description: Price list.
    """,
    "macros/util.sql": """
        {% macro times(column, n) -%}
            ({{ column }} * {{ n }})
        {%- endmacro %}
    """,
    "models/sources.yml": """
        sources:
          - name: crm
            schema: raw
            tables:
              - name: accounts
                identifier: Account List
    """,
    "models/staging/stg_prices.sql": """
        -- a comment line, so the ref is on line 3
        select id, code, price, {{ times('price', var('factor')) }} as scaled,
               '{{ env_var("SHOP_REGION", "eu") }}' as region
        from {{ ref('prices') }}
    """,
    "models/staging/stg_accounts.sql": """
        select id, upper(name) as name, '{{ var("country") }}' as country
        from {{ source('crm', 'accounts') }}
    """,
    "models/marts/summary.sql": """
        {{ config(tags=['daily'], alias='price_summary') }}
        select count(*) as n, sum(scaled) as total, '{{ this }}' as me,
               {{ 'true' if is_incremental() else 'false' }} as incr
        from {{ ref('stg_prices') }}
    """,
    "models/ml/scores.py": """
        import pandas as pd


        def model(ctx):
            prices = ctx.ref("stg_prices")
            accounts = ctx.source("crm", "accounts")
            return pd.DataFrame({
                "n_prices": [len(prices)],
                "n_accounts": [len(accounts)],
                "factor": [ctx.var("factor")],
                "missing": [ctx.var("not_set", "fallback")],
            })
    """,
}


def make_raw_source(project) -> None:
    """A table that exists before pds runs, in its own schema and with a name that needs quoting."""
    con = duckdb.connect(str(project / "shop.duckdb"))
    try:
        con.execute('create schema raw; create table raw."Account List" (id integer, name varchar)')
        con.execute("insert into raw.\"Account List\" values (1, 'acme'), (2, 'globex'), (3, 'initech')")
    finally:
        con.close()


@pytest.fixture
def shop(tmp_path):
    project = write_project(tmp_path / "shop", FILES)
    make_raw_source(project)
    return project


def test_jinja_python_seeds_and_sources_build(shop):
    result = pds(shop, "build", "--vars", "{factor: 3}", env={"SHOP_REGION": "us"})
    assert "Completed successfully" in result.stdout
    # ref, a macro, var (overridden by --vars) and env_var (from the environment)
    assert query(shop, "select id, code, price, scaled, region from stg_prices order by id") == [
        (1, "007", 1.5, 4.5, "us"), (2, "010", 2.25, 6.75, "us")]
    # source() with a quoted identifier in another schema; var from pds_project.yml
    assert query(shop, "select * from stg_accounts order by id") == [
        (1, "ACME", "NL"), (2, "GLOBEX", "NL"), (3, "INITECH", "NL")]
    # config(alias=...) in the file, folder config from pds_project.yml, `this` and is_incremental()
    kinds = relations(shop)
    assert kinds["price_summary"] == "BASE TABLE" and "summary" not in kinds
    assert kinds["stg_prices"] == "VIEW" and kinds["scores"] == "BASE TABLE"
    assert query(shop, "select n, total, me, incr from price_summary") == [(2, 11.25, "shop.main.price_summary", False)]  # `this` names the catalog too, as DDL does
    # the Python model read a ref and a source as DataFrames, and its vars
    assert query(shop, "select * from scores") == [(2, 3, 3, "fallback")]


def test_defaults_apply_without_overrides(shop):
    pds(shop, "build")
    assert query(shop, "select distinct region from stg_prices") == [("eu",)]
    assert query(shop, "select total from price_summary") == [(7.5,)]
    assert query(shop, "select factor from scores") == [(2,)]


def test_seed_types_inferred_and_overridden(shop):
    pds(shop, "seed")
    types = column_types(shop, "prices")
    # inferred as dbt infers them (whole numbers: INTEGER), except `code`, forced to varchar so leading zeros survive
    assert types == {"id": "INTEGER", "code": "VARCHAR", "price": "DOUBLE", "valid_from": "DATE",
                     "active": "BOOLEAN"}
    assert query(shop, "select code from prices order by id") == [("007",), ("010",)]
    assert set(relations(shop)) == {"prices"}  # seed builds only seeds


def test_run_builds_models_only(shop):
    pds(shop, "seed")
    result = pds(shop, "run", "--select", "stg_prices")
    assert "1 of 1" in result.stdout
    assert set(relations(shop)) == {"prices", "stg_prices"}


def test_column_types_in_schema_yaml(tmp_path):
    project = write_project(tmp_path / "p", {
        "seeds/codes.csv": "zip,amount\n01234,10\n99999,20\n",
        "seeds/schema.yml": """
            seeds:
              - name: codes
                config:
                  column_types:
                    zip: varchar
                    amount: decimal(10,2)
        """,
    })
    pds(project, "seed")
    assert column_types(project, "codes") == {"zip": "VARCHAR", "amount": "DECIMAL(10,2)"}
    assert query(project, "select zip from codes order by zip") == [("01234",), ("99999",)]


def test_python_model_ref_to_ephemeral_and_config(tmp_path):
    project = write_project(tmp_path / "p", {
        "models/base.sql": "{{ config(materialized='ephemeral') }}\nselect 1 as id union all select 2\n",
        "models/py.py": """
            def model(ctx):
                ctx.config(materialized="table", tags=["py"])
                df = ctx.ref("base")
                return df.assign(doubled=df["id"] * 2)
        """,
    })
    pds(project, "build")
    assert query(project, "select id, doubled from py order by id") == [(1, 2), (2, 4)]
    assert "base" not in relations(project)
    assert pds(project, "ls", "-s", "tag:py").stdout.split() == ["py"]
