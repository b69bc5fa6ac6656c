"""Apache Spark: a local session (or any master URL) or a cluster through Spark Connect.

Spark has no multi-statement transactions, so atomicity comes from the table format: Delta and
Iceberg replace a table in one commit (CREATE OR REPLACE TABLE) and change rows with one MERGE;
Parquet tables are versioned physical tables behind a view that is re-pointed in one catalog
update (tables.py). One SparkSession serves every thread; each thread tags its statements with
the adapter's tag, so cancel() from another thread interrupts exactly this adapter's jobs.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from sqlglot import exp

from pds_adapters import statements as st
from pds_adapters.base import Adapter
from pds_adapters.errors import ProjectError
from pds_adapters.relation import Relation
from pds_adapters.spark import dataframes, lock, tables
from pds_adapters.spark.ddl import TableOptions
from pds_adapters.spark.settings import CONNECT_KEYS, SESSION_KEYS, SparkSettings, read_settings

TABLE_CONFIG = ("file_format", "partition_by", "clustered_by", "buckets", "location_root", "tblproperties")
STRATEGIES = ("append", "insert_overwrite", "merge", "delete+insert")


class SparkAdapter(Adapter):
    """One Spark session per adapter, shared by its threads (Spark sessions are thread-safe)."""

    type: ClassVar[str] = "spark"
    dialect: ClassVar[str] = "spark"
    supports_transactional_ddl: ClassVar[bool] = False  # no BEGIN/COMMIT: formats give atomicity instead
    supports_merge: ClassVar[bool] = True  # on Delta/Iceberg; on Parquet a clear error, never a silent fallback
    supports_schema_change: ClassVar[bool] = False  # its incremental() takes no on_schema_change yet
    supports_create_or_replace_table: ClassVar[bool] = True  # Delta/Iceberg; Parquet: versioned view swap
    supports_cancel: ClassVar[bool] = True  # job tags: interruptTag (cancel() below)
    comment_style: ClassVar[str | None] = None  # persist_docs warns (post_build.py)
    grants_style: ClassVar[str | None] = None  # Spark has no GRANT of its own: grants warn, as on DuckDB
    declares_tables: ClassVar[bool] = False  # an enforced contract: its checked query's table, replaced as any
    constraint_support: ClassVar[dict[str, str]] = dict.fromkeys(  # dbt-spark's: none created (each warns)
        ("check", "not_null", "unique", "primary_key", "foreign_key"), "not_supported")
    # dbt-spark's seed types (its integers are bigint); beyond 64 bits (dbt fails) decimal(38,0)
    seed_types: ClassVar[dict[str, str]] = {"integer": "bigint", "bigint": "bigint", "decimal": "decimal(38,0)",
                                            "number": "double", "boolean": "boolean", "date": "date",
                                            "datetime": "timestamp", "text": "string"}
    lock_kind: ClassVar[str] = "file"  # a local warehouse; elsewhere a lock table (build_lock() below)
    incremental_strategies: ClassVar[tuple[str, ...]] = STRATEGIES
    model_config_keys: ClassVar[tuple[str, ...]] = TABLE_CONFIG  # node config keys only this engine reads
    connection_keys: ClassVar[tuple[str, ...]] = tuple(dict.fromkeys(
        ("type", "threads", "schema", "method", "catalog", "file_format", "location_root", "conf", "packages",
         *SESSION_KEYS, *CONNECT_KEYS)))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings: SparkSettings = read_settings(self.target.settings, self.target.profile_path)
        self._session: Any = None
        self._session_lock = threading.Lock()
        self._tag = f"pds-{uuid.uuid4().hex[:12]}"  # every statement of this adapter carries it (cancel())

    @classmethod
    def resolve_paths(cls, settings: dict[str, Any], project_root: Any) -> None:
        """A local session's warehouse (default spark-warehouse/) is inside the project, like DuckDB's file."""
        from pathlib import Path

        from pds_adapters.spark.settings import resolve_paths

        resolve_paths(settings, Path(project_root))

    # ---- the session ----------------------------------------------------------------------------
    @property
    def deletes_rows(self) -> bool:  # type: ignore[override]
        """DELETE needs a row-level format (Delta, Iceberg): parquet tables are only ever replaced."""
        return self.table_options().row_level

    def _describe_target(self) -> str:
        return self.settings.describe()

    def _connect(self) -> Any:
        """The adapter's one session (created on first use); the base keeps it per thread."""
        with self._session_lock:
            if self._session is None:
                from pds_adapters.spark.session import connect_session, local_session

                where = self.target.profile_path
                self._session = (connect_session(self.settings, where) if self.settings.method == "connect"
                                 else local_session(self.settings, where))
                if self.settings.catalog:
                    self._session.conf.set("spark.sql.defaultCatalog", self.settings.catalog)
            return self._session

    def session(self) -> Any:
        """This thread's session, tagged so that cancel() reaches the statements it runs."""
        spark = self.connection()
        if not getattr(self._local, "tagged", False):
            spark.addTag(self._tag)
            if self.settings.method == "session":  # the JVM thread's own job tag: what cancel() reaches there
                spark.sparkContext.addJobTag(self._tag)
            self._local.tagged = True
        return spark

    def _release(self, conn: Any) -> None:
        """Per-thread entries all share one session: it is ended once, in close()."""

    def close(self) -> None:
        """A Connect session is released on the server; a local JVM stays for the process's next adapter
        (pyspark ends it when the process exits; a new JVM would cost seconds)."""
        super().close()
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None and self.settings.method == "connect":
            try:
                session.stop()
            except Exception as exc:  # the server may already be gone; nothing is left to release then
                self.warn(f"closing the Spark Connect session: {str(exc).splitlines()[0] if str(exc) else exc}")
            finally:
                session.client.close()  # else pyspark's exit hook retries its clean-up calls for minutes

    def cancel(self) -> int:
        """From any thread (Ctrl-C): interrupt every running job of this adapter, whatever started it (a
        statement, a DataFrame write, a Python model's own Spark actions); returns at once."""
        session = self._session
        running = len(self.connections.in_flight())
        if session is None:
            return running
        if self.settings.method == "session":
            session.sparkContext.cancelJobsWithTag(self._tag)
        session.interruptTag(self._tag)
        return max(running, 1)

    # ---- statements ---------------------------------------------------------------------------
    def _statement(self, statement: exp.Expression | str, params: Any) -> str:
        """The SQL text, with parameters bound as literals (params.py says why)."""
        if not params:
            return self.sql(statement)
        from pds_adapters.spark.params import bind

        return self.sql(bind(statement, list(params), self._column_types))

    def _column_types(self, table: exp.Table) -> dict[str, str]:
        columns = self.session().catalog.listColumns(table.sql(self.dialect))
        return {c.name.lower(): c.dataType for c in columns}

    def execute(self, statement: exp.Expression | str, params: Any = None) -> int | None:
        self.count_statement()
        spark = self.session()
        with self.connections.running(spark):
            frame = spark.sql(self._statement(statement, params))
            if "num_affected_rows" in frame.columns:  # Delta/Iceberg DML report what they changed
                row = frame.first()
                return int(row["num_affected_rows"]) if row is not None and row["num_affected_rows"] is not None \
                    else None
        return None

    def fetch(self, statement: exp.Expression | str, params: Any = None) -> tuple[list[str], list[tuple]]:
        self.count_statement()
        spark = self.session()
        with self.connections.running(spark):
            frame = spark.sql(self._statement(statement, params))
            return list(frame.columns), [tuple(row) for row in frame.collect()]

    def frame(self, source: Relation | exp.Expression | str) -> Any:
        """A lazy Spark DataFrame of a relation or query: nothing runs until it is used (Python models)."""
        query = st.select_star(self.table(source)) if isinstance(source, Relation) else source
        return self.session().sql(self.sql(query))

    def is_frame(self, df: Any) -> bool:
        return dataframes.is_spark_frame(df) or dataframes.is_pandas_on_spark(df)

    def python_session(self) -> Any:
        """The SparkSession a Python model may use (dbt's `session` argument, pds's ctx.session)."""
        return self.session()

    def python_read(self, source: Relation | str, session: Any = None) -> Any:
        """What dbt.ref() returns: the same lazy Spark DataFrame as ctx.ref()."""
        return self.frame(source)

    def query_names(self, query: exp.Expression) -> list[str]:
        """A query's column names from Spark's analysis alone: no job runs."""
        return list(self.session().sql(self.sql(query)).columns)

    def query_column_types(self, relation: Relation, query: exp.Expression) -> list[tuple[str, str]]:
        """A query's columns and Spark types from its analysis alone (what a contract is checked against)."""
        return [(f.name, f.dataType.simpleString()) for f in self.session().sql(self.sql(query)).schema.fields]

    # ---- catalog (names: relation.py's one renderer; a configured catalog is spark.sql.defaultCatalog) ----
    def relation_names(self, schemas: list[str]) -> list[tuple[str, str, str]]:
        """(schema, name, 'table' or 'view') as the catalog has them, versions and lock table included."""
        found = []
        for schema in schemas:
            found += [(schema, name, kind) for name, kind in tables.list_schema(self, schema).items()]
        return found

    def list_relations(self, schemas: list[str]) -> dict[tuple[str, str], str]:
        """What a model sees: a parquet model's view counts as its table, its versions stay hidden."""
        out: dict[tuple[str, str], str] = {}
        for schema in schemas:
            out.update({(schema.lower(), n.lower()): k for n, k in tables.visible(tables.list_schema(self, schema)).items()})
        return out

    def schema_columns(self, schema: str) -> dict[str, list[tuple[str, str]]]:
        """Each model's columns and Spark types in a schema, from the catalog (Spark has no
        information_schema): what the docs site shows."""
        out = {}
        for name in tables.visible(tables.list_schema(self, schema)):
            self.count_statement()
            columns = self.session().catalog.listColumns(self.table(Relation(schema, name)).sql(self.dialect))
            out[name] = [(c.name, c.dataType) for c in columns]
        return out

    def columns(self, relation: Relation) -> list[str]:
        return list(self.session().table(self.table(relation).sql(self.dialect)).columns)

    def column_types(self, relation: Relation) -> list[tuple[str, str]]:
        """(name, Spark type) of a table's (or its view's) columns, from its schema: Spark has no
        information_schema.columns (what the plan and snapshots read, schema_change.py)."""
        fields = self.session().table(self.table(relation).sql(self.dialect)).schema.fields
        return [(f.name, f.dataType.simpleString()) for f in fields]

    # ---- materializations ----------------------------------------------------------------------
    def table_options(self, config: Mapping[str, Any] | None = None, where: str | None = None) -> TableOptions:
        """A model's storage settings from its config (dbt-spark's names), defaults from the target.

        Checked here so the core can call it at plan time and report a bad value with the file.
        """
        config = dict(config or {})
        fmt = str(config.get("file_format") or self.settings.file_format).lower()
        if fmt not in ("parquet", self.settings.file_format):
            raise ProjectError(f"file_format {fmt!r} needs a target with file_format: {fmt} (this target's session "
                               f"is set up for {self.settings.file_format})", where,
                               hint=f"use file_format: parquet or {self.settings.file_format} for this model, or "
                                    f"set file_format: {fmt} on the target")
        clustered = _names(config.get("clustered_by"))
        buckets = config.get("buckets")
        if clustered and not isinstance(buckets, int) or (buckets is not None and not clustered):
            raise ProjectError("clustered_by and buckets go together (buckets: a whole number)", where,
                               hint="e.g. clustered_by: user_id and buckets: 8")
        if clustered and fmt != "parquet":
            raise ProjectError(f"bucketing (clustered_by) is a parquet feature; {fmt} tables do not support it", where,
                               hint="use partition_by on delta/iceberg, or file_format: parquet")
        props = config.get("tblproperties") or {}
        if not isinstance(props, Mapping):
            raise ProjectError("tblproperties must be a mapping of names to values", where,
                               hint="e.g. tblproperties: {delta.appendOnly: 'false'}")
        return TableOptions(file_format=fmt, partition_by=tuple(_names(config.get("partition_by"))),
                            clustered_by=tuple(clustered), buckets=buckets if clustered else None,
                            location_root=config.get("location_root") or self.settings.location_root,
                            properties={str(k): str(v) for k, v in props.items()})

    def check_strategy(self, strategy: str, options: Any = None, where: str | None = None) -> None:
        """merge and delete+insert need a row-level format: an error naming the file format otherwise."""
        super().check_strategy(strategy, options, where)
        options = options or self.table_options()
        if strategy in ("merge", "delete+insert") and not options.row_level:
            raise ProjectError(f"incremental_strategy {strategy!r} needs a table format with row-level changes; "
                               f"this table's file_format is {options.file_format}", where,
                               hint="set file_format: delta (or iceberg) on the model or the target, or use "
                                    "incremental_strategy: append or insert_overwrite")

    def create_view(self, relation: Relation, query: exp.Expression) -> None:
        tables.create_view(self, relation, query)

    def replace_table(self, relation: Relation, query: exp.Expression, options: Any = None) -> int | None:
        return tables.replace_table(self, relation, query, options or self.table_options())

    def incremental(self, relation: Relation, query: exp.Expression, strategy: str, unique_key: list[str],
                    schema: Any = None, options: Any = None) -> int | None:
        """`schema` (on_schema_change) is never passed: supports_schema_change is False, so the core refuses
        any mode but ignore with a clear error before this runs."""
        return tables.incremental(self, relation, query, strategy, unique_key, options or self.table_options())

    def snapshot(self, relation: Relation, query: exp.Expression, spec: Any, existing: Any,
                 node: str | None = None) -> Any:
        """A snapshot's later builds MERGE into its table: a row-level format only (parquet: a clear error,
        from the first build on, so no snapshot table is made that a later run could not add to)."""
        options = self.table_options()
        if not options.row_level:
            raise ProjectError(f"a snapshot on Spark needs a row-level file format (delta or iceberg), and this "
                               f"target's is {options.file_format}", node,
                               hint="set file_format: delta in the target's profile")
        return super().snapshot(relation, query, spec, existing, node)

    def drop_relation(self, relation: Relation) -> None:
        tables.drop(self, relation)

    def write_dataframe(self, relation: Relation, df: Any, options: Any = None) -> int:
        return dataframes.write(self, relation, df, options or self.table_options())

    def incremental_dataframe(self, relation: Relation, df: Any, strategy: str, unique_key: list[str],
                              schema: Any = None, options: Any = None) -> int | None:
        return dataframes.incremental(self, relation, df, strategy, unique_key, options or self.table_options())

    def stage_dataframe(self, relation: Relation, df: Any) -> Relation:
        raise NotImplementedError("Spark stages DataFrames as temporary views (dataframes.py), never as tables")

    def query_dataframe(self, statement: exp.Expression | str) -> Any:
        self.count_statement()
        return dataframes.to_pandas(self.session().sql(self.sql(statement)))

    def read_chunks(self, source: Relation | str, chunksize: int) -> Iterator[Any]:
        return dataframes.chunks(self, source, chunksize)

    def load_seed(self, relation: Relation, path: str, column_types: dict[str, str], delimiter: str = ",",
                  quote_columns: bool | None = None, options: Any = None) -> int:
        return dataframes.load_seed(self, relation, path, column_types, delimiter, options or self.table_options(),
                                    quote_columns)

    # ---- the build lock ---------------------------------------------------------------------------
    def build_lock(self, owner: dict[str, Any]) -> Any:
        """A lock file in a local warehouse; elsewhere (Connect, a cluster) a lock table (lock.py)."""
        if self.lock_file() is not None:
            return super().build_lock(owner)
        return lock.SparkTableLock(type(self)(self.target), owner)

    def lock_file(self) -> str | None:
        """A local warehouse: a lock file in it (its Derby metastore admits one JVM anyway)."""
        folder = self.settings.local_warehouse
        if folder is None:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder / ".pds-lock")


def _names(value: Any) -> list[str]:
    """A column name or a list of them (dbt accepts both)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
