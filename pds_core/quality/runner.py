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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from pds_adapters.statements import rendered, subquery, wraps_rendered
from pds_core.artifacts import now_iso
from pds_core.compiler import CompiledNode
from pds_core.errors import ProjectError
from pds_core.history import ResultsHistory, timestamp
from pds_core.nodes import Node, Relation
from pds_core.quality.drift import DriftMetricNode
from pds_core.quality.drift_runner import drift_values
from pds_core.quality.generic import builtin_query, filtered, parse_sql_expression, test_status
from pds_core.quality.metrics import as_number, group_key, judge, metric_query, worst
from pds_core.quality.pyexec import PythonFiles, UserCodeFailed, call
from pds_core.quality.spec import PERIODS, MetricNode, TestNode
from pds_core.results import FAIL, SKIPPED, SUCCESS, WARN, NodeResult
from pds_core.runners.base import NodeFailed, RunContext, Runner

STATUS = {"pass": SUCCESS, "warn": WARN, "fail": FAIL}
SAMPLE_ROWS = 3


@dataclass
class QualityContext:
    """What running quality nodes needs from the plan, passed explicitly."""

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
    render_test: Callable[[TestNode, Node | None, Any], str] | None = None  # quality/connected.py, bound to the plan


class QualityRunner(Runner):
    """Runs tests, checks and metrics (the "test" and "metric" entries of the runner registry)."""

    def __init__(self, run: RunContext, ctx: QualityContext) -> None:
        super().__init__(run)
        self.q = ctx

    def result(self, node: TestNode | MetricNode, status: str = SUCCESS, message: str = "") -> NodeResult:
        return base_result(node, status, message)

    def location(self, node: TestNode | MetricNode) -> tuple[str | None, int | None]:
        return None, None  # a quality error names its own place, or none

    def skipped(self, node: TestNode | MetricNode, because: str, plan: Any, results: dict[str, NodeResult]) -> NodeResult:
        result = base_result(node, SKIPPED, f"skipped because {plan.name_of(because)} failed")
        if isinstance(node, TestNode):
            result.extra["test_status"] = "skipped"
        return result

    def run(self, node: TestNode | MetricNode, result: NodeResult) -> None:
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
            raise NodeFailed(str(exc), **self._error_extra(node)) from None
        except Exception as exc:  # the warehouse refused the query
            if self.ctx.interrupted.is_set():
                raise
            text = str(exc).strip() or type(exc).__name__
            raise NodeFailed(f"{node.path}: {self.redact(text)}", **self._error_extra(node)) from None

    @staticmethod
    def _error_extra(node: TestNode | MetricNode) -> dict[str, Any]:
        return {"test_status": "error"} if isinstance(node, TestNode) else {}

    # ---- relations ---------------------------------------------------------------------------
    def _require_built(self, node: TestNode | MetricNode) -> None:
        """Every model or seed the node reads must be built; a test of two models where only one was
        selected and built says so, instead of failing on a missing table."""
        if self.q.is_built is None:
            return
        for uid in [node.attached_to or "", *[d for d in node.depends_on if d != node.attached_to]]:
            target = self.q.nodes.get(uid)
            if target is None or target.resource_type == "source" or target.materialized == "ephemeral":
                continue
            if not self.q.is_built(target):
                hint = f"run `pds build --select {target.name}` first"
                if len(node.depends_on) > 1:  # brought in by a selection that did not include all it reads
                    hint += (", or pass --indirect-selection cautious to run only the tests whose every "
                             "parent is selected")
                raise ProjectError(f"{target.name} is not built in target {self.q.target!r}", hint=hint)

    def model(self, uid: str) -> exp.Expression:
        """The rows of a node as a FROM item: its table, or an ephemeral model's query as a subquery."""
        node = self.q.nodes[uid]
        if node.materialized == "ephemeral":
            return subquery(self._compiled(uid), re.sub(r"\W", "_", node.name))
        assert node.relation is not None
        quoting = node.source_meta.get("quoting") if node.resource_type == "source" else None
        if quoting:
            return node.relation.table(self.q.dialect, dict(quoting))
        return self.q.adapter.table(node.relation)

    def _compiled(self, uid: str) -> exp.Expression:
        """A compiled query as it was written in the target's dialect (parsed only for another dialect)."""
        compiled = self.q.compiled[uid]
        if compiled.dialect == self.q.dialect and wraps_rendered(self.q.dialect):
            return rendered(compiled.sql)
        return compiled.ast.copy()

    def _dataframe(self, uid: str) -> Any:
        return self.q.adapter.query_dataframe(exp.select("*").from_(self.model(uid)))

    # ---- tests -------------------------------------------------------------------------------
    def _sql_test(self, test: TestNode, result: NodeResult) -> None:
        if test.renders_with_warehouse:
            query = self._connected(test)
        elif test.rendered is not None:
            query = self._compiled(test.unique_id)
        else:
            model = filtered(self.model(str(test.attached_to)), test.config.get("where"), self.q.source_dialect)
            query = builtin_query(test.test_name, test.kwargs, model, self.q.dialect, self.q.source_dialect,
                                  lambda arg: self.model(test.relations[arg]))
        if test.config.get("limit"):
            query = exp.select(exp.Star()).from_(subquery(query, "pds_limited")).limit(int(test.config["limit"]))
        text = result.extra["compiled_code"] = query.sql(dialect=self.q.dialect)
        if wraps_rendered(self.q.dialect):
            query = rendered(text)  # generated once: the statements below wrap it as it is
        stored = None
        if self.q.store_failures or test.config.get("store_failures"):
            stored = self._failures_relation(test)
            self.q.adapter.ensure_schema(stored.schema)
            self.q.adapter.replace_table(stored, query)
            source: exp.Expression = self.q.adapter.table(stored)
            result.extra["failures_relation"] = str(stored)
        else:
            source = subquery(query, "pds_failures")
        failures, calc = self._failures(test, source)
        sample = ""
        if failures:
            cols, rows = self.q.adapter.fetch(exp.select(exp.Star()).from_(source, copy=False).limit(SAMPLE_ROWS))
            sample = "; ".join(", ".join(f"{c}={v!r}" for c, v in zip(cols, row, strict=True)) for row in rows)
        self._judge(test, result, failures, sample, stored, calc=calc)

    def _failures(self, test: TestNode, source: exp.Expression) -> tuple[int, str | None]:
        """The failures of a test: its rows counted, or its fail_calc over them (dbt's `select <fail_calc> as
        failures from (<test>) dbt_internal_test`; NULL, e.g. a sum over no rows, is 0 failures)."""
        calc = test.config.get("fail_calc")
        if calc is None or str(calc).replace(" ", "").lower() == "count(*)":
            _cols, rows = self.q.adapter.fetch(exp.select(exp.Count(this=exp.Star())).from_(source, copy=False))
            return int(rows[0][0]), None
        value = parse_sql_expression(str(calc), self.q.source_dialect, "fail_calc")
        from_ = source if isinstance(source, exp.Table) else subquery(source.this, "dbt_internal_test")
        _cols, rows = self.q.adapter.fetch(exp.select(value.as_("failures")).from_(from_, copy=False))
        found = rows[0][0] if rows else None
        return (0 if found is None else int(found)), " ".join(str(calc).split())

    def _connected(self, test: TestNode) -> exp.Expression:
        """A test that reads `execute`: its SQL rendered now, with the warehouse (quality/connected.py)."""
        if self.q.render_test is None:
            raise ProjectError(f"test {test.name} needs the warehouse to render (it reads `execute`)", test.path)
        text = self.q.render_test(test, self.q.nodes.get(test.attached_to or ""), self.q.adapter)
        if wraps_rendered(self.q.dialect):
            return rendered(text)
        return sqlglot.parse_one(text, read=self.q.dialect)

    def _judge(self, test: TestNode, result: NodeResult, failures: int, sample: str,
               stored: Relation | None, counted: bool = True, calc: str | None = None) -> None:
        """Severity and thresholds decide the status; `counted` is False for a check that returned one bool;
        `calc` is the fail_calc that gave `failures` (not a row count then)."""
        status = test_status(failures, test.config)
        result.status, result.failures = STATUS[status], failures
        result.extra["test_status"] = status
        if status == "pass":
            result.message = f"{_kind(test)} {test.name} passed"
            return
        rows = f"{failures} failing row{'s' if failures != 1 else ''}" if calc is None else \
            f"{failures} failures (fail_calc {calc})"
        result.message = f"{rows}" + (f", e.g. {sample}" if sample else "") if counted else sample
        if stored is not None:
            result.message += f" (stored in {stored})"
        if status == "warn":
            result.message = f"{_kind(test)} {test.name}: {result.message}"

    def _failures_relation(self, test: TestNode) -> Relation:
        name = f"failures__{test.name}"
        if len(name) > 63:  # Postgres' identifier limit
            name = name[:54] + "_" + hashlib.md5(name.encode()).hexdigest()[:8]
        return Relation(self.q.results_schema, name)

    def _check(self, test: TestNode, result: NodeResult) -> None:
        import pandas as pd

        func = self.q.files.function(test.path, test.test_name)
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
        if failing is not None and failures and (self.q.store_failures or test.config.get("store_failures")):
            stored = self._failures_relation(test)
            self.q.adapter.ensure_schema(stored.schema)
            self.q.adapter.write_dataframe(stored, failing.reset_index(drop=True))
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
        field = parse_sql_expression(args["loaded_at_field"], self.q.source_dialect, "loaded_at_field")
        model = filtered(self.model(str(test.attached_to)), args.get("filter"), self.q.source_dialect)
        _cols, rows = self.q.adapter.fetch(exp.select(exp.Max(this=field)).from_(model))
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
        if age is not None:  # for sources.json (dbt_artifacts.sources_v3)
            result.extra.update(max_loaded_at=latest.isoformat(), snapshotted_at=now.isoformat(), age_seconds=age)
        if status == "pass":
            result.message = f"freshness {test.name}: {said}"

    # ---- metrics -----------------------------------------------------------------------------
    def _metric(self, metric: MetricNode, result: NodeResult) -> None:
        values: dict[str, float | None] = {}
        profiles, note = None, ""
        if isinstance(metric, DriftMetricNode):  # against a baseline or the last run (drift_runner.py)
            values, profiles, note = drift_values(self.q, self.model, metric)
        elif metric.kind == "python":
            out = call(self.q.files.function(metric.path, str(metric.function)), metric.path,
                       self._dataframe(metric.attached_to))
            try:
                items = out.items() if isinstance(out, dict) else [(None, out)]
                values = {("" if k is None else group_key(["group"], (k,))): as_number(v) for k, v in items}
            except ValueError as exc:
                raise UserCodeFailed(f"{metric.path}: {metric.function}(): {exc}") from None
        else:
            query = metric_query(metric, self.model(metric.attached_to), self.q.dialect, self.q.source_dialect)
            result.extra["compiled_code"] = query.sql(dialect=self.q.dialect)
            _cols, rows = self.q.adapter.fetch(query)
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
        result.message = f"metric {metric.name} = {shown}" if values or not note else f"metric {metric.name}: {note}"
        if profiles and status != "fail":  # kept as the next run's reference (record.py writes them)
            result.extra["drift_profiles"] = profiles
        if broken:
            result.message += "; " + "; ".join(f"{_label(j.group)}{j.bound}: {j.message}" for j in broken[:4])

    def _previous(self, metric: MetricNode) -> Callable[[str, int], list[float]]:
        history = self.q.history

        def previous(group: str, limit: int) -> list[float]:
            return history.previous_values(metric.unique_id, group, self.q.target, limit) if history else []

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
