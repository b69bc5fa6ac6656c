"""The one seed reader's type inference (the same DataFrame, hence the same types, on every engine)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from pds_adapters import frames
from pds_adapters.seeds import infer_type, read_seed


@pytest.mark.parametrize(("values", "kind"), [
    (["1", "-2", "+3", "0"], "BIGINT"),
    (["001", "2"], "TEXT"),  # a leading zero keeps the column text: zip codes, ids
    (["9223372036854775807"], "BIGINT"),
    (["9223372036854775808"], "TEXT"),  # beyond BIGINT: text, never a rounded DOUBLE
    (["1.5", "2", ".5", "1e3", "-0.25"], "DOUBLE"),
    (["01.5"], "TEXT"),
    (["true", "False", "TRUE"], "BOOLEAN"),
    (["t", "f"], "TEXT"),  # documented: t/f, yes/no, 1/0 are not booleans
    (["yes", "no"], "TEXT"),
    (["2024-01-31", "1999-12-31"], "DATE"),
    (["2024-02-30"], "TEXT"),  # not a date
    (["2024-01-31 10:00", "2024-01-31T10:00:00.123456"], "TIMESTAMP"),
    (["2024-01-31", "2024-01-31 10:00:00"], "TIMESTAMP"),
    (["2024-01-31T10:00:00Z", "2024-01-31 12:00:00+02:00"], "TIMESTAMPTZ"),
    (["2024-01-31 10:00:00", "2024-01-31T10:00:00Z"], "TEXT"),  # with and without a zone
    (["NA", "null"], "TEXT"),
    ([], "TEXT"),
])
def test_inference(values: list[str], kind: str) -> None:
    assert infer_type(values) == kind


def test_read_seed_gives_dtypes_that_map_to_the_inferred_sql_types(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,zip,score,active,born,seen_at,seen_tz,flag,nickname,empty\n"
                    "1,01234,1.5,true,1990-05-01,2024-01-01 10:00:00,2024-01-01T10:00:00Z,t,,\n"
                    "2,98765,,false,,2024-01-02 11:30:00,2024-01-01T12:00:00+02:00,f,Bo,\n")
    df = read_seed(str(path))
    types = {name: t.sql() for name, t in frames.column_types(df).items()}
    assert types == {"id": "BIGINT", "zip": "TEXT", "score": "DOUBLE", "active": "BOOLEAN", "born": "DATE",
                     "seen_at": "TIMESTAMP", "seen_tz": "TIMESTAMPTZ", "flag": "TEXT", "nickname": "TEXT",
                     "empty": "TEXT"}
    rows = list(frames.python_rows(df))
    assert rows[0][:6] == (1, "01234", 1.5, True, dt.date(1990, 5, 1), dt.datetime(2024, 1, 1, 10, 0))
    assert rows[1][2] is None and rows[1][4] is None and rows[0][8] is None and rows[1][8] == "Bo"
    assert rows[1][6] == dt.datetime(2024, 1, 1, 10, 0, tzinfo=dt.UTC)  # stored in UTC


def test_column_types_columns_stay_text_for_the_warehouse_to_cast(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("a;b\n1;2\n")
    df = read_seed(str(path), ";", text_columns=["a"])
    assert isinstance(df["a"].dtype, pd.StringDtype) and str(df["b"].dtype) == "Int64"
