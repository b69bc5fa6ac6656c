"""PostgreSQL through SQLAlchemy 2 (URL, pool) and psycopg 3 (COPY): transactional DDL, MERGE from 15.

Postgres binds a view to its table's OID, so dropping a table drops the views on it (CASCADE). Every
replace here therefore saves the definitions of the views that depend on the relation, swaps, and
re-creates them in the same transaction; a view that no longer fits the new columns is left dropped
and reported as a warning on the node, never silently.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from sqlglot import exp

from pds_adapters import frames
from pds_adapters import statements as st
from pds_adapters.base import Adapter
from pds_core.errors import ProjectError
from pds_core.nodes import Relation

MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1: longer names are silently truncated by the server

# Views (and materialized views) that depend on a relation, directly or through other views,
# deepest last so they can be re-created in order.
DEPENDENT_VIEWS = """
WITH RECURSIVE deps(oid, depth) AS (
    SELECT r.ev_class, 1
    FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid = %(rel)s::regclass AND r.ev_class <> %(rel)s::regclass
    UNION
    SELECT r.ev_class, deps.depth + 1
    FROM deps JOIN pg_depend d ON d.refobjid = deps.oid
      AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
    JOIN pg_rewrite r ON r.oid = d.objid
    WHERE r.ev_class <> deps.oid AND deps.depth < 100
)
SELECT n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid), max(deps.depth) AS depth
FROM deps JOIN pg_class c ON c.oid = deps.oid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
GROUP BY n.nspname, c.relname, c.relkind, c.oid
ORDER BY depth, n.nspname, c.relname
"""


class PostgresAdapter(Adapter):
    """One pooled psycopg connection per thread, in autocommit; transactions are explicit."""

    type: ClassVar[str] = "postgres"
    dialect: ClassVar[str] = "postgres"
    supports_transactional_ddl: ClassVar[bool] = True
    supports_merge: ClassVar[bool] = True  # set per instance from the server version (MERGE is 15+)
    supports_create_or_replace_table: ClassVar[bool] = False
    connection_keys: ClassVar[tuple[str, ...]] = (
        "host", "port", "user", "password", "dbname", "database", "schema", "sslmode", "connect_timeout",
        "search_path", "keepalives_idle", "threads")
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
        query = {k: str(s[k]) for k in ("sslmode", "keepalives_idle") if s.get(k) is not None}
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

    # ---- reliability: lost sessions, the build lock, streaming reads ---------------------------
    supports_advisory_lock: ClassVar[bool] = True
    max_identifier_bytes: ClassVar[int | None] = MAX_IDENTIFIER_BYTES

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
        cur = self._lock_conn.cursor()
        try:
            cur.execute("SELECT pg_try_advisory_lock(%s)", [key])
            return bool(cur.fetchone()[0])
        finally:
            cur.close()

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

    # ---- relations ------------------------------------------------------------------------------
    def temp_relation(self, relation: Relation, suffix: str = "tmp") -> Relation:
        """A staging name that keeps its unique tail within Postgres' 63-byte identifier limit."""
        staged = super().temp_relation(relation, suffix)
        tail = staged.identifier[len(relation.identifier):]
        room = MAX_IDENTIFIER_BYTES - len(tail.encode())
        head = relation.identifier.encode()[:room].decode(errors="ignore")
        return Relation(staged.schema, head + tail, staged.database)

    def create_view(self, relation: Relation, query: exp.Expression) -> None:
        """Drop and create in one transaction: CREATE OR REPLACE VIEW cannot drop or rename columns here."""
        kind = self.relation_kind(relation)
        with self.transaction(), self._keeping_dependent_views(relation, kind):
            if kind:
                self.execute(st.drop(self.table(relation), kind.upper(), cascade=True))
            self.execute(st.create_view_as(self.table(relation), query, replace=False))

    def swap_in(self, staged: Relation, relation: Relation, kind: str | None) -> None:
        with self._keeping_dependent_views(relation, kind):
            super().swap_in(staged, relation, kind)

    @contextmanager
    def _keeping_dependent_views(self, relation: Relation, kind: str | None) -> Iterator[None]:
        """Re-create, after the block, the views that depended on relation before it (inside a transaction)."""
        _cols, views = self.fetch(DEPENDENT_VIEWS, {"rel": self.sql(self.table(relation))}) if kind else ([], [])
        yield
        from psycopg import sql

        for index, (schema, name, relkind, definition, _depth) in enumerate(views):
            create = sql.SQL("CREATE MATERIALIZED VIEW {} AS " if relkind == "m" else "CREATE VIEW {} AS ")
            statement = (create.format(sql.Identifier(schema, name)) + sql.SQL(definition)).as_string(
                self.connection().driver_connection)  # the server's own deparse of the view, not user input
            savepoint = f"pds_view_{index}"
            self.execute(f"SAVEPOINT {savepoint}")
            try:
                self.execute(statement)
            except Exception as exc:
                self.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                self.warn(f"dependent view {schema}.{name} was dropped: it no longer fits {relation} "
                          f"({self.redact(str(exc).strip().splitlines()[0])}); rebuild it, e.g. "
                          f"`pds build --select {relation.identifier}+`")
            else:
                self.execute(f"RELEASE SAVEPOINT {savepoint}")

    # ---- DataFrames and seeds through COPY ------------------------------------------------------
    def write_dataframe(self, relation: Relation, df: Any) -> int:
        """COPY the frame into a staged table, then swap it in, all in one transaction."""
        staged = self.temp_relation(relation, "df")
        with self.transaction():
            rows = self._copy_frame(staged, df, frames.column_types(df))
            self.swap_in(staged, relation, self.relation_kind(relation))
        return rows

    def stage_dataframe(self, relation: Relation, df: Any) -> Relation:
        staged = self.temp_relation(relation, "df")
        with self.transaction():
            self._copy_frame(staged, df, frames.column_types(df))
        return staged

    def load_seed(self, relation: Relation, path: str, column_types: dict[str, str], delimiter: str = ",") -> int:
        """Types inferred from the CSV; column_types (in this target's SQL) override them per column."""
        df = frames.read_seed(path, delimiter, as_text=list(column_types))
        types = frames.column_types(df)
        for name, type_sql in column_types.items():
            try:
                types[name] = exp.DataType.build(type_sql, dialect=self.dialect)
            except Exception:
                raise ProjectError(f"column_types: {type_sql!r} is not a postgres type (seed column {name!r})",
                                   hint="use a type Postgres knows, e.g. integer, numeric(10,2), text, date") from None
        staged = self.temp_relation(relation, "seed")
        with self.transaction():
            rows = self._copy_frame(staged, df, types)
            self.swap_in(staged, relation, self.relation_kind(relation))
        return rows

    def _copy_frame(self, relation: Relation, df: Any, types: dict[str, exp.DataType]) -> int:
        """CREATE TABLE with the given column types, then COPY ... FROM STDIN the rows (one stream)."""
        from psycopg import sql

        schema = exp.Schema(this=self.table(relation), expressions=[
            exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=types[name]) for name in types])
        self.execute(exp.Create(this=schema, kind="TABLE"))
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(relation.schema, relation.identifier), sql.SQL(", ").join(map(sql.Identifier, types)))
        rows = 0
        self.count_statement()
        cur = self.connection().cursor()
        try:
            with cur.copy(copy) as stream:
                for row in frames.python_rows(df):
                    stream.write_row(row)
                    rows += 1
        finally:
            cur.close()
        return rows

    def query_dataframe(self, statement: exp.Expression | str) -> Any:
        return frames.tidy_frame(super().query_dataframe(statement))
