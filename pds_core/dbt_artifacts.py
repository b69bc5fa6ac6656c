"""Artifacts in dbt's published shapes, for the tools that read dbt's (manifest v12, run_results v6,
catalog v1, sources v3).

dbt's schemas forbid keys they do not define (additionalProperties: false at the top level, in
metadata and in each node), so pds's own fields cannot ride along: pds keeps its artifacts
(target/manifest.json, target/run_results.json, with fingerprints, lineage, metrics, exports) and
writes dbt's beside them: target/dbt/manifest.json and target/dbt/run_results.json, and, having no
pds counterpart, target/catalog.json (`pds docs generate`) and target/sources.json (`pds source
freshness`) where dbt writes them.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from pds_core.artifacts import now_iso, write_json_atomic
from pds_core.dbt_state import dbt_checksum

SCHEMAS = "https://schemas.getdbt.com/dbt"
DBT_VERSION = "1.11.0"  # the dbt-core release whose artifacts these match
STATUS = {"success": "success", "warn": "warn", "fail": "fail", "error": "error", "skipped": "skipped",
          "unchanged": "no-op"}
TEST_STATUS = {"success": "pass"}


def metadata(kind: str, version: str, invocation_id: str, adapter_type: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"dbt_schema_version": f"{SCHEMAS}/{kind}/{version}.json", "dbt_version": DBT_VERSION,
                            "generated_at": now_iso(), "invocation_id": invocation_id, "env": {}}
    if adapter_type is not None:
        data["adapter_type"] = adapter_type
    return data


# ---- manifest v12 ---------------------------------------------------------------------------------
def manifest_v12(project: Any, manifest: Any, compiled: dict[str, Any], invocation_id: str) -> dict[str, Any]:
    name = project.name
    nodes: dict[str, Any] = {uid: _node(n, compiled.get(uid), name, project.root) for uid, n in manifest.nodes.items()}
    suite = manifest.quality
    unit_tests: dict[str, Any] = {}
    if suite is not None:
        for uid, test in suite.tests.items():
            nodes[uid] = _test(test, name, manifest)
        unit_tests = {uid: _unit_test(t, name, manifest) for uid, t in suite.unit_tests.items()}
    sources = {uid: _source(n, name) for uid, n in manifest.sources.items()}
    parent_map: dict[str, list[str]] = {uid: list(n["depends_on"].get("nodes", [])) for uid, n in {**nodes, **unit_tests}.items()}
    parent_map.update({uid: [] for uid in sources})
    child_map: dict[str, list[str]] = {uid: [] for uid in parent_map}
    for uid, parents in parent_map.items():
        for parent in parents:
            child_map.setdefault(parent, []).append(uid)
    macros = {f"macro.{name}.{macro}": {"name": macro, "resource_type": "macro", "package_name": name,
                                        "path": path, "original_file_path": path,
                                        "unique_id": f"macro.{name}.{macro}", "macro_sql": ""}
              for macro, path in manifest.macros.items()}
    meta = metadata("manifest", "v12", invocation_id, project.target.type)
    meta["project_name"] = name
    return {"metadata": meta, "nodes": nodes, "sources": sources, "macros": macros, "docs": {}, "exposures": {},
            "metrics": {}, "groups": {}, "selectors": {}, "disabled": {}, "parent_map": parent_map,
            "child_map": {k: sorted(v) for k, v in child_map.items()}, "group_map": {}, "saved_queries": {},
            "semantic_models": {}, "unit_tests": unit_tests}


def _common(node: Any, project: str, path: str) -> dict[str, Any]:
    rel = node.relation
    return {"database": rel.database if rel else None, "schema": rel.schema if rel else "",
            "name": node.name, "package_name": project, "path": path, "original_file_path": node.path,
            "unique_id": node.unique_id, "fqn": list(node.fqn), "description": node.description or "",
            "tags": list(node.tags), "meta": dict(node.config.get("meta") or {}),
            "columns": {c.name: {"name": c.name, "description": c.description, "data_type": c.data_type,
                                 "meta": dict(c.meta), "tags": []} for c in node.columns.values()}}


def _node(node: Any, compiled: Any, project: str, root: Any) -> dict[str, Any]:
    parts = PurePosixPath(node.path).parts
    data = _common(node, project, str(PurePosixPath(*parts[1:])) if len(parts) > 1 else node.path)
    config = {k: v for k, v in node.config.items() if v is not None}
    config.setdefault("materialized", node.materialized)
    config.setdefault("enabled", True)
    data.update({
        "resource_type": node.resource_type, "alias": node.relation.identifier if node.relation else node.name,
        "checksum": dbt_checksum(node, root), "config": config,
        "patch_path": f"{project}://{node.patch_path}" if node.patch_path else None,
        "relation_name": str(node.relation) if node.relation else None, "raw_code": node.raw_code,
        "language": "sql" if node.resource_type == "seed" else node.language,
        "depends_on": {"macros": [], "nodes": list(node.depends_on)},
        "refs": [{"name": r, "package": None, "version": None} for r in node.refs],
        "sources": [list(s) for s in node.sources], "unrendered_config": {},
    })
    if node.resource_type == "seed":
        data.pop("refs"), data.pop("sources"), data.pop("language")
        data["depends_on"] = {"macros": []}
        data["root_path"] = None
    if compiled is not None:
        data.update({"compiled": True, "compiled_code": compiled.sql})
    return data


def _test(test: Any, project: str, manifest: Any) -> dict[str, Any]:
    checked = manifest.all_nodes().get(test.attached_to or "")
    refs = [{"name": checked.name, "package": None, "version": None}] if checked is not None \
        and checked.resource_type != "source" else []
    return {"database": None, "schema": "dbt_test__audit", "name": test.name, "resource_type": "test",
            "package_name": project, "path": test.path, "original_file_path": test.path,
            "unique_id": test.unique_id, "fqn": [project, test.name], "alias": test.name,
            "checksum": {"name": "none", "checksum": ""}, "description": test.description or "",
            "config": {"severity": test.severity.upper(), "enabled": True, "materialized": "test",
                       **{k: v for k, v in test.config.items() if k not in ("severity",)}},
            "tags": list(test.config.get("tags") or []), "raw_code": test.raw_code or "", "language": "sql",
            "depends_on": {"macros": [], "nodes": list(test.depends_on)}, "refs": refs, "sources": [],
            "column_name": test.column, "attached_node": test.attached_to if refs else None,
            "test_metadata": {"name": test.test_name, "kwargs": {k: v for k, v in test.kwargs.items()
                                                                 if isinstance(v, str | int | float | bool)},
                              "namespace": None} if test.test_type == "generic" else None}


def _unit_test(test: Any, project: str, manifest: Any) -> dict[str, Any]:
    model = manifest.nodes[test.model]
    given = [{"input": "this" if g.kind == "this" else f"{g.kind}({', '.join(repr(p) for p in g.name.split('.'))})",
              "rows": g.sql if g.sql is not None else g.rows, "format": "sql" if g.sql is not None else "dict"}
             for g in test.given]
    return {"model": model.name, "given": given,
            "expect": {"rows": test.expect_sql if test.expect_sql is not None else test.expect,
                       "format": "sql" if test.expect_sql is not None else "dict"},
            "name": test.name, "resource_type": "unit_test", "package_name": project, "path": test.path,
            "original_file_path": test.path, "unique_id": test.unique_id, "fqn": [project, model.name, test.name],
            "description": test.description, "depends_on": {"macros": [], "nodes": [test.model]},
            "config": {"tags": list(test.tags), "meta": dict(test.config.get("meta") or {}), "enabled": True},
            "overrides": {"macros": test.macros, "vars": test.vars, "env_vars": test.env_vars}
            if (test.macros or test.vars or test.env_vars) else None}


def _source(node: Any, project: str) -> dict[str, Any]:
    meta = node.source_meta
    data = _common(node, project, node.path)
    data.update({"name": meta["table_name"], "resource_type": "source", "source_name": meta["source_name"],
                 "source_description": "", "loader": "", "identifier": node.relation.identifier,
                 "loaded_at_field": meta.get("loaded_at_field"), "freshness": _criteria(meta.get("freshness")),
                 "relation_name": str(node.relation), "config": {"enabled": True}, "quoting": {}})
    return data


def _criteria(spec: Any) -> dict[str, Any] | None:
    if not isinstance(spec, dict):
        return None
    return {key: spec.get(key) for key in ("warn_after", "error_after", "filter") if spec.get(key) is not None}


# ---- run_results v6 -------------------------------------------------------------------------------
def run_results_v6(run: Any, args: dict[str, Any], compiled: dict[str, Any] | None = None) -> dict[str, Any]:
    compiled = compiled or {}
    results = []
    for r in run.results:
        status = r.status
        if r.resource_type in ("test", "unit_test"):
            status = TEST_STATUS.get(status, status)
        status = STATUS.get(status, status) if status != "pass" else "pass"
        response: dict[str, Any] = {"_message": (r.message or "")[:200]}
        if r.rows_affected is not None:
            response["rows_affected"] = r.rows_affected
        comp = compiled.get(r.unique_id)
        results.append({
            "status": status, "thread_id": "Thread-1", "execution_time": float(r.execution_time or 0.0),
            "timing": [{"name": "execute", "started_at": r.started_at, "completed_at": r.completed_at}]
            if r.started_at else [],
            "adapter_response": response, "message": r.message, "failures": r.failures, "unique_id": r.unique_id,
            "compiled": comp is not None, "compiled_code": getattr(comp, "sql", None), "relation_name": r.relation,
            "batch_results": None})
    meta = metadata("run-results", "v6", run.invocation_id)
    meta["invocation_started_at"] = run.started_at
    return {"metadata": meta, "results": results, "elapsed_time": float(run.elapsed),
            "args": {"which": run.command, **{k: v for k, v in args.items() if v is not None}}}


def write_dbt_artifacts(project: Any, manifest: Any, compiled: dict[str, Any], invocation_id: str,
                        run: Any = None, args: dict[str, Any] | None = None) -> None:
    """target/dbt/manifest.json (and, after a run, target/dbt/run_results.json)."""
    folder = project.target_dir / "dbt"
    write_json_atomic(folder / "manifest.json", manifest_v12(project, manifest, compiled, invocation_id))
    if run is not None:
        write_json_atomic(folder / "run_results.json", run_results_v6(run, args or {}, compiled))


# ---- catalog v1 (`pds docs generate`) ---------------------------------------------------------------
def catalog_v1(manifest: dict[str, Any], column_types: dict[str, list[tuple[str, str]]],
               invocation_id: str) -> dict[str, Any]:
    """Every built relation's columns and warehouse types; `manifest` is pds's target/manifest.json."""
    out: dict[str, dict[str, Any]] = {"nodes": {}, "sources": {}}
    for group in ("nodes", "sources"):
        for uid, node in manifest.get(group, {}).items():
            columns = column_types.get(node.get("relation") or "")
            if not columns:
                continue  # not built (or ephemeral): dbt's catalog leaves it out too
            parts = str(node["relation"]).split(".")
            materialized = (node.get("config") or {}).get("materialized") or \
                ("view" if node.get("resource_type") == "model" and node.get("language") == "sql" else "table")
            kind = "VIEW" if materialized == "view" else "BASE TABLE"
            out[group][uid] = {
                "metadata": {"type": kind, "schema": parts[-2] if len(parts) > 1 else "", "name": parts[-1],
                             "database": parts[-3] if len(parts) > 2 else None, "comment": None, "owner": None},
                "columns": {name: {"type": kind_, "index": i, "name": name, "comment": None}
                            for i, (name, kind_) in enumerate(columns, 1)},
                "stats": {"has_stats": {"id": "has_stats", "label": "Has Stats?", "value": False, "include": False,
                                        "description": "Indicates whether there are statistics for this table"}},
                "unique_id": uid}
    return {"metadata": metadata("catalog", "v1", invocation_id), **out, "errors": None}


# ---- sources v3 (`pds source freshness`) ---------------------------------------------------------
FRESHNESS_STATUS = {"pass": "pass", "warn": "warn", "fail": "error", "error": "runtime error"}


def sources_v3(run: Any, tests: dict[str, Any]) -> dict[str, Any]:
    """The freshness of each source checked by the run: `tests` maps the freshness tests' ids to them."""
    results = []
    for r in run.results:
        test = tests.get(r.unique_id)
        if test is None or test.test_name != "freshness":
            continue
        status = FRESHNESS_STATUS.get(str(r.extra.get("test_status") or r.status), "runtime error")
        timing = [{"name": "execute", "started_at": r.started_at, "completed_at": r.completed_at}]
        if status == "runtime error" or "max_loaded_at" not in r.extra:
            results.append({"unique_id": test.attached_to, "error": r.message, "status": "runtime error"})
            continue
        results.append({"unique_id": test.attached_to, "max_loaded_at": r.extra["max_loaded_at"],
                        "snapshotted_at": r.extra["snapshotted_at"],
                        "max_loaded_at_time_ago_in_s": r.extra["age_seconds"], "status": status,
                        "criteria": _criteria(test.kwargs) or {}, "adapter_response": {}, "timing": timing,
                        "thread_id": "Thread-1", "execution_time": float(r.execution_time or 0.0)})
    return {"metadata": metadata("sources", "v3", run.invocation_id), "results": results,
            "elapsed_time": float(run.elapsed)}
