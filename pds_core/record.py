"""Record: what a run leaves behind, in one place.

- target/manifest.json, target/run_results.json (versioned, no secrets), target/compiled/ (the SELECT
  each model runs) and target/run/ (the exact statements each node sent, as dbt keeps them);
- target/state/: the fingerprints each node had when last built (state:modified, --skip-unchanged)
  and the columns each Python model returned on its last build (what downstream SQL may select);
- the results tables in the warehouse (pds_runs, pds_node_results, pds_test_results,
  pds_metric_values, pds_export_results) and pds_fingerprints;
- the parse cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pds_core import __version__
from pds_core.artifacts import (
    MANIFEST_SCHEMA,
    RUN_RESULTS_SCHEMA,
    now_iso,
    plain,
    read_json,
    write_json_atomic,
)
from pds_core.compiler import CompiledNode
from pds_core.dbt_artifacts import run_results_v6, write_dbt_artifacts
from pds_core.fingerprint_store import FingerprintStore, source_inputs
from pds_core.history import SCHEMA_VERSION, ResultsHistory, timestamp, utcnow
from pds_core.loader import Project
from pds_core.nodes import Manifest, Node
from pds_core.results import OK_STATUSES, SKIPPED, SUCCESS, RunResult
from pds_core.state import COLUMNS_FILE, STATE_DIR, SavedState, merged_state

RESULT_TABLES = ("pds_runs", "pds_node_results", "pds_test_results", "pds_metric_values", "pds_export_results",
                 "pds_drift_profiles")


def record(plan: Any, run: RunResult | None, adapter: Any = None, statements: dict[str, list[str]] | None = None,
           on_error: Any = None) -> None:
    """Everything a command leaves behind. `run` None: a command that ran nothing (compile, ls, lineage).

    With an adapter, the run goes to the results tables and the built nodes' fingerprints to
    pds_fingerprints; a failure there is reported through on_error, never fatal (the artifacts are
    still written).
    """
    project, manifest = plan.project, plan.manifest
    if run is not None and adapter is not None:
        try:
            ResultsHistory(adapter, project.config.results_schema).append(result_rows(plan, run))
        except Exception as exc:
            if on_error is not None:
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                on_error(f"could not append this run to the results tables in schema "
                         f"{project.config.results_schema!r}: {adapter.redact(text)}")
        built = [r.unique_id for r in run.results if r.status == SUCCESS and r.unique_id in plan.fingerprints]
        FingerprintStore(adapter, project.config.results_schema).record(
            [(manifest.nodes[u], plan.fingerprints[u], source_inputs(manifest, plan.graph, u, plan.freshness))
             for u in built], now_iso(), plan.invocation_id)
    paths = write_compiled(project, manifest, plan.compiled)
    if statements:
        write_compiled(project, manifest, statements, folder="run")
    write_manifest(project, manifest, plan.compiled, plan.invocation_id, paths, plan.fingerprints)
    write_dbt_artifacts(project, manifest, plan.compiled, plan.invocation_id)  # dbt's shapes, target/dbt/
    if plan.cache is not None:
        files = project.files
        plan.cache.save(set(files.models_sql + files.models_py + files.tests_sql))
    if run is None:
        return
    options = plan.options
    select = options.select if options.retry is None else sorted(plan.name_of(u) for u in plan.chosen)
    args = {"select": select, "exclude": options.exclude, "full_refresh": options.full_refresh,
            "target": project.target.name}
    write_run_results(project, run, args)
    write_json_atomic(project.target_dir / "dbt" / "run_results.json", run_results_v6(run, args, plan.compiled))
    built_ok = {r.unique_id for r in run.results if r.status in OK_STATUSES and r.unique_id in plan.fingerprints}
    folder = project.target_dir / STATE_DIR
    write_state(folder, merged_state(SavedState.read(folder), plan.fingerprints, built_ok | set(manifest.sources)),
                plan.invocation_id)
    write_built_columns(folder, {r.unique_id: r.extra["columns"] for r in run.results if "columns" in r.extra})


def write_built_columns(folder: Path, columns: dict[str, list[str]]) -> None:
    """target/state/columns.json: the columns each Python model returned on its last build."""
    if not columns:
        return
    path = folder / COLUMNS_FILE
    try:
        known = read_json(path)
    except (OSError, ValueError):
        known = {}
    known = known if isinstance(known, dict) else {}
    write_json_atomic(path, {**known, **columns})


# ---- the results tables -----------------------------------------------------------------------------
def result_rows(plan: Any, run: RunResult) -> dict[str, list[dict[str, Any]]]:
    """This run's rows of every results table."""
    project, target = plan.project, plan.project.target
    finished = utcnow()
    counts = run.counts()
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in RESULT_TABLES}
    out["pds_runs"].append({
        "run_id": run.invocation_id, "project": project.name, "command": run.command, "target": target.name,
        "target_type": target.type, "status": run.status,
        "started_at": timestamp(run.started_at), "finished_at": finished, "elapsed_seconds": run.elapsed,
        "pds_version": __version__, "schema_version": SCHEMA_VERSION, "nodes": len(run.results),
        "failed": counts.get("error", 0) + counts.get("fail", 0),
        "args": json.dumps({"select": plan.options.select, "exclude": plan.options.exclude})})
    for r in run.results:
        out["pds_node_results"].append({
            "run_id": run.invocation_id, "unique_id": r.unique_id, "name": r.name,
            "resource_type": r.resource_type, "status": r.status, "message": r.message[:4000],
            "rows_affected": r.rows_affected, "execution_time": r.execution_time,
            "started_at": timestamp(r.started_at), "completed_at": timestamp(r.completed_at),
            "relation": r.relation, "materialized": r.materialized, "quality_status": r.extra.get("quality")})
        executed = timestamp(r.completed_at) or finished
        common = {"run_id": run.invocation_id, "unique_id": r.unique_id, "name": r.name,
                  "node_id": r.extra.get("attached_to"), "target": target.name, "executed_at": executed}
        if r.resource_type in ("test", "unit_test"):
            out["pds_test_results"].append({
                **common, "test_type": r.extra.get("test_type"), "test_name": r.extra.get("test_name"),
                "column_name": r.extra.get("column"), "group_key": "",
                "status": r.extra.get("test_status") or ("skipped" if r.status == SKIPPED else r.status),
                "severity": r.extra.get("severity"), "failures": r.failures, "message": r.message[:4000],
                "failures_relation": r.extra.get("failures_relation")})
        elif r.resource_type == "metric":
            for bound in r.extra.get("bounds", []):
                out["pds_test_results"].append({
                    **common, "name": f"{r.name}:{bound['bound']}", "test_type": "metric_bound",
                    "test_name": bound["bound"], "group_key": bound["group"], "status": bound["status"],
                    "severity": bound["severity"], "failures": int(bound["status"] != "pass"),
                    "message": bound["message"]})
            for kept in r.extra.get("drift_profiles", []):  # quality/drift_runner.py: the next run's reference
                out["pds_drift_profiles"].append({
                    "run_id": run.invocation_id, "unique_id": r.unique_id, "metric": r.name,
                    "node_id": r.extra.get("attached_to"), "group_key": kept["group"], "value_kind": kept["kind"],
                    "row_count": kept["rows"], "null_count": kept["nulls"], "profile": json.dumps(kept["values"]),
                    "target": target.name, "measured_at": executed})
            for value in r.extra.get("values", []):
                out["pds_metric_values"].append({
                    "run_id": run.invocation_id, "unique_id": r.unique_id, "metric": r.name,
                    "node_id": r.extra.get("attached_to"), "model": r.extra.get("model"),
                    "group_key": value["group"], "value": value["value"], "status": value["status"],
                    "target": target.name, "measured_at": timestamp(value["measured_at"])})
        elif r.resource_type in ("export", "chart", "serve"):  # a workbook: one row per sheet's export
            members = r.extra.get("members") or [{"unique_id": r.unique_id, "name": r.name,
                                                  "node": r.extra.get("attached_to"), "model": r.extra.get("model"),
                                                  "rows": r.rows_affected}]
            for member in members:
                out["pds_export_results"].append({
                    "run_id": run.invocation_id, "unique_id": member["unique_id"], "name": member["name"],
                    "node_id": member["node"], "model": member["model"],
                    "destination_type": r.extra.get("destination_type"), "destination": r.extra.get("destination"),
                    "status": r.status, "rows": member["rows"], "batches": r.extra.get("batches"),
                    "message": r.message[:4000], "started_at": timestamp(r.started_at),
                    "completed_at": timestamp(r.completed_at) or finished, "execution_time": r.execution_time,
                    "target": run.target})
    return out


