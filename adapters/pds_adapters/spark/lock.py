"""The build lock where no lock file can serve (Spark Connect, a cluster, a remote warehouse).

Why not the base lock table (pds_adapters.locks.TableLock): it takes over a dead holder's lock and
beats its heartbeat with UPDATE, which a parquet table does not have. Creating a table is atomic in
every metastore (Hive, Unity, Glue) whatever the format: of two `CREATE TABLE pds_build_lock` (no
IF NOT EXISTS), exactly one succeeds. The holder is recorded in the table's properties (owner, pid,
host, start, a token); releasing drops it. A holder on this host that no longer runs is taken
over; one on another host is named in the error, with the statement that frees its lock.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from pds_adapters import locks
from pds_adapters import statements as st
from pds_adapters.relation import Relation
from pds_adapters.spark import tables
from pds_adapters.spark.tables import LOCK_TABLE

if TYPE_CHECKING:
    from pds_adapters.spark.adapter import SparkAdapter

OWNER_PROPERTY = "pds.lock.owner"
ID_PROPERTY = "pds.lock.id"  # the holder's token, apart: Spark redacts any property value that names a "token"


class SparkTableLock:
    """pds_build_lock in the target's schema, on an adapter (a Spark session) of its own."""

    poll_seconds = 2.0  # every try is a catalog call

    def __init__(self, adapter: SparkAdapter, info: dict[str, Any]) -> None:
        self.adapter = adapter
        self.info = locks.owner_info({**info, "started_at": info.get("started_at") or
                                      dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
        self.relation = Relation(adapter.target.schema, LOCK_TABLE)
        self.held = False

    def _table(self) -> exp.Table:
        return self.adapter.table(self.relation)

    def _create(self) -> exp.Create:
        schema = exp.Schema(this=self._table(), expressions=[
            exp.ColumnDef(this=exp.to_identifier("holder"), kind=exp.DataType.build("STRING"))])
        owner = {k: v for k, v in self.info.items() if k != "token"}
        props = [exp.FileFormatProperty(this=exp.Var(this="parquet")),
                 exp.Property(this=exp.Literal.string(OWNER_PROPERTY), value=exp.Literal.string(json.dumps(owner))),
                 exp.Property(this=exp.Literal.string(ID_PROPERTY), value=exp.Literal.string(self.info["token"]))]
        return exp.Create(this=schema, kind="TABLE", properties=exp.Properties(expressions=props))

    def _owner(self) -> dict[str, Any] | None:
        """The holder recorded on the lock table, or None when there is no lock table."""
        listed = tables.list_schema(self.adapter, self.relation.schema, LOCK_TABLE)
        if LOCK_TABLE not in {name.lower() for name in listed}:  # (list_relations hides the lock table)
            return None
        show = exp.Command(this="SHOW", expression=f"TBLPROPERTIES {self._table().sql('spark')}")
        _cols, rows = self.adapter.fetch(show)
        props = {str(k): str(v) for k, v in rows}
        try:
            found = json.loads(props.get(OWNER_PROPERTY, "{}"))
        except ValueError:
            found = {}
        return {**found, "token": props.get(ID_PROPERTY)} if isinstance(found, dict) and found else {}

    def try_acquire(self) -> str | None:
        """None when taken; else who holds it. A dead holder on this host is replaced."""
        self.adapter.open()  # an unreachable Spark is ConnectionFailed here, naming the target
        self.adapter.ensure_schema(self.relation.schema)
        for attempt in range(3):
            try:
                self.adapter.execute(self._create())
                self.held = True
                return None
            except Exception:
                owner = self._owner()
                if owner is None:
                    if attempt == 2:  # no lock table, yet CREATE fails: that error is the story
                        raise
                    continue  # released between our CREATE and our look: try again
                if owner and locks.owner_is_dead(owner):
                    self.adapter.execute(st.drop(self._table()))  # its holder died on this host: take it over
                    continue
                return locks.describe_owner(owner) if owner else "a run that is starting"
        return "another run (the lock table keeps being re-created)"

    def release(self) -> None:
        try:
            if self.held and (self._owner() or {}).get("token") == self.info["token"]:  # never another run's
                self.adapter.execute(st.drop(self._table()))
        finally:
            self.held = False
            self.adapter.close()

    def where(self) -> str:
        return (f"lock table {self._table().sql('spark')} (if its run is gone: "
                f"DROP TABLE {self._table().sql('spark')})")
