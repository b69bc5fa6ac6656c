"""Online scoring: the rows a client posts, checked against the columns of the model's parents and
turned into the DataFrames the model's own model() receives in place of ctx.ref(parent).

The scorer is injected: `score(model_name, parent_frames) -> DataFrame`. pds's batch machinery for
running a Python model on given inputs (the one unit tests use) is wired in as that callable,
so the endpoint answers with exactly what a build would compute for the same rows.

Accepted bodies:
    {"inputs": {"<parent>": [{"col": value, ...}, ...], ...}}   one list per parent, all parents
    {"rows": [{...}, ...]}  or  [{...}, ...]                     when the model has one parent
Each row must have exactly the parent's columns; values must fit the column's type (integers for
integer columns, numbers for floating ones, true/false, text, ISO 8601 dates and timestamps); NULL is
allowed. Everything wrong is listed in one 422 answer, each with where it is (inputs.<parent>[row].col).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

Scorer = Callable[[str, dict[str, pd.DataFrame]], pd.DataFrame]
MAX_ROWS = 10_000
MAX_PROBLEMS = 20


class InputError(ValueError):
    """Posted rows that do not fit the parents' columns: HTTP 422 with every problem listed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ScoringModel:
    """A Python model served with `serve: score`: its parents and their columns (name -> Arrow type,
    or a type name such as int64, double, string, bool, date32[day], timestamp[us])."""

    name: str
    parents: dict[str, dict[str, pa.DataType | str]] = field(default_factory=dict)

    def types(self, parent: str) -> dict[str, pa.DataType]:
        return {c: t if isinstance(t, pa.DataType) else pa.type_for_alias(t) for c, t in self.parents[parent].items()}


def parse_inputs(model: ScoringModel, body: Any, max_rows: int = MAX_ROWS) -> dict[str, pd.DataFrame]:
    """The posted rows per parent as typed DataFrames, or InputError listing what is wrong."""
    parents = list(model.parents)
    if isinstance(body, list) or (isinstance(body, dict) and "rows" in body and "inputs" not in body):
        if len(parents) != 1:
            raise InputError([f"{model.name} reads {len(parents)} parents ({', '.join(parents)}): post "
                              '{"inputs": {"<parent>": [rows...]}} with rows for each']
                             )
        unknown = sorted(set(body) - {"rows"}) if isinstance(body, dict) else []
        if unknown:
            raise InputError([f"unknown key {unknown[0]!r} in the body; expected rows or inputs"])
        inputs: Any = {parents[0]: body if isinstance(body, list) else body["rows"]}
    elif isinstance(body, dict) and set(body) == {"inputs"} and isinstance(body["inputs"], dict):
        inputs = body["inputs"]
    else:
        raise InputError(['the body must be {"inputs": {"<parent>": [rows...]}} (or {"rows": [...]} for a model '
                          "with one parent)"])
    problems: list[str] = []
    for name in inputs:
        if name not in model.parents:
            problems.append(f"inputs.{name}: {model.name} has no parent {name!r}; parents: {', '.join(parents)}")
    for name in parents:
        if name not in inputs:
            problems.append(f"inputs.{name}: missing; {model.name} reads it")
    if problems:
        raise InputError(problems)
    frames = {}
    for name in parents:
        frames[name] = _frame(f"inputs.{name}", inputs[name], model.types(name), max_rows, problems)
    if problems:
        raise InputError(problems[:MAX_PROBLEMS] + ([f"... and {len(problems) - MAX_PROBLEMS} more"]
                                                    if len(problems) > MAX_PROBLEMS else []))
    return frames


def _frame(where: str, rows: Any, types: Mapping[str, pa.DataType], max_rows: int,
           problems: list[str]) -> pd.DataFrame:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        problems.append(f"{where}: must be a list of rows (objects of column: value)")
        return pd.DataFrame()
    if len(rows) > max_rows:
        problems.append(f"{where}: {len(rows):,} rows; at most {max_rows:,} per request")
        return pd.DataFrame()
    expected = set(types)
    for index, row in enumerate(rows):
        missing, extra = sorted(expected - set(row)), sorted(set(row) - expected)
        if missing:
            problems.append(f"{where}[{index}]: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        if extra:
            problems.append(f"{where}[{index}]: unknown column{'s' if len(extra) > 1 else ''} {', '.join(extra)}; "
                            f"columns: {', '.join(types)}")
        if len(problems) >= MAX_PROBLEMS:
            return pd.DataFrame()
    arrays = {}
    for column, kind in types.items():
        values = []
        for index, row in enumerate(rows):
            try:
                values.append(_convert(row.get(column), kind))
            except (ValueError, TypeError, ArithmeticError):
                problems.append(f"{where}[{index}].{column}: {row.get(column)!r:.60} is not {_shown(kind)}")
                values.append(None)
        arrays[column] = pa.array(values, type=kind)
    # dates as datetime64, as a DuckDB DataFrame hands them to model() in the batch build
    return pa.table(arrays).to_pandas(date_as_object=False) if types else pd.DataFrame(index=range(len(rows)))


def _convert(value: Any, kind: pa.DataType) -> Any:
    """A JSON value as a Python value of the column's type; ValueError/TypeError when it does not fit."""
    if value is None:
        return None
    if pa.types.is_integer(kind):
        if isinstance(value, bool) or not isinstance(value, int | float) or (isinstance(value, float)
                                                                            and not value.is_integer()):
            raise TypeError
        return int(value)
    if pa.types.is_floating(kind):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise TypeError
        return float(value)
    if pa.types.is_decimal(kind):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError
        return decimal.Decimal(str(value))
    if pa.types.is_boolean(kind):
        if not isinstance(value, bool):
            raise TypeError
        return value
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if not isinstance(value, str):
            raise TypeError
        return value
    if pa.types.is_date(kind):
        if not isinstance(value, str):
            raise TypeError
        return dt.date.fromisoformat(value)
    if pa.types.is_timestamp(kind):
        if not isinstance(value, str):
            raise TypeError
        stamp = pd.Timestamp(value)
        if kind.tz is None and stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        elif kind.tz is not None and stamp.tzinfo is None:
            stamp = stamp.tz_localize("UTC")
        return stamp.to_pydatetime()
    return value


def _shown(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind):
        return "an integer"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "a number"
    if pa.types.is_boolean(kind):
        return "true or false"
    if pa.types.is_date(kind):
        return "a date (YYYY-MM-DD)"
    if pa.types.is_timestamp(kind):
        return "a timestamp (ISO 8601)"
    return f"a {kind}" if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)) else "text"
