"""The DDL for an enforced contract's constraints and the GRANT/REVOKE statements, per engine, as rendered for
each real adapter (recording connection, no warehouse). Each engine keeps the constraints dbt's adapter for it
supports: DuckDB and Postgres all of them; Snowflake no check; BigQuery no check and no unique, its keys
NOT ENFORCED."""

from __future__ import annotations

import pytest

from pds_adapters import constraints as c
from pds_adapters import grants as g
from pds_adapters.errors import ProjectError
from pds_adapters.relation import Relation
from tests.unit.adapters.recording import recording

COLUMNS = [
    c.DeclaredColumn("id", "integer", False, [c.Constraint("not_null"), c.Constraint("primary_key"),
                                              c.Constraint("check", expression="id > 0")]),
    c.DeclaredColumn("customer_id", "integer", False,
                     [c.Constraint("foreign_key", to=Relation("an", "customers"), to_columns=["id"])]),
    c.DeclaredColumn("name", "varchar", False, [c.Constraint("unique")]),
]
MODEL = [c.Constraint("primary_key", name="pk", columns=["id"]), c.Constraint("check", name="chk", expression="id < 100")]
CREATE = {
    "duckdb": "CREATE TABLE wh.an.m (id INT NOT NULL PRIMARY KEY CHECK (id > 0), customer_id INT REFERENCES "
              "wh.an.customers (id), name TEXT UNIQUE, CONSTRAINT pk PRIMARY KEY (id), CONSTRAINT chk CHECK (id < 100))",
    "postgres": "CREATE TABLE an.m (id INT NOT NULL PRIMARY KEY CHECK (id > 0), customer_id INT REFERENCES "
                "an.customers (id), \"name\" VARCHAR UNIQUE, CONSTRAINT pk PRIMARY KEY (id), CONSTRAINT chk CHECK "
                "(id < 100))",
    "snowflake": "CREATE TABLE wh.an.m (id INT NOT NULL PRIMARY KEY, customer_id INT REFERENCES wh.an.customers (id), "
                 "name VARCHAR UNIQUE, CONSTRAINT pk PRIMARY KEY (id))",
    "bigquery": "CREATE TABLE proj.an.m (id INT64 NOT NULL PRIMARY KEY NOT ENFORCED, customer_id INT64 REFERENCES "
                "proj.an.customers (id) NOT ENFORCED, name STRING, CONSTRAINT pk PRIMARY KEY (id) NOT ENFORCED)",
}


@pytest.mark.parametrize("engine", sorted(CREATE))
def test_constraints_in_create_table(engine: str) -> None:
    adapter, _ = recording(engine)
    assert c.create_statement(adapter, Relation("an", "m"), COLUMNS, MODEL).sql(dialect=adapter.dialect) == \
        CREATE[engine]


GRANTS = {
    "postgres": ({"select": ["Old One"]}, {"select": ["reporter", "BI"]},
                 ['REVOKE select ON an.m FROM "Old One"', "GRANT select ON an.m TO reporter, BI"]),
    "snowflake": ({"select": ["Old One"]}, {"select": ["reporter", "BI"]},
                  ['REVOKE select ON TABLE wh.an.m FROM "Old One"', "GRANT select ON TABLE wh.an.m TO reporter, BI"]),
    "bigquery": ({"roles/bigquery.dataViewer": ["user:o@x.com"]}, {"roles/bigquery.dataViewer": ["user:a@x.com"]},
                 ["REVOKE `roles/bigquery.dataViewer` ON TABLE proj.an.m FROM 'user:o@x.com'",
                  "GRANT `roles/bigquery.dataViewer` ON TABLE proj.an.m TO 'user:a@x.com'"]),
}


@pytest.mark.parametrize("engine", sorted(GRANTS))
def test_grant_and_revoke_statements(engine: str) -> None:
    adapter, _ = recording(engine)
    revoke, grant, expected = GRANTS[engine]
    sent = [s.sql(dialect=adapter.dialect) for s in g.statements(adapter, Relation("an", "m"), "table", revoke, grant)]
    assert sent == expected


def test_the_difference_is_case_insensitive_and_keeps_the_config_case() -> None:
    assert g.diff({"select": ["A", "b"], "insert": ["c"]}, {"SELECT": ["a"]}) == {"select": ["b"], "insert": ["c"]}
    assert g.normalize({"+select": "reporter", "insert": None}) == {"select": ["reporter"], "insert": []}


def test_grantees_are_quoted_and_privileges_checked() -> None:
    adapter, _ = recording("postgres")
    [sent] = g.statements(adapter, Relation("an", "m"), "table", {}, {"select": ["x; drop table t"]})
    assert sent.sql(dialect="postgres") == 'GRANT select ON an.m TO "x; drop table t"'
    with pytest.raises(ProjectError, match="is not a privilege"):
        g.statements(adapter, Relation("an", "m"), "table", {}, {"select on t to x; --": ["y"]})
