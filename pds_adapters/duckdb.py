"""DuckDB, the embedded default: a file inside the project, no server, no credentials."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from sqlglot import exp

from pds_adapters import statements as st
from pds_adapters.base import Adapter
from pds_core.errors import ConnectionFailed
from pds_core.nodes import Relation


class DuckDBAdapter(Adapter):
    """One database handle per process (it holds the file lock); one cursor connection per thread."""

    type: ClassVar[str] = "duckdb"
    dialect: ClassVar[str] = "duckdb"
    connection_keys: ClassVar[tuple[str, ...]] = ("path", "schema", "database", "extensions", "settings",
                                                  "read_only")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._database: Any = None
        self._catalog: str | None = None
        self._db_lock = threading.Lock()

    def _describe_target(self) -> str:
        return f"duckdb file {self.target.settings.get('path')}"

    def _connect(self) -> Any:
        import duckdb

        with self._db_lock:
            if self._database is None:
                path = str(self.target.settings.get("path") or ":memory:")
                if path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._database = duckdb.connect(path, read_only=bool(self.target.settings.get("read_only")),
                                                    config=dict(self.target.settings.get("settings") or {}))
                except duckdb.IOException as exc:
                    hint = ("another process (a running `pds build`?) has the file open; wait for it or stop it"
                            if "lock" in str(exc).lower() else "check the path in profiles.yml")
                    raise ConnectionFailed(f"cannot open duckdb file {path}: {str(exc).splitlines()[0]}",
                                           self.target.profile_path, hint=hint) from None
                for ext in self.target.settings.get("extensions") or []:
                    self._database.execute(st_load(ext))
            return self._database.cursor()

    def close(self) -> None:
        super().close()
        with self._db_lock:
            if self._database is not None:
                self._database.close()
                self._database = None

    def table(self, relation: Relation) -> exp.Table:
        """Fully qualified with the catalog, so a schema named like the database file is never ambiguous."""
        if relation.database is None:
            relation = Relation(relation.schema, relation.identifier, self.catalog())
        return relation.table(self.dialect)

    def ensure_schema(self, schema: str) -> None:
        name = exp.Table(this=exp.to_identifier(schema, quoted=True), db=exp.to_identifier(self.catalog(), quoted=True))
        self.execute(st.create_schema(name))

    def catalog(self) -> str:
        if self._catalog is None:
            self._catalog = str(self.connection().execute("SELECT current_database()").fetchone()[0])
        return self._catalog

    def _execute(self, conn: Any, sql: str, params: Any) -> int | None:
        result = conn.execute(sql, params) if params is not None else conn.execute(sql)
        if result.description and result.description[0][0] == "Count":
            rows = result.fetchall()
            return int(rows[0][0]) if rows else None
        return None

    def _fetch(self, conn: Any, sql: str, params: Any) -> tuple[list[str], list[tuple]]:
        result = conn.execute(sql, params) if params is not None else conn.execute(sql)
        return [d[0] for d in result.description or []], result.fetchall()

    def list_relations(self, schemas: list[str]) -> dict[tuple[str, str], str]:
        return {(s.lower(), n.lower()): kind for s, n, kind in self.relation_names(schemas)}

    def relation_names(self, schemas: list[str]) -> list[tuple[str, str, str]]:
        if not schemas:
            return []
        _cols, rows = self.fetch(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE lower(table_schema) IN (SELECT unnest(?)) AND table_catalog = current_database()",
            [[s.lower() for s in schemas]])
        return [(s, n, "view" if "VIEW" in t.upper() else "table") for s, n, t in rows]

    def lock_file(self) -> str | None:
        """<file>.pds-lock beside the database file; none for :memory:, MotherDuck or a read-only target."""
        path = str(self.target.settings.get("path") or ":memory:")
        if path == ":memory:" or path.startswith("md:") or self.target.settings.get("read_only"):
            return None
        return path + ".pds-lock"

    def read_chunks(self, source: Relation | str, chunksize: int) -> Iterator[Any]:
        """Arrow record batches of chunksize rows from a cursor of its own, each turned into a DataFrame."""
        query = st.select_star(self.table(source)) if isinstance(source, Relation) else source
        cursor = self.connection().cursor()
        try:
            self.count_statement()
            relation = cursor.sql(self.sql(query))  # a relation streams; a DB-API result would copy
            batches = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader  # duckdb 2 / 1
            reader = batches(chunksize)
            for batch in reader:
                yield batch.to_pandas()
        finally:
            cursor.close()

    def query_dataframe(self, statement: exp.Expression | str) -> Any:
        self.count_statement()
        return self.connection().execute(self.sql(statement)).df()

    def write_dataframe(self, relation: Relation, df: Any) -> int:
        conn = self.connection()
        view = f"__pds_df_{threading.get_ident()}"
        conn.register(view, df)
        try:
            return self.replace_table(relation, st.select_star(exp.table_(exp.to_identifier(view, quoted=True)))) or 0
        finally:
            conn.unregister(view)

    def incremental_dataframe(self, relation: Relation, df: Any, strategy: str, unique_key: list[str]) -> int | None:
        """Read the DataFrame in place (no staging table that a killed build could leave behind)."""
        conn = self.connection()
        view = f"__pds_df_{threading.get_ident()}"
        conn.register(view, df)
        try:
            query = st.select_star(exp.table_(exp.to_identifier(view, quoted=True)))
            return self.incremental(relation, query, strategy, unique_key)
        finally:
            conn.unregister(view)

    def load_seed(self, relation: Relation, path: str, column_types: dict[str, str], delimiter: str = ",") -> int:
        """DuckDB's own CSV reader: fast, with its type inference; column_types override it per column."""
        conn = self.connection()
        columns = conn.read_csv(path, header=True, sep=delimiter).columns
        # overridden columns are read as text and cast in SQL: the reader's dtype= cannot parse every type
        rel = conn.read_csv(path, header=True, sep=delimiter,
                            dtype={c: "VARCHAR" for c in column_types if c in columns} or None)
        view = f"__pds_seed_{threading.get_ident()}"
        conn.register(view, rel)
        try:
            source = exp.table_(exp.to_identifier(view, quoted=True))
            query = st.select_cast(source, columns, column_types, self.dialect)
            return self.replace_table(relation, query) or 0
        finally:
            conn.unregister(view)


def st_load(extension: str) -> str:
    """LOAD of a named extension; the name is quoted as an identifier, never pasted raw."""
    return exp.Command(this="LOAD", expression=exp.to_identifier(str(extension), quoted=True)).sql("duckdb")
