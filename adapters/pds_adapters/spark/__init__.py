"""Apache Spark: SQL models as Spark SQL, on a local session or a cluster through Spark Connect.

pyspark is imported here so that a machine without it gets the registry's "pip install
'pds[spark]'" hint instead of a failure at the first statement.
"""

import pyspark  # noqa: F401

from pds_adapters.spark.adapter import SparkAdapter

__all__ = ["SparkAdapter"]
