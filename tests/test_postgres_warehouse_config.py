"""dbt's warehouse-side config on the real Postgres at 127.0.0.1:5432: grants (applied, then only the
difference revoked and granted), persist_docs comments, contracts with constraints, seed quote_columns, all
inside the build's transaction. Roles are created per test and dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import engine_postgres as pg
from tests.conftest import run_pds

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(pg.unavailable() is not None, reason=str(pg.unavailable()))]


def query(sql: str, *params: object) -> list[tuple]:
    with pg.connect() as conn:
        cur = conn.execute(sql, params or None)
        return cur.fetchall() if cur.description else []


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"pds_wc_{uuid.uuid4().hex[:8]}"
    with pg.target(name):
        yield name


@pytest.fixture
def roles() -> Iterator[list[str]]:
    names = [f"pds_role_{uuid.uuid4().hex[:6]}_{i}" for i in range(3)]
    for name in names:
        query(f'CREATE ROLE "{name}"')
    yield names
    for name in names:
        query(f'DROP OWNED BY "{name}"')
        query(f'DROP ROLE "{name}"')


def project(folder: Path, schema: str, files: dict[str, str]) -> Path:
    settings = {"type": "postgres", "host": pg.HOST, "port": pg.PORT, "user": pg.user(), "dbname": pg.DBNAME,
                "schema": schema, "threads": 2}
    files = {"pds_project.yml": "name: wc\nprofile: wc\nmodels:\n  +persist_docs: {relation: true, columns: true}\n",
             "profiles.yml": yaml.safe_dump({"wc": {"target": "pg", "outputs": {"pg": settings}}}), **files}
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def build(folder: Path, *args: str, code: int = 0) -> str:
    result = run_pds("build", "--project-dir", str(folder), *args)
    out = result.stdout + result.stderr
    assert result.returncode == code, out
    return out


def grants(schema: str) -> set[tuple[str, str, str]]:
    return set(query("SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants "
                     "WHERE table_schema = %s AND grantee <> current_user", schema))


def comments(schema: str) -> dict[tuple[str, str | None], str | None]:
    rows = query("SELECT c.relname, NULL, obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n "
                 "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'v') UNION ALL "
                 "SELECT c.relname, a.attname, col_description(c.oid, a.attnum) FROM pg_class c JOIN pg_namespace n "
                 "ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                 "WHERE n.nspname = %s AND c.relkind IN ('r', 'v')", schema, schema)
    return {(t, c): d for t, c, d in rows if d is not None}


def constraints(schema: str) -> set[tuple[str, str]]:
    return {(str(t).split(".")[-1], d) for t, d in query(
        "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = %s::regnamespace", schema)}


SCHEMA_YML = """\
models:
  - name: customers
    description: "Customers: it's $$ quoted"
    config:
      materialized: table
      contract: {enforced: true}
      grants: {select: [R0, R1]}
    constraints:
      - {type: check, expression: "id > 0", name: positive_id}
    columns:
      - {name: id, data_type: integer, description: the id, constraints: [{type: not_null}, {type: primary_key}]}
      - {name: name, data_type: text, constraints: [{type: unique}]}
  - name: orders
    config:
      materialized: table
      contract: {enforced: true}
    constraints:
      - {type: primary_key, columns: [order_id], name: orders_pk}
    columns:
      - {name: order_id, data_type: integer}
      - name: customer_id
        data_type: integer
        constraints: [{type: foreign_key, to: "ref('customers')", to_columns: [id]}]
  - name: recent
    description: a view
    config:
      grants: {select: [R2]}
    columns:
      - {name: id, description: id in the view}
