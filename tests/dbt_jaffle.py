"""A dbt project in the shape of the real ones (jaffle shop), for the Jinja-compatibility tests.

It uses what dbt packages need from the Jinja context: a package (`pkgutils`, written here as
dbt_utils is written: adapter.dispatch in its own namespace, run_query / statement + load_result,
adapter.get_columns_in_relation, var()), a `dispatch:` search order that lets the project override a
package macro, a generate_schema_name override, dispatched project macros (cents_to_dollars with
postgres__/duckdb__ versions), docs blocks, graph, an ephemeral model, and dbt's cross-database
macros. The files are plain text: the same ones are built by dbt-core (when it is installed) and by
pds, and every relation is compared; the rows dbt-core 1.11 built are written below too, for the
machines without dbt.
"""

from __future__ import annotations

import datetime
import decimal
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import yaml

PACKAGE = {
    "dbt_packages/pkgutils/dbt_project.yml": """
        name: pkgutils
        version: '1.0.0'
        config-version: 2
        macro-paths: [macros]
        vars:
          'pkgutils:null_value': '_pkg_default_'
    """,
    "dbt_packages/pkgutils/macros/keys.sql": """
        {% macro surrogate_key(field_list) -%}
          {{ return(adapter.dispatch('surrogate_key', 'pkgutils')(field_list)) }}
        {%- endmacro %}

        {% macro default__surrogate_key(field_list) -%}
          {%- set null_value = var('pkgutils:null_value', '_pkgutils_null_') -%}
          {%- set fields = [] -%}
          {%- for field in field_list -%}
            {%- do fields.append("coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '" ~ null_value ~ "')") -%}
            {%- if not loop.last %}{% do fields.append("'-'") %}{% endif -%}
          {%- endfor -%}
          {{ dbt.hash(dbt.concat(fields)) }}
        {%- endmacro %}

        {% macro safe_divide(numerator, denominator) -%}
          {{ return(adapter.dispatch('safe_divide', 'pkgutils')(numerator, denominator)) }}
        {%- endmacro %}

        {% macro default__safe_divide(numerator, denominator) -%}
          ({{ numerator }}) / nullif({{ denominator }}, 0)
        {%- endmacro %}

        {% macro duckdb__safe_divide(numerator, denominator) -%}
          ({{ numerator }}) // nullif({{ denominator }}, 0)
        {%- endmacro %}
    """,
    "dbt_packages/pkgutils/macros/introspection.sql": """
        {% macro _is_relation(obj, macro) %}
          {%- if not (obj is mapping and obj.get('metadata', {}).get('type', '').endswith('Relation')) -%}
            {%- do exceptions.raise_compiler_error("Macro " ~ macro ~ " expected a Relation but received " ~ obj) -%}
          {%- endif -%}
        {% endmacro %}

        {% macro star(from, except=[]) -%}
          {%- do pkgutils._is_relation(from, 'star') -%}
          {%- if not execute -%}{{ return('*') }}{%- endif -%}
          {%- set skip = except | map('lower') | list -%}
          {%- set names = [] -%}
          {%- for column in adapter.get_columns_in_relation(from) -%}
            {%- if column.name | lower not in skip %}{% do names.append(adapter.quote(column.name)) %}{% endif -%}
          {%- endfor -%}
          {{ return(names | join(', ')) }}
        {%- endmacro %}

        {% macro get_column_values(table, column) -%}
          {%- if not execute -%}{{ return([]) }}{%- endif -%}
          {%- if load_relation(table) is none -%}
            {{ exceptions.raise_compiler_error("get_column_values: " ~ table ~ " does not exist") }}
          {%- endif -%}
          {%- call statement('get_column_values', fetch_result=true) -%}
            select {{ column }} as value from {{ table }} group by {{ column }} order by {{ column }}
          {%- endcall -%}
          {{ return(load_result('get_column_values')['data'] | map(attribute=0) | list) }}
        {%- endmacro %}
    """,
}

