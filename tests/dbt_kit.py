"""dbt-shaped projects for the front-door tests: written by the tests (never copied from public projects),
run through the real CLI from the project folder, as a dbt user runs `dbt build` there.

JAFFLE is a small jaffle-shop-like project: dbt_project.yml with Jinja in it, a local package
(`jaffle_helpers`, beside it) listed in packages.yml, seeds under a custom schema, a
generate_schema_name override in macros/, staging views and mart tables, schema YAML with dbt 1.10+
`arguments:`, a source, a YAML-defined snapshot, the semantic layer and an exposure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb

JAFFLE = {
    "dbt_project.yml": """
        name: jaffle
        version: "1.0.0"
        config-version: 2
        profile: jaffle
        require-dbt-version: [">=1.5.0", "<2.0.0"]
        model-paths: ["models"]
        seed-paths: ["seeds"]
        analysis-paths: ["analyses"]
        snapshot-paths: ["snapshots"]
        target-path: "{{ env_var('JAFFLE_ROOT', '.') }}/target"
        clean-targets: ["target", "dbt_packages"]
        dbt-cloud:
          project-id: 12345
        vars:
          "dbt_date:time_zone": "America/Los_Angeles"
        seeds:
          jaffle:
            +schema: raw
            jaffle-data:
              +enabled: "{{ var('load_source_data', true) }}"
        models:
          jaffle:
            staging:
              +materialized: view
            marts:
              +materialized: table
          jaffle_helpers:
            +materialized: table
        """,
    "packages.yml": """
        packages:
          - local: ../jaffle_helpers
        """,
    "profiles.yml": """
        jaffle:
          target: "{{ env_var('JAFFLE_TARGET', 'dev') }}"
          outputs:
            dev:
              type: duckdb
              path: jaffle.duckdb
              threads: 2
        """,
    "macros/generate_schema_name.sql": """
        {% macro generate_schema_name(custom_schema_name, node) -%}
            {%- if custom_schema_name is none -%}{{ target.schema }}
            {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
        {%- endmacro %}
        """,
    "seeds/jaffle-data/raw_customers.csv": "id,name\n1,Ann\n2,Bo\n3,Cy\n",
    "seeds/jaffle-data/raw_orders.csv": ("id,customer_id,ordered_at,status,amount_cents\n"
                                         "1,1,2024-01-02,completed,1250\n2,1,2024-01-09,completed,800\n"
                                         "3,2,2024-02-01,returned,300\n4,3,2024-02-11,placed,4100\n"),
    "models/staging/stg_customers.sql": """
        select id as customer_id, name as customer_name from {{ ref('raw_customers') }}
        """,
    "models/staging/stg_orders.sql": """
        select id as order_id, customer_id, cast(ordered_at as date) as ordered_at, status,
               amount_cents / 100.0 as amount
        from {{ ref('raw_orders') }}
        """,
    "models/staging/__models.yml": """
        version: 2
        models:
          - name: stg_customers
            description: One row per customer.
            columns:
              - name: customer_id
                data_tests: [unique, not_null]
          - name: stg_orders
            config:
              tags: [staging]
            columns:
              - name: order_id
                data_tests:
                  - unique
                  - not_null:
                      config:
                        severity: error
              - name: status
                data_tests:
                  - accepted_values:
                      arguments:
                        values: [placed, completed, returned]
              - name: customer_id
                data_tests:
                  - relationships:
                      arguments:
                        to: ref('stg_customers')
                        field: customer_id
        """,
    "models/marts/customers.sql": """
        select c.customer_id, c.customer_name, count(o.order_id) as orders, min(o.ordered_at) as first_ordered_at,
               coalesce(sum(case when o.status = 'completed' then o.amount end), 0) as lifetime_value
        from {{ ref('stg_customers') }} c
        left join {{ ref('stg_orders') }} o using (customer_id)
        group by 1, 2
        """,
    "models/marts/metricflow_time_spine.sql": """
        select cast('2024-01-01' as date) as date_day
        union all select cast('2024-01-02' as date)
        """,
    "models/marts/__models.yml": """
        version: 2
        models:
          - name: customers
            description: Customers with their lifetime value.
            columns:
              - name: customer_id
                data_tests: [unique]
          - name: metricflow_time_spine
            time_spine:
              standard_granularity_column: date_day
            columns:
              - name: date_day
                granularity: day
        semantic_models:
          - name: customers
            model: ref('customers')
            defaults: {agg_time_dimension: first_ordered_at}
            entities: [{name: customer, type: primary, expr: customer_id}]
            dimensions: [{name: first_ordered_at, type: time, type_params: {time_granularity: day}}]
            measures: [{name: lifetime_value, agg: sum}]
        metrics:
          - name: total_lifetime_value
            label: Total lifetime value
            type: simple
            type_params: {measure: lifetime_value}
        exposures:
          - name: revenue_dashboard
            type: dashboard
            owner: {name: Finance}
            depends_on: [ref('customers')]
        groups:
          - name: finance
            owner: {name: Finance}
        """,
    "snapshots/customers_snapshot.yml": """
        snapshots:
          - name: customers_snapshot
            relation: ref('stg_customers')
            config:
              strategy: check
              unique_key: customer_id
              check_cols: all
        """,
    "analyses/order_count.sql": "select count(*) from {{ ref('stg_orders') }}\n",
}

HELPERS = {  # the local package, in a folder beside the project
    "dbt_project.yml": """
        name: jaffle_helpers
        version: "0.1.0"
        config-version: 2
        require-dbt-version: [">=1.3.0", "<3.0.0"]
        log-path: logs
        models:
          jaffle_helpers:
            +materialized: view
            +tags: [helpers]
        seeds:
          jaffle_helpers:
            +schema: "{{ 'helpers' }}"
        """,
    "models/order_statuses.sql": "select status, rank from {{ ref('status_ranks') }}\n",
    "seeds/status_ranks.csv": "status,rank\nplaced,1\ncompleted,2\nreturned,3\n",
    "models/schema.yml": """
        version: 2
        models:
          - name: order_statuses
            columns:
              - name: status
                data_tests: [unique]
        """,
}


def write(root: Path, files: dict[str, str]) -> Path:
    """Lay out a project: {relative path: text} (dedented)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def jaffle(tmp: Path, **overrides: str | None) -> Path:
    """The JAFFLE project in tmp/jaffle (its package in tmp/jaffle_helpers); overrides replace or, as None,
    remove files."""
    write(tmp / "jaffle_helpers", HELPERS)
    files = {**JAFFLE, **overrides}
    project = write(tmp / "jaffle", {k: v for k, v in files.items() if v is not None})
    return project


def pds(project: Path, *args: str, env: dict[str, str] | None = None, expect: int | None = 0,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`pds ARGS` run from the project folder (cwd), as `dbt` is run; the exit code checked unless None."""
    import os

    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    result = subprocess.run([sys.executable, "-m", "pds_core.cli", *args], cwd=cwd or project, env=full_env,
                            capture_output=True, text=True, timeout=300)
    if expect is not None:
        assert result.returncode == expect, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def manifest(project: Path, target: str = "target") -> dict[str, Any]:
    return json.loads((project / target / "manifest.json").read_text(encoding="utf-8"))


def relation(project: Path, unique_id: str, target: str = "target") -> str:
    """The relation a node was built into, as the manifest names it (schema.identifier)."""
    data = manifest(project, target)
    node = data["nodes"].get(unique_id) or data["sources"][unique_id]
    return node["relation"]


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def warnings_of(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
