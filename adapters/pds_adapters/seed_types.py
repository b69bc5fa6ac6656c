"""What type a seed column is, decided as dbt-core 1.11 decides it (agate's type tester as dbt sets it
up), so a dbt project's seeds land with the column types dbt gives them. Pure Python: no pandas here.

A column gets a *kind*; each adapter maps kinds to its SQL types (Adapter.seed_types), as each dbt
adapter maps agate's types (`convert_number_type`, ...). The rules, per column, over its values:

- empty (or blank) and `null` in any case are NULL, in every column (text columns too);
- numbers, tried first: what Python's Decimal reads after agate's clean-up: surrounding `%`, a leading
  `-`, currency symbols (`$`, `€`, `£`, ...) stripped and `,` group separators dropped. `007` is 7,
  `1,000` is 1000, `1e3` is 1000, `$5` is 5, `5%` is 5. If no value has decimals (`1.0` has none): a
  whole number, kind `integer`; else `number` (dbt: float8 / float64 / double);
- pds only, where dbt fails on load: whole numbers beyond 32 bits are `bigint`, beyond 64 bits (up to
  38 digits) `decimal` (numeric(38,0)), longer ones `text`; `NaN` or an infinity makes a `number`;
- dates `YYYY-MM-DD` (as strptime reads `%Y-%m-%d`, so `2024-1-5` too): `date`;
- timestamps `YYYY-MM-DD HH:MM:SS` (strptime's `%Y-%m-%d %H:%M:%S`), or ISO 8601 with `T`
  (`2024-01-31T10:00`, fractions, `Z` or an offset): `datetime`, stored without a time zone: a value
  with an offset is converted to UTC (dbt-postgres in a UTC session does the same; dbt-duckdb drops
  the offset). `2024-01-31 10:00` (no seconds, no `T`) is text, as in dbt;
- `true` / `false` in any case: `boolean` (`t`/`f`, `yes`/`no` are text; `1`/`0` are numbers);
- anything else, or a mix (dates with timestamps), `text`. A column with no value: `integer`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable
from typing import Any

# the kinds, and the SQL type each gets where an adapter says nothing else (dbt's SQLAdapter: dbt-postgres,
# dbt-duckdb and dbt-snowflake inherit these), plus pds's two wider integer kinds
SEED_TYPES: dict[str, str] = {
    "integer": "integer", "bigint": "bigint", "decimal": "numeric(38,0)", "number": "float8", "boolean": "boolean",
    "date": "date", "datetime": "timestamp without time zone", "text": "text",
}
# agate's default currency symbols (en_US), stripped from both ends of a number
_CURRENCY = "؋$ƒ៛¥₡₱£€¢﷼₪₩₭₮₦฿₤₫"
_INT32 = 2**31 - 1
_INT64 = 2**63 - 1
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_PLAIN = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})$")
_ISO = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2}|\d{8})T(?P<h>\d{2})(?::?(?P<m>\d{2})(?::?(?P<s>\d{2})"
                  r"(?:[.,](?P<f>\d+))?)?)?(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$")


def is_null(value: str | None) -> bool:
    """dbt's null values for seeds: an empty (or blank) field and `null`, in any case."""
    return value is None or value.strip().lower() in ("", "null")


def number(value: str) -> decimal.Decimal | None:
    """The value as agate's Number reads it, or None when it is not a number."""
    try:
        return decimal.Decimal(value)  # the common case; what agate's clean-up below would give too
    except (decimal.InvalidOperation, ValueError):
        pass
    text = value.strip().strip("%")
    sign = 1
    if text.startswith("-"):
        text, sign = text[1:], -1
    text = text.strip(_CURRENCY).replace(",", "")
    try:
        return decimal.Decimal(text) * sign
    except (decimal.InvalidOperation, ValueError):
        return None


