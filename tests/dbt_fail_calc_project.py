"""A dbt project whose tests count failures with `fail_calc`, judge them with `warn_if`/`error_if`, cut
them with `limit`, keep them with `store_failures`, and read `execute` (rendered only with the warehouse),
like dbt_utils.equal_rowcount / fewer_rows_than / equality do, from a local package written here.

The statuses and failure counts in EXPECTED are what dbt-core 1.11 (dbt-duckdb and dbt-postgres)
reported for these files (`dbt build` by hand with /work/dbt-venv), written out so the test runs
without dbt.
"""

from __future__ import annotations

PACKAGE = {
    "dbt_packages/checks/dbt_project.yml": "name: checks\nversion: '1.0'\nconfig-version: 2\n",
    "dbt_packages/checks/macros/tests.sql": """
{% test count_gap(model, compare_model) %}
{#- fail_calc set at parse time, before the return below, as dbt_utils.equal_rowcount does -#}
{{ config(fail_calc = 'sum(gap)') }}
{%- if not execute -%}
    {{ return('') }}
{%- endif -%}
select (select count(*) from {{ model }}) - (select count(*) from {{ compare_model }}) as gap
{% endtest %}

{% test same_rows(model, compare_model) %}
{%- if not execute -%}
    {{ return('') }}
{%- endif -%}
{#- the columns, asked of the warehouse (dbt_utils.equality does the same) -#}
{%- set cols = adapter.get_columns_in_relation(model) | map(attribute='name') | join(', ') -%}
(select {{ cols }} from {{ model }} except select {{ cols }} from {{ compare_model }})
union all
(select {{ cols }} from {{ compare_model }} except select {{ cols }} from {{ model }})
{% endtest %}
""",
}
FILES = {
    "dbt_project.yml": "name: shop\nversion: '1.0'\nprofile: shop\nconfig-version: 2\n",
    "packages.yml": "packages:\n  - local: dbt_packages/checks\n",
    "seeds/a.csv": "id,v\n1,10\n2,20\n3,30\n",
    "seeds/b.csv": "id,v\n1,10\n2,20\n",
    "seeds/c.csv": "id,v\n1,10\n2,20\n3,30\n",
    "seeds/d.csv": "id,v\n1,10\n2,21\n3,30\n",
    "models/m.sql": "select * from {{ ref('a') }}\n",
    "models/schema.yml": """
models:
  - name: m
    data_tests:
      - checks.count_gap: {arguments: {compare_model: ref('b')}, name: gap_b}
      - checks.count_gap: {arguments: {compare_model: ref('c')}, name: gap_c}
      - checks.count_gap:
          name: gap_b_warn
          arguments: {compare_model: ref('b')}
          config: {warn_if: ">0", error_if: ">5"}
      - checks.count_gap:
          name: gap_b_stored
          arguments: {compare_model: ref('b')}
          config: {store_failures: true}
      - checks.same_rows: {arguments: {compare_model: ref('d')}, name: rows_d}
      - checks.same_rows: {arguments: {compare_model: ref('d')}, name: rows_d_limited, config: {limit: 1}}
      - checks.same_rows: {arguments: {compare_model: ref('c')}, name: rows_c}
""",
    "tests/biggest_v.sql": """
-- depends_on: {{ ref('m') }}
{{ config(fail_calc = 'max(v)', warn_if = '>= 20', error_if = '>= 100') }}
{% if execute %}
select v from {{ ref('m') }}
{% endif %}
""",
}
# test name -> (dbt's status in run_results.json, failures)
EXPECTED = {"gap_b": ("fail", 1), "gap_c": ("pass", 0), "gap_b_warn": ("warn", 1), "gap_b_stored": ("fail", 1),
            "rows_d": ("fail", 2), "rows_d_limited": ("fail", 1), "rows_c": ("pass", 0), "biggest_v": ("warn", 30)}
