"""Run one test, check or metric against the warehouse and describe the outcome as a NodeResult.

A test is a query returning failing rows: pds counts them (or, with store_failures, keeps
them in a table first) and applies severity, warn_if and error_if. A Python check gets the
model's DataFrame. A metric's value is judged by its bounds, the history coming from the
results tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from pds_core.artifacts import now_iso
from pds_core.compiler import CompiledNode
from pds_core.errors import ProjectError
from pds_core.nodes import Node, Relation
from pds_core.quality.generic import builtin_query, filtered, parse_sql_expression, test_status
from pds_core.quality.history import ResultsHistory, timestamp
from pds_core.quality.metrics import as_number, group_key, judge, metric_query, worst
from pds_core.quality.pyexec import PythonFiles, UserCodeFailed, call
from pds_core.quality.spec import PERIODS, MetricNode, TestNode
from pds_core.results import ERROR, FAIL, SUCCESS, WARN, NodeResult

STATUS = {"pass": SUCCESS, "warn": WARN, "fail": FAIL}
SAMPLE_ROWS = 3


@dataclass
class QualityContext:
    """What running quality nodes needs from the task, passed explicitly."""

    adapter: Any
    nodes: dict[str, Node]  # models, seeds and sources by unique id
    compiled: dict[str, CompiledNode]  # ephemeral models and SQL tests
    dialect: str
    source_dialect: str
    results_schema: str
    target: str
    files: PythonFiles
    history: ResultsHistory | None = None
    store_failures: bool = False
    is_built: Callable[[Node], bool] | None = None


class QualityRunner:
    def __init__(self, ctx: QualityContext) -> None:
        self.ctx = ctx

    def run(self, node: TestNode | MetricNode) -> NodeResult:
        result = base_result(node)
        result.started_at = now_iso()
        t0 = time.perf_counter()
        try:
            self._require_built(node)
            if isinstance(node, MetricNode):
                self._metric(node, result)
            elif node.test_type == "python":
                self._check(node, result)
            elif node.test_name == "freshness":
                self._freshness(node, result)
            else:
                self._sql_test(node, result)
        except (ProjectError, UserCodeFailed) as exc:
            result.status, result.message = ERROR, str(exc)
        except Exception as exc:  # the warehouse refused the query
            text = str(exc).strip() or type(exc).__name__
            result.status, result.message = ERROR, f"{node.path}: {self.ctx.adapter.redact(text)}"
        if result.status == ERROR and isinstance(node, TestNode):
            result.extra["test_status"] = "error"
        result.execution_time = time.perf_counter() - t0
        result.completed_at = now_iso()
        return result

    # ---- relations ---------------------------------------------------------------------------
    def _require_built(self, node: TestNode | MetricNode) -> None:
        target = self.ctx.nodes.get(node.attached_to or "")
        if target is None or target.resource_type == "source" or target.materialized == "ephemeral":
            return
        if self.ctx.is_built is not None and not self.ctx.is_built(target):
            raise ProjectError(f"{target.name} is not built in target {self.ctx.target!r}",
                               hint=f"run `pds build --select {target.name}` first")

    def model(self, uid: str) -> exp.Expression:
        """The rows of a node as a FROM item: its table, or an ephemeral model's query as a subquery."""
        node = self.ctx.nodes[uid]
        if node.materialized == "ephemeral":
            return self.ctx.compiled[uid].ast.copy().subquery(re.sub(r"\W", "_", node.name))
        assert node.relation is not None
        quoting = node.source_meta.get("quoting") if node.resource_type == "source" else None
        if quoting:
            return node.relation.table(self.ctx.dialect, dict(quoting))
        return self.ctx.adapter.table(node.relation)

    def _dataframe(self, uid: str) -> Any:
        return self.ctx.adapter.query_dataframe(exp.select("*").from_(self.model(uid)))

    # ---- tests -------------------------------------------------------------------------------
    def _sql_test(self, test: TestNode, result: NodeResult) -> None:
        if test.rendered is not None:
            query = self.ctx.compiled[test.unique_id].ast.copy()
        else:
            model = filtered(self.model(str(test.attached_to)), test.config.get("where"), self.ctx.source_dialect)
            query = builtin_query(test.test_name, test.kwargs, model, self.ctx.dialect, self.ctx.source_dialect,
                                  lambda arg: self.model(test.relations[arg]))
        if test.config.get("limit"):
            query = exp.select("*").from_(query.subquery("pds_limited")).limit(int(test.config["limit"]))
        result.extra["compiled_code"] = query.sql(dialect=self.ctx.dialect)
        stored = None
        if self.ctx.store_failures or test.config.get("store_failures"):
            stored = self._failures_relation(test)
            self.ctx.adapter.ensure_schema(stored.schema)
            self.ctx.adapter.replace_table(stored, query)
            source: exp.Expression = self.ctx.adapter.table(stored)
            result.extra["failures_relation"] = str(stored)
        else:
            source = query.subquery("pds_failures")
        _cols, rows = self.ctx.adapter.fetch(exp.select(exp.Count(this=exp.Star())).from_(source.copy()))
        failures = int(rows[0][0])
        sample = ""
        if failures:
            cols, rows = self.ctx.adapter.fetch(exp.select("*").from_(source.copy()).limit(SAMPLE_ROWS))
            sample = "; ".join(", ".join(f"{c}={v!r}" for c, v in zip(cols, row, strict=True)) for row in rows)
        self._judge(test, result, failures, sample, stored)

    def _judge(self, test: TestNode, result: NodeResult, failures: int, sample: str,
               stored: Relation | None, counted: bool = True) -> None:
        """Severity and thresholds decide the status; `counted` is False for a check that returned one bool."""
        status = test_status(failures, test.config)
        result.status, result.failures = STATUS[status], failures
        result.extra["test_status"] = status
        if status == "pass":
            result.message = f"{_kind(test)} {test.name} passed"
            return
        rows = f"{failures} failing row{'s' if failures != 1 else ''}"
        result.message = f"{rows}" + (f", e.g. {sample}" if sample else "") if counted else sample
        if stored is not None:
            result.message += f" (stored in {stored})"
        if status == "warn":
            result.message = f"{_kind(test)} {test.name}: {result.message}"

    def _failures_relation(self, test: TestNode) -> Relation:
        name = f"failures__{test.name}"
        if len(name) > 63:  # Postgres' identifier limit
            name = name[:54] + "_" + hashlib.md5(name.encode()).hexdigest()[:8]
        return Relation(self.ctx.results_schema, name)

    def _check(self, test: TestNode, result: NodeResult) -> None:
        import pandas as pd

        func = self.ctx.files.function(test.path, test.test_name)
        df = self._dataframe(str(test.attached_to))
        out = call(func, test.path, df)
        failing = None
        if isinstance(out, pd.Series):
            if len(out) != len(df):
                raise UserCodeFailed(f"{test.path}: {test.test_name}() returned {len(out)} values for {len(df)} rows")
            ok = out.fillna(False).astype(bool).to_numpy()
            failing = df[~ok]
            failures = len(failing)
        elif isinstance(out, bool) or type(out).__name__ == "bool_":
            failures = 0 if bool(out) else 1
        else:
            raise UserCodeFailed(f"{test.path}: {test.test_name}() returned {type(out).__name__}; "
                                 "return a bool or a boolean Series with one value per row")
        stored = None
        if failing is not None and failures and (self.ctx.store_failures or test.config.get("store_failures")):
            stored = self._failures_relation(test)
            self.ctx.adapter.ensure_schema(stored.schema)
            self.ctx.adapter.write_dataframe(stored, failing.reset_index(drop=True))
            result.extra["failures_relation"] = str(stored)
        sample = ""
        if failing is not None and failures:
            sample = "; ".join(", ".join(f"{c}={v!r}" for c, v in row.items())
                               for row in failing.head(SAMPLE_ROWS).to_dict(orient="records"))
        elif failures:
            sample = f"{test.test_name}() returned False"
        self._judge(test, result, failures, sample, stored, counted=failing is not None)

    def _freshness(self, test: TestNode, result: NodeResult) -> None:
        args = test.kwargs
        field = parse_sql_expression(args["loaded_at_field"], self.ctx.source_dialect, "loaded_at_field")
        model = filtered(self.model(str(test.attached_to)), args.get("filter"), self.ctx.source_dialect)
        _cols, rows = self.ctx.adapter.fetch(exp.select(exp.Max(this=field)).from_(model))
        latest = rows[0][0] if rows else None
        now = dt.datetime.now(dt.UTC)
        if latest is None:
            age, said = None, "no rows with a loaded_at value"
        else:
            if not isinstance(latest, dt.datetime):
                latest = dt.datetime.combine(latest, dt.time()) if isinstance(latest, dt.date) else timestamp(str(latest))
            latest = latest.replace(tzinfo=dt.UTC) if latest.tzinfo is None else latest
            age = (now - latest).total_seconds()
            said = f"last loaded {latest:%Y-%m-%d %H:%M} UTC, {_duration(age)} ago"
        status = "pass"
        for key, verdict in (("error_after", "fail"), ("warn_after", "warn")):
            limit = args.get(key)
            if limit and (age is None or age > limit["count"] * PERIODS[limit["period"]]):
                status, said = verdict, f"{said} (older than {key} {limit['count']} {limit['period']})"
                break
        result.status, result.failures, result.message = STATUS[status], int(status != "pass"), said
        result.extra["test_status"] = status
        if status == "pass":
            result.message = f"freshness {test.name}: {said}"

    # ---- metrics -----------------------------------------------------------------------------
    def _metric(self, metric: MetricNode, result: NodeResult) -> None:
        values: dict[str, float | None] = {}
        if metric.kind == "python":
            out = call(self.ctx.files.function(metric.path, str(metric.function)), metric.path,
                       self._dataframe(metric.attached_to))
            try:
                items = out.items() if isinstance(out, dict) else [(None, out)]
                values = {("" if k is None else group_key(["group"], (k,))): as_number(v) for k, v in items}
            except ValueError as exc:
                raise UserCodeFailed(f"{metric.path}: {metric.function}(): {exc}") from None
        else:
            query = metric_query(metric, self.model(metric.attached_to), self.ctx.dialect, self.ctx.source_dialect)
            result.extra["compiled_code"] = query.sql(dialect=self.ctx.dialect)
            _cols, rows = self.ctx.adapter.fetch(query)
            n = len(metric.group_by)
            values = dict(sorted((group_key(metric.group_by, tuple(row[:n])), as_number(row[n])) for row in rows))
        measured = now_iso()
        judged = [judge(value, bound, group, self._previous(metric))
                  for group, value in values.items() for bound in metric.bounds]
        entries = []
        for group, value in values.items():
            status = worst([j.status for j in judged if j.group == group])
            entries.append({"group": group, "value": value, "status": status, "measured_at": measured})
        status = worst([e["status"] for e in entries])
        result.status = STATUS[status]
        result.extra.update(values=entries, bounds=[j.to_dict() for j in judged])
        shown = ", ".join(f"{_label(e['group'])}{_fmt(e['value'])}" for e in entries[:6]) or "no rows"
        broken = [j for j in judged if j.status != "pass"]
        result.message = f"metric {metric.name} = {shown}"
        if broken:
            result.message += "; " + "; ".join(f"{_label(j.group)}{j.bound}: {j.message}" for j in broken[:4])

    def _previous(self, metric: MetricNode) -> Callable[[str, int], list[float]]:
        history = self.ctx.history

        def previous(group: str, limit: int) -> list[float]:
            return history.previous_values(metric.unique_id, group, self.ctx.target, limit) if history else []

        return previous


def base_result(node: TestNode | MetricNode, status: str = SUCCESS, message: str = "") -> NodeResult:
    """A NodeResult for a quality node, carrying what the results tables need in `extra`."""
    extra: dict[str, Any] = {"attached_to": node.attached_to}
    if isinstance(node, TestNode):
        extra.update(test_type=node.test_type, test_name=node.test_name, column=node.column,
                     severity=node.severity)
    else:
        extra.update(metric=node.name, model=node.model)
    return NodeResult(unique_id=node.unique_id, name=node.name, resource_type=node.resource_type, status=status,
                      message=message, path=node.path, extra=extra)


def _kind(test: TestNode) -> str:
    return "check" if test.test_type == "python" else "test"


def _label(group: str) -> str:
    if not group:
        return ""
    import json

    return "/".join(str(v) for v in json.loads(group).values()) + ": "


def _fmt(value: float | None) -> str:
    return "null" if value is None else f"{value:.6g}"


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if abs(seconds) >= size:
            count = seconds / size
            return f"{count:.1f} {unit}s"
    return f"{seconds:.0f} seconds"
