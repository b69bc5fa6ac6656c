"""The one seed reader's type inference: dbt's (agate's type tester as dbt-core 1.11 sets it up), with
pds's widening where dbt fails to load (whole numbers beyond 32 bits)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from pds_adapters import frames, seed_types
from pds_adapters.seeds import read_seed


@pytest.mark.parametrize(("values", "kind"), [
    (["1", "-2", "+3", "0"], "integer"),
    (["001", "2"], "integer"),  # as in dbt: a leading zero is dropped (column_types: {zip: varchar} keeps it)
    (["1.0", "2"], "integer"),  # no value has decimals
    (["1e3", "1.5e3"], "integer"),
    (["1,000", "$5", "5%", "-$2"], "integer"),  # agate strips group separators, currency and percent signs
    (["2147483647", "-2147483648"], "integer"),
    (["2147483648"], "bigint"),  # pds only: dbt's integer column fails to load it
    (["9223372036854775808"], "decimal"),  # beyond 64 bits: numeric(38,0), never a rounded double
    (["1" * 39], "text"),
    (["1.5", "2", ".5", "-0.25"], "number"),
    (["NaN", "1"], "number"),
    (["true", "False", "TRUE"], "boolean"),
    (["t", "f"], "text"), (["yes", "no"], "text"),
    (["1", "0"], "integer"),  # numbers before booleans
    (["2024-01-31", "2024-2-5"], "date"),
    (["2024-02-30"], "text"),  # not a date
    (["2024-01-31 10:00:00", "2024-02-01 1:2:3"], "datetime"),
    (["2024-01-31T10:00", "2024-01-31T10:00:00.123456", "20240131T100000Z", "2024-01-31T10:00:00+02:00"], "datetime"),
    (["2024-01-31 10:00"], "text"),  # neither strptime's format nor ISO with a T, as in dbt
    (["2024-01-31 10:00:00.5"], "text"),
    (["2024-01-31", "2024-01-31 10:00:00"], "text"),  # dates mixed with timestamps
    (["2024-01-31 10:00:00", "2024-01-31T10:00:00"], "text"),  # the two timestamp forms mixed
    (["N/A", "1"], "text"),
    ([], "integer"),  # no value at all: dbt's integer
])
def test_inference(values: list[str], kind: str) -> None:
    assert seed_types.infer_kind(values) == kind


@pytest.mark.parametrize(("kind", "field", "value"), [
    ("integer", "007", 7), ("integer", "1,000", 1000), ("integer", "-$2", -2), ("integer", "1.5e3", 1500),
    ("decimal", "9223372036854775808", "9223372036854775808"), ("number", ".5", 0.5),
    ("datetime", "2024-01-31T10:00:00+02:00", dt.datetime(2024, 1, 31, 8, 0)),  # to UTC, without the zone
    ("datetime", "2024-01-31T10:00:00-05", dt.datetime(2024, 1, 31, 15, 0)),
    ("datetime", "2024-01-31T10:00:00.1234567Z", dt.datetime(2024, 1, 31, 10, 0, 0, 123456)),
    ("date", "2024-2-5", dt.date(2024, 2, 5)), ("boolean", "FALSE", False),
    ("text", " padded ", " padded "), ("text", "NULL", None), ("integer", "  ", None),
])
def test_values(kind: str, field: str, value: object) -> None:
    assert seed_types.convert(kind, field) == value


def test_read_seed_gives_dtypes_and_kinds(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,zip,score,active,born,seen_at,seen_tz,flag,nickname,empty\n"
                    "1,01234,1.5,true,1990-05-01,2024-01-01 10:00:00,2024-01-01T10:00:00Z,t,,\n"
                    "2,98765,,false,,2024-01-02 11:30:00,2024-01-01T12:00:00+02:00,f,Bo,null\n")
    seed = read_seed(str(path))
    assert seed.kinds == {"id": "integer", "zip": "integer", "score": "number", "active": "boolean",
                          "born": "date", "seen_at": "datetime", "seen_tz": "datetime", "flag": "text",
                          "nickname": "text", "empty": "integer"}
    types = {name: t.sql() for name, t in frames.column_types(seed.frame).items()}
    assert types["id"] == "BIGINT" and types["seen_tz"] == "TIMESTAMP"  # staged so, then cast per adapter
    rows = list(frames.python_rows(seed.frame))
    assert rows[0][:6] == (1, 1234, 1.5, True, dt.date(1990, 5, 1), dt.datetime(2024, 1, 1, 10, 0))
    assert rows[1][2] is None and rows[1][4] is None and rows[0][8] is None and rows[1][8] == "Bo" and rows[1][9] is None
    assert rows[1][6] == dt.datetime(2024, 1, 1, 10, 0)  # in UTC


def test_column_types_columns_stay_text_for_the_warehouse_to_cast(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("a;b\n007;2\nnull;3\n")
    seed = read_seed(str(path), ";", text_columns=["a"])
    assert isinstance(seed.frame["a"].dtype, pd.StringDtype) and str(seed.frame["b"].dtype) == "Int64"
    assert seed.frame["a"].tolist()[0] == "007" and pd.isna(seed.frame["a"].tolist()[1])
    assert seed.kinds == {"a": "text", "b": "integer"}
