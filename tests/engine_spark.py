"""Spark (a local session) for tests/test_engines.py: each build is a `pds` process with its own JVM.

The target's warehouse is a fresh folder (Delta tables, Derby metastore). A local warehouse's
Derby metastore admits one JVM at a time, so the tables are read back after the builds by one
helper process (tests/spark_dump.py) that saves them all as Parquet for read_table().
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from tests import spark_kit

NAME = "spark"
LOADS_IN_PROCESS = False  # the warehouse's Derby metastore admits one JVM: builds and reads run in processes


def unavailable() -> str | None:
    return spark_kit.unavailable()


@contextlib.contextmanager
def target(schema: str) -> Iterator[dict]:
    with tempfile.TemporaryDirectory(prefix="pds-spark-engine-") as folder:
        yield spark_kit.local_settings(schema, warehouse=Path(folder) / "warehouse")


def read_table(settings: dict, schema: str, table: str) -> pd.DataFrame:
    return pd.read_pickle(_dump(settings, schema) / f"{table}.pkl")


def column_types(settings: dict, schema: str, table: str) -> dict[str, str]:
    return dict(pd.read_pickle(_dump(settings, schema) / f"{table}.types.pkl"))


def _dump(settings: dict, schema: str) -> Path:
    dump = Path(settings["warehouse"]).parent / f"dump-{schema}"
    if not dump.exists():
        done = subprocess.run([sys.executable, "-m", "tests.spark_dump", settings["warehouse"], schema, str(dump)],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"reading the Spark warehouse failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return dump
