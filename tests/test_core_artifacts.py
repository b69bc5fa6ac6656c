"""target/manifest.json and target/run_results.json: versioned, complete, and free of secrets."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.projects import artifact, needs_postgres, output, pds, postgres_profile, write_project

FILES = {
    "seeds/items.csv": "id,price\n1,10\n2,20\n3,30\n",
    "models/sources.yml": "sources:\n  - name: ext\n    schema: main\n    tables:\n      - name: items_ext\n"
                          "        identifier: items\n",
    "models/cheap.sql": "{{ config(materialized='table', tags=['t1']) }}\nselect * from {{ ref('items') }} "
                        "where price < 25",
    "models/via_source.sql": "-- depends_on: {{ ref('items') }}\nselect count(*) as n from {{ source('ext', 'items_ext') }}",
    "models/scored.py": "def model(ctx):\n    df = ctx.ref('cheap')\n    return df.assign(score=df['price'] / 10)\n",
    "models/broken.sql": "{{ config(materialized='table') }}\nselect cast('x' as integer) as x",
}


def test_manifest_and_run_results(tmp_path):
    project = write_project(tmp_path / "p", FILES)
    pds(project, "build", expect=1)  # broken.sql fails at run time

    manifest = artifact(project, "manifest.json")
    meta = manifest["metadata"]
    assert meta["schema_version"] == "pds/manifest/v1"
    assert meta["project_name"] == "proj" and meta["target"] == {"name": "dev", "type": "duckdb"}
    assert meta["invocation_id"] and meta["generated_at"].endswith("Z")
    nodes = manifest["nodes"]
    assert set(nodes) == {"seed.proj.items", "model.proj.cheap", "model.proj.via_source", "model.proj.scored",
                          "model.proj.broken"}
    cheap = nodes["model.proj.cheap"]
    text = (project / "models/cheap.sql").read_text()
    assert cheap["checksum"] == hashlib.sha256(text.encode()).hexdigest()
    assert cheap["path"] == "models/cheap.sql" and cheap["language"] == "sql"
    assert cheap["depends_on"] == ["seed.proj.items"]
    assert cheap["config"]["materialized"] == "table" and cheap["tags"] == ["t1"]
    assert cheap["relation"] == "main.cheap" and "main.items" in cheap["compiled_code"]
    assert nodes["model.proj.scored"]["language"] == "python"
    assert nodes["model.proj.scored"]["depends_on"] == ["model.proj.cheap"]
    assert nodes["model.proj.via_source"]["depends_on"] == ["seed.proj.items", "source.proj.ext.items_ext"]
    seed = nodes["seed.proj.items"]
    assert seed["checksum"] == hashlib.sha256((project / "seeds/items.csv").read_bytes()).hexdigest()
    assert manifest["sources"]["source.proj.ext.items_ext"]["relation"] == "main.items"
    assert manifest["parent_map"]["model.proj.scored"] == ["model.proj.cheap"]

    runs = artifact(project, "run_results.json")
    assert runs["metadata"]["schema_version"] == "pds/run_results/v1"
    assert runs["metadata"]["invocation_id"] == meta["invocation_id"]
    assert runs["command"] == "build" and runs["success"] is False and runs["elapsed_time"] > 0
    results = {r["unique_id"]: r for r in runs["results"]}
    assert set(results) == set(nodes)
    assert {uid: r["status"] for uid, r in results.items()} == {
        "seed.proj.items": "success", "model.proj.cheap": "success", "model.proj.via_source": "success",
        "model.proj.scored": "success", "model.proj.broken": "error"}
    assert results["model.proj.cheap"]["rows_affected"] == 2
    assert results["model.proj.scored"]["rows_affected"] == 2
    assert results["seed.proj.items"]["rows_affected"] == 3
    assert "Could not convert string 'x'" in results["model.proj.broken"]["message"]
    for result in results.values():
        assert result["execution_time"] >= 0
        assert result["started_at"] <= result["completed_at"]

    # a changed file changes its checksum, nothing else's
    (project / "models/cheap.sql").write_text(text + "\n-- edited\n")
    pds(project, "compile")
    again = artifact(project, "manifest.json")["nodes"]
    assert again["model.proj.cheap"]["checksum"] != cheap["checksum"]
    assert again["model.proj.scored"]["checksum"] == nodes["model.proj.scored"]["checksum"]


def test_run_results_record_the_selection(tmp_path):
    project = write_project(tmp_path / "p", FILES)
    pds(project, "build", "-s", "+cheap", "--full-refresh")
    runs = artifact(project, "run_results.json")
    assert runs["success"] is True
    assert runs["args"]["select"] == ["+cheap"] and runs["args"]["full_refresh"] is True
    assert [r["name"] for r in runs["results"]] == ["items", "cheap"]


@pytest.mark.slow
@needs_postgres
@pytest.mark.postgres
def test_no_secret_in_artifacts_or_output(tmp_path):
    """A password from env_var() in profiles.yml is never written to target/ nor printed."""
    secret = f"s3cret-{uuid.uuid4().hex}"
    schema = f"pds_core_art_{uuid.uuid4().hex[:8]}"
    profiles = postgres_profile(5432, schema, "PDS_TEST_PASSWORD")
    project = write_project(tmp_path / "p", {
        "profiles.yml": profiles,
        "seeds/items.csv": "id\n1\n",
        "models/m.sql": "{{ config(materialized='table') }}\nselect id from {{ ref('items') }}",
        "models/bad.sql": "select * from not_a_table",
    })
    env = {"PDS_TEST_PASSWORD": secret}
    try:
        built = pds(project, "build", env=env, expect=1)
        shown = pds(project, "debug", env=env)
        assert "password" in shown.stdout and "****" in shown.stdout
        texts = [output(built), output(shown)]
        texts += [p.read_text(errors="replace") for p in (project / "target").rglob("*") if p.is_file()]
        assert texts[2:], "no artifacts written"
        assert not [t for t in texts if secret in t]
    finally:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as con:
            con.execute(f'drop schema if exists "{schema}" cascade')
