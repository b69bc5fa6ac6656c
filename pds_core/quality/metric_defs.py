"""Parse metric declarations: `metrics:` on models, seeds, source tables and columns in schema YAML,
and the bounds that turn a metric into a check (also used for Python @metric options).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlglot

from pds_core.config import check_keys
from pds_core.errors import ProjectError, did_you_mean
from pds_core.nodes import Node
from pds_core.quality.drift import BINNED, DEFAULT_BINS, LAST_RUN, MEASURES, DriftMetricNode, Reference
from pds_core.quality.spec import BOUND_KINDS, DEFAULT_WINDOW, Bound, Found, MetricNode

if TYPE_CHECKING:
    from pds_core.nodes import Manifest

# ready-made metrics; True when the metric needs a column
KINDS: dict[str, bool] = {"row_count": False, "null_rate": True, "mean": True, "min": True, "max": True,
                          "stddev": True, "sum": True, "distinct_count": True,
                          **{drift: True for drift in MEASURES}}  # psi, ks, js_divergence, null_rate_change
# Drift kinds are declared and checked here; the metric runner computes them (quality/drift_runner.py).
DRIFT_COMPUTED_BY_BUILD = True
METRIC_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "type": (str,), "expression": (str,), "sql": (str,), "column": (str,), "where": (str,),
    "group_by": (list, str), "bounds": (dict, list), "severity": (str,), "description": (str,), "meta": (dict,),
    "reference": (str,), "bins": (int,),  # drift kinds only
}
BOUND_KEYS: dict[str, tuple[type, ...]] = {k: (int, float) for k in BOUND_KINDS}
BOUND_KEYS.update(window=(int,), severity=(str,))
EXAMPLE = ("metrics:\n  - name: mean_score\n    expression: avg(score)\n    bounds: {min: 0, max: 1, max_change_pct: 20,"
           " severity: warn}")


def yaml_metrics(manifest: Manifest, dialect: str = "duckdb") -> Found:
    """Every metric declared in schema YAML, on the node (and column) it measures."""
    found = Found()
    schema = manifest.schema
    declared: list[tuple[Node, dict[str, Any] | None, list[Any], str | None]] = []
    if schema is not None:
        for props in [*schema.models.values(), *schema.seeds.values()]:
            uid = manifest.by_name.get(props.entry["name"])
            if uid is None:  # disabled
                continue
            node = manifest.nodes[uid]
            declared.append((node, None, list(props.entry.get("metrics") or []), props.entry.get("metrics")))
            for col in props.entry.get("columns") or []:
                declared.append((node, col, list(col.get("metrics") or []), col.get("metrics")))
    for node in manifest.sources.values():
        declared.append((node, None, list(node.source_meta.get("metrics") or []), None))
    for node, column, entries, raw in declared:
        for i, entry in enumerate(entries):
            line = raw.line_of(i) if hasattr(raw, "line_of") else getattr(entry, "line", None) or node.patch_line
            try:
                metric = metric_from_yaml(entry, node, column["name"] if column else None,
                                          node.patch_path or node.path, line, manifest.project_name, dialect)
                if isinstance(metric, DriftMetricNode):
                    resolve_reference(metric, manifest)
                    if not DRIFT_COMPUTED_BY_BUILD:
                        raise ProjectError(f"metric type {metric.kind!r} ({metric.name}) is not computed by pds build "
                                           "yet", metric.path, metric.line,
                                           hint="drift metrics are defined (pds_core.quality.drift) but not wired "
                                           "into the build yet; see docs/publish.md#prediction-drift")
                found.items.append(metric)
            except ProjectError as exc:
                found.errors.append(exc)
    return found


def metric_from_yaml(entry: Any, node: Node, column: str | None, path: str, line: int | None, project: str,
                     dialect: str) -> MetricNode:
    if isinstance(entry, str):
        entry = {"type": entry}
    if not isinstance(entry, dict):
        raise ProjectError("each metric must be a mapping (name:, expression: or type:)", path, line, hint=EXAMPLE)
    check_keys(entry, METRIC_KEYS, path, "a metric")
    kind = str(entry.get("type") or "sql")
    expression = entry.get("expression") or entry.get("sql")
    column = entry.get("column") or column
    if kind == "sql":
        if not expression:
            raise ProjectError("a metric needs expression: (a SQL aggregate) or type: (a ready-made metric)", path,
                               line, hint=f"types: {', '.join(KINDS)}; e.g. expression: avg(churn_probability)")
        _check_sql(str(expression), dialect, path, line, "expression")
    elif kind not in KINDS:
        raise ProjectError(f"unknown metric type {kind!r}", path, line,
                           hint=did_you_mean(kind, KINDS) or f"types: {', '.join(KINDS)}, or expression: for SQL")
    elif KINDS[kind] and not column:
        raise ProjectError(f"metric type {kind!r} needs a column", path, line,
                           hint="declare it under a column's metrics:, or add column: name")
    if entry.get("where"):
        _check_sql(str(entry["where"]), dialect, path, line, "where")
    name = entry.get("name") or ("_".join([kind, column]) if column and kind != "sql" else kind)
    if kind == "sql" and not entry.get("name"):
        raise ProjectError("a SQL metric needs a name:", path, line, hint=EXAMPLE)
    group_by = entry.get("group_by") or []
    group_by = [group_by] if isinstance(group_by, str) else [str(g) for g in group_by]
    severity = _severity(entry.get("severity"), path, line)
    fields: dict[str, Any] = dict(
        unique_id=metric_id(project, node, str(name)), name=str(name), kind=kind, path=path, line=line,
        attached_to=node.unique_id, model=node.name, expression=str(expression) if expression else None,
        column=column, where=entry.get("where"), group_by=group_by,
        bounds=parse_bounds(entry.get("bounds"), severity, path, line),
        description=str(entry.get("description") or ""), depends_on=[node.unique_id])
    if kind in MEASURES:
        return DriftMetricNode(**fields, **_drift_options(entry, kind, path, line))
    for key in ("reference", "bins"):
        if key in entry:
            raise ProjectError(f"{key}: applies to drift metrics (psi, ks, js_divergence, null_rate_change), not to "
                               f"type {kind!r}", path, getattr(entry, "line_of", lambda _k: line)(key) or line)
    return MetricNode(**fields)


def _drift_options(entry: Any, kind: str, path: str, line: int | None) -> dict[str, Any]:
    """`reference: last_run` (the default) or the name of a model, seed or 'source.table' holding the
    baseline; `bins:` for psi and js_divergence (quantile bins of the reference, see drift.py)."""
    line_of = getattr(entry, "line_of", lambda _k: line)
    text = str(entry.get("reference") or LAST_RUN).strip()
    if not text:
        raise ProjectError("reference: must be last_run or a model, seed or source.table name", path,
                           line_of("reference") or line)
    reference = Reference(LAST_RUN) if text == LAST_RUN else Reference("relation", text)
    bins = entry.get("bins", DEFAULT_BINS)
    if "bins" in entry and kind not in BINNED:
        raise ProjectError(f"bins: applies to psi and js_divergence, not to {kind}", path, line_of("bins") or line)
    if not isinstance(bins, int) or isinstance(bins, bool) or not 2 <= bins <= 1000:
        raise ProjectError(f"bins must be a whole number from 2 to 1000, got {bins!r}", path, line_of("bins") or line,
                           hint="bins: 10 (quantile bins of the reference)")
    return {"reference": reference, "bins": bins}


def resolve_reference(metric: DriftMetricNode, manifest: Manifest) -> None:
    """A baseline named in reference: must be a model, seed or source of the project; the metric then
    depends on it, so the DAG builds the baseline first."""
    ref = metric.reference
    if ref.kind != "relation":
        return
    name = str(ref.name)
    uid = manifest.by_name.get(name)
    if uid is None:  # a source's name is 'source_name.table'
        uid = next((s for s, node in manifest.sources.items() if node.name == name), None)
    if uid is None:
        known = [*manifest.by_name, *(n.name for n in manifest.sources.values())]
        raise ProjectError(f"reference {name!r} of metric {metric.name} is not a model, seed or source", metric.path,
                           metric.line, hint=did_you_mean(name, known) or "use last_run, or a model name")
    ref.unique_id = uid
    if uid not in metric.depends_on:
        metric.depends_on.append(uid)


def metric_id(project: str, node: Node, name: str) -> str:
    return f"metric.{project}.{node.name}.{name}"


def parse_bounds(spec: Any, severity: str, path: str, line: int | None) -> list[Bound]:
    """`bounds: {min: 0, max_change_pct: 20, severity: warn}` or a list of such mappings."""
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    bounds: list[Bound] = []
    for item in items:
        if not isinstance(item, dict):
            raise ProjectError("bounds must be a mapping such as {min: 0, max_change_pct: 20}", path, line)
        item_line = getattr(item, "line", None) or line
        check_keys(item, BOUND_KEYS, path, "metric bounds")
        sev = _severity(item.get("severity"), path, item_line) if item.get("severity") else severity
        window = item.get("window", DEFAULT_WINDOW)
        if not isinstance(window, int) or window < 2:
            raise ProjectError("window (runs of history for max_zscore) must be a whole number >= 2", path, item_line)
        kinds = [k for k in BOUND_KINDS if item.get(k) is not None]
        if not kinds:
            raise ProjectError(f"bounds need at least one of {', '.join(BOUND_KINDS)}", path, item_line)
        for kind in kinds:
            value = item[kind]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ProjectError(f"bound {kind} must be a number, got {value!r}", path, item_line)
            if kind in ("max_change_pct", "max_zscore") and value < 0:
                raise ProjectError(f"bound {kind} must not be negative", path, item_line)
            bounds.append(Bound(kind, float(value), sev, window))
    return bounds


def _severity(value: Any, path: str, line: int | None) -> str:
    severity = str(value or "error").lower()
    if severity not in ("error", "warn"):
        raise ProjectError(f"severity must be 'error' or 'warn', got {value!r}", path, line)
    return severity


def _check_sql(text: str, dialect: str, path: str, line: int | None, what: str) -> None:
    try:
        sqlglot.parse_one(text, read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise ProjectError(f"metric {what} {text!r} is not valid SQL: {str(exc).splitlines()[0]}", path,
                           line) from None
