"""Small real projects for the quality tests: a shop with seeds, SQL and Python models, written to tmp dirs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import duckdb

BASE: dict[str, str] = {
    "pds_project.yml": """
        name: shop
        profile: shop
        vars: {bad_rows: 0, scale: 1}
    """,
    "profiles.yml": """
        shop:
          target: dev
          outputs:
            dev: {type: duckdb, path: shop.duckdb, schema: main, threads: 4}
    """,
    "seeds/raw_orders.csv": """
        order_id,customer_id,amount,status,ordered_at
        1,1,10.0,completed,2024-01-01
        2,1,20.0,completed,2024-01-02
        3,2,30.0,returned,2024-01-03
        4,3,40.0,completed,2024-01-04
    """,
    "seeds/raw_customers.csv": """
        customer_id,name
        1,Ann
        2,Bob
        3,Cy
    """,
    # --vars '{bad_rows: 1}' adds an order with no id, an unknown customer and a negative amount
    "models/stg_orders.sql": """
        select order_id, customer_id, amount * {{ var('scale') }} as amount, status, cast(ordered_at as date) as ordered_at
        from {{ ref('raw_orders') }}
        {% if var('bad_rows') %}
        union all select null, 99, -5, 'lost', date '2024-02-01'
        {% endif %}
    """,
    "models/orders_enriched.sql": """
        select o.*, c.name from {{ ref('stg_orders') }} o left join {{ ref('raw_customers') }} c using (customer_id)
    """,
    "models/order_summary.sql": """
        select status, count(*) as n, sum(amount) as total from {{ ref('orders_enriched') }} group by status
    """,
    "models/customer_scores.py": '''
        import pandas as pd

        def model(ctx):
            orders = ctx.ref("stg_orders")
            scale = float(ctx.var("scale", 1))
            per = orders.groupby("customer_id", as_index=False)["amount"].sum()
            per["score"] = (per["amount"] / (100.0 * scale)).clip(upper=1.0)
            return per[["customer_id", "score"]]
    ''',
}


def write_project(root: Path, files: dict[str, str | None] | None = None) -> Path:
    """The base shop project, with `files` added or replaced (None removes a file)."""
    merged: dict[str, str | None] = {**BASE, **(files or {})}
    for rel, text in merged.items():
        path = root / rel
        if text is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).strip() + "\n", encoding="utf-8")
    return root


def query(root: Path, sql: str, params: Any = None) -> list[tuple]:
    """Rows from the project's DuckDB file, opened read-only after the CLI has exited."""
    con = duckdb.connect(str(root / "shop.duckdb"), read_only=True)
    try:
        return con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    finally:
        con.close()


def lines_with(output: str, *needles: str) -> list[str]:
    return [line for line in output.splitlines() if all(n in line for n in needles)]
