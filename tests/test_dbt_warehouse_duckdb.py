"""dbt's warehouse-side config on DuckDB, end to end: persist_docs comments, contracts with constraints (and
foreign keys across rebuilds), seed options, grants (DuckDB has none: one warning), docs.show.

What is expected is what dbt-duckdb 1.11 leaves in the database for the same project: built by hand with
/work/dbt-venv's dbt build, twice (with `quote: true` on the seed's `First Name`, without which dbt-duckdb
fails on its comment), it left the same comments, constraints and column types. The values are written out
here, so the test runs without dbt.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.projects import invoke, pds, query, write_project

PROJECT = """\
name: proj
models:
  +persist_docs: {relation: true, columns: true}
seeds:
  +persist_docs: {relation: true, columns: true}
"""
PEOPLE = "id;First Name;ZipCode;amount\n1;Ann;01234;1.5\n2;Bob;98765;2\n"
SEEDS_YML = """\
seeds:
  - name: people
    description: "People, from a CSV with ; between fields"
    config:
      delimiter: ";"
      column_types: {ZipCode: varchar(5), id: integer}
    columns:
      - name: id
        description: "the person's id"
      - name: First Name
        description: first name
"""
SCHEMA = """\
models:
  - name: customers
    description: "Customers with it's \\"quotes\\" $$ and 'single'\\nover two lines"
    config:
      materialized: table
      contract: {enforced: true}
    constraints:
      - type: check
        expression: "id > 0"
        name: positive_id
    columns:
      - name: id
        data_type: integer
        description: customer id
        constraints: [{type: not_null}, {type: primary_key}]
      - name: first_name
        data_type: varchar
        constraints: [{type: unique}]
      - name: zip
        data_type: varchar
        description: zip code
  - name: orders
    description: orders
    config:
      materialized: table
      contract: {enforced: true}
    columns:
      - name: order_id
        data_type: integer
        constraints: [{type: primary_key}]
      - name: customer_id
        data_type: integer
        constraints:
          - type: foreign_key
            to: ref('customers')
            to_columns: [id]
      - name: amount
        data_type: numeric(10,2)
  - name: v_customers
    description: a view
    columns:
      - name: id
        description: id in the view
      - name: no_such_column
        description: not there
