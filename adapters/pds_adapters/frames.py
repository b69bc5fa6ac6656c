"""DataFrames at the warehouse boundary, shared by the engines that load them through a bulk path.

Column types are sqlglot DataTypes, so each engine renders them in its own dialect. (Seed CSVs are
read by seeds.py, the one reader every engine uses.)
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from typing import Any

import pandas as pd
from pandas.api import types as pdt
from sqlglot import exp

_OBJECT_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "BOOLEAN"), (int, "BIGINT"), (float, "DOUBLE"), (decimal.Decimal, "DECIMAL"),
    (dt.datetime, "TIMESTAMP"), (dt.date, "DATE"), (dt.timedelta, "INTERVAL"), (bytes, "VARBINARY"),
)


def sql_type(series: pd.Series) -> exp.DataType:
    """The SQL type a column of this pandas dtype (or, for object columns, these values) is stored as."""
    dtype = series.dtype
    if pdt.is_bool_dtype(dtype):
        name = "BOOLEAN"
    elif pdt.is_integer_dtype(dtype):
        name = "BIGINT"
    elif pdt.is_float_dtype(dtype):
        name = "DOUBLE"
    elif isinstance(dtype, pd.DatetimeTZDtype):
        name = "TIMESTAMPTZ"
    elif pdt.is_datetime64_dtype(dtype):
        name = "TIMESTAMP"
    elif pdt.is_timedelta64_dtype(dtype):
        name = "INTERVAL"
    elif pdt.is_object_dtype(dtype):
        name = _object_type(series)
    else:  # strings, categories and anything else travel as text
        name = "TEXT"
    return exp.DataType.build(name)


def _object_type(series: pd.Series) -> str:
    values = series.dropna()
    if values.empty:
        return "TEXT"
    first = values.iloc[0]
    for cls, name in _OBJECT_TYPES:  # order matters: bool before int, datetime before date
        if isinstance(first, cls) and all(isinstance(v, cls) for v in values):
            if name == "TIMESTAMP" and getattr(first, "tzinfo", None) is not None:
                return "TIMESTAMPTZ"
            return name
    return "TEXT"


def column_types(df: pd.DataFrame) -> dict[str, exp.DataType]:
    return {str(name): sql_type(df[name]) for name in df.columns}


def python_rows(df: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """The rows as tuples of plain Python values, missing values (NaN, NaT, NA) as None."""
    columns = [_python_values(df.iloc[:, i]) for i in range(df.shape[1])]
    return zip(*columns, strict=True) if columns else iter(())


def _python_values(series: pd.Series) -> list[Any]:
    missing = series.isna().tolist()
    if pdt.is_datetime64_any_dtype(series.dtype):
        values: list[Any] = [None if m else v.to_pydatetime() for v, m in zip(series, missing, strict=True)]
        return values
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    values = series.astype(object).tolist()
    return [None if m else (v.item() if hasattr(v, "item") else v) for v, m in zip(values, missing, strict=True)]


def tidy_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Give a frame read through a DB-API driver the dtypes DuckDB's reader gives: numbers, datetimes.

    Python models then see the same dtypes whatever the target (Decimal -> float, date -> datetime64).
    """
    for name in df.columns:
        series = df[name]
        if not pdt.is_object_dtype(series.dtype):
            continue
        values = series.dropna()
        if values.empty:
            continue
        if all(isinstance(v, decimal.Decimal) for v in values):
            df[name] = pd.to_numeric(series.map(lambda v: None if v is None else float(v)), errors="coerce")
        elif all(isinstance(v, dt.date) for v in values):
            if all(getattr(v, "tzinfo", None) is None for v in values):
                df[name] = pd.to_datetime(series)
            else:
                df[name] = pd.to_datetime(series, utc=True)
    return df
