"""The docs site's data: manifest.json + run_results.json + the warehouse's history and catalog,
shaped into one JSON document that the page's script renders (embedded, so file:// works).

Only what the page shows goes in: per node its code, config, columns (types from the
catalog, descriptions from YAML, column lineage both ways), tests, metrics and exports;
the last runs with each node's result; per test and metric bound its status per run;
per metric series its values per run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pds_core.docs_site.layout import X_GAP, Y_GAP, layered_layout
from pds_core.docs_site.warehouse import WarehouseData

GRAPH_TYPES = ("model", "seed", "source")
SEED_PREVIEW_LINES = 6


def site_data(manifest: dict[str, Any], warehouse: WarehouseData, run_results: dict[str, Any] | None,
              root: Path) -> dict[str, Any]:
    """Everything the site shows, as plain JSON-ready data."""
    if not warehouse.runs and run_results:
        warehouse = _from_run_results(run_results, warehouse)
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    graph_nodes = {uid: n for uid, n in nodes.items() if n.get("resource_type") in GRAPH_TYPES and shown(n)}
    edges = sorted({(p, uid) for uid, n in graph_nodes.items() for p in n.get("depends_on", []) if p in graph_nodes})
    layout = layered_layout(sorted(graph_nodes), edges)
    hidden = {uid for uid, n in nodes.items() if not shown(n)}
    tests = {uid: _test(t) for uid, t in manifest.get("tests", {}).items() if t.get("attached_to") not in hidden}
    metrics = {uid: _metric(m) for uid, m in manifest.get("metrics", {}).items() if m.get("attached_to") not in hidden}
    exports = manifest.get("exports", {}) or {}
    last = _last_results(warehouse)
    export_history: dict[str, list[list[Any]]] = {}
    for row in warehouse.export_results:
        export_history.setdefault(row["unique_id"], []).append(
            [row["run_id"], row["status"], row.get("rows"), row.get("destination") or "", row.get("message") or ""])
    downstream = _downstream_columns(graph_nodes)
    out_nodes = {}
    for uid, node in graph_nodes.items():
        x, y = layout.positions.get(uid, (0.0, 0.0))
        out_nodes[uid] = {
            **_node_fields(node, root),
            "x": x, "y": y, "layer": layout.layers.get(uid, 0),
            "parents": [], "children": [],
            "columns": _columns(node, warehouse.column_types.get(node.get("relation") or "", []),
                                downstream.get(uid, {})),
            "tests": sorted(t for t, info in tests.items() if info["attached_to"] == uid),
            "metrics": sorted(m for m, info in metrics.items() if info["attached_to"] == uid),
            "exports": [_export(e, export_history) for e in exports.values() if e.get("node") == uid],
            "last": last.get(uid),
        }
    for parent, child in edges:
        out_nodes[child]["parents"].append(parent)
        out_nodes[parent]["children"].append(child)
    meta = manifest.get("metadata", {})
    return {
        "meta": {"project": meta.get("project_name"), "target": meta.get("target", {}),
                 "pds_version": meta.get("pds_version"), "manifest_generated_at": meta.get("generated_at"),
                 "history_problem": warehouse.problem, "runs": len(warehouse.runs)},
        "layout": {"width": layout.width, "height": layout.height, "crossings": layout.crossings,
                   "gaps": {"x": X_GAP, "y": Y_GAP}},
        "nodes": out_nodes, "edges": edges, "tests": tests, "metrics": metrics,
        "runs": warehouse.runs,
        "run_nodes": _by_run(warehouse.node_results),
        "checks": _check_history(warehouse.test_results, tests, metrics),
        "metric_series": _metric_series(warehouse.metric_values),
    }


def shown(node: dict[str, Any]) -> bool:
    """dbt's docs.show: false leaves a node (and its tests) out of the docs site."""
    docs = (node.get("config") or {}).get("docs")
    return not (isinstance(docs, dict) and docs.get("show") is False)


