"""The one seed reader: every engine loads a seed CSV from the DataFrame made here, so a seed has the
same column types and values on DuckDB, Postgres, Snowflake and BigQuery.

Inference, per column, over its non-empty fields (documented in docs/adapters.md, "Seeds"):

- an empty field is NULL; every other field is a value (`NA`, `null`, `None` are text);
- `true` / `false` in any case: BOOLEAN. `t`/`f`, `yes`/`no`, `1`/`0` are not booleans (they are as
  often codes or numbers); declare `column_types: {col: boolean}` to have them cast;
- whole numbers without leading zeros that fit in 64 bits: BIGINT. A leading zero (`007`, `01234`)
  makes the column text, so zip codes and ids keep their zeros; larger whole numbers are text too;
- other numbers (`1.5`, `-2`, `.5`, `1e3`; whole numbers mixed in): DOUBLE;
- ISO dates `2024-01-31`: DATE; ISO timestamps `2024-01-31 10:00[:00[.123456]]` (or with `T`, at
  most microseconds):
  TIMESTAMP; with an offset or `Z` on every value: TIMESTAMPTZ (stored in UTC); dates mixed with
  timestamps: TIMESTAMP;
- anything else, or a mix of the above: TEXT. A column with no value at all: TEXT.

`column_types` columns are read as text here and cast by the warehouse (Adapter.load_seed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from pds_adapters.errors import ProjectError

_INTEGER = re.compile(r"^[+-]?(0|[1-9][0-9]*)$")
_NUMBER = re.compile(r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")
_TIMESTAMP_TZ = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$")
_BOOLEANS = {"true": True, "false": False}
INT64 = (-(2**63), 2**63 - 1)


def read_seed(path: str, delimiter: str = ",", text_columns: list[str] | None = None) -> pd.DataFrame:
    """The seed as a DataFrame whose dtypes say the SQL type of each column (see the module docstring)."""
    raw = pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False, na_values=[""])
    keep = set(text_columns or [])
    return pd.DataFrame({name: (_text(raw[name]) if name in keep else infer(raw[name])) for name in raw.columns},
                        index=raw.index)


def infer_type(values: list[str]) -> str:
    """The SQL type of a column with these (non-empty) values: BOOLEAN, BIGINT, DOUBLE, DATE, TIMESTAMP,
    TIMESTAMPTZ or TEXT."""
    if not values:
        return "TEXT"
    tests: list[tuple[str, Callable[[str], bool]]] = [
        ("BOOLEAN", lambda v: v.lower() in _BOOLEANS), ("BIGINT", _is_int64), ("DOUBLE", _is_double),
        ("DATE", _is_date), ("TIMESTAMP", lambda v: _is_timestamp(v, _TIMESTAMP) or _is_date(v)),
        ("TIMESTAMPTZ", lambda v: _is_timestamp(v, _TIMESTAMP_TZ))]
    for name, test in tests:
        if all(test(v) for v in values):
            return name
    return "TEXT"


def infer(column: pd.Series) -> pd.Series:
    """A column of CSV text (NaN where empty) converted to the dtype of its inferred type."""
    values = column.dropna().tolist()
    kind = infer_type(values)
    missing = column.isna()
    if kind == "BOOLEAN":
        return pd.Series([None if m else _BOOLEANS[v.lower()] for v, m in zip(column, missing, strict=True)],
                         index=column.index, dtype="boolean")
    if kind == "BIGINT":
        return pd.Series([None if m else int(v) for v, m in zip(column, missing, strict=True)],
                         index=column.index, dtype="Int64")
    if kind == "DOUBLE":
        return pd.Series([None if m else float(v) for v, m in zip(column, missing, strict=True)],
                         index=column.index, dtype="Float64")
    if kind == "DATE":
        return pd.Series([None if m else dt.date.fromisoformat(v) for v, m in zip(column, missing, strict=True)],
                         index=column.index, dtype=object)
    if kind == "TIMESTAMP":
        return pd.to_datetime(column, format="ISO8601").astype("datetime64[us]")
    if kind == "TIMESTAMPTZ":
        return pd.to_datetime(column, format="ISO8601", utc=True).astype("datetime64[us, UTC]")
    return _text(column)


def _text(column: pd.Series) -> pd.Series:
    return column.astype("string")


def _is_int64(value: str) -> bool:
    return bool(_INTEGER.match(value)) and INT64[0] <= int(value) <= INT64[1]


def _is_double(value: str) -> bool:
    """A number, but not a whole number too large for BIGINT (as a DOUBLE it would lose digits)."""
    return bool(_NUMBER.match(value)) and (not _INTEGER.match(value) or _is_int64(value))


def _is_timestamp(value: str, pattern: re.Pattern[str]) -> bool:
    if not pattern.match(value):
        return False
    try:
        dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    if not _DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


_UNQUOTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def seed_column_names(adapter: Any, names: list[str], quote_columns: bool | None, path: str) -> list[str]:
    """The names the seed's columns are stored under, as dbt's quote_columns decides:

    - true: quoted, so kept exactly as in the CSV header;
    - false: unquoted, so stored as the engine folds an unquoted name (Postgres lower-cases it,
      Snowflake upper-cases it, DuckDB and BigQuery keep it); a name that cannot be written unquoted
      (a space, a dash) is an error naming it;
    - not set: the engine's dbt default (adapter.quote_seed_columns: quoted everywhere but on
      Snowflake, where dbt-snowflake leaves them unquoted); pds quotes the names that need it anyway.
    """
    quote = adapter.quote_seed_columns if quote_columns is None else bool(quote_columns)
    out = []
    for name in names:
        plain = bool(_UNQUOTED.match(name))  # (a reserved word is stored folded too: pds quotes what it sends)
        if quote or (not plain and quote_columns is None):
            out.append(name)
        elif not plain:
            raise ProjectError(f"seed column {name!r} cannot be written unquoted (quote_columns: false)", path, 1,
                               hint="set quote_columns: true for this seed, or rename the column")
        else:
            case = adapter.unquoted_case
            out.append(name.lower() if case == "lower" else name.upper() if case == "upper" else name)
    duplicate = next((n for n in out if out.count(n) > 1), None)
    if duplicate is not None:
        raise ProjectError(f"two seed columns are both stored as {duplicate!r}", path, 1,
                           hint="rename one of them in the CSV header")
    return out

