"""One seed reader: the same seed gets dbt's column types and the same values on every engine.

The seed covers each inferred kind (whole numbers, numbers, booleans, dates, timestamps, text), the cases
dbt's inference decides in ways one may not expect (`001` is the number 1, `t`/`f` stay text, `null` is
NULL, `$1,000` is 1000, a timestamp with an offset is stored in UTC without its zone), pds's widening of
whole numbers beyond 32 bits, and two `column_types` overrides. It is loaded with the adapter's
load_seed() on each engine of tests/engine_*.py (fakesnow and bqemulator standing in for Snowflake and
BigQuery), and read back with each engine's own driver. (The exact type names per engine, against the
ones dbt gives, are in tests/test_dbt_seed_types.py.)
"""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path

import pytest

from pds_adapters import connect
from pds_adapters.relation import Relation
from pds_adapters.target import Target
from tests.test_engines import ENGINES, canonical

SEED = """id,code,amount,active,flag,day,seen_at,seen_tz,note,zip,price,big,money
1,001,1.5,true,t,2024-01-31,2024-01-31 10:00:00,2024-01-31T10:00:00Z,plain,01234,10.5,3000000000,"$1,000"
2,002,-2,false,f,1999-12-31,2024-02-01 23:59:59,2024-01-31T12:00:00+02:00,,98765,3,1,5%
3,120,,TRUE,t,,,,"comma, inside",,,,null
"""
COLUMN_TYPES = {"zip": "varchar", "price": "decimal(10,2)"}
# what each column must be, in every engine's own names (canonical() below maps them)
EXPECTED_TYPES = {"id": "integer", "code": "integer", "amount": "double", "active": "boolean", "flag": "text",
                  "day": "date", "seen_at": "timestamp", "seen_tz": "timestamp", "note": "text", "zip": "text",
                  "price": "decimal(10,2)", "big": "integer", "money": "integer"}
EXPECTED_ROWS = [
    (1.0, 1.0, 1.5, True, "t", "2024-01-31 00:00:00.000000", "2024-01-31 10:00:00.000000",
     "2024-01-31 10:00:00.000000", "plain", "01234", 10.5, 3000000000.0, 1000.0),
    (2.0, 2.0, -2.0, False, "f", "1999-12-31 00:00:00.000000", "2024-02-01 23:59:59.000000",
     "2024-01-31 10:00:00.000000", None, "98765", 3.0, 1.0, 5.0),
    (3.0, 120.0, None, True, "t", None, None, None, "comma, inside", None, None, None, None),
]
SQL_TYPES = [  # (engine's type name, lower-cased, prefix) -> canonical
    ("timestamp with time zone", "timestamptz"), ("timestamp_tz", "timestamptz"), ("timestamp_ltz", "timestamptz"),
    ("timestamptz", "timestamptz"), ("timestamp without time zone", "timestamp"), ("timestamp_ntz", "timestamp"),
    ("datetime", "timestamp"), ("timestamp", None), ("bigint", "integer"), ("int64", "integer"),
    ("integer", "integer"), ("number(38,0)", "integer"), ("double", "double"), ("float", "double"),
    ("boolean", "boolean"), ("bool", "boolean"), ("date", "date"), ("character varying", "text"),
    ("varchar", "text"), ("text", "text"), ("string", "text"), ("numeric(10,2)", "decimal(10,2)"),
    ("decimal(10,2)", "decimal(10,2)"), ("number(10,2)", "decimal(10,2)"), ("numeric", "decimal"),
]


def canonical_type(engine: str, name: str) -> str:
    name = name.lower()
    for prefix, kind in SQL_TYPES:
        if name.startswith(prefix):
            if kind is None:  # plain TIMESTAMP: BigQuery's and Spark's are instants (UTC), elsewhere wall-clock times
                return "timestamptz" if engine == "bigquery" or engine.startswith("spark") else "timestamp"
            return kind
    return name


def loads_in_process(name: str) -> bool:
    """Engines whose target this process can connect to: not a local Spark warehouse (its Derby metastore
    admits one JVM, and this process's JVM holds another one; test_spark.py loads seeds there)."""
    return getattr(importlib.import_module(f"tests.engine_{name}"), "LOADS_IN_PROCESS", True)


@pytest.mark.parametrize("engine_name", [name for name in ENGINES if loads_in_process(name)])
def test_a_seed_has_the_same_types_and_values_on_every_engine(engine_name: str, tmp_path: Path) -> None:
    engine = importlib.import_module(f"tests.engine_{engine_name}")
    reason = engine.unavailable()
    if reason:
        pytest.skip(f"{engine_name}: {reason}")
    path = tmp_path / "kinds.csv"
    path.write_text(SEED)
    schema = f"pds_seed_{uuid.uuid4().hex[:8]}"
    with engine.target(schema) as settings:
        target = Target("ci", engine.NAME, {k: v for k, v in settings.items() if k != "type"}, threads=1)
        with connect(target) as adapter:
            adapter.ensure_schema(schema)
            assert adapter.load_seed(Relation(schema, "kinds"), str(path), COLUMN_TYPES) == 3
            assert adapter.load_seed(Relation(schema, "kinds"), str(path), COLUMN_TYPES) == 3  # replaced
        types = engine.column_types(settings, schema, "kinds")
        df = engine.read_table(settings, schema, "kinds")
    expected = dict(EXPECTED_TYPES)
    if engine_name == "bigquery":  # a CAST to NUMERIC(10,2) in CREATE TABLE AS leaves the column NUMERIC
        expected["price"] = "decimal"  # (values are rounded to the scale all the same: see the rows)
    if engine_name.startswith("spark"):  # one TIMESTAMP type, an instant: a naive value is stored as UTC
        expected["seen_at"] = expected["seen_tz"] = "timestamptz"
    assert {name: canonical_type(engine_name, t) for name, t in types.items()} == expected
    columns = [str(c).lower() for c in df.columns]
    assert columns == list(EXPECTED_TYPES)
    rows = sorted(tuple(canonical(v) for v in row) for row in df.itertuples(index=False))
    assert rows == EXPECTED_ROWS