def _node_fields(node: dict[str, Any], root: Path) -> dict[str, Any]:
    config = node.get("config") or {}
    kind = node.get("resource_type")
    fields = {key: node.get(key) for key in ("unique_id", "name", "resource_type", "language", "path", "relation",
                                             "description", "tags", "raw_code", "compiled_code", "patch_path")}
    fields["config"] = config
    fields["materialized"] = "seed" if kind == "seed" else "source" if kind == "source" else \
        config.get("materialized", "view")
    if kind == "source":
        fields["source"] = node.get("source") or {}
    if kind == "seed":
        fields["preview"] = _seed_preview(root / str(node.get("path")))
    return fields


def _seed_preview(path: Path) -> str:
    """The first lines of a seed's CSV, shown in place of code."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(line for _, line in zip(range(SEED_PREVIEW_LINES), fh, strict=False))
    except OSError:
        return ""


def _columns(node: dict[str, Any], catalog: list[tuple[str, str]],
             downstream: dict[str, list[list[str]]]) -> list[dict[str, Any]]:
    """Columns in warehouse order (else lineage order, else YAML order), merged case-insensitively."""
    declared = {name.lower(): col for name, col in (node.get("columns") or {}).items()}
    lineage = {name.lower(): refs for name, refs in (node.get("column_lineage") or {}).items()}
    names: list[str] = [c for c, _ in catalog]
    for extra in [*(node.get("column_lineage") or {}), *(node.get("columns") or {})]:
        if extra.lower() not in {n.lower() for n in names}:
            names.append(extra)
    types = {c.lower(): t for c, t in catalog}
    out = []
    for name in names:
        key = name.lower()
        col = declared.get(key, {})
        out.append({"name": name, "type": types.get(key) or col.get("data_type") or "",
                    "declared_type": col.get("data_type") or "", "description": col.get("description") or "",
                    "upstream": [[r["node"], r["column"]] for r in lineage.get(key, [])],
                    "downstream": downstream.get(key, [])})
    return out


def _downstream_columns(nodes: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[list[str]]]]:
    """uid -> column (lower case) -> the [uid, column] pairs computed from it."""
    out: dict[str, dict[str, list[list[str]]]] = {}
    for uid, node in nodes.items():
        for column, refs in (node.get("column_lineage") or {}).items():
            for ref in refs:
                out.setdefault(ref["node"], {}).setdefault(ref["column"].lower(), []).append([uid, column])
    return out


def _test(test: dict[str, Any]) -> dict[str, Any]:
    keys = ("unique_id", "name", "test_type", "test_name", "column", "attached_to", "path", "line", "description",
            "kwargs", "raw_code")
    out = {k: test.get(k) for k in keys}
    out["severity"] = (test.get("config") or {}).get("severity", "error")
    return out


def _export(export: dict[str, Any], history: dict[str, list[list[Any]]]) -> dict[str, Any]:
    """An export as declared (secrets already masked in the manifest), its destination in a line, its runs."""
    spec = export.get("spec") or {}
    kind = export.get("kind")
    if kind == "file":
        where = f"{spec.get('path')} ({spec.get('format')})"
    elif kind == "table":
        table = ".".join(str(p) for p in (spec.get("schema"), spec.get("name") or export.get("model")) if p)
        where = f"target {spec.get('target')}: {table} ({spec.get('mode', 'replace')})"
    else:
        where = f"{spec.get('method', 'POST')} {spec.get('url')}"
    keys = ("unique_id", "name", "kind", "description", "path", "line", "targets", "columns", "where")
    return {**{k: export.get(k) for k in keys}, "destination": where, "spec": spec,
            "history": history.get(str(export.get("unique_id")), [])}


def _metric(metric: dict[str, Any]) -> dict[str, Any]:
    keys = ("unique_id", "name", "model", "attached_to", "kind", "expression", "column", "where", "group_by",
            "bounds", "description", "path", "line")
    return {k: metric.get(k) for k in keys}


def _last_results(warehouse: WarehouseData) -> dict[str, dict[str, Any]]:
    """Each node's result in the newest run that ran it."""
    order = {r["run_id"]: i for i, r in enumerate(warehouse.runs)}  # 0 = newest
    last: dict[str, dict[str, Any]] = {}
    for row in warehouse.node_results:
        rank = order.get(row["run_id"], len(order))
        seen = last.get(row["unique_id"])
        if seen is None or rank < seen["rank"]:
            last[row["unique_id"]] = {"rank": rank, "run_id": row["run_id"], "status": row["status"],
                                      "quality": row.get("quality_status"), "time": row.get("execution_time"),
                                      "at": row.get("started_at"), "message": row.get("message") or ""}
    return last