PROJECT = {
    "dbt_project.yml": """
        name: jaffle
        version: '1.0.0'
        config-version: 2
        profile: jaffle
        model-paths: [models]
        seed-paths: [seeds]
        macro-paths: [macros]
        vars:
          'pkgutils:null_value': '~'
        dispatch:
          - macro_namespace: pkgutils
            search_order: [jaffle, pkgutils]
        seeds:
          jaffle:
            +schema: raw
        models:
          jaffle:
            staging:
              +materialized: view
            marts:
              +materialized: table
    """,
    "packages.yml": """
        packages:
          - local: dbt_packages/pkgutils
    """,
    "seeds/raw_customers.csv": """
        id,first_name,last_name
        1,Michael,P.
        2,Shawn,M.
        3,Kathleen,P.
        4,Jimmy,C.
        5,Katherine,R.
    """,
    "seeds/raw_orders.csv": """
        id,user_id,order_date,status
        1,1,2018-01-01,returned
        2,3,2018-01-02,completed
        3,1,2018-01-04,completed
        4,5,2018-01-05,shipped
        5,4,2018-01-05,placed
        6,2,2018-01-07,completed
        7,5,2018-01-09,return_pending
    """,
    "seeds/raw_payments.csv": """
        id,order_id,payment_method,amount
        1,1,credit_card,1000
        2,2,credit_card,2050
        3,3,coupon,175
        4,4,bank_transfer,2500
        5,5,credit_card,1700
        6,6,gift_card,600
        7,7,coupon,1600
        8,3,gift_card,325
    """,
    "macros/generate_schema_name.sql": """
        {#- seeds go to <custom>_<target schema> (raw_...), models as dbt's default -#}
        {% macro generate_schema_name(custom_schema_name, node) -%}
          {%- if node.resource_type == 'seed' -%}
            {{ custom_schema_name | trim }}_{{ target.schema }}
          {%- elif custom_schema_name is none -%}
            {{ target.schema }}
          {%- else -%}
            {{ target.schema }}_{{ custom_schema_name | trim }}
          {%- endif -%}
        {%- endmacro %}
    """,
    "macros/cents_to_dollars.sql": """
        {% macro cents_to_dollars(column_name) -%}
          {{ return(adapter.dispatch('cents_to_dollars')(column_name)) }}
        {%- endmacro %}

        {% macro default__cents_to_dollars(column_name) -%}
          ({{ column_name }} / 100)::numeric(16, 2)
        {%- endmacro %}

        {% macro postgres__cents_to_dollars(column_name) -%}
          ({{ column_name }}::numeric(16, 2) / 100)
        {%- endmacro %}

        {% macro duckdb__cents_to_dollars(column_name) -%}
          round({{ column_name }} / 100.0, 2)::numeric(16, 2)
        {%- endmacro %}
    """,
    "macros/safe_divide.sql": """
        {#- wins over pkgutils' own versions through the project's dispatch search order -#}
        {% macro default__safe_divide(numerator, denominator) -%}
          round(cast({{ numerator }} as numeric) / nullif({{ denominator }}, 0), 2)
        {%- endmacro %}
    """,
    "models/docs.md": """
        {% docs order_status %}
        One of placed, shipped, completed, return_pending or returned.
        {% enddocs %}
    """,
    "models/schema.yml": """
        version: 2
        models:
          - name: orders
            description: One row per order.
            columns:
              - name: order_id
                data_tests: [unique, not_null]
              - name: status
                description: '{{ doc("order_status") }}'
                data_tests:
                  - accepted_values:
                      values: ['placed', 'shipped', 'completed', 'return_pending', 'returned']
          - name: customers
            columns:
              - name: customer_id
                data_tests: [unique, not_null]
    """,
    "models/staging/base_orders.sql": """
        {{ config(materialized='ephemeral') }}
        select id, user_id, order_date, status from {{ ref('raw_orders') }}
    """,
    "models/staging/stg_customers.sql": """
        select id as customer_id, first_name, last_name from {{ ref('raw_customers') }}
    """,
    "models/staging/stg_orders.sql": """
        select
            id as order_id,
            user_id as customer_id,
            order_date,
            status,
            {{ pkgutils.surrogate_key(['id', 'user_id', 'null']) }} as order_key
        from {{ ref('base_orders') }}
    """,
    "models/staging/stg_payments.sql": """
        select
            id as payment_id,
            order_id,
            payment_method,
            -- as the classic jaffle shop writes it: integer division on Postgres, not on DuckDB
            amount / 100 as amount,
            {{ cents_to_dollars('amount') }} as amount_dollars
        from {{ ref('raw_payments') }}
    """,
    "models/marts/orders.sql": """
        {% set payment_methods = pkgutils.get_column_values(ref('stg_payments'), 'payment_method') %}
        with payments as (
            select
                order_id,
                {% for method in payment_methods -%}
                sum(case when payment_method = '{{ method }}' then amount_dollars else 0 end) as {{ method }}_amount,
                {% endfor -%}
                sum(amount_dollars) as total_amount
            from {{ ref('stg_payments') }}
            group by order_id
        )
        select
            orders.order_id,
            orders.customer_id,
            orders.order_date,
            orders.status,
            {% for method in payment_methods -%}
            payments.{{ method }}_amount,
            {% endfor -%}
            payments.total_amount as amount
        from {{ ref('stg_orders') }} as orders
        left join payments on orders.order_id = payments.order_id
    """,
    "models/marts/customers.sql": """
        with customers as (
            select {{ pkgutils.star(ref('stg_customers'), except=['last_name']) }} from {{ ref('stg_customers') }}
        ),
        customer_orders as (
            select customer_id, min(order_date) as first_order, count(*) as number_of_orders
            from {{ ref('orders') }}
            group by customer_id
        ),
        customer_payments as (
            select customer_id, sum(amount) as lifetime_value from {{ ref('orders') }} group by customer_id
        )
        select
            customers.*,
            customer_orders.first_order,
            coalesce(customer_orders.number_of_orders, 0) as number_of_orders,
            customer_payments.lifetime_value,
            {{ pkgutils.safe_divide('customer_payments.lifetime_value', 'customer_orders.number_of_orders') }}
                as value_per_order
        from customers
        left join customer_orders on customers.customer_id = customer_orders.customer_id
        left join customer_payments on customers.customer_id = customer_payments.customer_id
    """,
    "models/marts/order_days.sql": """
        with days as (
            {{ dbt.date_spine('day', "cast('2018-01-01' as date)", "cast('2018-01-10' as date)") }}
        )
        select cast(days.date_day as date) as date_day, count(orders.order_id) as orders
        from days
        left join {{ ref('stg_orders') }} as orders on orders.order_date = cast(days.date_day as date)
        group by 1
    """,
    "models/marts/payment_summary.sql": """
        {%- set found = run_query("select count(*) as n, max(amount) as largest from " ~ ref('raw_payments')) -%}
        {%- if execute -%}
          {%- set n, largest = found.columns[0].values()[0], found.rows[0]['largest'] -%}
        {%- else -%}
          {%- set n, largest = 0, 0 -%}
        {%- endif -%}
        select {{ n }} as payments, {{ largest }} as largest_payment_cents,
            '{{ this.identifier }}' as relation_name, '{{ model.config.materialized }}' as materialized
    """,
    "models/marts/staging_models.sql": """
        {%- set staged = [] -%}
        {%- for node in graph.nodes.values() | sort(attribute='name') -%}
          {%- if node.resource_type == 'model' and node.fqn[1] == 'staging' -%}{% do staged.append(node.name) %}{%- endif -%}
        {%- endfor -%}
        select '{{ staged | join(",") }}' as staging_models
    """,
    "models/marts/cross_db.sql": """
        select
            {{ dbt.date_trunc('month', "cast('2018-01-17' as date)") }} as month_start,
            {{ dbt.dateadd('day', 3, "cast('2018-01-17' as date)") }} as plus_three_days,
            {{ dbt.datediff("cast('2018-01-01' as date)", "cast('2018-03-15' as date)", 'month') }} as months_between,
            {{ dbt.last_day("cast('2018-02-10' as date)", 'month') }} as end_of_february,
            {{ dbt.split_part("'a-b-c'", "'-'", 2) }} as second_part,
            {{ dbt.split_part("'a-b-c'", "'-'", -1) }} as last_part,
            {{ dbt.replace("'jaffle'", "'j'", "'w'") }} as replaced,
            {{ dbt.right("'jaffle'", 3) }} as right_three,
            {{ dbt.length("'jaffle'") }} as name_length,
            {{ dbt.position("'f'", "'jaffle'") }} as f_position,
            {{ dbt.concat(["'a'", "'b'"]) }} as ab,
            {{ dbt.hash("'jaffle'") }} as hashed,
            {{ dbt.safe_cast("'42'", dbt.type_int()) }} as forty_two,
            {{ dbt.cast_bool_to_text('true') }} as true_text,
            {{ dbt.string_literal(dbt.escape_single_quotes("it's")) }} as quoted,
            cast(1.5 as {{ dbt.type_float() }}) as one_and_a_half,
            cast('2018-01-01 10:00:00' as {{ dbt.type_timestamp() }}) as a_timestamp,
            cast(3 as {{ dbt.type_bigint() }}) as big,
            cast(2.5 as {{ dbt.type_numeric() }}) as numeric_value,
            cast(1 = 1 as {{ dbt.type_boolean() }}) as is_true,
            {{ dbt.date(2024, 2, 29) }} as leap_day
    """,
    "models/marts/payment_methods.sql": """
        select
            payment_method,
            {{ dbt.any_value('payment_method') }} as method_again,
            {{ dbt.listagg('cast(order_id as ' ~ dbt.type_string() ~ ')', "','", 'order by order_id') }} as order_ids,
            {{ dbt.bool_or('amount > 2000') }} as has_large,
            count(*) as n
        from {{ ref('raw_payments') }}
        group by payment_method
    """,
}