"""
CUSTOMERS = 'select id, "First Name" as first_name, "ZipCode" as zip from {{ ref(\'people\') }}\n'
ORDERS = "select 10 as order_id, 1 as customer_id, cast(5.0 as numeric(10,2)) as amount\n"


def shop(tmp_path: Path, **extra: str) -> Path:
    return write_project(tmp_path / "p", {
        "pds_project.yml": PROJECT, "seeds/people.csv": PEOPLE, "seeds/seeds.yml": SEEDS_YML,
        "models/schema.yml": SCHEMA, "models/customers.sql": CUSTOMERS, "models/orders.sql": ORDERS,
        "models/v_customers.sql": "{{ config(materialized='view') }}\nselect * from {{ ref('customers') }}\n",
        **extra})


def comments(project: Path) -> dict[str, object]:
    tables = dict(query(project, "select table_name, comment from duckdb_tables() where schema_name = 'main'"))
    views = dict(query(project, "select view_name, comment from duckdb_views() where schema_name = 'main' and not internal"))
    columns = query(project, "select table_name, column_name, comment from duckdb_columns() "
                             "where schema_name = 'main' and not internal order by table_name, column_index")
    return {"relations": {**tables, **views}, "columns": {(t, c): v for t, c, v in columns}}


def constraints(project: Path) -> set[tuple]:
    return set(query(project, "select table_name, constraint_type, constraint_text from duckdb_constraints() "
                              "where schema_name = 'main'"))


CONSTRAINTS = {
    ("customers", "CHECK", "CHECK((id > 0))"), ("customers", "NOT NULL", "NOT NULL"),
    ("customers", "PRIMARY KEY", "PRIMARY KEY(id)"), ("customers", "UNIQUE", "UNIQUE(first_name)"),
    ("orders", "PRIMARY KEY", "PRIMARY KEY(order_id)"), ("orders", "NOT NULL", "NOT NULL"),
    ("orders", "FOREIGN KEY", "FOREIGN KEY (customer_id) REFERENCES customers(id)")}


@pytest.mark.slow
def test_comments_constraints_and_seed_options_as_dbt_duckdb_leaves_them(tmp_path):
    project = shop(tmp_path)
    for _build in range(2):  # the second build replaces customers while orders' foreign key references it
        result = pds(project, "build")
        assert "Completed successfully" in result.stdout
        assert ("the following columns are described in schema YAML but are not in the view: no_such_column"
                in result.stderr)
        got = comments(project)
        assert got["relations"] == {
            "people": "People, from a CSV with ; between fields", "orders": "orders", "v_customers": "a view",
            "customers": "Customers with it's \"quotes\" $$ and 'single'\nover two lines"}
        assert got["columns"] == {
            ("customers", "id"): "customer id", ("customers", "first_name"): "", ("customers", "zip"): "zip code",
            ("orders", "order_id"): "", ("orders", "customer_id"): "", ("orders", "amount"): "",
            ("people", "id"): "the person's id", ("people", "First Name"): "first name",
            ("people", "ZipCode"): None, ("people", "amount"): None,
            ("v_customers", "id"): "id in the view", ("v_customers", "first_name"): None,
            ("v_customers", "zip"): None}
        assert constraints(project) == CONSTRAINTS
    assert query(project, "select * from people order by id") == [(1, "Ann", "01234", 1.5), (2, "Bob", "98765", 2.0)]
    assert query(project, "select data_type from duckdb_columns() where table_name = 'people' "
                          "order by column_index") == [("INTEGER",), ("VARCHAR",), ("VARCHAR",), ("DOUBLE",)]
    assert query(project, "select * from orders") == [(10, 1, pytest.approx(5))]
    assert query(project, "select data_type from duckdb_columns() where table_name = 'orders' and "
                          "column_name = 'amount'") == [("DECIMAL(10,2)",)]


@pytest.mark.slow
def test_a_violated_constraint_fails_the_node_and_keeps_the_old_table(tmp_path):
    project = shop(tmp_path)
    pds(project, "build")
    before = comments(project)
    # a second Bob: first_name is unique
    (project / "seeds/people.csv").write_text(PEOPLE + "3;Bob;11111;3\n")
    result = pds(project, "build", expect=1)
    assert "ERROR table customers" in result.stdout and "Constraint Error" in result.stdout
    assert "SKIP  orders" in result.stdout
    assert query(project, "select id, first_name from customers order by id") == [(1, "Ann"), (2, "Bob")]
    assert comments(project)["relations"]["customers"] == before["relations"]["customers"]
    assert constraints(project) == CONSTRAINTS
    # an order of a customer that does not exist: the foreign key
    (project / "seeds/people.csv").write_text(PEOPLE)
    (project / "models/orders.sql").write_text(ORDERS.replace("1 as customer_id", "99 as customer_id"))
    result = pds(project, "build", expect=1)
    assert "ERROR table orders" in result.stdout and "foreign key" in result.stdout.lower()
    assert query(project, "select order_id, customer_id from orders") == [(10, 1)]


@pytest.mark.slow
def test_a_referenced_table_is_replaced_only_with_its_dependents(tmp_path):
    project = shop(tmp_path)
    pds(project, "build")
    result = pds(project, "build", "-s", "customers", expect=1)
    assert ("cannot replace main.customers: duckdb does not replace a table that a foreign key references"
            in result.stdout)
    assert "orders (model orders is not selected in this run)" in result.stdout
    assert constraints(project) == CONSTRAINTS and query(project, "select count(*) from orders") == [(1,)]
    assert "Completed successfully" in pds(project, "build", "-s", "customers+").stdout
    assert constraints(project) == CONSTRAINTS


def test_constraint_declarations_are_checked_at_compile_time(tmp_path):
    bad = SCHEMA.replace("constraints: [{type: unique}]", "constraints: [{type: uniq}]")
    code, text = invoke(shop(tmp_path / "a", **{"models/schema.yml": bad}), "compile")
    assert code == 2 and "models/schema.yml:18: unknown constraint type 'uniq' in a constraint of " \
                         "customers.first_name" in text and "hint: one of: not_null, unique" in text
    bad = SCHEMA.replace("            to_columns: [id]\n", "")
    code, text = invoke(shop(tmp_path / "b", **{"models/schema.yml": bad}), "compile")
    assert code == 2 and "the foreign_key constraint of orders.customer_id needs to: and to_columns:" in text
    loose = SCHEMA.replace("      contract: {enforced: true}\n    constraints:", "    constraints:")
    code, text = invoke(shop(tmp_path / "c", **{"models/schema.yml": loose}), "compile")
    assert code == 0 and "Warning: models/schema.yml:2: the constraints of customers are not created: its " \
                         "contract is not enforced" in text


def test_the_foreign_key_target_is_a_parent(tmp_path):
    project = shop(tmp_path)
    code, text = invoke(project, "ls", "-s", "+orders")
    assert code == 0 and sorted(text.split()) == ["customers", "orders", "people"]


@pytest.mark.slow
def test_grants_on_duckdb_warn_once_and_merge_as_dbt(tmp_path):
    project = write_project(tmp_path / "p", {
        "pds_project.yml": "name: proj\nmodels:\n  +grants: {select: [reporter]}\n  marts:\n"
                           "    +grants: {+select: [bi], insert: [loader]}\n",
        "models/a.sql": "select 1 as x\n",
        "models/marts/b.sql": "{{ config(materialized='table') }}\nselect 1 as x\n",
        "models/marts/c.sql": "{{ config(grants={'select': ['only_me']}) }}\nselect 1 as x\n"})
    result = pds(project, "build")
    assert result.stderr.count("Warning: grants are set but duckdb has no grants: they are not applied") == 1
    assert "Completed successfully" in result.stdout
    nodes = json.loads((project / "target/manifest.json").read_text())["nodes"]
    assert nodes["model.proj.a"]["config"]["grants"] == {"select": ["reporter"]}
    assert nodes["model.proj.b"]["config"]["grants"] == {"select": ["reporter", "bi"], "insert": ["loader"]}
    assert nodes["model.proj.c"]["config"]["grants"] == {"select": ["only_me"], "insert": ["loader"]}


@pytest.mark.slow
def test_seed_quote_columns(tmp_path):
    csv = "Id,CamelCase,snake\n1,a,b\n"
    unquoted = write_project(tmp_path / "u", {"seeds/s.csv": csv,
                                              "seeds/s.yml": "seeds:\n  - name: s\n    config:\n"
                                                             "      quote_columns: false\n"})
    pds(unquoted, "seed")
    assert [r[0] for r in query(unquoted, "select column_name from duckdb_columns() where table_name = 's' "
                                          "order by column_index")] == ["Id", "CamelCase", "snake"]
    spaced = write_project(tmp_path / "s", {"seeds/s.csv": "first name,b\nx,1\n",
                                            "seeds/s.yml": "seeds:\n  - name: s\n    config:\n"
                                                           "      quote_columns: false\n"})
    result = pds(spaced, "seed", expect=1)
    assert "seed column 'first name' cannot be written unquoted (quote_columns: false)" in result.stdout
    assert "hint: set quote_columns: true" in result.stdout


@pytest.mark.slow
def test_docs_show_false_hides_a_node_from_the_docs_site(tmp_path):
    project = write_project(tmp_path / "p", {
        "models/shown.sql": "select 1 as x\n", "models/hidden.sql": "select x from {{ ref('shown') }}\n",
        "models/also_hidden.sql": "{{ config(docs={'show': false}) }}\nselect 1 as y\n",
        "models/schema.yml": "models:\n  - name: hidden\n    docs:\n      show: false\n    columns:\n"
                             "      - name: x\n        tests: [not_null]\n"})
    pds(project, "build")
    pds(project, "docs", "generate")
    text = (project / "target/docs/data.js").read_text(encoding="utf-8")
    site = json.loads(text[len("window.PDS_DOCS = "):].rstrip().rstrip(";"))
    assert sorted(n["name"] for n in site["nodes"].values()) == ["shown"]
    assert site["tests"] == {} and site["edges"] == []