# ---- the files under target/ ------------------------------------------------------------------------
def _metadata(project: Project, schema: str, invocation_id: str) -> dict[str, Any]:
    return {
        "schema_version": schema,
        "pds_version": __version__,
        "generated_at": now_iso(),
        "invocation_id": invocation_id,
        "project_name": project.name,
        "target": {"name": project.target.name, "type": project.target.type},
    }


def node_dict(node: Node, compiled: CompiledNode | None, compiled_path: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "unique_id": node.unique_id,
        "name": node.name,
        "resource_type": node.resource_type,
        "path": node.path,
        "language": node.language,
        "checksum": node.checksum,
        "fqn": node.fqn,
        "config": node.config,
        "tags": node.tags,
        "depends_on": node.depends_on,
        "relation": str(node.relation) if node.relation else None,
        "description": node.description,
        "columns": {name: plain(col) for name, col in node.columns.items()},
        "patch_path": node.patch_path,
    }
    if node.resource_type == "model":
        data["raw_code"] = node.raw_code
    if node.resource_type == "source":
        data["source"] = node.source_meta
    if compiled is not None:
        data["compiled_code"] = compiled.sql
        data["compiled_path"] = compiled_path
        data["column_lineage"] = compiled.column_lineage  # column -> [{node, column}] it is computed from
    return data


