"""`pds show`: rows as a person reads them (table) or as a script reads them (json, csv).

The table is printed from the rows as the driver returns them (api.show_rows: Python values, no
pandas to load, so `pds show` starts fast): a DATE is a date, a TIMESTAMP a timestamp, a DECIMAL
its digits without trailing zeros. From a DataFrame (table_rows) a DATE reads as a date, not as a
midnight timestamp (DataFrames carry both as datetime64; a column whose every value is at midnight
is shown as dates, as pandas' own display does). In both, a float with 12 significant digits (binary noise such as 435.15000000000003 sits in the
16th-17th digit, so 12 digits drop it and keep any digit real data has; a whole float keeps its
`.0`), a missing value as an empty cell, and the title says "1 row" / "N rows". json and csv stay
machine output: full precision, except that date columns are written as dates in json too.
"""

from __future__ import annotations

import decimal
import math
import sys
from typing import Any

SIGNIFICANT_DIGITS = 12


def format_value(value: Any) -> str:
    """One cell of the table."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if "pandas" in sys.modules:  # a value from a DataFrame (never imported for a driver's rows)
        import pandas as pd

        if value is pd.NaT or value is pd.NA:
            return ""
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        text = format(value.normalize(), "f")
        return text if "." in text else text + ".0"  # as a whole float reads
    if isinstance(value, float):  # numpy.float64 is a float too
        text = f"{value:.{SIGNIFICANT_DIGITS}g}"
        return text + ".0" if text.lstrip("-").isdigit() else text
    return str(value)


def date_columns(df: Any) -> list[str]:
    """The datetime columns whose values are all at midnight (no time zone): dates to show as dates."""
    import pandas as pd

    found = []
    for col in df.columns:
        series = df[col]
        if pd.api.types.is_datetime64_dtype(series.dtype):
            values = series.dropna()
            if (values == values.dt.normalize()).all():
                found.append(col)
    return found


def table_rows(df: Any) -> list[list[str]]:
    """Every row of the DataFrame as the table's cells."""
    dates = set(date_columns(df))
    columns = [df[c].dt.strftime("%Y-%m-%d").astype(object) if c in dates else df[c].astype(object)
               for c in df.columns]
    return [[format_value(v) for v in row] for row in zip(*columns, strict=True)] if columns else []


def print_table(columns: list[str], rows: list[tuple], name: str, limit: int) -> None:
    """The table of `pds show` from a driver's rows (api.show_rows)."""
    print_cells([str(c) for c in columns], [[format_value(v) for v in row] for row in rows], title(name, len(rows), limit))


def title(name: str, shown: int, limit: int) -> str:
    """'scores (first 10 rows)' when the limit may have cut the rows, else 'scores (3 rows)'."""
    rows = f"{shown} row{'' if shown == 1 else 's'}"
    return f"{name} (first {rows})" if 0 < limit == shown else f"{name} ({rows})"


def print_rows(df: Any, name: str, limit: int, output: str = "table") -> None:
    """What `pds show NAME --limit N --output table|json|csv` prints, on stdout, from a DataFrame."""
    if output == "json":
        df = df.copy()
        for col in date_columns(df):
            df[col] = df[col].dt.strftime("%Y-%m-%d")
        sys.stdout.write(df.to_json(orient="records", date_format="iso") + "\n")
    elif output == "csv":
        sys.stdout.write(df.to_csv(index=False))
    else:
        print_cells([str(c) for c in df.columns], table_rows(df), title(name, len(df), limit))


def print_cells(columns: list[str], cells: list[list[str]], heading: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=heading, min_width=len(heading))
    for col in columns:
        table.add_column(col)
    for row in cells:
        table.add_row(*row)
    Console(highlight=False).print(table)
