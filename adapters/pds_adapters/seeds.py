"""The one seed reader: every engine loads a seed CSV from the DataFrame made here, with the column
kinds dbt would infer (seed_types.py: the rules); each adapter then casts each column to its SQL type
for that kind (Adapter.seed_types), as each dbt adapter maps agate's types. Documented in
docs/adapters.md, "Seeds".

`column_types` columns are read as text (nulls as dbt reads them) and cast by the warehouse
(Adapter.load_seed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pds_adapters import seed_types
from pds_adapters.errors import ProjectError


@dataclass
class SeedFrame:
    """A seed's rows, typed, and the kind of each column (column_types columns: "text")."""

    frame: pd.DataFrame
    kinds: dict[str, str]


def read_seed(path: str, delimiter: str = ",", text_columns: list[str] | None = None) -> SeedFrame:
    """The seed as a DataFrame whose dtypes carry its values, and each column's kind (seed_types)."""
    raw = pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    keep = set(text_columns or [])
    kinds: dict[str, str] = {}
    columns: dict[str, pd.Series] = {}
    for name in raw.columns:
        fields = raw[name].tolist()
        if name in keep:
            kind, values = "text", [None if seed_types.is_null(v) else v for v in fields]
        else:
            kind, values = seed_types.parse_column(fields)
        kinds[str(name)] = kind
        columns[name] = _series(kind, values, raw.index)
    return SeedFrame(pd.DataFrame(columns, index=raw.index), kinds)


_DTYPES = {"integer": "Int64", "bigint": "Int64", "number": "Float64", "boolean": "boolean", "decimal": "string",
           "text": "string"}


def _series(kind: str, values: list[Any], index: pd.Index) -> pd.Series:
    if kind == "datetime":
        return pd.Series(values, index=index, dtype="datetime64[us]")
    if kind == "date":
        return pd.Series(values, index=index, dtype=object)
    return pd.Series(values, index=index, dtype=_DTYPES[kind])


def cast_types(adapter_types: dict[str, str], kinds: dict[str, str], column_types: dict[str, str],
               csv_names: list[str], wanted: list[str]) -> dict[str, str]:
    """Every column's SQL type, keyed by its stored name: its column_types entry, else the adapter's type
    for its inferred kind."""
    return {stored: column_types.get(csv, adapter_types[kinds[csv]]) for csv, stored in zip(csv_names, wanted,
                                                                                          strict=True)}


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

