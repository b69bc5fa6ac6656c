"""Drift metrics in `pds build`: read the column this run, read or rebuild the reference, measure
(quality/drift.py), and keep this run's profile as the next run's reference.

Reference `last_run` — the values of the last successful run — lives in the warehouse, in the results
table pds_drift_profiles, so a CI job that keeps nothing between runs still has it. Each run whose
drift metric did not fail appends, per group, a profile of the column:

- rows and NULLs (counted exactly: null_rate_change uses them);
- numeric, date and timestamp columns: every non-NULL value when there are at most PROFILE_POINTS of
  them, else PROFILE_POINTS + 1 evenly spaced quantiles (minimum and maximum included). The quantiles
  stand for the distribution: psi and js_divergence bin them like values, and ks reads them as the
  reference's CDF (off by at most 1/PROFILE_POINTS);
- other columns: the values as text, all of them or a reproducible sample of PROFILE_POINTS.

A failing run does not replace the reference: a shift is reported again on the next run instead of
becoming the new normal. The first run has no reference yet: the metric has no value (its bounds
judge nothing) and its profile becomes the reference.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from pds_core.nodes import identifier
from pds_core.quality.drift import LAST_RUN, DriftMetricNode, _as_float, _key, _numeric, measure, per_group
from pds_core.quality.generic import filtered
from pds_core.quality.metrics import group_key

if TYPE_CHECKING:  # numpy and pandas load when a drift metric is measured, not with every command
    import pandas as pd

PROFILE_POINTS = 2000
TABLE = "pds_drift_profiles"


def read_columns(q: Any, source: exp.Expression, metric: DriftMetricNode) -> pd.DataFrame:
    """The metric's column and group columns, as the metric's where: leaves them."""
    columns = [str(metric.column), *metric.group_by]
    query = exp.select(*[exp.column(identifier(c, q.dialect)) for c in dict.fromkeys(columns)]).from_(
        filtered(source, metric.where, q.source_dialect))
    frame = q.adapter.query_dataframe(query)
    lowered = {c.lower(): c for c in columns}  # warehouses differ in the case they give names back in
    return frame.rename(columns={c: lowered.get(str(c).lower(), c) for c in frame.columns})


def drift_values(q: Any, model: Any, metric: DriftMetricNode) -> tuple[dict[str, float | None], list[dict], str]:
    """(values by group, this run's profiles to keep, a note) for one drift metric. `model(uid)` gives a
    node's rows as a FROM item."""
    current = read_columns(q, model(metric.attached_to), metric)
    if metric.reference.kind != LAST_RUN:
        reference = read_columns(q, model(str(metric.reference.unique_id)), metric)
        values = per_group(metric.kind, current, reference, str(metric.column), metric.group_by, metric.bins)
        return values, [], f"against {metric.reference.name}"
    profiles = [{"group": key, **profile(frame[str(metric.column)])} for key, frame in _groups(current, metric)]
    run, stored = latest_profiles(q, metric) if q.history is not None else (None, {})
    if run is None:
        return {}, profiles, "no reference yet: this run's values are kept as the reference for the next run"
    values: dict[str, float | None] = {}
    for key, frame in _groups(current, metric):
        ref = stored.pop(key, None)
        values[key] = None if ref is None else _measure(metric, frame[str(metric.column)], ref)
    values.update({key: None for key in stored})  # groups the reference had and this run has not
    return dict(sorted(values.items())), profiles, f"against run {run}"


def _groups(frame: pd.DataFrame, metric: DriftMetricNode) -> list[tuple[str, pd.DataFrame]]:
    if not metric.group_by:
        return [("", frame)]
    return [(group_key(metric.group_by, _key(k)), part) for k, part in frame.groupby(metric.group_by, dropna=False,
                                                                                       sort=True)]


def _measure(metric: DriftMetricNode, current: pd.Series, ref: dict[str, Any]) -> float | None:
    import numpy as np
    import pandas as pd

    if metric.kind == "null_rate_change":
        if not len(current) or not ref["rows"]:
            return None
        return float(current.isna().mean() - ref["nulls"] / ref["rows"])
    values = ref["values"]
    if ref["kind"] == "numeric":
        reference = pd.Series(np.asarray(values, dtype="float64"))
        if pd.api.types.is_datetime64_any_dtype(current):
            current = pd.Series(_as_float(current))
    else:
        reference, current = pd.Series(values, dtype=object), current.dropna().astype(str)
    return measure(metric.kind, current.dropna(), reference, metric.bins)


def profile(series: pd.Series) -> dict[str, Any]:
    """What the next run compares with (see the module docstring)."""
    import numpy as np

    values = series.dropna()
    if _numeric(series):
        points = np.sort(_as_float(values))
        if points.size > PROFILE_POINTS:
            points = np.quantile(points, np.linspace(0.0, 1.0, PROFILE_POINTS + 1))
        kept: list[Any] = [float(v) for v in points]
        kind = "numeric"
    else:
        text = values.astype(str)
        if len(text) > PROFILE_POINTS:
            text = text.sample(n=PROFILE_POINTS, random_state=0)
        kept, kind = sorted(text.tolist()), "text"
    return {"kind": kind, "rows": int(len(series)), "nulls": int(series.isna().sum()), "values": kept}


def latest_profiles(q: Any, metric: DriftMetricNode) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """The last run that kept profiles for this metric and target (None: none did), and them by group."""
    run = stored_run(q, metric)
    if run is None:
        return None, {}
    table = q.history.table(TABLE)
    where = exp.and_(*[exp.EQ(this=exp.column(c), expression=exp.Placeholder())
                       for c in ("unique_id", "target", "run_id")])
    columns = ["group_key", "value_kind", "row_count", "null_count", "profile"]
    _cols, rows = q.adapter.fetch(exp.select(*columns).from_(table).where(where),
                                  [metric.unique_id, q.target, run])
    return run, {str(g or ""): {"kind": kind, "rows": int(n), "nulls": int(nulls), "values": json.loads(text)}
                 for g, kind, n, nulls, text in rows}


def stored_run(q: Any, metric: DriftMetricNode) -> str | None:
    table = q.history.table(TABLE)
    query = (exp.select("run_id").from_(table)
             .where(exp.and_(exp.EQ(this=exp.column("unique_id"), expression=exp.Placeholder()),
                             exp.EQ(this=exp.column("target"), expression=exp.Placeholder())))
             .order_by(exp.Ordered(this=exp.column("measured_at"), desc=True)).limit(1))
    _cols, rows = q.adapter.fetch(query, [metric.unique_id, q.target])
    return str(rows[0][0]) if rows else None
