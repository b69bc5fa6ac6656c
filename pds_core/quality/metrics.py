"""Metrics: the aggregate query over a model, and the bounds that judge its value against limits
and against the metric's own history.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from pds_core.nodes import identifier
from pds_core.quality.generic import filtered, parse_sql_expression
from pds_core.quality.spec import Bound, MetricNode

RANK = {"pass": 0, "warn": 1, "fail": 2}
MIN_ZSCORE_HISTORY = 3  # values needed before max_zscore judges anything


def aggregate(metric: MetricNode, dialect: str, source_dialect: str) -> exp.Expression:
    """The metric's SQL aggregate: a ready-made kind over its column, or the user's expression."""
    if metric.kind == "sql":
        return parse_sql_expression(str(metric.expression), source_dialect, f"metric {metric.name}")
    if metric.kind == "row_count":
        return exp.Count(this=exp.Star())
    col = exp.column(identifier(str(metric.column), dialect))
    if metric.kind == "null_rate":
        is_null = exp.Is(this=col, expression=exp.Null())
        return exp.Avg(this=exp.If(this=is_null, true=exp.Literal.number(1.0), false=exp.Literal.number(0.0)))
    builders: dict[str, Callable[[exp.Expression], exp.Expression]] = {
        "mean": lambda c: exp.Avg(this=c), "min": lambda c: exp.Min(this=c), "max": lambda c: exp.Max(this=c),
        "sum": lambda c: exp.Sum(this=c), "stddev": lambda c: exp.StddevSamp(this=c),
        "distinct_count": lambda c: exp.Count(this=exp.Distinct(expressions=[c])),
    }
    return builders[metric.kind](col)


def metric_query(metric: MetricNode, model: exp.Expression, dialect: str, source_dialect: str) -> exp.Select:
    """SELECT <group columns>, <aggregate> AS value FROM model [WHERE ...] [GROUP BY ...]."""
    groups = [exp.column(identifier(g, dialect)) for g in metric.group_by]
    query = (exp.select(*groups, exp.alias_(aggregate(metric, dialect, source_dialect), "pds_metric_value"))
             .from_(filtered(model, metric.where, source_dialect)))
    return query.group_by(*[g.copy() for g in groups]) if groups else query


def group_key(names: list[str], values: tuple[Any, ...]) -> str:
    """A group's stable text key: '' when ungrouped, else JSON of column -> value."""
    if not names:
        return ""
    return json.dumps({n: (None if v is None else str(v)) for n, v in zip(names, values, strict=True)},
                      sort_keys=True)


def as_number(value: Any) -> float | None:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"a metric must be a number, got {type(value).__name__} {value!r:.40}") from None
    return None if math.isnan(number) else number


@dataclass
class BoundResult:
    bound: str
    limit: float
    severity: str
    group: str
    status: str  # pass | warn | fail
    observed: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def judge(value: float | None, bound: Bound, group: str,
          previous: Callable[[str, int], list[float]]) -> BoundResult:
    """One bound on one value; `previous(group, n)` gives the last n accepted values, newest first."""
    observed, note = value, ""
    broken = False
    if bound.kind in ("min", "max"):
        if value is None:
            broken, note = True, "value is null"
        else:
            broken = value < bound.value if bound.kind == "min" else value > bound.value
            note = f"{value:g} {'<' if bound.kind == 'min' else '>'} {bound.kind} {bound.value:g}" if broken else ""
    elif value is None:
        note = "no value to compare"
    elif bound.kind == "max_change_pct":
        history = previous(group, 1)
        if not history:
            note = "no previous value yet"
        else:
            prev = history[0]
            change = 0.0 if value == prev else (math.inf if prev == 0 else (value - prev) / abs(prev) * 100)
            observed = change
            broken = abs(change) > bound.value
            note = f"changed {change:+.1f}% vs {prev:g} (max {bound.value:g}%)"
    else:  # max_zscore
        history = previous(group, bound.window)
        if len(history) < MIN_ZSCORE_HISTORY:
            note = f"{len(history)} previous values; max_zscore needs {MIN_ZSCORE_HISTORY}"
        else:
            mean, sd = statistics.fmean(history), statistics.stdev(history)
            z = abs(value - mean) / sd if sd > 0 else (0.0 if value == mean else math.inf)
            observed, broken = z, z > bound.value
            note = f"z-score {z:.2f} vs last {len(history)} values (mean {mean:g}, max {bound.value:g})"
    status = ("fail" if bound.severity == "error" else "warn") if broken else "pass"
    return BoundResult(bound.kind, bound.value, bound.severity, group, status, observed, note)


def worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda s: RANK.get(s, 0), default="pass")