def _whole_kind(values: list[decimal.Decimal]) -> str:
    if any(not v.is_finite() for v in values):
        return "number"
    if any(v != v.to_integral_value() for v in values):
        return "number"
    whole = [int(v) for v in values]
    low, high = min(whole, default=0), max(whole, default=0)
    if low >= -_INT32 - 1 and high <= _INT32:
        return "integer"
    if low >= -_INT64 - 1 and high <= _INT64:
        return "bigint"
    return "decimal" if max(len(str(abs(low))), len(str(high))) <= 38 else "text"


def date(value: str) -> dt.date | None:
    """`%Y-%m-%d` as strptime reads it (one- or two-digit month and day)."""
    match = _DATE.match(value.strip())
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3])) if match else None
    except ValueError:
        return None


def _plain_timestamp(value: str) -> dt.datetime | None:
    """`%Y-%m-%d %H:%M:%S` as strptime reads it."""
    match = _PLAIN.match(value.strip())
    try:
        return dt.datetime(*(int(g) for g in match.groups())) if match else None  # type: ignore[arg-type]
    except ValueError:
        return None


def _iso_timestamp(value: str) -> dt.datetime | None:
    """ISO 8601 with a `T` (calendar dates; isodate's reading, which dbt uses), in UTC without a zone."""
    match = _ISO.match(value.strip())
    if not match:
        return None
    day = match["date"].replace("-", "")
    try:
        out = dt.datetime(int(day[:4]), int(day[4:6]), int(day[6:]), int(match["h"]), int(match["m"] or 0),
                          int(match["s"] or 0), int((match["f"] or "0")[:6].ljust(6, "0")))
    except ValueError:
        return None
    zone = match["tz"]
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        out = out - offset if zone[0] == "+" else out + offset
    return out


def boolean(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value.strip().replace(",", "").lower())


def infer_kind(values: list[str]) -> str:
    """The kind of a column whose non-null values these are (see the module docstring)."""
    return parse_column(values)[0]


def parse_column(fields: list[str]) -> tuple[str, list[Any]]:
    """A column's kind and its fields as Python values of that kind (None for nulls), each field parsed
    once; a rule stops at the first field it does not fit."""
    present = [(i, f) for i, f in enumerate(fields) if not is_null(f)]
    out: list[Any] = [None] * len(fields)
    if not present:
        return "integer", out  # dbt: an all-null column is a Number with no decimals
    numbers = _all(number, present)
    if numbers is not None:
        kind = _whole_kind(numbers)
        as_value: Callable[[decimal.Decimal], Any] = {"integer": int, "bigint": int, "number": float,
                                                      "decimal": lambda n: str(int(n))}.get(kind, str)
        for (i, field), n in zip(present, numbers, strict=True):
            out[i] = field if kind == "text" else as_value(n)
        return kind, out
    tests: list[tuple[str, Callable[[str], Any]]] = [
        ("date", date), ("datetime", _plain_timestamp), ("datetime", _iso_timestamp), ("boolean", boolean)]
    for kind, parse in tests:
        parsed = _all(parse, present)
        if parsed is not None:
            for (i, _field), value in zip(present, parsed, strict=True):
                out[i] = value
            return kind, out
    for i, field in present:
        out[i] = field
    return "text", out


def _all(parse: Callable[[str], Any], present: list[tuple[int, str]]) -> list[Any] | None:
    """Every field parsed, or None at the first that does not parse."""
    parsed = []
    for _i, field in present:
        value = parse(field)
        if value is None:
            return None
        parsed.append(value)
    return parsed


def convert(kind: str, value: str | None) -> Any:
    """One CSV field as the Python value of its column's kind (None for a null)."""
    if is_null(value):
        return None
    assert value is not None
    n = number(value) if kind in ("integer", "bigint", "decimal", "number") else None
    if n is not None:
        return {"integer": int, "bigint": int, "number": float, "decimal": lambda d: str(int(d))}[kind](n)
    if kind == "date":
        return date(value)
    if kind == "datetime":
        return _plain_timestamp(value) or _iso_timestamp(value)
    if kind == "boolean":
        return boolean(value)
    return value
