"""Column lineage across models (joins, aggregates, CTEs, `*`, an ephemeral model, a subquery on a source)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.compile_project import EVENTS_SOURCE, SHOP, write_project
from tests.conftest import run_pds

FILES = {
    **SHOP,
    "models/schema.yml": EVENTS_SOURCE,
    "models/customer_revenue.sql": """
        with completed as (
            select * from {{ ref('stg_orders') }} where status = 'completed'
        )
        select
            c.id as customer_id,
            upper(c.name) as name,
            sum(o.amount) as revenue,
            count(*) as n_orders,
            max(o.amount) - min(o.amount) as spread
        from {{ ref('stg_customers') }} c
        join completed o on o.customer_id = c.id
        group by 1, 2
        """,
    "models/doubled.sql": """
        {{ config(materialized='ephemeral') }}
        select customer_id, revenue * 2 as double_revenue from {{ ref('customer_revenue') }}
        """,
    "models/report.sql": """
        select d.*, c.country, e.n_events
        from {{ ref('doubled') }} d
        join {{ ref('stg_customers') }} c on c.id = d.customer_id
        left join (
            select user_id, count(event_id) as n_events from {{ source('app', 'events') }} group by user_id
        ) e on e.user_id = d.customer_id
        """,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    proj = write_project(tmp_path_factory.mktemp("lineage") / "proj", FILES)
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 0, result.stdout + result.stderr
    return proj


def refs(*pairs: str) -> list[dict[str, str]]:
    return [{"node": node, "column": column} for node, column in (p.rsplit(":", 1) for p in pairs)]


def test_manifest_has_lineage_of_every_model_column(project):
    nodes = json.loads((project / "target/manifest.json").read_text())["nodes"]
    lineage = {uid: n["column_lineage"] for uid, n in nodes.items() if n["resource_type"] == "model"}
    assert lineage == {
        "model.cproj.stg_customers": {  # SELECT * expanded from the seed's CSV header
            "id": refs("seed.cproj.customers:id"),
            "name": refs("seed.cproj.customers:name"),
            "country": refs("seed.cproj.customers:country"),
        },
        "model.cproj.stg_orders": {
            "order_id": refs("seed.cproj.orders:id"),
            "customer_id": refs("seed.cproj.orders:customer_id"),
            "amount": refs("seed.cproj.orders:amount_cents"),
            "status": refs("seed.cproj.orders:status"),
        },
        "model.cproj.customer_revenue": {  # through the CTE's `*` to the parent model
            "customer_id": refs("model.cproj.stg_customers:id"),
            "name": refs("model.cproj.stg_customers:name"),
            "revenue": refs("model.cproj.stg_orders:amount"),
            "n_orders": [],  # count(*) reads no column
            "spread": refs("model.cproj.stg_orders:amount"),
        },
        "model.cproj.doubled": {
            "customer_id": refs("model.cproj.customer_revenue:customer_id"),
            "double_revenue": refs("model.cproj.customer_revenue:revenue"),
        },
        "model.cproj.report": {  # d.* from an ephemeral model; a subquery over a source
            "customer_id": refs("model.cproj.doubled:customer_id"),
            "double_revenue": refs("model.cproj.doubled:double_revenue"),
            "country": refs("model.cproj.stg_customers:country"),
            "n_events": refs("source.cproj.app.events:event_id"),
        },
    }


def test_lineage_command_upstream_tree(project):
    result = run_pds("lineage", "report.double_revenue", "--project-dir", str(project))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "report.double_revenue  [model]",
        "└── doubled.double_revenue  [model]",
        "    └── customer_revenue.revenue  [model]",
        "        └── stg_orders.amount  [model]",
        "            └── orders.amount_cents  [seed]",
    ]
    result = run_pds("lineage", "report.n_events", "--project-dir", str(project))
    assert result.stdout.splitlines() == ["report.n_events  [model]", "└── app.events.event_id  [source]"]


def test_lineage_command_downstream_tree(project):
    result = run_pds("lineage", "orders.amount_cents", "--downstream", "--project-dir", str(project))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "orders.amount_cents  [seed]",
        "└── stg_orders.amount  [model]",
        "    ├── customer_revenue.revenue  [model]",
        "    │   └── doubled.double_revenue  [model]",
        "    │       └── report.double_revenue  [model]",
        "    └── customer_revenue.spread  [model]",
    ]


def test_lineage_command_errors(project):
    result = run_pds("lineage", "report.countr", "--project-dir", str(project))
    assert result.returncode == 2
    assert "report has no column 'countr'" in result.stderr and "did you mean 'country'?" in result.stderr
    result = run_pds("lineage", "reprot.country", "--project-dir", str(project))
    assert result.returncode == 2 and "no model, seed or source named 'reprot'" in result.stderr
    result = run_pds("lineage", "report", "--project-dir", str(project))
    assert result.returncode == 2 and "expected MODEL.COLUMN" in result.stderr