# The relations dbt-core 1.11 built from these files (dbt-duckdb 1.11.1, dbt-postgres 1.11.0), the same
# on both engines; rows sorted, numbers as floats (ints kept), dates and timestamps in ISO form.
EXPECTED: dict[str, list[tuple]] = {
    'customers': [
        (1, 'Michael', '2018-01-01', 2, 15.0, 7.5),
        (2, 'Shawn', '2018-01-07', 1, 6.0, 6.0),
        (3, 'Kathleen', '2018-01-02', 1, 20.5, 20.5),
        (4, 'Jimmy', '2018-01-05', 1, 17.0, 17.0),
        (5, 'Katherine', '2018-01-05', 2, 41.0, 20.5),
    ],
    'order_days': [
        ('2018-01-01', 1),
        ('2018-01-02', 1),
        ('2018-01-03', 0),
        ('2018-01-04', 1),
        ('2018-01-05', 2),
        ('2018-01-06', 0),
        ('2018-01-07', 1),
        ('2018-01-08', 0),
        ('2018-01-09', 1),
    ],
    'orders': [
        (1, 1, '2018-01-01', 'returned', 0.0, 0.0, 10.0, 0.0, 10.0),
        (2, 3, '2018-01-02', 'completed', 0.0, 0.0, 20.5, 0.0, 20.5),
        (3, 1, '2018-01-04', 'completed', 0.0, 1.75, 0.0, 3.25, 5.0),
        (4, 5, '2018-01-05', 'shipped', 25.0, 0.0, 0.0, 0.0, 25.0),
        (5, 4, '2018-01-05', 'placed', 0.0, 0.0, 17.0, 0.0, 17.0),
        (6, 2, '2018-01-07', 'completed', 0.0, 0.0, 0.0, 6.0, 6.0),
        (7, 5, '2018-01-09', 'return_pending', 0.0, 16.0, 0.0, 0.0, 16.0),
    ],
    'payment_methods': [
        ('bank_transfer', 'bank_transfer', '4', True, 1),
        ('coupon', 'coupon', '3,7', False, 2),
        ('credit_card', 'credit_card', '1,2,5', True, 3),
        ('gift_card', 'gift_card', '3,6', False, 2),
    ],
    'payment_summary': [
        (8, 2500, 'payment_summary', 'table'),
    ],
    'staging_models': [
        ('base_orders,stg_customers,stg_orders,stg_payments',),
    ],
    'stg_customers': [
        (1, 'Michael', 'P.'),
        (2, 'Shawn', 'M.'),
        (3, 'Kathleen', 'P.'),
        (4, 'Jimmy', 'C.'),
        (5, 'Katherine', 'R.'),
    ],
    'stg_orders': [
        (1, 1, '2018-01-01', 'returned', 'fc02448502b302d2abb034f62bdf02d5'),
        (2, 3, '2018-01-02', 'completed', '2f3c51c578b034239dae1e5f6a69051b'),
        (3, 1, '2018-01-04', 'completed', '7fe737327536a0cbb5ed63f4b09a856e'),
        (4, 5, '2018-01-05', 'shipped', '124eff35990af23bf98385be6a4492d3'),
        (5, 4, '2018-01-05', 'placed', 'ca62ea67de6c88bc65d8c820609cd4a4'),
        (6, 2, '2018-01-07', 'completed', '34979294e731d5331bd7e453409d0987'),
        (7, 5, '2018-01-09', 'return_pending', 'dd8c753b03543fe841bfc8098f5a1925'),
    ],
    'raw_customers': [
        (1, 'Michael', 'P.'),
        (2, 'Shawn', 'M.'),
        (3, 'Kathleen', 'P.'),
        (4, 'Jimmy', 'C.'),
        (5, 'Katherine', 'R.'),
    ],
    'raw_orders': [
        (1, 1, '2018-01-01', 'returned'),
        (2, 3, '2018-01-02', 'completed'),
        (3, 1, '2018-01-04', 'completed'),
        (4, 5, '2018-01-05', 'shipped'),
        (5, 4, '2018-01-05', 'placed'),
        (6, 2, '2018-01-07', 'completed'),
        (7, 5, '2018-01-09', 'return_pending'),
    ],
    'raw_payments': [
        (1, 1, 'credit_card', 1000),
        (2, 2, 'credit_card', 2050),
        (3, 3, 'coupon', 175),
        (4, 4, 'bank_transfer', 2500),
        (5, 5, 'credit_card', 1700),
        (6, 6, 'gift_card', 600),
        (7, 7, 'coupon', 1600),
        (8, 3, 'gift_card', 325),
    ],
}