def write_compiled(project: Project, manifest: Manifest, compiled: dict[str, CompiledNode],
                   folder: str = "compiled") -> dict[str, str]:
    """target/compiled/<project>/<path>.sql for every compiled model (the SELECT that runs); returns
    uid -> relative path. A file whose content is already right is left alone, so an unchanged project
    writes nothing. With folder="run", `compiled` maps uid -> the statements the node sent."""
    paths: dict[str, str] = {}
    base = os.path.join(project.config.target_path, folder, project.name)
    root = str(project.root)
    made: set[str] = set()
    for uid, comp in compiled.items():
        if uid not in manifest.nodes:
            continue
        rel = f"{base}/{manifest.nodes[uid].path}"
        paths[uid] = rel
        out = os.path.join(root, rel)
        text = (comp.sql if isinstance(comp, CompiledNode) else ";\n\n".join(comp) + ";") + "\n"
        try:
            with open(out, encoding="utf-8") as fh:
                if fh.read() == text:
                    continue
        except OSError:
            folder = os.path.dirname(out)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return paths


def write_manifest(project: Project, manifest: Manifest, compiled: dict[str, CompiledNode],
                   invocation_id: str, compiled_paths: dict[str, str] | None = None,
                   fingerprints: dict[str, Any] | None = None) -> Path:
    compiled_paths, fingerprints = compiled_paths or {}, fingerprints or {}

    def entry(uid: str, node: Node) -> dict[str, Any]:
        data = node_dict(node, compiled.get(uid), compiled_paths.get(uid))
        if uid in fingerprints:
            data["fingerprint"] = plain(fingerprints[uid])
        return data

    data = {
        "metadata": _metadata(project, MANIFEST_SCHEMA, invocation_id),
        "nodes": {uid: entry(uid, n) for uid, n in manifest.nodes.items()},
        "sources": {uid: entry(uid, n) for uid, n in manifest.sources.items()},
        "macros": manifest.macros,
        "parent_map": {uid: n.depends_on for uid, n in manifest.nodes.items()},
    }
    if manifest.schema is not None and hasattr(manifest.schema, "to_manifest"):  # dbt's semantic layer, exposures...
        data.update(manifest.schema.to_manifest())
    if manifest.quality is not None:  # tests, metrics and unit tests, with what each depends on
        data.update(manifest.quality.to_manifest())
        data["parent_map"].update({uid: q.depends_on for uid, q in manifest.quality.runnable().items()})
    for group in ("exports", "charts", "served"):  # as written in YAML; header values and storage options left out
        items = getattr(manifest, group, None)
        if items:
            data[group] = {uid: e.to_manifest() for uid, e in items.items()}
            data["parent_map"].update({uid: [e.node] for uid, e in items.items()})
    path = project.target_dir / "manifest.json"
    write_json_atomic(path, data)
    return path


def write_run_results(project: Project, run: RunResult, args: dict[str, Any]) -> Path:
    data = {
        "metadata": _metadata(project, RUN_RESULTS_SCHEMA, run.invocation_id),
        "command": run.command,
        "args": args,
        "started_at": run.started_at,
        "elapsed_time": round(run.elapsed, 4),
        "success": run.success,
        "status": run.status,  # success, error or interrupted
        "results": [_public(r.to_dict()) for r in run.results],
    }
    path = project.target_dir / "run_results.json"
    write_json_atomic(path, data)
    return path


def _public(result: dict[str, Any]) -> dict[str, Any]:
    """A result as run_results.json shows it: without drift profiles (kept in the results tables)."""
    result.get("extra", {}).pop("drift_profiles", None)
    return result


def write_state(folder: Path, fingerprints: dict[str, Any], invocation_id: str) -> Path:
    """target/state/manifest.json: the fingerprint each node had when it was last built successfully."""
    data = {"metadata": {"schema_version": MANIFEST_SCHEMA, "pds_version": __version__, "generated_at": now_iso(),
                         "invocation_id": invocation_id, "kind": "state"},
            "nodes": {uid: {"fingerprint": plain(fp)} for uid, fp in sorted(fingerprints.items())}}
    path = folder / "manifest.json"
    write_json_atomic(path, data)
    return path


