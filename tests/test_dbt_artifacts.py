"""Artifacts that dbt's tools read, checked with an independent parser of dbt's schemas
(dbt-artifacts-parser): manifest v12 and run_results v6 (target/dbt/), catalog v1 from `pds docs
generate`, sources v3 from `pds source freshness`; and `--state` given a manifest dbt wrote."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest
from dbt_artifacts_parser.parser import parse_catalog, parse_manifest, parse_run_results, parse_sources

from tests import engine_postgres
from tests.conftest import ROOT, run_pds
from tests.dbt_runtime_project import write_project

FRESH_SOURCE = """
    sources:
      - name: crm
        schema: crm
        tables:
          - name: customers
            loaded_at_field: updated_at
            freshness:
              warn_after: {count: 12, period: hour}
              error_after: {count: 3, period: day}
"""


def _v(value: object) -> str:
    """An enum's value or the string itself (the parser's models type some fields loosely)."""
    return str(getattr(value, "value", value))


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _built(tmp_path: Path, target: dict, extra: dict | None = None) -> Path:
    root = write_project(tmp_path, target, extra)
    done = run_pds("build", "--project-dir", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    docs = run_pds("docs", "generate", "--project-dir", str(root))
    assert docs.returncode == 0, docs.stdout + docs.stderr
    return root


def _check_manifest_and_results(root: Path) -> None:
    manifest = parse_manifest(_json(root / "target/dbt/manifest.json"))
    assert type(manifest).__name__ == "ManifestV12"
    stg = manifest.nodes["model.shop.stg_orders"]
    text = (root / "models/stg_orders.sql").read_text()
    assert stg.checksum.checksum == hashlib.sha256(text.strip().encode()).hexdigest()  # dbt's own checksum
    assert stg.depends_on.nodes == ["seed.shop.raw_orders"]
    assert _v(manifest.nodes["model.shop.customer_scores"].language) == "python"
    assert set(manifest.unit_tests) >= {"unit_test.shop.customer_orders.sql_rows"}
    assert "model.shop.customer_orders" in manifest.child_map["model.shop.stg_orders"]
    results = parse_run_results(_json(root / "target/dbt/run_results.json"))
    assert type(results).__name__ == "RunResultsV6"
    status = {r.unique_id: _v(r.status) for r in results.results}
    assert status["model.shop.stg_orders"] == "success"
    assert status["unit_test.shop.customer_orders.sql_rows"] == "pass"
    rows = {r.unique_id: r.adapter_response.get("rows_affected") for r in results.results}
    assert rows["seed.shop.raw_orders"] == 4


def _docs_example_runs(root: Path) -> None:
    """docs/artifacts.md's example of reading dbt's artifacts, run in the built project."""
    text = (ROOT / "docs/artifacts.md").read_text(encoding="utf-8")
    section = text[text.index("## dbt's artifacts"):]
    code = section[section.index("```python\n") + 10:section.index("```", section.index("```python\n") + 10)]
    done = subprocess.run([sys.executable, "-c", code + "\nprint(type(manifest).__name__, len(results.results), failed)"],
                          cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    kind, count, failed = done.stdout.split(maxsplit=2)
    assert (kind, failed.strip()) == ("ManifestV12", "[]") and int(count) > 10


def test_dbt_artifacts_on_duckdb(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"type": "duckdb", "path": "shop.duckdb", "schema": "main"},
                         {"models/sources.yml": FRESH_SOURCE})
    with duckdb.connect(str(root / "shop.duckdb")) as con:
        con.execute("create schema crm; create table crm.customers as select 1 as customer_id, "
                    "now()::timestamp - interval 2 hour as updated_at")
    root = _built(tmp_path, {"type": "duckdb", "path": "shop.duckdb", "schema": "main"},
                  {"models/sources.yml": FRESH_SOURCE})
    _check_manifest_and_results(root)
    _docs_example_runs(root)
    catalog = parse_catalog(_json(root / "target/catalog.json"))
    stg = catalog.nodes["model.shop.stg_orders"]
    assert stg.metadata.type == "VIEW" and stg.metadata.name == "stg_orders"
    assert {n: (c.type, c.index) for n, c in stg.columns.items()} == {
        "order_id": ("INTEGER", 1), "customer_id": ("INTEGER", 2), "amount": ("DOUBLE", 3), "status": ("VARCHAR", 4),
        "ordered_at": ("TIMESTAMP", 5), "order_day": ("DATE", 6)}
    assert catalog.nodes["model.shop.customer_scores"].metadata.type == "BASE TABLE"
    assert catalog.sources["source.shop.crm.customers"].columns["updated_at"].type == "TIMESTAMP"

    done = run_pds("source", "freshness", "--project-dir", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    sources = parse_sources(_json(root / "target/sources.json"))
    assert type(sources).__name__ == "SourcesV3"
    [result] = sources.results
    assert result.unique_id == "source.shop.crm.customers" and _v(result.status) == "pass"
    assert 7000 < result.max_loaded_at_time_ago_in_s < 7400
    assert result.criteria.error_after.count == 3

    with duckdb.connect(str(root / "shop.duckdb")) as con:  # stale now: an error, as dbt reports it
        con.execute("update crm.customers set updated_at = now()::timestamp - interval 5 day")
    done = run_pds("source", "freshness", "--project-dir", str(root))
    assert done.returncode == 1
    assert _v(parse_sources(_json(root / "target/sources.json")).results[0].status) == "error"


@pytest.mark.postgres
def test_dbt_artifacts_on_postgres(tmp_path: Path) -> None:
    reason = engine_postgres.unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"pds_dbt_artifacts_{uuid.uuid4().hex[:6]}"  # its own: other runs on the same server leave it alone
    with engine_postgres.target(schema) as target, engine_postgres.target(f"{schema}_results"):
        root = _built(tmp_path, target)
        _check_manifest_and_results(root)
        catalog = parse_catalog(_json(root / "target/catalog.json"))
        columns = catalog.nodes["model.shop.stg_orders"].columns
        assert [(n, c.type) for n, c in sorted(columns.items(), key=lambda kv: kv[1].index)] == [
            ("order_id", "integer"), ("customer_id", "integer"), ("amount", "double precision"), ("status", "text"),
            ("ordered_at", "timestamp without time zone"), ("order_day", "date")]


def _dbt_manifest(root: Path, changes: dict[str, dict]) -> Path:
    """A manifest as dbt 1.11 writes it, cut down to what state comparison reads (verified locally
    against one written by `dbt parse` for the same project)."""
    nodes = {}
    for kind, folder, name in (("model", "models", "stg_orders"), ("model", "models", "customer_orders"),
                               ("seed", "seeds", "raw_orders")):
        path = f"{folder}/{name}.{'csv' if kind == 'seed' else 'sql'}"
        text = (root / path).read_text()
        node = {"unique_id": f"{kind}.shop.{name}", "resource_type": kind, "original_file_path": path,
                "checksum": {"name": "sha256", "checksum": hashlib.sha256(text.strip().encode()).hexdigest()},
                "config": {"materialized": "seed" if kind == "seed" else "view", "unique_key": None,
                           "incremental_strategy": None, "schema": None, "alias": None, "database": None}}
        node.update(changes.get(name, {}))
        nodes[node["unique_id"]] = node
    folder = root / "dbt_state"
    folder.mkdir(exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                     "dbt_version": "1.11.0"}, "nodes": nodes, "sources": {}}))
    return folder


def test_state_modified_against_a_manifest_dbt_wrote(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"type": "duckdb", "path": "shop.duckdb", "schema": "main"})

    def modified(state: Path, spec: str = "state:modified") -> set[str]:
        done = run_pds("ls", "-s", spec, "--state", str(state), "--project-dir", str(root))
        assert done.returncode == 0, done.stdout + done.stderr
        return set(done.stdout.split())

    new = {"orders_incremental", "customer_scores", "orders_py_incremental", "raw_customers"}  # not in it
    assert modified(_dbt_manifest(root, {})) == new
    assert modified(_dbt_manifest(root, {}), "state:new") == new
    changed = _dbt_manifest(root, {"stg_orders": {"checksum": {"name": "sha256", "checksum": "0" * 64}},
                                   "customer_orders": {"config": {"materialized": "table"}}})
    assert modified(changed) - new == {"stg_orders", "customer_orders"}
    with open(root / "models/stg_orders.sql", "a") as fh:  # the file itself changes: modified
        fh.write("-- a comment\n")
    assert modified(_dbt_manifest(root, {})) == new  # written from the changed file: the same again
