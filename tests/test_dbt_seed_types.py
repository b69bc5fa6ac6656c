"""A dbt project's seed gets the column types dbt gives it, on DuckDB and Postgres.

The expected types are what dbt-core 1.11 (dbt-duckdb, dbt-postgres) created for the same CSV without
the `big` and `huge` columns (`dbt seed` by hand with /work/dbt-venv; written out here, so the test runs
without dbt). dbt fails on those two (its `integer` column cannot hold 3000000000): pds widens them to
bigint and numeric(38,0). The values are dbt-postgres's (in a UTC session); dbt-duckdb, which lets
DuckDB's COPY read the file itself, keeps the text `null` and drops the offset of `ts_tz` (10:00).
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import uuid
from pathlib import Path

import pytest
import yaml

from tests.projects import pds, write_project

SEED = """\
id,amount,whole_float,code,exp,flag,yn,d,ts,ts_t,ts_tz,ts_min,date_ts,name,nothing,neg,dec,big,huge
1,1.5,1.0,007,1e3,true,yes,2024-01-31,2024-01-31 10:00:00,2024-01-31T10:00:00,2024-01-31T10:00:00+02:00,2024-01-31 10:00,2024-01-31,alice,,-5,1.50,3000000000,99999999999999999999
2,2,2.0,012,2,False,no,2024-2-5,2024-02-01 11:30:15,2024-02-01T11:30:15.250,2024-02-01T11:30:00Z,2024-02-01 11:30,2024-02-01 11:30:00,null,,+3,-0.25,1,1
3,,3,100,-4,,yes,,,,,,,,,0,.5,,
"""
INT, DOUBLE, TEXT, TS = "integer", "double", "text", "timestamp"
KINDS = {"id": INT, "amount": DOUBLE, "whole_float": INT, "code": INT, "exp": INT, "flag": "boolean", "yn": TEXT,
         "d": "date", "ts": TS, "ts_t": TS, "ts_tz": TS, "ts_min": TEXT, "date_ts": TEXT, "name": TEXT,
         "nothing": INT, "neg": INT, "dec": DOUBLE, "big": "bigint", "huge": "numeric"}
NAMES = {  # the engine's own name for each (DuckDB: information_schema; Postgres: format_type)
    "duckdb": {INT: "INTEGER", DOUBLE: "DOUBLE", TEXT: "VARCHAR", TS: "TIMESTAMP", "boolean": "BOOLEAN",
               "date": "DATE", "bigint": "BIGINT", "numeric": "DECIMAL(38,0)"},
    "postgres": {INT: "integer", DOUBLE: "double precision", TEXT: "text", TS: "timestamp without time zone",
                 "boolean": "boolean", "date": "date", "bigint": "bigint", "numeric": "numeric(38,0)"},
}
ROWS = [
    (1, 1.5, 1, 7, 1000, True, "yes", dt.date(2024, 1, 31), dt.datetime(2024, 1, 31, 10), dt.datetime(2024, 1, 31, 10),
     dt.datetime(2024, 1, 31, 8), "2024-01-31 10:00", "2024-01-31", "alice", None, -5, 1.5, 3000000000,
     decimal.Decimal("99999999999999999999")),
    (2, 2.0, 2, 12, 2, False, "no", dt.date(2024, 2, 5), dt.datetime(2024, 2, 1, 11, 30, 15),
     dt.datetime(2024, 2, 1, 11, 30, 15, 250000), dt.datetime(2024, 2, 1, 11, 30), "2024-02-01 11:30",
     "2024-02-01 11:30:00", None, None, 3, -0.25, 1, decimal.Decimal(1)),
    (3, None, 3, 100, -4, None, "yes", None, None, None, None, None, None, None, None, 0, 0.5, None, None),
]


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres"])
def test_seed_columns_get_dbts_types(engine_name: str, tmp_path: Path) -> None:
    engine = importlib.import_module(f"tests.engine_{engine_name}")
    reason = engine.unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"pds_dbt_seed_{uuid.uuid4().hex[:8]}"
    with engine.target(schema) as settings:
        profiles = {"proj": {"target": "t", "outputs": {"t": settings}}}
        root = write_project(tmp_path / "p", {
            "dbt_project.yml": "name: proj\nprofile: proj\nversion: '1.0'\n", "seeds/tricky.csv": SEED,
            "profiles.yml": yaml.safe_dump(profiles)})
        (root / "pds_project.yml").unlink()
        pds(root, "seed")
        types = engine.column_types(settings, schema, "tricky")
        rows = _rows(engine_name, settings, f'SELECT * FROM "{schema}".tricky ORDER BY id')
    assert types == {name: NAMES[engine_name][kind] for name, kind in KINDS.items()}
    assert rows == ROWS


def _rows(engine_name: str, settings: dict, sql: str) -> list[tuple]:
    """The rows as the engine's own driver returns them."""
    if engine_name == "duckdb":
        import duckdb

        with duckdb.connect(settings["path"], read_only=True) as con:
            return con.execute(sql).fetchall()
    from tests.engine_postgres import connect

    with connect() as conn:
        return conn.execute(sql).fetchall()
