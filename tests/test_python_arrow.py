"""A Python model's parents as Arrow: ctx.ref(name, format="arrow" | "polars" | "pandas"). On DuckDB the
table is fetched as Arrow (no pandas in between) and an Arrow result is written in place; elsewhere it is
converted from the engine's DataFrame. The tables built are read back and checked."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from pds_core.errors import ProjectError
from pds_core.pymodels import ModelContext
from tests.conftest import engine_params, run_pds
from tests.reliability_kit import ENGINES, Engine, make_engine, write_project

PARENT = """{{ config(materialized='table') }}
select 1 as id, 1.25 as amount, 'a' as label, date '2026-01-02' as day
union all select 2, 2.5, null, date '2026-02-03'
union all select 3, 4.0, 'c', null
"""
ARROW = """import pyarrow as pa
import pyarrow.compute as pc


def model(ctx):
    table = ctx.ref("parent", format="arrow")
    assert isinstance(table, pa.Table), type(table)
    kept = table.filter(pc.greater(table["amount"], 1.5))
    return kept.append_column("doubled", pc.multiply(kept["amount"], 2.0))
"""
POLARS = """import polars as pl


def model(ctx):
    frame = ctx.ref("parent", format="polars")
    assert isinstance(frame, pl.DataFrame), type(frame)
    return frame.filter(pl.col("amount") > 1.5).with_columns((pl.col("amount") * 2.0).alias("doubled"))
"""
PANDAS = """import pandas as pd


def model(ctx):
    frame = ctx.ref("parent", format="pandas")
    assert isinstance(frame, pd.DataFrame), type(frame)
    kept = frame[frame["amount"] > 1.5].copy()
    kept["doubled"] = kept["amount"] * 2.0
    return kept
"""


@pytest.fixture(params=engine_params(ENGINES))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_engine(request.param, tmp_path)


def test_parents_as_arrow_polars_and_pandas_give_the_same_table(engine: Engine, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", engine, {
        "models/parent.sql": PARENT, "models/as_arrow.py": ARROW, "models/as_polars.py": POLARS,
        "models/as_pandas.py": PANDAS,
    })
    result = run_pds("build", "--project-dir", str(project))
    assert result.returncode == 0, result.stdout + result.stderr
    expected = [(2, 2.5, None, datetime.date(2026, 2, 3), 5.0), (3, 4.0, "c", None, 8.0)]
    for model in ("as_arrow", "as_polars", "as_pandas"):
        rows = engine.query(f"SELECT id, amount, label, day, doubled FROM {engine.qualified(model)} ORDER BY id")
        rows = [(r[0], float(r[1]), r[2], r[3].date() if isinstance(r[3], datetime.datetime) else r[3], float(r[4]))
                for r in rows]
        assert rows == expected, model


def test_duckdb_fetches_arrow_without_pandas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    from pds_adapters.duckdb import DuckDBAdapter
    from pds_adapters.relation import Relation
    from pds_adapters.target import Target

    adapter = DuckDBAdapter(Target("dev", "duckdb", {"path": str(tmp_path / "w.duckdb"), "schema": "main"}))
    adapter.execute("CREATE TABLE main.t AS SELECT range AS i, 'x' || range AS s FROM range(5)")

    def no_pandas(*_args: object, **_kw: object) -> None:
        raise AssertionError("the Arrow read went through pandas")

    monkeypatch.setattr(adapter, "query_dataframe", no_pandas)
    monkeypatch.setattr(adapter, "read_dataframe", no_pandas)
    table = adapter.frame_arrow(Relation("main", "t"))
    assert isinstance(table, pa.Table) and table.column("i").to_pylist() == [0, 1, 2, 3, 4]
    assert table.column("s").to_pylist()[-1] == "x4"
    adapter.close()


def test_an_unknown_format_or_chunks_with_arrow_is_an_error() -> None:
    ctx = ModelContext(lambda kind, name: None, {}, {}, "t", False)
    with pytest.raises(ProjectError, match="format must be one of 'pandas', 'arrow', 'polars', got 'numpy'"):
        ctx.ref("parent", format="numpy")
    with pytest.raises(ProjectError, match="chunksize gives pandas DataFrames"):
        ctx.ref("parent", chunksize=10, format="arrow")


def test_a_literal_unknown_format_is_refused_when_parsing(tmp_path: Path) -> None:
    engine = next(make_engine("duckdb", tmp_path))
    project = write_project(tmp_path / "p", engine, {
        "models/parent.sql": PARENT,
        "models/bad.py": "def model(ctx):\n    return ctx.ref('parent', format='numpy')\n",
    })
    result = run_pds("build", "--project-dir", str(project))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "models/bad.py:2: ctx.ref(format=...) is one of 'pandas', 'arrow', 'polars', not 'numpy'" in result.stderr
    assert "hint: e.g. ctx.ref(..., format='arrow')" in result.stderr