# ... and those that differ: DuckDB's `/` divides as floats, Postgres's divides integers.
EXPECTED_DUCKDB: dict[str, list[tuple]] = {
    'cross_db': [
        ('2018-01-01T00:00:00', '2018-01-20T00:00:00', 2, '2018-02-28', 'b', 'c', 'waffle', 'fle', 6, 3, 'ab', 'f9d1e024ef226b4dca0863d7d3ade287', 42, 'true', "it's", 1.5, '2018-01-01T10:00:00', 3, 2.5, True, '2024-02-29'),
    ],
    'stg_payments': [
        (1, 1, 'credit_card', 10.0, 10.0),
        (2, 2, 'credit_card', 20.5, 20.5),
        (3, 3, 'coupon', 1.75, 1.75),
        (4, 4, 'bank_transfer', 25.0, 25.0),
        (5, 5, 'credit_card', 17.0, 17.0),
        (6, 6, 'gift_card', 6.0, 6.0),
        (7, 7, 'coupon', 16.0, 16.0),
        (8, 3, 'gift_card', 3.25, 3.25),
    ],
}


EXPECTED_POSTGRES: dict[str, list[tuple]] = {
    'cross_db': [
        ('2018-01-01T00:00:00', '2018-01-20T00:00:00', 2.0, '2018-02-28', 'b', 'c', 'waffle', 'fle', 6, 3, 'ab', 'f9d1e024ef226b4dca0863d7d3ade287', 42, 'true', "it's", 1.5, '2018-01-01T10:00:00', 3, 2.5, True, '2024-02-29'),
    ],
    'stg_payments': [
        (1, 1, 'credit_card', 10, 10.0),
        (2, 2, 'credit_card', 20, 20.5),
        (3, 3, 'coupon', 1, 1.75),
        (4, 4, 'bank_transfer', 25, 25.0),
        (5, 5, 'credit_card', 17, 17.0),
        (6, 6, 'gift_card', 6, 6.0),
        (7, 7, 'coupon', 16, 16.0),
        (8, 3, 'gift_card', 3, 3.25),
    ],
}


