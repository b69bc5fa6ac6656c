"""A small project written from a dict of files, for the compile tests (errors, validation, lineage, ...)."""

from __future__ import annotations

import textwrap
from pathlib import Path

PROJECT_YML = """\
name: cproj
profile: cproj
model-paths: [models]
seed-paths: [seeds]
macro-paths: [macros]
"""

PROFILES_YML = """\
cproj:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: warehouse.duckdb
      schema: main
      threads: 1
    unreachable:
      type: postgres
      host: 127.0.0.1
      port: 1
      user: nobody
      dbname: nothing
      schema: main
"""


def write_project(root: Path, files: dict[str, str]) -> Path:
    """pds_project.yml and profiles.yml (a DuckDB file, and a Postgres target nobody listens on) plus files."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in {"pds_project.yml": PROJECT_YML, "profiles.yml": PROFILES_YML, **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


# Two seeds, their staging models and a source with declared columns: the base of several compile tests.
SHOP = {
    "seeds/customers.csv": "id,name,country\n1,Ann,NL\n2,Bob,GB\n",
    "seeds/orders.csv": "id,customer_id,amount_cents,status\n1,1,100,completed\n2,2,250,returned\n",
    "models/stg_customers.sql": "select * from {{ ref('customers') }}\n",  # columns come from the CSV header
    "models/stg_orders.sql": "select id as order_id, customer_id, amount_cents / 100.0 as amount, status\n"
                             "from {{ ref('orders') }}\n",
}

EVENTS_SOURCE = """
version: 2
sources:
  - name: app
    schema: raw
    tables:
      - name: events
        columns:
          - name: event_id
          - name: user_id
          - name: kind
"""
