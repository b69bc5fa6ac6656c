"""`pds show`: dates as dates, floats without binary noise, empty cells for nulls, "1 row"/"N rows"."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from pds_core.showformat import format_value, table_rows, title
from tests.projects import pds, write_project

MODEL = """\
{{ config(materialized='table') }}
select date '2024-03-01' as day, timestamp '2024-03-01 10:30:00' as at, 0.1::double + 0.2::double as ratio,
       3.0::double as whole, cast(null as double) as missing, 1.50::decimal(10, 2) as price, 'a' as label
"""
TABLE = """\
                                 one (1 row)
┏━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━┳━━━━━━━━━┳━━━━━━━┳━━━━━━━┓
┃ day        ┃ at                  ┃ ratio ┃ whole ┃ missing ┃ price ┃ label ┃
┡━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━╇━━━━━━━━━╇━━━━━━━╇━━━━━━━┩
│ 2024-03-01 │ 2024-03-01 10:30:00 │ 0.3   │ 3.0   │         │ 1.5   │ a     │
└────────────┴─────────────────────┴───────┴───────┴─────────┴───────┴───────┘
"""


@pytest.mark.slow
def test_show_prints_dates_as_dates_and_floats_without_noise(tmp_path):
    project = write_project(tmp_path / "p", {
        "models/one.sql": MODEL,
        "models/days.sql": "{{ config(materialized='table') }}\n"
                           "select range::date as day from range(date '2024-01-01', date '2024-01-06', interval 1 day)",
    })
    pds(project, "build")
    assert [line.rstrip() for line in pds(project, "show", "one").stdout.splitlines()] == TABLE.splitlines()
    rows = json.loads(pds(project, "show", "one", "--output", "json").stdout)
    assert rows == [{"day": "2024-03-01", "at": "2024-03-01T10:30:00.000", "ratio": 0.3, "whole": 3.0, "missing": None,
                     "price": 1.5, "label": "a"}]
    assert "days (first 3 rows)" in pds(project, "show", "days", "--limit", "3").stdout
    shown = pds(project, "show", "days").stdout  # fewer rows than the limit: all of them
    assert "days (5 rows)" in shown and "2024-01-05 " in shown and "00:00:00" not in shown


def test_cells_and_titles():
    assert [format_value(v) for v in (435.15000000000003, 0.1 + 0.2, 3.0, -2.0, 1e20, 1.5e-7, 2 / 3)] == \
        ["435.15", "0.3", "3.0", "-2.0", "1e+20", "1.5e-07", "0.666666666667"]
    assert [format_value(v) for v in (None, math.nan, pd.NaT, pd.NA, np.float64(0.1) * 3, 7, "x")] == \
        ["", "", "", "", "0.3", "7", "x"]
    df = pd.DataFrame({"d": pd.to_datetime(["2024-03-01", None]), "t": pd.to_datetime(["2024-03-01 10:00", None]),
                       "o": [dt.date(2024, 1, 2), None]})
    assert table_rows(df) == [["2024-03-01", "2024-03-01 10:00:00", "2024-01-02"], ["", "", ""]]
    assert [title("m", 1, 1), title("m", 1, 10), title("m", 10, 10), title("m", 0, 10), title("m", 0, 0)] == \
        ["m (first 1 row)", "m (1 row)", "m (first 10 rows)", "m (0 rows)", "m (0 rows)"]
