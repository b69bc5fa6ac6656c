"""PostgreSQL through SQLAlchemy 2 (URL, pool) and psycopg 3: transactional DDL, MERGE from 15, COPY.

Everything a table replace does (stage, drop the old one, rename, re-create the views that depended on
it: views.py) runs in one transaction; DataFrames and seeds arrive with COPY (bulk.py).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from typing import Any, ClassVar

from pds_adapters import frames
from pds_adapters.base import Adapter
from pds_adapters.errors import ProjectError
from pds_adapters.postgres.bulk import copy_frame
from pds_adapters.postgres.views import keeping_dependent_views
from pds_adapters.relation import Relation

COLUMN_TYPES = ("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = "
                "%(rel)s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")
MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1: longer names are silently truncated by the server


class PostgresAdapter(Adapter):
    """One pooled psycopg connection per thread, in autocommit; transactions are explicit."""

    type: ClassVar[str] = "postgres"
    dialect: ClassVar[str] = "postgres"
    supports_transactional_ddl: ClassVar[bool] = True
    supports_merge: ClassVar[bool] = True  # set per instance from the server version (MERGE is 15+)
    supports_create_or_replace_table: ClassVar[bool] = False  # there is none: staged table + swap_in
    replaces_views_in_place: ClassVar[bool] = False  # CREATE OR REPLACE VIEW cannot drop or rename columns
    supports_cancel: ClassVar[bool] = True  # psycopg's cancel request on the statement's connection
    lock_kind: ClassVar[str] = "advisory"
    max_identifier_bytes: ClassVar[int | None] = MAX_IDENTIFIER_BYTES
    snapshot_time_sql: ClassVar[str] = "now()::timestamp without time zone"  # dbt-postgres's snapshot_get_time()
    constraint_support: ClassVar[dict[str, str]] = dict.fromkeys(
        ("check", "not_null", "unique", "primary_key", "foreign_key"), "enforced")
    unquoted_case: ClassVar[str | None] = "lower"
    grants_style: ClassVar[str | None] = "information_schema"
    connection_keys: ClassVar[tuple[str, ...]] = (
        "host", "port", "user", "password", "dbname", "database", "schema", "sslmode", "connect_timeout",
        "search_path", "keepalives_idle", "threads", "sslcert", "sslkey", "sslrootcert", "application_name")
    key_aliases: ClassVar[dict[str, str]] = {"pass": "password"}
    keys_not_acted_on: ClassVar[dict[str, str]] = {
        "role": "the session keeps the user's own role", "autocommit": "pds manages its transactions",
        "retries": "a failed connection is not retried"}
    required_keys: ClassVar[tuple[str, ...]] = ("host", "user", "schema")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not (self.target.settings.get("dbname") or self.target.settings.get("database")):
            raise ProjectError(f"target {self.target.name!r} (postgres) is missing dbname", self.target.profile_path,
                               hint="add `dbname: <database>` to the target (see docs/adapters/postgres.md)")
        self._engine: Any = None
        self._engine_lock = threading.Lock()
        self._lock_conn: Any = None  # the session holding the build's advisory lock

    # ---- connecting -----------------------------------------------------------------------------
    def _describe_target(self) -> str:
        s = self.target.settings
        return f"postgres {s.get('user')}@{s.get('host')}:{s.get('port', 5432)}/{s.get('dbname') or s.get('database')}"

    def _url(self) -> Any:
        from sqlalchemy.engine import URL

        s = self.target.settings
        query = {k: str(s[k]) for k in ("sslmode", "keepalives_idle", "sslcert", "sslkey", "sslrootcert",
                                        "application_name") if s.get(k) is not None}
        if not s.get("keepalives_idle"):  # dbt-postgres's default 0 means "the system's setting"
            query.pop("keepalives_idle", None)
        query["connect_timeout"] = str(s.get("connect_timeout", 10))
        if s.get("search_path"):  # libpq options are space separated: no spaces inside the value
            query["options"] = "-c search_path=" + ",".join(p.strip() for p in str(s["search_path"]).split(","))
        return URL.create("postgresql+psycopg", username=str(s["user"]), password=s.get("password") or None,
                          host=str(s["host"]), port=int(s.get("port", 5432)),
                          database=str(s.get("dbname") or s.get("database")), query=query)

    def _connect(self) -> Any:
        import sqlalchemy

        with self._engine_lock:
            if self._engine is None:
                self._engine = sqlalchemy.create_engine(self._url(), pool_size=self.target.threads,
                                                        max_overflow=4, pool_reset_on_return="rollback")
        try:
            conn = self._engine.raw_connection()
        except sqlalchemy.exc.DBAPIError as exc:  # report the driver's own message, not SQLAlchemy's wrapper
            raise (exc.orig or exc) from None
        conn.driver_connection.autocommit = True
        if conn.driver_connection.info.server_version < 150000:
            self.supports_merge = False  # instance attribute: this server has no MERGE, use delete+insert
        if conn.driver_connection.info.server_version >= 140000:  # a killed client's query stops within 1s
            conn.driver_connection.execute("SET client_connection_check_interval = 1000")
        return conn

    def close(self) -> None:
        super().close()
        with self._engine_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _cancel_running(self, conn: Any, handle: Any) -> None:
        """A cancel request on a connection of its own (libpq's PQcancel); the statement then fails with
        QueryCanceled in its thread."""
        driver = conn.driver_connection
        cancel = getattr(driver, "cancel_safe", None)  # psycopg 3.2+: non-blocking, with a timeout
        if cancel is not None:
            cancel(timeout=5.0)
        else:
            driver.cancel()

    # ---- reliability: lost sessions, the build lock, streaming reads ---------------------------
    def _is_broken(self, conn: Any) -> bool:
        driver = getattr(conn, "driver_connection", None)
        return driver is not None and bool(driver.broken or driver.closed)

    def connection_lost(self, exc: BaseException) -> bool:
        """A connection error (SQLSTATE 08), the server ending the session (57P) or a dropped socket."""
        import psycopg

        seen: BaseException | None = exc
        while seen is not None:
            state = getattr(seen, "sqlstate", None)
            if isinstance(seen, psycopg.OperationalError) and (state is None or state[:2] == "08" or state[:3] == "57P"):
                return True
            seen = seen.__cause__ or seen.__context__
        return super().connection_lost(exc)

    def lock_name(self) -> str:
        s = self.target.settings
        return f"postgres/{s.get('host')}:{s.get('port', 5432)}/{s.get('dbname') or s.get('database')}/" \
               f"{self.target.schema}"

    def try_advisory_lock(self, key: int) -> bool:
        """pg_try_advisory_lock on a session of its own: the server frees it if this process dies."""
        if self._lock_conn is None:
            self.open()  # an unreachable server is reported here as ConnectionFailed, naming the target
            conn = self._connect()
            conn.detach()  # out of the pool: returning it must never hand the lock to someone else
            self._lock_conn = conn
        return bool(self._lock_query("SELECT pg_try_advisory_lock(%s)", [key])[1][0][0])

    def advisory_unlock(self, key: int) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing the session frees the lock anyway
                conn.cursor().execute("SELECT pg_advisory_unlock(%s)", [key])
            conn.close()

    def advisory_lock_holder(self, key: int) -> str | None:
        """Who holds the lock: the server process, user, client address and since when."""
        _cols, rows = self._lock_query(
            "SELECT a.pid, a.usename, a.client_addr, a.application_name, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1", [(key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF])
        if not rows:
            return None
        pid, user, addr, app, since = rows[0]
        return f"server process {pid} (user {user} from {addr or 'local socket'}{f', {app}' if app else ''}, " \
               f"connected {since:%Y-%m-%d %H:%M:%S})"

    def _lock_query(self, sql: str, params: list[Any]) -> tuple[list[str], list[tuple]]:
        cur = self._lock_conn.cursor()
        try:
            cur.execute(sql, params)
            return [d[0] for d in cur.description or []], cur.fetchall()
        finally:
            cur.close()

    def _stream_cursor(self, conn: Any) -> Any:
        """A server-side (named) cursor: fetchmany() pulls rows in batches, never the whole result."""
        conn.driver_connection.autocommit = False
        return conn.driver_connection.cursor(name=f"pds_chunks_{uuid.uuid4().hex[:12]}")

    def _end_stream(self, conn: Any, cur: Any) -> None:
        with contextlib.suppress(Exception):  # a broken session is discarded by the pool
            cur.close()
            conn.driver_connection.rollback()
            conn.driver_connection.autocommit = True
        conn.close()

    # ---- what differs in the operations --------------------------------------------------------
    def _keeping_dependent_views(self, relation: Relation, kind: str | None) -> contextlib.AbstractContextManager:
        return keeping_dependent_views(self, relation, kind)

    def column_types(self, relation: Relation) -> list[tuple[str, str]]:
        """Each column's exact type (format_type: with length, precision, arrays), in table order."""
        _cols, rows = self.fetch(COLUMN_TYPES, {"rel": self.sql(self.table(relation))})
        return [(str(name), str(kind)) for name, kind in rows]

    def _bulk_load(self, staged: Relation, df: Any) -> int:
        return copy_frame(self, staged, df)

    def query_dataframe(self, statement: Any) -> Any:
        return frames.tidy_frame(super().query_dataframe(statement))
