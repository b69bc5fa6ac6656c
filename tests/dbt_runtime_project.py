"""A small shop project in dbt's style for the dbt runtime tests: dbt Python models (`def model(dbt,
session)`), an incremental SQL and an incremental Python model, and unit tests in every format dbt has.

The same files run under dbt-core 1.11 (with a dbt_project.yml beside them): the expected tables and
unit-test outcomes in the tests were checked against dbt-duckdb's.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

FILES: dict[str, str] = {
    "seeds/raw_orders.csv": """
        order_id,customer_id,amount,status,ordered_at
        1,1,10.50,completed,2024-01-01 10:00:00
        2,1,20.00,completed,2024-01-02 11:00:00
        3,2,5.25,returned,2024-01-03 12:00:00
        4,3,40.00,completed,2024-01-04 13:00:00
    """,
    "seeds/raw_customers.csv": """
        customer_id,name,signup_date
        1,Ann,2023-05-01
        2,Bob,2023-06-01
        3,Cy,2023-07-01
    """,
    "models/stg_orders.sql": """
        select order_id, customer_id, amount, status, cast(ordered_at as timestamp) as ordered_at,
               cast(date_trunc('day', cast(ordered_at as timestamp)) as date) as order_day
        from {{ ref('raw_orders') }}
    """,
    "models/customer_orders.sql": """
        select c.customer_id, c.name, count(o.order_id) as order_count,
               coalesce(sum(case when o.status = 'completed' then o.amount end), 0) as completed_total,
               '{{ env_var("PDS_REGION", "eu") }}' as region, {{ var('bonus', 0) }} as bonus
        from {{ ref('raw_customers') }} c
        left join {{ ref('stg_orders') }} o on o.customer_id = c.customer_id
        group by c.customer_id, c.name
    """,
    "models/orders_incremental.sql": """
        {{ config(materialized='incremental', unique_key='order_id') }}
        select order_id, customer_id, amount, ordered_at from {{ ref('stg_orders') }}
        {% if is_incremental() %}
        where ordered_at > (select max(ordered_at) from {{ this }})
        {% endif %}
    """,
    # dbt's Python model API; ref() is a DuckDB relation on DuckDB and a pandas DataFrame elsewhere
    "models/customer_scores.py": '''
        def model(dbt, session):
            dbt.config(materialized="table")
            orders = dbt.ref("stg_orders")
            frame = orders.df() if hasattr(orders, "df") else orders
            frame = frame[frame["status"] == "completed"]
            per = frame.groupby("customer_id", as_index=False)["amount"].sum()
            per["score"] = (per["amount"].astype(float) / 100.0).round(4)
            per["tier"] = dbt.config.get("materialized")
            return per[["customer_id", "score", "tier"]]
    ''',
    "models/orders_py_incremental.py": '''
        def model(dbt, session):
            dbt.config(materialized="incremental", unique_key="order_id")
            orders = dbt.ref("stg_orders")
            frame = orders.df() if hasattr(orders, "df") else orders
            if dbt.is_incremental:
                seen = session.sql(f"select max(ordered_at) as latest from {dbt.this}")
                latest = (seen.df() if hasattr(seen, "df") else seen)["latest"][0]
                frame = frame[frame["ordered_at"] > latest]
            return frame[["order_id", "customer_id", "amount", "ordered_at"]]
    ''',
    "tests/fixtures/two_orders.csv": """
        order_id,customer_id,amount,status
        10,1,3.5,completed
        11,1,1.5,returned
    """,
    "models/unit_tests.yml": """
        unit_tests:
          - name: missing_columns_are_null_of_their_type
            model: customer_orders
            given:
              - input: ref('raw_customers')
                rows:
                  - {customer_id: 1}
                  - {customer_id: 2, name: Bob}
              - input: ref('stg_orders')
                rows:
                  - {customer_id: 1, order_id: 1, amount: 5.5, status: completed}
                  - {customer_id: 1, order_id: 2, amount: "2.25", status: completed}
            expect:
              rows:
                - {customer_id: 1, name: null, order_count: 2, completed_total: 7.75}
                - {customer_id: 2, name: Bob, order_count: 0, completed_total: 0}
          - name: csv_rows_and_a_fixture_file
            model: customer_orders
            given:
              - input: ref('raw_customers')
                format: csv
                rows: |
                  customer_id,name
                  1,Ann
              - input: ref('stg_orders')
                format: csv
                fixture: two_orders
            expect:
              format: csv
              rows: |
                customer_id,order_count,completed_total
                1,2,3.5
          - name: sql_rows
            model: customer_orders
            given:
              - input: ref('raw_customers')
                format: sql
                rows: select 3 as customer_id, 'Cy' as name, date '2023-07-01' as signup_date
              - input: ref('stg_orders')
                rows: []
            expect:
              format: sql
              rows: select 3 as customer_id, 'Cy' as name, 0 as order_count, 0 as completed_total, 'eu' as region, 0 as bonus
          - name: overrides_of_vars_and_env_vars
            model: customer_orders
            overrides:
              vars: {bonus: 7}
              env_vars: {PDS_REGION: us}
            given:
              - input: ref('raw_customers')
                rows: [{customer_id: 1}]
              - input: ref('stg_orders')
                rows: []
            expect:
              rows: [{customer_id: 1, region: us, bonus: 7}]
          - name: incremental_branch_reads_this
            model: orders_incremental
            overrides:
              macros: {is_incremental: true}
            given:
              - input: this
                rows: [{order_id: 1, ordered_at: "2024-01-02 00:00:00"}]
              - input: ref('stg_orders')
                rows:
                  - {order_id: 1, ordered_at: "2024-01-01 10:00:00"}
                  - {order_id: 2, ordered_at: "2024-01-03 10:00:00"}
            expect:
              rows: [{order_id: 2}]
          - name: python_model_scores
            model: customer_scores
            given:
              - input: ref('stg_orders')
                rows:
                  - {customer_id: 5, amount: 50, status: completed}
                  - {customer_id: 5, amount: 25, status: completed}
                  - {customer_id: 6, amount: 10, status: returned}
            expect:
              rows: [{customer_id: 5, score: 0.75, tier: table}]
    """,
}

CRM_CUSTOMERS = "create schema if not exists crm; create or replace table crm.customers as " \
                "select * from (values (1, 'ann'), (2, 'bob')) t(customer_id, name)"  # the source, loaded by others
DUCKDB_ONLY: dict[str, str] = {
    # DuckDB relations as dbt-duckdb gives them: SQL on the relation, .pl(), a relation returned
    "models/order_days.py": '''
        def model(dbt, session):
            orders = dbt.ref("stg_orders")
            per_day = orders.aggregate("order_day, count(*) as orders, sum(amount) as revenue")
            return per_day.order("order_day")
    ''',
    "models/big_orders.py": '''
        import polars as pl

        def model(dbt, session):
            frame = dbt.ref("shop", "stg_orders").pl()  # (package, model), as dbt allows
            return frame.filter(pl.col("amount") > 15).select(["order_id", "amount"])
    ''',
    "models/customer_names.py": '''
        def model(dbt, session):
            customers = dbt.source("crm", "customers")
            return customers.project("customer_id, upper(name) as name").fetch_arrow_table()
    ''',
    "models/sources.yml": """
        sources:
          - name: crm
            schema: crm
            tables:
              - name: customers
    """,
}


def write_project(root: Path, target: dict[str, Any], extra: dict[str, str] | None = None,
                  duckdb_models: bool = False) -> Path:
    files = {**FILES, **(DUCKDB_ONLY if duckdb_models else {}), **(extra or {})}
    results = f"{target.get('schema', 'main')}_results"  # its own: other runs on the same server leave it alone
    (root / "pds_project.yml").write_text(f"name: shop\nprofile: shop\nresults-schema: {results}\n")
    (root / "profiles.yml").write_text(yaml.safe_dump({"shop": {"target": "dev", "outputs": {"dev": target}}}))
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root
