"""`python -m tests.spark_dump WAREHOUSE SCHEMA OUT`: save every table and view of a local Spark
warehouse's schema as OUT/<name>.pkl (pandas, through Arrow), in a process of its own.

Why a process: the warehouse's Derby metastore admits one JVM at a time, and the test process's
JVM already holds another warehouse.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from pds_adapters.spark.session import local_session
from pds_adapters.spark.settings import read_settings
from tests.spark_kit import FILE_FORMAT, table_name


def main(warehouse: str, schema: str, out: str) -> None:
    spark = local_session(read_settings({"type": "spark", "master": "local[2]", "warehouse": warehouse,
                                         "file_format": FILE_FORMAT}, None))
    folder = Path(out + ".part")
    folder.mkdir(parents=True, exist_ok=True)
    for table in spark.catalog.listTables(dbName=schema):
        if not table.isTemporary:
            frame = spark.table(table_name(schema, table.name))
            frame.toPandas().to_pickle(folder / f"{table.name}.pkl")
            pd.Series(dict(frame.dtypes)).to_pickle(folder / f"{table.name}.types.pkl")
    folder.rename(out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
