"""`python -m pds_adapters.spark.warm [parquet|delta|iceberg]`: prepare a machine for local Spark.

Starts one throw-away local session, which downloads the file format's jars from Maven Central
into the Ivy cache (~/.ivy2*) and writes the JVM class archive (cds.py) at exit, so that the
first `pds build` or test afterwards starts as fast as every later one. CI runs it once before
the tests; on a laptop the first build does the same by itself.
"""

from __future__ import annotations

import sys
import tempfile
import time

from pds_adapters.spark import cds
from pds_adapters.spark.session import base_jvm_flags, local_session
from pds_adapters.spark.settings import read_settings


def main(argv: list[str]) -> None:
    file_format = argv[0] if argv else "parquet"
    with tempfile.TemporaryDirectory(prefix="pds-spark-warm-") as folder:
        settings = read_settings({"type": "spark", "master": "local[1]", "warehouse": folder,
                                  "file_format": file_format}, None)
        started = time.monotonic()
        spark = local_session(settings)
        spark.sql("SELECT 1").collect()
        print(f"local Spark ({file_format}) answered in {time.monotonic() - started:.1f}s; "
              f"class archive: {cds.archive_path(base_jvm_flags(settings))}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
