"""Spark sessions: a local JVM (or any master URL) started by pyspark, or a Spark Connect client.

Why here and not in the adapter: what kind of session a target gets, which jars and settings it
starts with and how an unreachable Spark is reported are decided once; the adapter only runs
statements on the session it is handed. One process holds at most one local JVM (pyspark's
rule), so a second adapter in the same process gets a new session on the same JVM
(`newSession()`: its own settings and temporary views, the same catalog) instead of a new JVM.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from pds_adapters.errors import ConnectionFailed, ProjectError
from pds_adapters.spark.settings import SparkSettings

# pyspark 4.x warns on every pandas conversion with pandas >= 3; the conversions pds uses go through
# Arrow and are tested here (tests/test_spark.py), so the warning is noise in a build's output
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
# the Connect client warns before it raises; the raised error is reported (ConnectionFailed), once
warnings.filterwarnings("ignore", message=r"\[RETRIES_EXCEEDED\]")
# pyspark logs every failing query as JSON on stderr before raising it; pds reports the error on its node
logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)

LOG4J = Path(__file__).with_name("log4j2.properties")
DELTA_VERSION = "4.4.0"  # delta-spark 4.4.1 is on PyPI, but its jars are not on Maven Central
ICEBERG_VERSIONS = {"4.0": "1.11.0", "4.1": "1.12.0"}  # iceberg-spark-runtime-<spark>_2.13 on Maven Central
# Delta 4.4's kernel pulls older copies of jars Spark ships itself (Hadoop, Parquet, Jackson, log4j):
# skipping them saves ~70 MB of downloads on a fresh machine, and Spark's own copies are the ones loaded
DELTA_EXCLUDES = (
    "org.apache.hadoop:hadoop-client-api", "org.apache.hadoop:hadoop-client-runtime",
    "org.apache.parquet:parquet-column", "org.apache.parquet:parquet-common", "org.apache.parquet:parquet-encoding",
    "org.apache.parquet:parquet-format-structures", "org.apache.parquet:parquet-hadoop",
    "org.apache.parquet:parquet-jackson", "com.fasterxml.jackson.core:jackson-core",
    "com.fasterxml.jackson.core:jackson-databind", "com.fasterxml.jackson.core:jackson-annotations",
    "org.apache.logging.log4j:log4j-api", "org.apache.logging.log4j:log4j-core",
    "org.apache.logging.log4j:log4j-slf4j2-impl", "org.slf4j:slf4j-api", "com.github.luben:zstd-jni",
    "org.xerial.snappy:snappy-java", "io.airlift:aircompressor", "commons-logging:commons-logging",
)
FORMAT_CONF = {
    "delta": {"spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
              "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog"},
    "iceberg": {"spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
                "spark.sql.catalog.spark_catalog": "org.apache.iceberg.spark.SparkSessionCatalog",
                "spark.sql.catalog.spark_catalog.type": "hive"},
}


def spark_minor() -> str:
    import pyspark

    return ".".join(pyspark.__version__.split(".")[:2])


def packages_for(settings: SparkSettings, where: str | None) -> list[str]:
    """The Maven coordinates the file format needs for this Spark (or the target's own `packages:`)."""
    if settings.packages is not None:
        return list(settings.packages)
    minor = spark_minor()
    if settings.file_format == "delta":
        return [f"io.delta:delta-spark_{minor}_2.13:{DELTA_VERSION}"]
    if settings.file_format == "iceberg":
        if minor not in ICEBERG_VERSIONS:
            raise ProjectError(f"no Iceberg runtime for Spark {minor} is published on Maven Central", where,
                               hint="use file_format: delta, install pyspark 4.1 (Iceberg 1.12), or name the jar "
                                    "in packages: [org.apache.iceberg:iceberg-spark-runtime-...]")
        return [f"org.apache.iceberg:iceberg-spark-runtime-{minor}_2.13:{ICEBERG_VERSIONS[minor]}"]
    return []


def base_jvm_flags(settings: SparkSettings) -> list[str]:
    """JIT and GC flags that shorten a local JVM's start (C1 only: slower on hours-long local jobs)."""
    # C1 alone gets a 48 MB code cache, which a long build fills ("CodeCache is full. Compiler has been
    # disabled"): the JVM then runs interpreted and queries fail; 256 MB is what tiered compilation reserves
    return ["-XX:TieredStopAtLevel=1", "-XX:ReservedCodeCacheSize=256m", "-XX:+UseSerialGC"] \
        if settings.fast_start and settings.local else []


def _java_options(settings: SparkSettings, warehouse: Path | None) -> str:
    from pds_adapters.spark import cds

    flags = base_jvm_flags(settings)
    if settings.cds_archive and settings.local:
        flags = flags + cds.jvm_flags(flags)
    flags.append(f"-Dlog4j2.configurationFile={LOG4J}")
    if warehouse is not None:
        flags.append(f"-Dderby.stream.error.file={warehouse / 'derby.log'}")
    return " ".join(f'"{f}"' if " " in f else f for f in flags)


def static_conf(settings: SparkSettings, where: str | None, starting: bool = True) -> dict[str, str]:
    """What a new JVM starts with: bind address, warehouse and metastore, jars, and (starting) the JVM
    options, whose class archive may register the archive's writing at exit: once, for the JVM started."""
    conf: dict[str, str] = {"spark.ui.showConsoleProgress": "false", "spark.sql.catalogImplementation": "hive",
                            "spark.log.structuredLogging.enabled": "false",  # plain lines, as log4j2.properties says
                            "spark.ui.enabled": "true" if settings.ui else "false"}
    warehouse = settings.local_warehouse
    if settings.local:
        conf.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
    if warehouse is not None:
        warehouse.mkdir(parents=True, exist_ok=True)
        conf["spark.sql.warehouse.dir"] = warehouse.as_uri()
        # the Derby metastore inside the warehouse: tables and views persist from one build to the next
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = \
            f"jdbc:derby:;databaseName={warehouse / 'metastore_db'};create=true"
    elif settings.warehouse:
        conf["spark.sql.warehouse.dir"] = settings.warehouse
    packages = packages_for(settings, where)
    if packages:
        conf["spark.jars.packages"] = ",".join(packages)
        if settings.file_format == "delta" and settings.packages is None:
            conf["spark.jars.excludes"] = ",".join(DELTA_EXCLUDES)
    conf.update(FORMAT_CONF.get(settings.file_format, {}))
    if starting:
        conf["spark.driver.extraJavaOptions"] = _java_options(settings, warehouse)
    return {**conf, **settings.conf}


def runtime_conf(settings: SparkSettings) -> dict[str, str]:
    """Per-session settings: UTC (timestamps equal on every engine), Arrow for pandas, dynamic overwrite."""
    conf = {"spark.sql.session.timeZone": "UTC", "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.sql.sources.partitionOverwriteMode": "dynamic",
            # a CREATE TABLE without USING (the core's results tables) gets the target's format: DELETE works on it
            "spark.sql.sources.default": settings.file_format}
    if settings.local:  # 200 shuffle partitions (50 for Delta's log replay) make every small local job crawl
        partitions = str(max(2, 2 * (os.cpu_count() or 1)))
        conf["spark.sql.shuffle.partitions"] = partitions
        if settings.file_format == "delta":
            conf["spark.databricks.delta.snapshotPartitions"] = partitions
    return {**conf, **{k: v for k, v in settings.conf.items() if k in conf}}


def local_session(settings: SparkSettings, where: str | None = None) -> Any:
    """A session on this process's JVM: started with the target's settings, or reused if it runs already.

    The context is made directly rather than through SparkSession.builder, whose getOrCreate() turns
    into a Spark Connect client once any Connect session exists in the process (pyspark marks the
    whole process with an environment variable).
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    context = SparkContext._active_spark_context
    wanted = static_conf(settings, where, starting=context is None)
    if context is not None:
        _check_same_jvm(context, wanted, settings, where)
    else:
        if settings.local:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # read by the JVM pyspark starts next
        # pyspark marks a process that made a Connect session, and child processes inherit the mark; with
        # it SparkContext refuses to start. This target asks for a JVM of its own, so the mark goes.
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
        conf = SparkConf().setMaster(settings.master).setAppName("pds").setAll(list(wanted.items()))
        try:
            context = SparkContext.getOrCreate(conf)
        except Exception as exc:
            raise ConnectionFailed(f"cannot start Spark ({settings.describe()}): {_first_line(exc)}", where,
                                   hint=_start_hint(settings)) from None
    session = SparkSession(context).newSession()
    for key, value in runtime_conf(settings).items():
        session.conf.set(key, value)
    return session


def _check_same_jvm(context: Any, wanted: dict[str, str], settings: SparkSettings, where: str | None) -> None:
    """A running JVM cannot change its warehouse, metastore or jars: a target needing others is an error.

    Parquet needs nothing extra, so a parquet target runs on a JVM started for Delta (or Iceberg).
    """
    conf = context.getConf()
    for key in ("spark.sql.warehouse.dir", "spark.jars.packages", "spark.sql.extensions"):
        have = conf.get(key, None) or ""
        want = wanted.get(key)
        if not want:
            continue
        differs = _folder(have) != _folder(want) if key == "spark.sql.warehouse.dir" else \
            not set(want.split(",")) <= set(have.split(","))
        if differs:
            raise ProjectError(f"this process already runs a Spark JVM with {key}={have or '(none)'}; this target "
                               f"needs {want}", where,
                               hint="one process holds one local Spark JVM: run the other target in its own process")


def _folder(uri: str | None) -> str:
    """file:/x, file:///x/ and /x are one folder."""
    text = str(uri or "")
    if text.startswith("file:"):
        text = "/" + text.removeprefix("file:").lstrip("/")
    return text.rstrip("/")


def connect_session(settings: SparkSettings, where: str | None = None) -> Any:
    """A Spark Connect client, checked with one cheap call so an unreachable server fails now, quickly."""
    from pyspark import SparkContext
    from pyspark.sql.connect.client.retries import DefaultPolicy
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    session = None
    try:
        # the Connect builder itself: pyspark's generic one would mark the whole process as Connect-only
        session = RemoteSession.builder.remote(settings.connect_url()).create()
        client = session.client
        # pyspark retries for 10 minutes; while connecting give up after about connect_timeout, and later
        # after about a minute (a server gone mid-build then fails the build instead of seeming to hang)
        retries = max(1, int(settings.connect_timeout // 1.5))
        client.set_retry_policies([DefaultPolicy(max_retries=retries, initial_backoff=200, backoff_multiplier=2.0,
                                                 max_backoff=2000, jitter=100, min_jitter_threshold=1000)])
        session.version  # noqa: B018 -- one round trip to the server
        client.set_retry_policies([DefaultPolicy(max_retries=8, max_backoff=10000)])
        for key, value in runtime_conf(settings).items():
            session.conf.set(key, value)
    except Exception as exc:
        if session is not None:  # closed: pyspark's exit hook would otherwise retry its clean-up for minutes
            session.client.close()
        raise ConnectionFailed(f"cannot reach the Spark Connect server at {settings.host}: {_connect_reason(exc)}",
                               where, hint="check that the server runs and that host: sc://host:port in profiles.yml "
                                           "is its address (the token is read from the target, never printed)") from None
    if SparkContext._active_spark_context is None:
        # user code in a Connect-only process (Python models) then gets Connect's functions
        os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    return session


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _connect_reason(exc: BaseException) -> str:
    """gRPC's status in a few words (its full text repeats the URL and a stack of retries)."""
    text = str(exc)
    for marker in ("Connection refused", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNAUTHENTICATED",
                   "PERMISSION_DENIED", "failed to connect", "Name resolution failure"):
        if marker.lower() in text.lower():
            return {"UNAVAILABLE": "server unavailable", "failed to connect": "connection failed"}.get(marker, marker)
    return _first_line(exc)[:200]


def _start_hint(settings: SparkSettings) -> str:
    if settings.file_format in ("delta", "iceberg") and settings.packages is None:
        return (f"Spark needs Java 17+ (java -version) and, for file_format {settings.file_format}, downloads its "
                "jars from Maven Central on first use (into ~/.ivy2*): check the network, or set packages:")
    return "Spark needs Java 17 or later: check `java -version` and JAVA_HOME"