# ---- writing, building and reading the project ---------------------------------------------------
def write(root: Path, profile: dict[str, Any]) -> Path:
    """The project and its installed package under root (in dbt_packages/, as `dbt deps` leaves it), with a
    profiles.yml holding `profile` (one output): the files dbt reads, and pds reads the same."""
    for rel, text in {**PROJECT, **PACKAGE}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    if profile.get("type") == "duckdb":  # dbt-duckdb opens a relative path from the working directory
        profile = {**profile, "path": str(root / profile["path"])}
    (root / "profiles.yml").write_text(yaml.safe_dump({"jaffle": {"target": "ci", "outputs": {"ci": profile}}}))
    return root


def normalize(value: Any) -> Any:
    """A value as the expected rows hold it: numbers as floats (ints kept), dates and timestamps in ISO form
    (wall-clock time: a timestamp with a time zone loses it)."""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, decimal.Decimal | float):
        return round(float(value), 6)
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def rows_of(cursor: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor.execute(sql)
    return sorted((tuple(normalize(v) for v in row) for row in cursor.fetchall()), key=str)


def duckdb_relations(path: Path) -> dict[str, tuple[str, list[tuple[Any, ...]]]]:
    """Every relation pds or dbt built in a DuckDB file: name -> (schema, sorted rows)."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        found = con.execute("select table_schema, table_name from information_schema.tables "
                            "where table_schema not like 'pds_%' and table_name not like 'pds_%'").fetchall()
        return {name: (schema, rows_of(con.cursor(), f'select * from "{schema}"."{name}"')) for schema, name in found}
    finally:
        con.close()


def postgres_relations(connect: Any, schemas: list[str]) -> dict[str, tuple[str, list[tuple[Any, ...]]]]:
    out = {}
    with connect() as conn:
        cur = conn.cursor()
        for schema in schemas:
            cur.execute("select table_name from information_schema.tables where table_schema = %s", (schema,))
            for (name,) in cur.fetchall():
                if not name.startswith("pds_"):
                    out[name] = (schema, rows_of(conn.cursor(), f'select * from "{schema}"."{name}"'))
    return out


def expected(engine: str) -> dict[str, list[tuple[Any, ...]]]:
    return {**EXPECTED, **(EXPECTED_DUCKDB if engine == "duckdb" else EXPECTED_POSTGRES)}


def dbt_executable() -> str | None:
    """dbt-core with the duckdb and postgres adapters, where installed (never a dependency of pds)."""
    found = os.environ.get("PDS_DBT") or shutil.which("dbt")
    local = Path("/work/dbt-venv/bin/dbt")
    return found or (str(local) if local.exists() else None)


def dbt_build(root: Path) -> subprocess.CompletedProcess[str]:
    """`dbt build` on a copy of the project (dbt's own files only), in a fresh folder."""
    dbt = dbt_executable()
    assert dbt is not None
    return subprocess.run([dbt, "build", "--profiles-dir", str(root), "--project-dir", str(root)],
                          capture_output=True, text=True, cwd=root, timeout=600)
