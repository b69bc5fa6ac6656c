"""A dbt project as it is: dbt_project.yml read and rendered as dbt renders it, its packages.yml installed by
`pds deps` and its package loaded, its schema YAML read as dbt 1.11 reads it, its nodes named as dbt names
them; built on DuckDB and Postgres and the resulting tables checked.

The expected unique ids are those dbt 1.11.16 wrote to target/manifest.json for tests/dbt_kit.JAFFLE."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.dbt_kit import jaffle, manifest, pds, relation, rows, warnings_of, write

DBT_NODES = {  # dbt build's manifest for JAFFLE (the analysis aside: pds keeps it apart)
    "model.jaffle.customers", "snapshot.jaffle.customers_snapshot", "model.jaffle.metricflow_time_spine", "model.jaffle.stg_customers",
    "model.jaffle.stg_orders", "model.jaffle_helpers.order_statuses", "seed.jaffle.raw_customers",
    "seed.jaffle.raw_orders", "seed.jaffle_helpers.status_ranks"}
DBT_TESTS = {
    "test.jaffle.accepted_values_stg_orders_status__placed__completed__returned.900bfeb432",
    "test.jaffle.not_null_stg_customers_customer_id.e2cfb1f9aa",
    "test.jaffle.not_null_stg_orders_order_id.81cfe2fe64",
    "test.jaffle.relationships_stg_orders_customer_id__customer_id__ref_stg_customers_.430bf21500",
    "test.jaffle.unique_customers_customer_id.c5af1ff4b1",
    "test.jaffle.unique_stg_customers_customer_id.c7614daada",
    "test.jaffle.unique_stg_orders_order_id.e3b841c71a",
    "test.jaffle_helpers.unique_order_statuses_status.1c1b038578"}
CUSTOMERS = [(1, "Ann", 2, 20.5), (2, "Bo", 1, 0), (3, "Cy", 1, 0)]


def test_a_jaffle_shop_shaped_project_installs_its_package_loads_and_builds_as_dbt_names_it(tmp_path: Path) -> None:
    project = jaffle(tmp_path)
    out = pds(project, "deps").stdout
    assert "Installed 1 package" in out and (project / "dbt_packages" / "jaffle_helpers").is_symlink()
    result = pds(project, "build", env={"JAFFLE_ROOT": str(tmp_path / "elsewhere")})
    data = manifest(tmp_path / "elsewhere")  # target-path: "{{ env_var('JAFFLE_ROOT', '.') }}/target"
    assert set(data["nodes"]) == DBT_NODES
    assert set(data["tests"]) == DBT_TESTS
    assert data["snapshot_properties"]["customers_snapshot"]["config"]["strategy"] == "check"
    assert set(data["semantic_models"]) == {"customers"} and set(data["exposures"]) == {"revenue_dashboard"}
    assert result.stdout.count("semantic layer") == 1  # one info line, not one per entry
    assert result.stdout.count(" test ") == len(DBT_TESTS) and "passed" in result.stdout
    db = project / "jaffle.duckdb"
    rel = relation(project, "model.jaffle.customers", str(tmp_path / "elsewhere" / "target"))
    assert rows(db, f"select customer_id, customer_name, orders, lifetime_value from {rel} order by 1") == CUSTOMERS
    # the root project's `models: jaffle_helpers: +materialized: table` beats the package's own `view`
    assert rows(db, "select table_type from information_schema.tables where table_name = 'order_statuses'") == [
        ("BASE TABLE",)]
    assert rows(db, "select table_type from information_schema.tables where table_name = 'stg_orders'") == [("VIEW",)]
    seed = relation(project, "seed.jaffle_helpers.status_ranks", str(tmp_path / "elsewhere" / "target"))
    assert seed.split(".")[0].endswith("helpers")  # the package's +schema: "{{ 'helpers' }}", rendered
    assert rows(db, f"select count(*) from {seed}") == [(3,)]
    warned = "\n".join(warnings_of(result))
    assert "'dbt-cloud' in dbt_project.yml is accepted but not acted on" in warned
    assert "analyses" in warned


@pytest.mark.postgres
def test_the_jaffle_project_builds_on_postgres(tmp_path: Path) -> None:
    from tests import engine_postgres as pg

    if pg.unavailable():
        pytest.fail(pg.unavailable())
    schema = f"jaffle_{uuid.uuid4().hex[:8]}"
    profile = (f"jaffle:\n  target: pg\n  outputs:\n    pg:\n      type: postgres\n      host: {pg.HOST}\n"
               f"      port: {pg.PORT}\n      user: \"{{{{ env_var('PG_USER') }}}}\"\n      password: ''\n"
               f"      dbname: {pg.DBNAME}\n      schema: {schema}\n      threads: 2\n      keepalives_idle: 0\n"
               "      connect_timeout: 10\n      sslmode: prefer\n      search_path: public\n")
    project = jaffle(tmp_path, **{"profiles.yml": profile, "macros/generate_schema_name.sql": None})
    try:
        pds(project, "deps")
        pds(project, "build", env={"PG_USER": pg.user() or ""})
        con = pg.connect()
        try:
            got = con.execute(f"select customer_id, customer_name, orders, lifetime_value::float from "
                              f"{schema}.customers order by 1").fetchall()
            kinds = dict(con.execute("select table_schema || '.' || table_name, table_type from "
                                     "information_schema.tables where table_schema like %s", (schema + "%",)).fetchall())
        finally:
            con.close()
        assert got == CUSTOMERS
        assert kinds[f"{schema}.order_statuses"] == "BASE TABLE" and kinds[f"{schema}.stg_orders"] == "VIEW"
        assert kinds[f"{schema}_raw.raw_orders"] == "BASE TABLE"
        assert kinds[f"{schema}_helpers.status_ranks"] == "BASE TABLE"
    finally:
        for suffix in ("", "_raw", "_helpers"):
            pg.drop_schema(schema + suffix)


SMALL = {
    "dbt_project.yml": """
        name: small
        profile: small
        seeds:
          small:
            +enabled: "{{ var('load_source_data', false) }}"
        models:
          small:
            +enabled: "{{ env_var('SMALL_MODELS', 'true') | as_bool }}"
        """,
    "profiles.yml": "small:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: small.duckdb}\n",
    "seeds/numbers.csv": "n\n1\n2\n",
    "models/doubled.sql": "select 2 as n\n",
}


def test_config_values_with_jinja_are_evaluated_as_dbt_evaluates_them(tmp_path: Path) -> None:
    project = write(tmp_path / "small", SMALL)
    assert pds(project, "ls").stdout.split() == ["doubled"]  # var default false: no seed
    listed = pds(project, "ls", "--vars", "{load_source_data: true}").stdout.split()
    assert sorted(listed) == ["doubled", "numbers"]
    assert pds(project, "ls", env={"SMALL_MODELS": "false"}).stdout.split() == []


def test_every_dbt_project_key_is_accepted_and_those_not_acted_on_are_named(tmp_path: Path) -> None:
    project = write(tmp_path / "all", {**SMALL, "dbt_project.yml": """
        name: small
        version: "1.0"
        config-version: 2
        profile: small
        require-dbt-version: ">=1.8.0"
        model-paths: ["models"]
        seed-paths: ["seeds"]
        test-paths: ["tests"]
        macro-paths: ["macros"]
        analysis-paths: ["analyses"]
        snapshot-paths: ["snapshots"]
        docs-paths: ["docs"]
        asset-paths: ["assets"]
        function-paths: ["functions"]
        target-path: "{{ env_var('DBT_ROOT', '.') }}/target"
        log-path: logs
        packages-install-path: dbt_packages
        clean-targets: [target, dbt_packages]
        dbt-cloud: {project-id: 1}
        quoting: {database: false, schema: false, identifier: false}
        query-comment: "pds {{ invocation_id }}"
        dispatch:
          - macro_namespace: dbt_utils
            search_order: [small, dbt_utils]
        flags: {send_anonymous_usage_stats: false}
        restrict-access: false
        on-run-start: ["select 1"]
        on-run-end: []
        vars: {start_date: "2024-01-01"}
        models: {small: {+materialized: table}}
        seeds: {small: {+quote_columns: false}}
        snapshots: {small: {+target_schema: snaps}}
        tests: {small: {+severity: warn}}
        sources: {small: {+enabled: true}}
        unit_tests: {small: {+enabled: true}}
        metrics: {small: {+enabled: true}}
        semantic-models: {small: {+enabled: true}}
        saved-queries: {small: {+enabled: true}}
        exposures: {small: {+enabled: true}}
        analyses: {}
        functions: {}
        """})
    result = pds(project, "ls", env={"DBT_ROOT": str(tmp_path / "t")})
    assert sorted(result.stdout.split()) == ["doubled", "numbers"]
    warned = "\n".join(warnings_of(result))
    assert "unknown" not in warned
    for key in ("dbt-cloud", "restrict-access"):
        assert f"'{key}' in dbt_project.yml is accepted but not acted on" in warned, warned


def test_unknown_keys_and_a_dbt_version_pds_does_not_read_are_all_reported_at_once(tmp_path: Path) -> None:
    project = write(tmp_path / "bad", {**SMALL, "dbt_project.yml": """
        name: small
        profile: small
        require-dbt-version: [">=1.12.0"]
        modle-paths: ["models"]
        models:
          small:
            +materialized: table
        seed_paths: ["seeds"]
        data-paths: ["seeds"]
        seed-paths: ["seeds"]
        """})
    result = pds(project, "ls", expect=2)
    err = result.stderr
    assert "Error: dbt_project.yml:4: unknown key 'modle-paths' in dbt_project.yml" in err
    assert "did you mean 'model-paths'" in err
    assert "dbt_project.yml:8: unknown key 'seed_paths'" in err
    assert "dbt_project.yml:3: this project requires dbt >=1.12.0; pds reads the projects of dbt 1.11" in err
    assert "dbt_project.yml:9: data-paths and seed-paths cannot both be defined" in err  # as dbt 1.11
    assert "4 errors found" in err and "Traceback" not in err


def test_pds_settings_live_in_a_pds_project_yml_beside_dbt_project_yml(tmp_path: Path) -> None:
    """docs/dbt-compatibility.md's example: a pds_project.yml without name: adds pds's settings."""
    doc = (Path(__file__).parents[1] / "docs" / "dbt-compatibility.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    project = write(tmp_path / "small", {**SMALL, "pds_project.yml": example})
    pds(project, "build")
    assert rows(project / "small.duckdb", "select distinct table_schema from information_schema.tables "
                "where table_schema = 'pds_audit'") == [("pds_audit",)]
    assert rows(project / "small.duckdb", "select n from doubled") == [(2,)]
