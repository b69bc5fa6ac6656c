"""Spark through Spark Connect for tests/test_engines.py: the run's one Connect server (spark_kit.py).

The builds are `pds` processes whose target is `method: connect` on the server; the tables are
read back with a plain Spark Connect client, and the schema is dropped afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pandas as pd

from tests import spark_kit

NAME = "spark"  # the type in profiles.yml (the test id is spark_connect)


def unavailable() -> str | None:
    return spark_kit.unavailable()


@contextlib.contextmanager
def target(schema: str) -> Iterator[dict]:
    with spark_kit.dropped_schema(spark_kit.connect_settings(schema)) as settings:
        yield settings


def read_table(settings: dict, schema: str, table: str) -> pd.DataFrame:
    spark = spark_kit.remote_session()
    try:
        return spark.table(spark_kit.table_name(schema, table)).toPandas()
    finally:
        spark.stop()


def column_types(settings: dict, schema: str, table: str) -> dict[str, str]:
    spark = spark_kit.remote_session()
    try:
        return dict(spark.table(spark_kit.table_name(schema, table)).dtypes)
    finally:
        spark.stop()