"""
FILES = {
    "seeds/people.csv": "Id,CamelCase,name\n1,x,Ann\n2,y,Bob\n",
    "seeds/people.yml": "seeds:\n  - name: people\n    config:\n      quote_columns: false\n"
                        "      persist_docs: {relation: true}\n    description: people\n",
    "models/customers.sql": "select cast(id as integer) as id, name from {{ ref('people') }}\n",
    "models/orders.sql": "select 10 as order_id, 1 as customer_id\n",
    "models/recent.sql": "select id from {{ ref('customers') }}\n",
    "models/loads.sql": "{{ config(materialized='incremental', unique_key='id', grants={'select': ['R1']}) }}\n"
                        "select 1 as id\n",
}


def files_for(roles: list[str], **changes: str) -> dict[str, str]:
    out = {**FILES, "models/schema.yml": SCHEMA_YML, **changes}
    for i, role in enumerate(roles):
        out = {k: v.replace(f"R{i}", role) for k, v in out.items()}
    return out


@pytest.mark.slow
def test_grants_comments_constraints_and_seed_columns(tmp_path: Path, schema: str, roles: list[str]) -> None:
    r0, r1, r2 = roles
    folder = project(tmp_path / "p", schema, files_for(roles))
    build(folder)
    assert grants(schema) == {("customers", r0, "SELECT"), ("customers", r1, "SELECT"), ("recent", r2, "SELECT"),
                              ("loads", r1, "SELECT")}
    assert comments(schema) == {
        ("people", None): "people", ("customers", None): "Customers: it's $$ quoted", ("customers", "id"): "the id",
        ("recent", None): "a view", ("recent", "id"): "id in the view"}  # '' is no comment on Postgres
    assert constraints(schema) == {
        ("customers", "CHECK ((id > 0))"), ("customers", "PRIMARY KEY (id)"), ("customers", "UNIQUE (name)"),
        ("orders", "PRIMARY KEY (order_id)"),
        ("orders", f"FOREIGN KEY (customer_id) REFERENCES {schema}.customers(id)")}
    named = "SELECT conname FROM pg_constraint WHERE conname = 'orders_pk' AND connamespace = %s::regnamespace"
    assert query(named, schema) == [("orders_pk",)]  # named: replaced in place, so the name stays free
    # quote_columns: false: Postgres folds the unquoted names
    assert [r[0] for r in query("SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND "
                                "table_name = 'people' ORDER BY ordinal_position", schema)] == ["id", "camelcase",
                                                                                              "name"]
    # the second build: the grants change; only the difference is revoked and granted
    changed = files_for(roles, **{"models/loads.sql": FILES["models/loads.sql"].replace("['R1']", "['R2']")})
    changed["models/schema.yml"] = changed["models/schema.yml"].replace(f"[{r0}, {r1}]", f"[{r1}, {r2}]")
    project(folder, schema, changed)
    build(folder)
    assert grants(schema) == {("customers", r1, "SELECT"), ("customers", r2, "SELECT"), ("recent", r2, "SELECT"),
                              ("loads", r2, "SELECT")}
    sent = (folder / "target/run/wc/models/loads.sql").read_text()
    assert f'REVOKE SELECT ON {schema}.loads FROM "{r1}"' in sent and f"GRANT select ON {schema}.loads TO {r2}" in sent
    assert "MERGE INTO" in sent  # the incremental path: grants carried over, so they were read and diffed
    assert constraints(schema) >= {("orders", f"FOREIGN KEY (customer_id) REFERENCES {schema}.customers(id)")}
    assert query(named, schema) == [("orders_pk",)]
    assert query(f"SELECT count(*) FROM {schema}.orders") == [(1,)]


@pytest.mark.slow
def test_a_failed_build_or_grant_keeps_the_old_table_with_its_grants_and_comments(tmp_path: Path, schema: str,
                                                                                  roles: list[str]) -> None:
    folder = project(tmp_path / "p", schema, files_for(roles))
    build(folder)
    before = (grants(schema), comments(schema), query(f"SELECT id, name FROM {schema}.customers ORDER BY id"))
    # a NULL id violates not_null: the staged table never replaces the old one
    changed = files_for(roles, **{"models/customers.sql": "select cast(null as integer) as id, 'Zed' as name\n"})
    build(project(folder, schema, changed), code=1)
    assert (grants(schema), comments(schema), query(f"SELECT id, name FROM {schema}.customers ORDER BY id")) == before
    # a grant to a role that does not exist fails after the table is built: the whole transaction rolls back
    changed = files_for(roles, **{"models/customers.sql": "select 5 as id, 'Eve' as name\n"})
    changed["models/schema.yml"] = changed["models/schema.yml"].replace(roles[0], "pds_no_such_role")
    out = build(project(folder, schema, changed), "-s", "customers+", code=1)
    assert 'role "pds_no_such_role" does not exist' in out
    assert (grants(schema), comments(schema), query(f"SELECT id, name FROM {schema}.customers ORDER BY id")) == before


@pytest.mark.slow
def test_external_is_duckdb_only(tmp_path: Path, schema: str) -> None:
    folder = project(tmp_path / "p", schema, {"models/files.sql": "{{ config(materialized='external') }}\n"
                                                                  "select 1 as x\n"})
    out = build(folder, code=1)
    assert "files is materialized as external, which writes files with DuckDB; the target is postgres" in out