def _by_run(rows: list[dict[str, Any]]) -> dict[str, list[list[Any]]]:
    """run id -> [uid, status, seconds, rows, quality, message] per node, compact for big projects."""
    out: dict[str, list[list[Any]]] = {}
    for row in rows:
        message = row.get("message") or ""
        out.setdefault(row["run_id"], []).append(
            [row["unique_id"], row["status"], row.get("execution_time"), row.get("rows_affected"),
             row.get("quality_status"), message if row["status"] != "success" else ""])
    return out


def _check_history(rows: list[dict[str, Any]], tests: dict[str, Any], metrics: dict[str, Any]) -> list[dict]:
    """One entry per test, check or metric bound (per group), with its status in each run."""
    checks: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["unique_id"], row["name"], row.get("group_key") or "")
        entry = checks.get(key)
        if entry is None:
            known = tests.get(row["unique_id"]) or metrics.get(row["unique_id"]) or {}
            entry = checks[key] = {"id": "::".join(key).rstrip(":"), "unique_id": row["unique_id"],
                                   "name": row["name"], "group": _group_label(row.get("group_key")),
                                   "test_type": row.get("test_type"), "node": row.get("node_id")
                                   or known.get("attached_to"), "severity": row.get("severity"), "results": {}}
        entry["results"][row["run_id"]] = [row["status"], row.get("failures"), row.get("message") or ""]
    return sorted(checks.values(), key=lambda c: (c["name"], c["group"]))


def _metric_series(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One series per metric and group, values oldest first."""
    series: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["unique_id"], row.get("group_key") or "")
        entry = series.setdefault(key, {"unique_id": row["unique_id"], "metric": row.get("metric"),
                                        "group": _group_label(row.get("group_key")), "group_key": key[1],
                                        "points": []})
        entry["points"].append({"run_id": row["run_id"], "at": row.get("measured_at"), "value": row.get("value"),
                                "status": row.get("status")})
    for entry in series.values():
        entry["points"].sort(key=lambda p: p["at"] or "")
    return sorted(series.values(), key=lambda s: (s["unique_id"], s["group"]))


def _group_label(key: str | None) -> str:
    if not key:
        return ""
    try:
        return ", ".join(f"{k}={v}" for k, v in json.loads(key).items())
    except (ValueError, AttributeError):
        return str(key)


def _from_run_results(run_results: dict[str, Any], warehouse: WarehouseData) -> WarehouseData:
    """No history in the warehouse: the last run (target/run_results.json) is the only one shown."""
    run_id = run_results.get("metadata", {}).get("invocation_id", "last")
    results = run_results.get("results", [])
    run = {"run_id": run_id, "command": run_results.get("command"), "started_at": run_results.get("started_at"),
           "status": "success" if run_results.get("success") else "error",
           "elapsed_seconds": run_results.get("elapsed_time"), "nodes": len(results),
           "failed": sum(r["status"] in ("error", "fail") for r in results)}
    nodes = [{"run_id": run_id, "unique_id": r["unique_id"], "name": r["name"], "status": r["status"],
              "message": r.get("message"), "rows_affected": r.get("rows_affected"),
              "execution_time": r.get("execution_time"), "started_at": r.get("started_at"),
              "quality_status": (r.get("extra") or {}).get("quality")} for r in results]
    tests = [{"run_id": run_id, "unique_id": r["unique_id"], "name": r["name"],
              "status": (r.get("extra") or {}).get("test_status") or r["status"], "failures": r.get("failures"),
              "message": r.get("message"), "node_id": (r.get("extra") or {}).get("attached_to")}
             for r in results if r["resource_type"] == "test"]
    values = [{"run_id": run_id, "unique_id": r["unique_id"], "metric": r["name"], "group_key": v.get("group"),
               "value": v.get("value"), "status": v.get("status"), "measured_at": v.get("measured_at")}
              for r in results if r["resource_type"] == "metric" for v in (r.get("extra") or {}).get("values", [])]
    return WarehouseData([run], nodes, tests, values, warehouse.column_types, warehouse.problem)
