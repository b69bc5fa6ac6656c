"""The build lock where no lock file can serve (Spark Connect, a cluster, a remote warehouse).

Why a table: Spark has no advisory locks, but creating a table is atomic in every metastore
(Hive, Unity, Glue): of two `CREATE TABLE pds_build_lock` (no IF NOT EXISTS), exactly one
succeeds. The table's properties name the holder (host, pid, start); releasing drops it. Unlike
a Postgres session lock it outlives a killed holder, so a lock whose holder was a process on this
host that no longer runs is taken over; one from another host is named in the error, with the
statement that removes it.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import TYPE_CHECKING

from sqlglot import exp

from pds_adapters import statements as st
from pds_adapters.spark.tables import LOCK_TABLE

if TYPE_CHECKING:
    from pds_adapters.spark.adapter import SparkAdapter


def _table(adapter: SparkAdapter) -> exp.Table:
    return exp.Table(this=exp.to_identifier(LOCK_TABLE, quoted=True),
                     db=exp.to_identifier(adapter.target.schema, quoted=True))


def _create(adapter: SparkAdapter, key: int) -> exp.Create:
    info = {"pds.lock.key": str(key), "pds.lock.owner": adapter.lock_owner, "pds.lock.host": socket.gethostname(), "pds.lock.pid": str(os.getpid()),
            "pds.lock.started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    schema = exp.Schema(this=_table(adapter), expressions=[
        exp.ColumnDef(this=exp.to_identifier("holder", quoted=True), kind=exp.DataType.build("STRING"))])
    props = [exp.FileFormatProperty(this=exp.Var(this="parquet"))]
    props += [exp.Property(this=exp.Literal.string(k), value=exp.Literal.string(v)) for k, v in info.items()]
    return exp.Create(this=schema, kind="TABLE", properties=exp.Properties(expressions=props))


def _info(adapter: SparkAdapter) -> dict[str, str] | None:
    """The holder's properties, or None when no lock table exists."""
    from pyspark.errors import AnalysisException

    try:
        _cols, rows = adapter.fetch(exp.Command(this="SHOW", expression=f"TBLPROPERTIES {_table(adapter).sql('spark')}"))
    except AnalysisException:
        return None
    return {str(k): str(v) for k, v in rows if str(k).startswith("pds.lock.")}


def try_lock(adapter: SparkAdapter, key: int) -> bool:
    """Create the lock table; False if another run holds it. A dead holder on this host is replaced."""
    from pyspark.errors import AnalysisException

    adapter.open()  # an unreachable Spark is ConnectionFailed here, naming the target
    adapter.ensure_schema(adapter.target.schema)
    for _attempt in range(2):
        try:
            adapter.execute(_create(adapter, key))
            return True
        except AnalysisException:
            info = _info(adapter)
            if info is None:
                continue  # released between our CREATE and our look: try again
            if info.get("pds.lock.host") == socket.gethostname() and not _alive(info.get("pds.lock.pid", "")):
                adapter.execute(st.drop(_table(adapter)))  # its holder died on this host: take it over
                continue
            return False
    return False


def holder(adapter: SparkAdapter, key: int) -> str | None:
    info = _info(adapter)
    if not info:
        return None
    return (f"pid {info.get('pds.lock.pid')} on {info.get('pds.lock.host')}, started "
            f"{info.get('pds.lock.started_at')} (lock table {_table(adapter).sql('spark')}; if that run is gone, "
            f"DROP TABLE it)")


def unlock(adapter: SparkAdapter, key: int) -> None:
    info = _info(adapter)
    if info is not None and info.get("pds.lock.owner") == adapter.lock_owner:  # never another run's lock
        adapter.execute(st.drop(_table(adapter)))


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
