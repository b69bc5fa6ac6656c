"""record(): the files under target/ and the rows of the results tables, from a plan and a run."""

from __future__ import annotations

import json
from pathlib import Path

from pds_core.loader import load_project
from pds_core.plan import Options, plan
from pds_core.record import record, result_rows
from pds_core.results import ERROR, SKIPPED, SUCCESS, NodeResult, RunResult
from pds_core.state import STATE_DIR, read_built_columns
from tests.projects import write_project

FILES = {
    "seeds/s.csv": "id\n1\n",
    "models/m.sql": "{{ config(materialized='table') }}\nselect id from {{ ref('s') }}",
    "models/py.py": "def model(ctx):\n    return ctx.ref('s')\n",
}


def _plan(tmp_path: Path):  # noqa: ANN202
    return plan(load_project(write_project(tmp_path / "p", FILES)), Options(), None, "build")


def _result(uid: str, name: str, status: str, **extra: object) -> NodeResult:
    return NodeResult(unique_id=uid, name=name, resource_type="model", status=status, extra=dict(extra))


def test_a_compile_writes_the_manifest_and_the_select_that_runs(tmp_path: Path) -> None:
    p = _plan(tmp_path)
    record(p, None)
    target = p.project.target_dir
    assert (target / "compiled" / "proj" / "models" / "m.sql").read_text() == "select id from proj.main.s\n"  # named as the DDL names it
    manifest = json.loads((target / "manifest.json").read_text())
    assert set(manifest["nodes"]) == {"seed.proj.s", "model.proj.m", "model.proj.py"}
    assert not (target / "run_results.json").exists() and not (target / "run").exists()


def test_a_run_keeps_the_statements_sent_its_status_and_what_python_models_returned(tmp_path: Path) -> None:
    p = _plan(tmp_path)
    run = RunResult("build", p.invocation_id, "2025-01-01T00:00:00.000Z", target="dev", interrupted=True,
                    results=[_result("model.proj.py", "py", SUCCESS, columns=["id", "score"]),
                             _result("model.proj.m", "m", ERROR), _result("seed.proj.s", "s", SKIPPED)])
    statements = {"model.proj.m": ["BEGIN", "CREATE TABLE pds.main.m AS SELECT id FROM main.s", "COMMIT"]}
    record(p, run, statements=statements)
    target = p.project.target_dir
    assert (target / "run" / "proj" / "models" / "m.sql").read_text() == \
        "BEGIN;\n\nCREATE TABLE pds.main.m AS SELECT id FROM main.s;\n\nCOMMIT;\n"
    results = json.loads((target / "run_results.json").read_text())
    assert (results["success"], results["status"]) == (False, "interrupted")
    assert [r["status"] for r in results["results"]] == ["success", "error", "skipped"]
    assert read_built_columns(target / STATE_DIR) == {"model.proj.py": ["id", "score"]}
    state = json.loads((target / STATE_DIR / "manifest.json").read_text())
    assert "model.proj.py" in state["nodes"] and "model.proj.m" not in state["nodes"]  # only what was built


def test_results_rows_say_interrupted(tmp_path: Path) -> None:
    p = _plan(tmp_path)
    run = RunResult("build", "run-1", "2025-01-01T00:00:00.000Z", target="dev", interrupted=True,
                    results=[_result("model.proj.m", "m", ERROR)])
    rows = result_rows(p, run)
    assert rows["pds_runs"][0]["status"] == "interrupted" and rows["pds_runs"][0]["failed"] == 1
    assert [r["unique_id"] for r in rows["pds_node_results"]] == ["model.proj.m"]
