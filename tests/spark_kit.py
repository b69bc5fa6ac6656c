"""Spark for the tests: one local JVM per test process and one Spark Connect server per run.

A JVM costs seconds to start, so every in-process test shares one local session (on one
warehouse folder, Delta configured: parquet tables work on it too), and every Connect test the
one server started here on a free 127.0.0.1 port, from pyspark's own distribution. Both go away
when the process exits. The first run on a fresh machine downloads the Delta jars from Maven
Central into the Ivy cache (~/.ivy2*), outside the repository.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

FILE_FORMAT = "delta"  # the row-level format tested here (Iceberg has no runtime for Spark 4.2 yet)


def unavailable() -> str | None:
    """Why Spark cannot run here, or None. In CI a missing piece fails instead of skipping."""
    if os.environ.get("CI"):
        return None
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java (Spark needs Java 17+)"
    return None


def _scratch(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@functools.cache
def local_warehouse() -> Path:
    """The test process's one local warehouse (its JVM can hold only one Derby metastore)."""
    return _scratch("pds-spark-local-") / "warehouse"


def local_settings(schema: str, file_format: str = FILE_FORMAT, warehouse: Path | None = None) -> dict[str, Any]:
    return {"type": "spark", "method": "session", "master": "local[2]",
            "warehouse": str(warehouse or local_warehouse()), "schema": schema, "file_format": file_format,
            "threads": 4}


def connect_settings(schema: str, file_format: str = FILE_FORMAT) -> dict[str, Any]:
    return {"type": "spark", "method": "connect", "host": f"sc://127.0.0.1:{connect_server().port}",
            "schema": schema, "file_format": file_format, "threads": 4}


def adapter(settings: dict[str, Any]) -> Any:
    """An opened SparkAdapter for a target mapping (the caller closes it).

    The process's JVM is started for Delta whatever the first target wants: a later Delta target could
    not add the jars to a running JVM, and parquet targets run on a Delta JVM as they are.
    """
    from pds_adapters import get_adapter
    from pds_core.profiles import Target

    if settings.get("method") == "session" and settings.get("file_format") != FILE_FORMAT:
        adapter({**settings, "file_format": FILE_FORMAT}).close()
    found = get_adapter(Target(name="test", type="spark", settings=dict(settings), secrets=[]))
    found.open()
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ConnectServer:
    """`spark-submit --class ...SparkConnectServer` on 127.0.0.1, with Delta, in its own warehouse."""

    def __init__(self) -> None:
        import pyspark

        from pds_adapters.spark.session import static_conf
        from pds_adapters.spark.settings import read_settings

        self.port = free_port()
        self.folder = _scratch("pds-spark-connect-")
        self.log = self.folder / "server.log"
        settings = read_settings({"type": "spark", "master": "local[2]", "warehouse": str(self.folder / "warehouse"),
                                  "file_format": FILE_FORMAT, "cds_archive": False}, None)
        conf = {**static_conf(settings, None), "spark.connect.grpc.binding.address": "127.0.0.1",
                "spark.connect.grpc.binding.port": str(self.port), "spark.sql.shuffle.partitions": "4",
                "spark.databricks.delta.snapshotPartitions": "4",
                "spark.sql.session.timeZone": "UTC"}
        spark_home = Path(pyspark.__file__).parent
        command = [str(spark_home / "bin" / "spark-submit"), "--class",
                   "org.apache.spark.sql.connect.service.SparkConnectServer", "--name", "pds-tests",
                   "--master", "local[2]"]
        for key, value in conf.items():
            command += ["--conf", f"{key}={value}"]
        env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": "127.0.0.1"}
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         cwd=self.folder, start_new_session=True)
        self._wait()

    def _wait(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Spark Connect server exited ({self.proc.returncode}):\n{self.tail()}")
            with socket.socket() as sock:
                sock.settimeout(1)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the Spark Connect server did not listen within {timeout:g}s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@functools.cache
def connect_server() -> ConnectServer:
    """The run's one Connect server, started on first use and stopped when the process exits."""
    server = ConnectServer()
    atexit.register(server.stop)
    return server


def remote_session() -> Any:
    """A plain Spark Connect client on the test server (for reading what a build wrote)."""
    # Connect's own builder: pyspark's generic one marks the process (and its children) Connect-only
    from pyspark.sql.connect.session import SparkSession

    return SparkSession.builder.remote(f"sc://127.0.0.1:{connect_server().port}").create()


def table_name(schema: str, table: str) -> str:
    from sqlglot import exp

    return exp.table_(exp.to_identifier(table, quoted=True), exp.to_identifier(schema, quoted=True)).sql("spark")


@contextlib.contextmanager
def dropped_schema(settings: dict[str, Any]) -> Any:
    """Drop the target's schema (CASCADE) when the block ends."""
    try:
        yield settings
    finally:
        with contextlib.suppress(Exception):  # cleaning up is best effort: the folders go at exit anyway
            found = adapter(settings)
            try:
                from sqlglot import exp

                from pds_adapters.statements import drop

                found.execute(drop(exp.Table(db=exp.to_identifier(settings["schema"], quoted=True)), "SCHEMA",
                                   cascade=True))
            finally:
                found.close()
