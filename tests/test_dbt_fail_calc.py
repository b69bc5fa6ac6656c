"""Tests counted with fail_calc, judged with warn_if/error_if, cut with limit, stored with store_failures,
and rendered only with the warehouse (`execute`), on DuckDB and Postgres: the statuses and failure counts
dbt-core 1.11 reported for the same files (tests/dbt_fail_calc_project.py)."""

from __future__ import annotations

import importlib
import json
import uuid
from pathlib import Path

import pytest
import yaml

from tests.dbt_fail_calc_project import EXPECTED, FILES, PACKAGE
from tests.projects import invoke, pds, write_project


def project(root: Path, settings: dict) -> Path:
    files = {**PACKAGE, **FILES, "profiles.yml": yaml.safe_dump({"shop": {"target": "t", "outputs": {"t": settings}}})}
    root = write_project(root, files)
    (root / "pds_project.yml").unlink()  # a dbt project, as dbt reads it
    return root


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres"])
def test_fail_calc_thresholds_and_execute_as_dbt(engine_name: str, tmp_path: Path) -> None:
    engine = importlib.import_module(f"tests.engine_{engine_name}")
    reason = engine.unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"pds_fail_calc_{uuid.uuid4().hex[:8]}"
    with engine.target(schema) as settings, engine.target(f"{schema}_results"):
        root = project(tmp_path / "p", settings)
        (root / "pds_project.yml").write_text(f"results-schema: {schema}_results\n")  # pds's settings only
        done = pds(root, "build", expect=1)  # tests fail, as in dbt
        results = json.loads((root / "target/dbt/run_results.json").read_text())["results"]
        got = {r["unique_id"].split(".")[2]: (r["status"], r["failures"]) for r in results
               if r["unique_id"].startswith("test.")}
        assert got == EXPECTED
        assert "1 failures (fail_calc sum(gap))" in done.stdout
        own = json.loads((root / "target/run_results.json").read_text())["results"]
        [stored] = [r for r in own if r["name"] == "gap_b_stored"]
        assert stored["extra"]["failures_relation"] == f"{schema}_results.failures__gap_b_stored"
        frame = engine.read_table(settings, f"{schema}_results", "failures__gap_b_stored")
        assert frame.to_dict(orient="records") == [{"gap": 1}]  # the test's rows, kept


def test_a_test_reading_execute_compiles_without_the_warehouse(tmp_path: Path) -> None:
    """`pds compile` leaves such a test to its run, as dbt's parse does (execute is false then)."""
    root = project(tmp_path / "p", {"type": "duckdb", "path": str(tmp_path / "x.duckdb"), "schema": "main"})
    code, out = invoke(root, "compile")
    assert code == 0, out
    assert not (tmp_path / "x.duckdb").exists()  # never connected


def test_a_test_macro_config_key_pds_does_not_take_is_an_error(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"type": "duckdb", "path": str(tmp_path / "x.duckdb"), "schema": "main"})
    macros = root / "dbt_packages/checks/macros/tests.sql"
    macros.write_text(macros.read_text().replace("{{ config(fail_calc = 'sum(gap)') }}",
                                                 "{{ config(fail_calc = 'sum(gap)', where = 'gap > 0') }}"))
    code, out = invoke(root, "compile")
    assert code == 2 and "config() sets 'where'" in out and "models/schema.yml" in out
