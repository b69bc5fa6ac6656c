"""The adapter interface: one concrete base class; each engine's subclass sets flags and overrides little.

The base holds what every engine shares: connections (through connections.Connections), statements,
transactions, relation names (through relation.py), the catalog, the build lock, and — in the
Materializations it inherits (materialize.py) — the high-level operations that branch on the
capability flags below. An engine subclass sets its flags, connects, and overrides only where its
SQL differs. Statements are sqlglot expressions rendered in the adapter's dialect.
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pds_adapters import locks
from pds_adapters import statements as st
from pds_adapters.connections import Connections
from pds_adapters.constraints import DEFAULT_SUPPORT
from pds_adapters.errors import ConnectionFailed, ProjectError, did_you_mean
from pds_adapters.materialize import Materializations
from pds_adapters.relation import Quoting, Relation, identifier, render_relation, render_schema
from pds_adapters.schema_change import SchemaChanges
from pds_adapters.seed_types import SEED_TYPES
from pds_adapters.snapshots import Snapshots
from pds_adapters.target import Target

if TYPE_CHECKING:  # sqlglot loads when a statement is first built, not with the adapter class (lazy.py)
    from sqlglot import exp
else:
    from pds_adapters.lazy import exp

# what temp_relation() names look like: <identifier>__pds_<purpose>_<8 hex digits>
STAGING_NAME = re.compile(r"__pds_[a-z]+_[0-9a-f]{8}$", re.IGNORECASE)


class Adapter(Materializations, SchemaChanges, Snapshots):
    """A connection to one warehouse target, safe to use from several threads (one connection each)."""

    type: ClassVar[str] = "base"
    dialect: ClassVar[str] = "duckdb"
    # ---- capability flags: the base (and Materializations) branch on these; see docs/adapters.md ----
    supports_transactional_ddl: ClassVar[bool] = True  # BEGIN..COMMIT wraps DDL (swaps, staging, incrementals)
    supports_merge: ClassVar[bool] = True  # MERGE exists; otherwise merge runs as delete+insert
    supports_schema_change: ClassVar[bool] = True  # incremental() takes schema= (on_schema_change)
    supports_create_or_replace_table: ClassVar[bool] = True  # tables are replaced by CREATE OR REPLACE TABLE AS
    replaces_views_in_place: ClassVar[bool] = True  # CREATE OR REPLACE VIEW may change a view's columns
    dml_transaction: ClassVar[str] = "statements"  # without transactional DDL, DML is made atomic by
    #                                                BEGIN/COMMIT statements, or by one "script" (BigQuery)
    qualify_database: ClassVar[bool] = False  # relation names always carry the database (catalog)
    qualified_rename: ClassVar[bool] = False  # RENAME TO needs the schema (else the session's schema is used)
    folds_to_upper: ClassVar[bool] = False  # unquoted names are stored upper-case (Snowflake)
    drop_cascade: ClassVar[frozenset[str]] = frozenset({"TABLE", "VIEW"})  # DROP <kind> ... CASCADE exists
    deletes_rows: ClassVar[bool] = True  # DELETE ... WHERE exists (not on Spark parquet tables)
    supports_cancel: ClassVar[bool] = False  # cancel() can stop running statements (_cancel_running)
    lock_kind: ClassVar[str] = "none"  # the build lock: "file", "advisory", "table" or "none" (locks.py)
    max_identifier_bytes: ClassVar[int | None] = None  # a longer name is an error, never silently cut
    grants_style: ClassVar[str | None] = None  # how grants are read and sent (grants.py); None: no grants
    comment_style: ClassVar[str | None] = "comment_on"  # comments.py; None: persist_docs warns
    constraint_support: ClassVar[dict[str, str]] = DEFAULT_SUPPORT  # per constraint type (constraints.py)
    declares_tables: ClassVar[bool] = True  # an enforced contract's table is created from its declared columns
    foreign_keys_block_replace: ClassVar[bool] = False  # a table a foreign key references cannot be replaced
    quote_seed_columns: ClassVar[bool] = True  # seed column names quoted when quote_columns is not set (seeds)
    seed_types: ClassVar[dict[str, str]] = SEED_TYPES  # a seed column's kind -> SQL type (seed_types.py), as dbt's adapter
    unquoted_case: ClassVar[str | None] = None  # how an unquoted name is stored: "lower", "upper" or as written
    writes_external_files: ClassVar[bool] = False  # the external materialization (dbt-duckdb's) works here
    connection_keys: ClassVar[tuple[str, ...]] = ()
    required_keys: ClassVar[tuple[str, ...]] = ()
    # a dbt profile's name for a setting -> pds's (profiles.py renames it before the target is built)
    key_aliases: ClassVar[dict[str, str]] = {}
    # keys of the dbt adapter's profiles that pds accepts but does not act on: key -> what happens instead
    # (profiles.py warns, naming the key)
    keys_not_acted_on: ClassVar[dict[str, str]] = {}

    def __init__(self, target: Target) -> None:
        self.target = target
        self.connections = Connections(self)
        self._local = threading.local()  # per thread: the node's warnings, the transaction depth
        # set by a run: relation -> kind, or ... when the run does not track that relation
        self.relation_lookup: Callable[[Relation], Any] | None = None
        unknown = set(target.settings) - set(self.connection_keys) - {"type", "threads"} - \
            set(self.keys_not_acted_on) - set(self.key_aliases)
        if unknown and self.connection_keys:
            key = sorted(unknown)[0]
            raise ProjectError(f"unknown key {key!r} in target {target.name!r} ({self.type})", target.profile_path,
                               hint=did_you_mean(key, self.connection_keys) or
                               f"{self.type} targets take: {', '.join(self.connection_keys)}")
        missing = [k for k in self.required_keys if not target.settings.get(k)]
        if missing:
            raise ProjectError(f"target {target.name!r} ({self.type}) is missing {', '.join(missing)}",
                               target.profile_path, hint="see docs/adapters.md for the keys of each warehouse")

    @classmethod
    def resolve_paths(cls, settings: dict[str, Any], project_root: Path) -> None:
        """Make the target's relative paths relative to the project (called when the project loads):
        an embedded database (DuckDB's file, Spark's local warehouse) lives inside the project."""

    # ---- what each engine implements ----------------------------------------------------------
    def _connect(self) -> Any:
        """A new DB-API connection for the current thread."""
        raise NotImplementedError

    def _describe_target(self) -> str:
        """Where the target is, for error messages (host or file; never a password)."""
        return self.target.type

    def _is_broken(self, conn: Any) -> bool:
        """True when a connection can no longer be used (e.g. the server terminated the session)."""
        return False

    def _cancel_running(self, conn: Any, handle: Any) -> None:
        """Stop the statement running on conn (handle: what execute() registered, e.g. a job)."""
        raise NotImplementedError

    def _release(self, conn: Any) -> None:
        """Close a connection; a broken pooled one is invalidated (a pool reset would fail and log a traceback)."""
        with contextlib.suppress(Exception):  # closing is best effort
            if self._is_broken(conn) and hasattr(conn, "invalidate"):
                conn.invalidate()
            else:
                conn.close()

    # ---- connections ---------------------------------------------------------------------------
    def open(self) -> None:
        """Connect now, so an unreachable warehouse is reported before any work starts."""
        self.connections.get()

    def connection(self) -> Any:
        return self.connections.get()

    def close(self) -> None:
        self.connections.close_all()

    def cancel(self) -> int:
        """Stop every statement this adapter is running, from any thread; returns how many were asked to stop.

        The statements fail in their own threads and their transactions roll back; the adapter stays
        usable (a run records what happened afterwards).
        """
        return self.connections.cancel() if self.supports_cancel else 0

    def _open_connection(self) -> Any:
        try:
            return self._connect()
        except ProjectError:
            raise
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConnectionFailed(self.redact(
                f"cannot connect to target {self.target.name!r} ({self._describe_target()}): {reason}"),
                self.target.profile_path, self.target.profile_line,
                hint="check the target in profiles.yml and that the warehouse is reachable"
            ) from None

    def connection_lost(self, exc: BaseException) -> bool:
        """Did this error end the session with the warehouse? (then the node's message says so)"""
        conn = self.connections.current()
        return conn is not None and self._is_broken(conn)

    @property
    def statements_sent(self) -> int:
        return self.connections.statements

    def count_statement(self) -> None:
        """Count statements overall and per thread (a node's runner reads its own thread's count)."""
        self.connections.count()

    def thread_statements(self) -> int:
        return self.connections.thread_count()

    def warn(self, message: str) -> None:
        """Note something the user must know about the current thread's node (it then ends as a warning)."""
        self._local.warnings = [*getattr(self._local, "warnings", []), message]

    def take_warnings(self) -> list[str]:
        """The warnings noted on this thread since the last call, cleared."""
        found, self._local.warnings = getattr(self._local, "warnings", []), []
        return found

    def redact(self, text: str) -> str:
        return self.target.redact(text)

    # ---- running statements --------------------------------------------------------------------
    def sql(self, statement: exp.Expression | str) -> str:
        return statement if isinstance(statement, str) else statement.sql(dialect=self.dialect)

    def execute(self, statement: exp.Expression | str, params: Any = None) -> int | None:
        """Run one statement; returns the rows it affected where the engine says."""
        self.count_statement()
        conn = self.connection()
        with self.connections.running(conn):
            return self._execute(conn, self.sql(statement), params)

    def fetch(self, statement: exp.Expression | str, params: Any = None) -> tuple[list[str], list[tuple]]:
        """Run one query; returns its column names and rows."""
        self.count_statement()
        conn = self.connection()
        with self.connections.running(conn):
            return self._fetch(conn, self.sql(statement), params)

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
            if cur.description is None:  # a statement that returns no rows (DDL in run_query): none, as in dbt
                return [], []
            return [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction where the engine has transactional DDL. Re-entrant: a block
        inside another one joins the outer transaction."""
        depth = getattr(self._local, "depth", 0)
        if not self.supports_transactional_ddl or depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        self._local.depth = 1
        try:
            with self.begin_commit():
                yield
        finally:
            self._local.depth = 0

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

    # ---- naming: every relation name goes through relation.py ----------------------------------
    def default_database(self) -> str | None:
        """The database (catalog) relations are qualified with when qualify_database is set."""
        return None

    def qualify(self, relation: Relation) -> Relation:
        """The relation with every part this engine names it by (the database where qualify_database); a
        source's external location only where the engine reads files (DuckDB), else its table."""
        if relation.external is not None and not self.writes_external_files:
            relation = Relation(relation.schema, relation.identifier, relation.database)
        return relation.in_database(self.default_database()) if self.qualify_database else relation

    def table(self, relation: Relation, dialect: str | None = None, quoting: Quoting = False) -> exp.Table:
        """THE name of a relation in SQL: used for the adapter's DDL, the compiler's ref()/source() and the
        results tables alike. `dialect` defaults to the target's (the compiler passes the project's)."""
        return render_relation(self.qualify(relation), dialect or self.dialect, quoting)

    def relation_sql(self, relation: Relation, dialect: str | None = None, quoting: Quoting = False) -> str:
        """table() as SQL text in `dialect` (default: the target's)."""
        return self.table(relation, dialect, quoting).sql(dialect=dialect or self.dialect)

    def schema_table(self, schema: str) -> exp.Table:
        return render_schema(schema, self.default_database() if self.qualify_database else None, self.dialect)

    def stored_name(self, name: str) -> str:
        """The name the warehouse stores for a name pds writes (Snowflake folds unquoted names up)."""
        return name.upper() if self.folds_to_upper and not identifier(name, self.dialect).quoted else name

    def temp_relation(self, relation: Relation, suffix: str = "tmp") -> Relation:
        """A staging name beside relation; its unique tail is kept within the engine's identifier limit."""
        tail = f"__pds_{suffix}_{uuid.uuid4().hex[:8]}"
        head = relation.identifier
        if self.max_identifier_bytes is not None:
            room = self.max_identifier_bytes - len(tail.encode())
            head = head.encode()[:room].decode(errors="ignore")
        return Relation(relation.schema, head + tail, relation.database)

    # ---- catalog ---------------------------------------------------------------------------------
    def relation_names(self, schemas: list[str]) -> list[tuple[str, str, str]]:
        """(schema, name, 'table' or 'view') in the given schemas, spelt as the warehouse stores them."""
        if not schemas:
            return []
        info = exp.Table(this=exp.to_identifier("tables"), db=exp.to_identifier("information_schema"))
        where = exp.and_(exp.func("lower", exp.column("table_schema")).isin(*[exp.Placeholder() for _ in schemas]),
                         exp.column("table_catalog").eq(exp.func("current_database")))
        query = exp.select("table_schema", "table_name", "table_type").from_(info).where(where)
        _cols, rows = self.fetch(query, [s.lower() for s in schemas])
        return [(s, n, "view" if "VIEW" in t.upper() else "table") for s, n, t in rows]

    def list_relations(self, schemas: list[str]) -> dict[tuple[str, str], str]:
        """(schema, name) lower-cased -> 'table' or 'view', for the given schemas."""
        return {(s.lower(), n.lower()): kind for s, n, kind in self.relation_names(schemas)}

    def relation_kind(self, relation: Relation) -> str | None:
        """'table', 'view' or None. Asks the run's relation cache first: a catalog query per node is slow."""
        if self.relation_lookup is not None:
            known = self.relation_lookup(relation)
            if known is not ...:
                return known
        return self.list_relations([relation.schema]).get(relation.key())

    def ensure_schema(self, schema: str) -> None:
        self.execute(st.create_schema(self.schema_table(schema)))

    def columns(self, relation: Relation) -> list[str]:
        cols, _ = self.fetch(st.select_star(self.table(relation), limit=0))
        return cols

    def drop(self, relation: Relation, kind: str = "table") -> None:
        """DROP <kind> IF EXISTS, with CASCADE where the engine has it for that kind."""
        kind = kind.upper()
        self.execute(st.drop(self.table(relation), kind, cascade=kind in self.drop_cascade))

    def count(self, relation: Relation) -> int:
        _, rows = self.fetch(st.count_rows(self.table(relation)))
        return int(rows[0][0])

    # ---- reliability: names, the build lock, left-over staging, chunked reads --------------------
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

    def build_lock(self, owner: dict[str, Any]) -> locks.BuildLock | None:
        """The lock that keeps two builds off this target at once (None: the target cannot have one)."""
        if self.lock_kind == "file":
            path = self.lock_file()
            return locks.FileLock(Path(path), owner) if path else None
        if self.lock_kind == "advisory":
            return locks.AdvisoryLock(self, f"pds:{self.lock_name()}")
        if self.lock_kind == "table":
            return locks.TableLock(type(self)(self.target), owner)  # on sessions of its own
        return None

    def lock_file(self) -> str | None:
        """For an embedded database: the file beside it that serialises builds."""
        return None

    def lock_name(self) -> str:
        """What one build lock covers: where the target is and its schema (never a secret)."""
        return f"{self.type}/{self._describe_target()}/{self.target.schema}"

    def drop_staging(self, schemas: list[str], keep: set[tuple[str, str]] | None = None) -> list[str]:
        """Drop the staging relations an interrupted run left in the schemas (never one named in keep)."""
        dropped, keep = [], keep or set()
        for schema, name, kind in self.relation_names(schemas):
            if STAGING_NAME.search(name) and (schema.lower(), name.lower()) not in keep:
                self.drop(Relation(schema, name), kind)
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
            with self.connections.running(conn):  # the whole stream: cancel() stops it between chunks too
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
