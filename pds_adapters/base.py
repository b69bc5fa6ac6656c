"""The adapter interface: one concrete base class; each engine's subclass sets only what differs.

Materializations call the high-level operations here (replace a table atomically, create a
view, merge, write a DataFrame). Statements are sqlglot expressions rendered in the adapter's
dialect, so quoting is always the engine's.
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from sqlglot import exp

from pds_adapters import statements as st
from pds_core.errors import ConnectionFailed, ProjectError
from pds_core.nodes import Relation
from pds_core.profiles import Target

# what temp_relation() names look like: <identifier>__pds_<purpose>_<8 hex digits>
STAGING_NAME = re.compile(r"__pds_[a-z]+_[0-9a-f]{8}$", re.IGNORECASE)


class Adapter:
    """A connection to one warehouse target, safe to use from several threads (one connection each)."""

    type: ClassVar[str] = "base"
    dialect: ClassVar[str] = "duckdb"
    supports_transactional_ddl: ClassVar[bool] = True
    supports_merge: ClassVar[bool] = True
    supports_create_or_replace_table: ClassVar[bool] = True  # and it is atomic
    connection_keys: ClassVar[tuple[str, ...]] = ()
    required_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, target: Target) -> None:
        self.target = target
        self._local = threading.local()
        self._all_connections: list[Any] = []
        self._lock = threading.Lock()
        self.statements_sent = 0
        # set by a run: relation -> kind, or ... when the run does not track that relation
        self.relation_lookup: Callable[[Relation], Any] | None = None
        unknown = set(target.settings) - set(self.connection_keys) - {"type", "threads"}
        if unknown and self.connection_keys:
            from pds_core.errors import did_you_mean

            key = sorted(unknown)[0]
            raise ProjectError(f"unknown key {key!r} in target {target.name!r} ({self.type})", target.profile_path,
                               hint=did_you_mean(key, self.connection_keys) or
                               f"{self.type} targets take: {', '.join(self.connection_keys)}")
        missing = [k for k in self.required_keys if not target.settings.get(k)]
        if missing:
            raise ProjectError(f"target {target.name!r} ({self.type}) is missing {', '.join(missing)}",
                               target.profile_path, hint="see docs/adapters.md for the keys of each warehouse")

    # ---- what each engine implements -----------------------------------------------------------
    def _connect(self) -> Any:
        """A new DB-API connection for the current thread."""
        raise NotImplementedError

    def _describe_target(self) -> str:
        """Where the target is, for error messages (host or file; never a password)."""
        return self.target.type

    # ---- connections ----------------------------------------------------------------------------
    def open(self) -> None:
        """Connect now, so an unreachable warehouse is reported before any work starts."""
        self.connection()

    def connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._is_broken(conn):  # the warehouse ended the session: start a new one
            self._discard(conn)
            conn = None
        if conn is None:
            try:
                conn = self._connect()
            except ProjectError:
                raise
            except Exception as exc:
                raise ConnectionFailed(self.redact(
                    f"cannot connect to target {self.target.name!r} ({self._describe_target()}): "
                    f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"),
                    self.target.profile_path, hint="check the target in profiles.yml and that the warehouse is reachable"
                ) from None
            self._local.conn = conn
            with self._lock:
                self._all_connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all_connections:
                self._release(conn)
            self._all_connections.clear()
        self._local = threading.local()

    def warn(self, message: str) -> None:
        """Note something the user must know about the current thread's node (it then ends as a warning)."""
        self._local.warnings = [*getattr(self._local, "warnings", []), message]

    def take_warnings(self) -> list[str]:
        """The warnings noted on this thread since the last call, cleared."""
        found, self._local.warnings = getattr(self._local, "warnings", []), []
        return found

    def redact(self, text: str) -> str:
        for secret in self.target.secrets:
            if secret:
                text = text.replace(secret, "****")
        return text

    # ---- running statements ---------------------------------------------------------------------
    def sql(self, statement: exp.Expression | str) -> str:
        return statement if isinstance(statement, str) else statement.sql(dialect=self.dialect)

    def count_statement(self) -> None:
        """Count statements overall and per thread (a node's runner reads its own thread's count)."""
        with self._lock:
            self.statements_sent += 1
        self._local.statements = getattr(self._local, "statements", 0) + 1

    def thread_statements(self) -> int:
        return getattr(self._local, "statements", 0)

    def execute(self, statement: exp.Expression | str, params: Any = None) -> int | None:
        """Run one statement; returns the rows it affected where the engine says."""
        self.count_statement()
        return self._execute(self.connection(), self.sql(statement), params)

    def fetch(self, statement: exp.Expression | str, params: Any = None) -> tuple[list[str], list[tuple]]:
        """Run one query; returns its column names and rows."""
        self.count_statement()
        return self._fetch(self.connection(), self.sql(statement), params)

    def _execute(self, conn: Any, sql: str, params: Any) -> int | None:
        cur = conn.cursor()
        try:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            rc = getattr(cur, "rowcount", -1)
            return rc if isinstance(rc, int) and rc >= 0 else None
        finally:
            cur.close()

    def _fetch(self, conn: Any, sql: str, params: Any) -> tuple[list[str], list[tuple]]:
        cur = conn.cursor()
        try:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            return [d[0] for d in cur.description or []], [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction where the engine has transactional DDL."""
        if not self.supports_transactional_ddl:
            yield
            return
        with self.begin_commit():
            yield

    @contextmanager
    def begin_commit(self) -> Iterator[None]:
        """BEGIN ... COMMIT around the block, ROLLBACK if it raises. Engines whose DDL commits on its
        own use it around DML alone (e.g. Snowflake's delete+insert)."""
        self.execute("BEGIN")
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # the original error matters more
                self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    # ---- catalog ------------------------------------------------------------------------------
    def list_relations(self, schemas: list[str]) -> dict[tuple[str, str], str]:
        """(schema, name) lower-cased -> 'table' or 'view', for the given schemas."""
        if not schemas:
            return {}
        placeholders = ", ".join(["%s"] * len(schemas))
        _cols, rows = self.fetch(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            f"WHERE lower(table_schema) IN ({placeholders})", [s.lower() for s in schemas])
        return {(s.lower(), n.lower()): ("view" if "VIEW" in t.upper() else "table") for s, n, t in rows}

    def relation_kind(self, relation: Relation) -> str | None:
        """'table', 'view' or None. Asks the run's relation cache first: a catalog query per node is slow."""
        if self.relation_lookup is not None:
            known = self.relation_lookup(relation)
            if known is not ...:
                return known
        return self.list_relations([relation.schema]).get(relation.key())

    def ensure_schema(self, schema: str) -> None:
        self.execute(st.create_schema(exp.to_identifier(schema, quoted=True)))

    def columns(self, relation: Relation) -> list[str]:
        cols, _ = self.fetch(st.select_star(self.table(relation), limit=0))
        return cols

    def table(self, relation: Relation) -> exp.Table:
        return relation.table(self.dialect)

    def count(self, relation: Relation) -> int:
        _, rows = self.fetch(st.count_rows(self.table(relation)))
        return int(rows[0][0])

    def temp_relation(self, relation: Relation, suffix: str = "tmp") -> Relation:
        return Relation(relation.schema, f"{relation.identifier}__pds_{suffix}_{uuid.uuid4().hex[:8]}",
                        relation.database)

    # ---- materialization operations -------------------------------------------------------------
    def create_view(self, relation: Relation, query: exp.Expression) -> None:
        with self.transaction():
            if self.relation_kind(relation) == "table":
                self.execute(st.drop(self.table(relation), "TABLE", cascade=True))
            self.execute(st.create_view_as(self.table(relation), query))

    def replace_table(self, relation: Relation, query: exp.Expression) -> int | None:
        """Build the new table beside the old one and swap it in, in one transaction."""
        kind = self.relation_kind(relation)
        if self.supports_create_or_replace_table:
            with self.transaction():
                if kind == "view":
                    self.execute(st.drop(self.table(relation), "VIEW"))
                rows = self.execute(st.create_table_as(self.table(relation), query, replace=True))
            return rows if rows is not None else self.count(relation)
        staged = self.temp_relation(relation)
        with self.transaction():
            rows = self.execute(st.create_table_as(self.table(staged), query))
            self.swap_in(staged, relation, kind)
        return rows if rows is not None else self.count(relation)

    def swap_in(self, staged: Relation, relation: Relation, kind: str | None) -> None:
        """Put a staged table where relation was (kind: what stood there), inside the caller's transaction."""
        if kind:
            self.execute(st.drop(self.table(relation), kind.upper(), cascade=True))
        self.execute(st.rename_table(self.table(staged), relation.identifier))

    def incremental(self, relation: Relation, query: exp.Expression, strategy: str,
                    unique_key: list[str]) -> int | None:
        """Add the query's rows to an existing table: append, merge or delete+insert, in one transaction."""
        if strategy == "append":
            with self.transaction():
                return self.execute(st.insert_select(self.table(relation), query, self.columns(relation)))
        staged = self.temp_relation(relation, "incr")
        try:
            # the staging table is created and dropped inside the transaction: a killed build leaves none behind
            with self.transaction():
                self.execute(st.create_table_as(self.table(staged), query))
                columns = self.columns(staged)
                if strategy == "merge" and self.supports_merge:
                    rows = self.execute(st.merge(self.table(relation), self.table(staged), unique_key, columns))
                else:
                    self.execute(st.delete_matching(self.table(relation), self.table(staged), unique_key))
                    rows = self.execute(st.insert_select(self.table(relation), st.select_star(self.table(staged)),
                                                         columns))
                self.execute(st.drop(self.table(staged)))
            return rows
        finally:
            if not self.supports_transactional_ddl:
                self.execute(st.drop(self.table(staged)))

    def incremental_dataframe(self, relation: Relation, df: Any, strategy: str, unique_key: list[str]) -> int | None:
        """incremental() with a DataFrame's rows (an incremental Python model), staged in a table first."""
        staged = self.stage_dataframe(relation, df)
        try:
            return self.incremental(relation, st.select_star(self.table(staged)), strategy, unique_key)
        finally:
            self.drop_relation(staged)

    def write_dataframe(self, relation: Relation, df: Any) -> int:
        """Replace the relation with a DataFrame's rows, atomically. Engines override with a bulk path."""
        raise NotImplementedError

    def stage_dataframe(self, relation: Relation, df: Any) -> Relation:
        """Write a DataFrame to a new staging table next to relation, for incremental Python models."""
        staged = self.temp_relation(relation, "df")
        self.write_dataframe(staged, df)
        return staged

    def read_dataframe(self, relation: Relation, limit: int | None = None) -> Any:
        return self.query_dataframe(st.select_star(self.table(relation), limit))

    def query_dataframe(self, statement: exp.Expression | str) -> Any:
        import pandas as pd

        cols, rows = self.fetch(statement)
        return pd.DataFrame.from_records(rows, columns=cols)

    def load_seed(self, relation: Relation, path: str, column_types: dict[str, str], delimiter: str = ",") -> int:
        import pandas as pd

        df = pd.read_csv(path, sep=delimiter, dtype={c: "string" for c in column_types} or None)
        return self.write_dataframe(relation, df)

    def drop_relation(self, relation: Relation) -> None:
        kind = self.relation_kind(relation)
        if kind:
            self.execute(st.drop(self.table(relation), kind.upper(), cascade=True))

    # ---- reliability: lost sessions, the build lock, left-over staging, chunked reads -----------
    supports_advisory_lock: ClassVar[bool] = False  # engines with one implement try_advisory_lock & co
    max_identifier_bytes: ClassVar[int | None] = None  # a longer name is an error, never silently cut

    @classmethod
    def check_names(cls, nodes: Iterable[Any]) -> None:
        """Relation names this engine would truncate are project errors before anything runs."""
        limit = cls.max_identifier_bytes
        for node in nodes if limit else ():
            for part in (node.relation.schema, node.relation.identifier) if node.relation is not None else ():
                if len(part.encode()) > limit:
                    raise ProjectError(f"the name {part[:30]}... is {len(part.encode())} bytes long; {cls.type} keeps "
                                       f"only the first {limit}", node.path, 1,
                                       hint="shorten the file name, or set a shorter alias in the node's config")

    def _is_broken(self, conn: Any) -> bool:
        """True when a connection can no longer be used (e.g. the server terminated the session)."""
        return False

    def _discard(self, conn: Any) -> None:
        with self._lock:
            if conn in self._all_connections:
                self._all_connections.remove(conn)
        self._release(conn)
        self._local.conn = None

    def _release(self, conn: Any) -> None:
        """Close a connection; a broken pooled one is invalidated (a pool reset would fail and log a traceback)."""
        with contextlib.suppress(Exception):  # closing is best effort
            if self._is_broken(conn) and hasattr(conn, "invalidate"):
                conn.invalidate()
            else:
                conn.close()

    def connection_lost(self, exc: BaseException) -> bool:
        """Did this error end the session with the warehouse? (then the node's message says so)"""
        conn = getattr(self._local, "conn", None)
        return conn is not None and self._is_broken(conn)

    def lock_file(self) -> str | None:
        """For an embedded database: the file beside it that serialises builds (see pds_core/locking.py)."""
        return None

    def lock_name(self) -> str:
        """What one build lock covers: where the target is and its schema (never a secret)."""
        return f"{self.type}/{self._describe_target()}/{self.target.schema}"

    def relation_names(self, schemas: list[str]) -> list[tuple[str, str, str]]:
        """(schema, name, 'table' or 'view') in the given schemas, spelt as the warehouse stores them."""
        if not schemas:
            return []
        placeholders = ", ".join(["%s"] * len(schemas))
        _cols, rows = self.fetch(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            f"WHERE lower(table_schema) IN ({placeholders})", [s.lower() for s in schemas])
        return [(s, n, "view" if "VIEW" in t.upper() else "table") for s, n, t in rows]

    def drop_staging(self, schemas: list[str], keep: set[tuple[str, str]] | None = None) -> list[str]:
        """Drop the staging relations an interrupted run left in the schemas (never one named in keep)."""
        dropped, keep = [], keep or set()
        for schema, name, kind in self.relation_names(schemas):
            if STAGING_NAME.search(name) and (schema.lower(), name.lower()) not in keep:
                self.execute(st.drop(self.table(Relation(schema, name)), kind.upper(), cascade=True))
                dropped.append(f"{schema}.{name}")
        return dropped

    def read_chunks(self, source: Relation | str, chunksize: int) -> Iterator[Any]:
        """A relation's (or a query's) rows as DataFrames of at most chunksize rows, on a connection of
        their own, so a Python model can stream a parent larger than memory."""
        import pandas as pd

        query = st.select_star(self.table(source)) if isinstance(source, Relation) else source
        conn = self._connect()
        cur = self._stream_cursor(conn)
        try:
            self.count_statement()
            cur.execute(self.sql(query))
            columns = [d[0] for d in cur.description or []]
            while rows := cur.fetchmany(chunksize):
                yield pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)
        finally:
            self._end_stream(conn, cur)

    def _stream_cursor(self, conn: Any) -> Any:
        """A cursor whose fetchmany() does not hold the whole result in memory (engines override)."""
        return conn.cursor()

    def _end_stream(self, conn: Any, cur: Any) -> None:
        for closing in (cur, conn):
            with contextlib.suppress(Exception):  # best effort: the rows were read
                closing.close()
