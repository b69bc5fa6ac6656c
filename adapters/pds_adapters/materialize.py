"""The high-level operations materializations call, written once and branching on the capability flags.

Mixed into Adapter (base.py), which provides the flags, names (table()), statements (execute/fetch),
transactions and the catalog. What an engine does differently is a flag here, or one of the small
hooks: swap_in() (how a staged table takes the place of the old one), _bulk_load() (how a DataFrame
gets into a new table) and _keeping_dependent_views() (Postgres). Two rules hold on every engine:

- a table is built beside the old one and put in its place in one step, so a failing query never
  touches the table that stood (in one transaction where DDL is transactional; otherwise the staged
  table is dropped whatever happens);
- the rows an incremental model adds land atomically: one MERGE, or DELETE+INSERT in one transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from pds_adapters import statements as st
from pds_adapters.errors import ProjectError, did_you_mean
from pds_adapters.relation import Relation, identifier
from pds_adapters.schema_change import SchemaPolicy

if TYPE_CHECKING:  # sqlglot loads when a statement is first built, not with the adapter class (lazy.py)
    import sqlglot
    from sqlglot import exp
else:
    from pds_adapters.lazy import exp, sqlglot


class Materializations:
    """create_view, replace_table, incremental, DataFrames and seeds: portable, flag-driven.

    `options` (what table_options() made of a node's config, at plan time) reaches every operation that
    creates a table; engines without storage options (all but Spark today) receive None and ignore it.
    """

    incremental_strategies: ClassVar[tuple[str, ...]] = ("append", "merge", "delete+insert")  # what incremental() runs
    model_config_keys: ClassVar[tuple[str, ...]] = ()  # engine-only node config keys this engine acts on (file_format, ...)

    # ---- what the plan asks before anything runs ------------------------------------------------------
    def table_options(self, config: Any = None, where: str | None = None) -> Any:
        """A node's storage options from its config, checked now so a bad value is a plan-time error with
        the file (None: the engine has none). Needs no connection."""
        return None

    def check_strategy(self, strategy: str, options: Any = None, where: str | None = None) -> None:
        """An incremental strategy this engine cannot run (for this table) is a plan-time error naming it."""
        if strategy not in self.incremental_strategies:
            raise ProjectError(f"incremental_strategy {strategy!r} is not one the {self.type} adapter runs",
                               where, hint=did_you_mean(strategy, self.incremental_strategies)
                               or f"on {self.type} use one of {', '.join(self.incremental_strategies)}")

    # ---- views and tables --------------------------------------------------------------------------
    def create_view(self, relation: Relation, query: exp.Expression) -> None:
        """A view in place of whatever stood there; where CREATE OR REPLACE VIEW cannot change the columns
        (replaces_views_in_place off) the old view is dropped and created again in one transaction."""
        kind = self.relation_kind(relation)
        with self.transaction(), self._keeping_dependent_views(relation, kind):
            if kind == "table" or (kind and not self.replaces_views_in_place):
                self.drop(relation, kind)
            self.execute(st.create_view_as(self.table(relation), query, replace=self.replaces_views_in_place))

    def replace_table(self, relation: Relation, query: exp.Expression, options: Any = None) -> int | None:
        """The query's rows in place of the relation, atomically: CREATE OR REPLACE TABLE where that is
        the engine's atomic replace, else a staged table put in place by swap_in()."""
        if self.supports_create_or_replace_table:
            kind = self.relation_kind(relation)
            with self.transaction():
                if kind == "view":
                    self.drop(relation, "view")
                rows = self.execute(st.create_table_as(self.table(relation), query, replace=True))
            return rows if rows is not None else self.count(relation)
        staged = self.temp_relation(relation)
        return self._replace_with(staged, relation, lambda: self.execute(st.create_table_as(self.table(staged), query)))

    def _replace_with(self, staged: Relation, relation: Relation, fill: Callable[[], int | None]) -> int:
        """fill() creates staged, then swap_in() puts it where relation is: in one transaction where DDL is
        transactional; elsewhere staged is dropped afterwards whatever happened."""
        with self.transaction():
            try:
                rows = fill()
                self.swap_in(staged, relation, self.relation_kind(relation))
            finally:
                if not self.supports_transactional_ddl:
                    self._drop_quietly(staged)
        return rows if rows is not None else self.count(relation)

    def swap_in(self, staged: Relation, relation: Relation, kind: str | None) -> None:
        """Put a staged table where relation was (kind: what stood there), inside the caller's transaction."""
        with self._keeping_dependent_views(relation, kind):
            if kind:
                self.drop(relation, kind)
            new_name = self.table(relation) if self.qualified_rename else \
                exp.Table(this=identifier(relation.identifier, self.dialect))
            self.execute(st.rename_table(self.table(staged), new_name))

    @contextlib.contextmanager
    def _keeping_dependent_views(self, relation: Relation, kind: str | None) -> Iterator[None]:
        """Around a drop of relation: engines whose views are bound to the table re-create them (Postgres)."""
        yield

    def drop_relation(self, relation: Relation) -> None:
        kind = self.relation_kind(relation)
        if kind:
            self.drop(relation, kind)

    def _drop_quietly(self, staged: Relation) -> None:
        """Drop a staging table on a failure path: its own error must not hide the original one."""
        with contextlib.suppress(Exception):
            self.execute(st.drop(self.table(staged)))

    # ---- incremental ------------------------------------------------------------------------------------
    def incremental(self, relation: Relation, query: exp.Expression, strategy: str,
                    unique_key: list[str], schema: SchemaPolicy | None = None, options: Any = None) -> int | None:
        """Add the query's rows to an existing table: append, merge or delete+insert, atomically.

        `schema`: on_schema_change and the table's columns as the plan read them (schema_change.py); by
        default the table's own columns are loaded (dbt's `ignore`: a new column of the query is left out).
        """
        policy = schema or SchemaPolicy()
        if strategy == "append" and policy.mode == "ignore":  # nothing to compare: no staging needed
            with self.transaction():
                names = [n for n, _ in policy.existing] if policy.existing is not None else self.columns(relation)
                if isinstance(query, exp.Var):  # rendered SQL (st.rendered): wrapped in a SELECT, it is parsed
                    query = sqlglot.parse_one(query.this, read=self.dialect)
                return self.execute(st.insert_select(self.table(relation), st.select_columns(query, names), names))
        staged = self.temp_relation(relation, "incr")
        # where DDL is transactional, the staging table lives and dies inside the transaction: a killed
        # build leaves none behind; elsewhere it is dropped on every path
        with self.transaction():
            try:
                self.execute(st.create_table_as(self.table(staged), query))
                typed = policy.mode != "ignore"  # ignore compares names only
                source = self.column_types(staged) if typed else [(c, "") for c in self.columns(staged)]
                target = list(policy.existing) if policy.existing is not None else \
                    self.column_types(relation) if typed else [(c, "") for c in self.columns(relation)]
                columns, diff = self.reconcile_columns(relation, policy.mode, source, target)
                with self.reshaped(relation, diff, target) as into:
                    rows = self._incremental_dml(into, staged, strategy, unique_key, columns)
            except BaseException:
                if not self.supports_transactional_ddl:
                    self._drop_quietly(staged)
                raise
            self.execute(st.drop(self.table(staged)))
        return rows

    def _incremental_dml(self, relation: Relation, staged: Relation, strategy: str, unique_key: list[str],
                         columns: list[str]) -> int | None:
        """The staged rows into relation, by the strategy, writing `columns`: one statement or one transaction."""
        target, source = self.table(relation), self.table(staged)
        rows_of = exp.select(*[st.col(c) for c in columns]).from_(source)  # by name: the order may differ
        if strategy == "append":
            return self._atomic_dml([st.insert_select(target, rows_of, columns)])
        keys = self._match_columns(unique_key, columns)
        if strategy == "merge" and self.supports_merge:
            return self.execute(st.merge(target, source, keys, columns))  # one statement: atomic
        rows = self._atomic_dml([st.delete_matching(target, source, keys),
                                 st.insert_select(target, rows_of, columns)])
        return rows if rows is not None else self.count(staged)

    def _match_columns(self, names: list[str], existing: list[str]) -> list[str]:
        """Key names as the table spells them (Snowflake stores folded names): exact, then case-insensitive."""
        folded = {c.lower(): c for c in existing}
        return [n if n in existing else folded.get(n.lower(), self.stored_name(n)) for n in names]

    def _atomic_dml(self, statements: list[exp.Expression]) -> int | None:
        """DML statements that must land together; returns the last one's row count."""
        if self.supports_transactional_ddl:  # the caller's transaction() already holds them together
            return [self.execute(s) for s in statements][-1]
        if self.dml_transaction == "script":  # one multi-statement request is one transaction (BigQuery)
            return self.execute(";\n".join(["BEGIN TRANSACTION", *map(self.sql, statements), "COMMIT TRANSACTION"]))
        with self.begin_commit():
            return [self.execute(s) for s in statements][-1]

    # ---- rows: results tables and fingerprints -----------------------------------------------------
    rows_per_insert: int = 200

    def insert_rows(self, relation: Relation, columns: list[tuple[str, str]], rows: list[tuple]) -> None:
        """Append rows (tuples in the order of `columns`, (name, SQL type) pairs); every value travels as a
        parameter. Portable: multi-row INSERT ... VALUES, each statement written once per chunk size. Engines
        override it with a bulk path (DuckDB: one statement whatever the number of rows)."""
        names = [name for name, _ in columns]
        written: dict[int, str] = {}
        for start in range(0, len(rows), self.rows_per_insert):
            chunk = rows[start:start + self.rows_per_insert]
            if len(chunk) not in written:
                values = exp.Values(expressions=[exp.Tuple(expressions=[exp.Placeholder() for _ in names])
                                                 for _ in chunk])
                written[len(chunk)] = self.sql(exp.insert(values, self.table(relation), columns=names))
            self.execute(written[len(chunk)], [value for row in chunk for value in row])

    # ---- DataFrames and seeds ------------------------------------------------------------------------
    def write_dataframe(self, relation: Relation, df: Any, options: Any = None) -> int:
        """Replace the relation with a DataFrame's rows, atomically, through the engine's bulk path."""
        staged = self.temp_relation(relation, "df")
        return self._replace_with(staged, relation, lambda: self._bulk_load(staged, df))

    def stage_dataframe(self, relation: Relation, df: Any) -> Relation:
        """Write a DataFrame to a new staging table next to relation (the caller drops it)."""
        staged = self.temp_relation(relation, "df")
        with self.transaction():
            self._bulk_load(staged, df)
        return staged

    def incremental_dataframe(self, relation: Relation, df: Any, strategy: str, unique_key: list[str],
                              schema: SchemaPolicy | None = None, options: Any = None) -> int | None:
        """incremental() with a DataFrame's rows (an incremental Python model), staged in a table first."""
        staged = self.stage_dataframe(relation, df)
        try:
            return self.incremental(relation, st.select_star(self.table(staged)), strategy, unique_key, schema, options)
        finally:
            self._drop_quietly(staged)

    def _bulk_load(self, staged: Relation, df: Any) -> int:
        """Create staged with the frame's column types and load its rows; returns the rows loaded.

        The portable way: CREATE TABLE, then INSERT ... VALUES through executemany. Engines override it
        with their bulk path (COPY, write_pandas, a load job).
        """
        from pds_adapters import frames  # pandas: loaded by the commands that write frames, not by `pds ls`

        types = frames.column_types(df)
        self.execute(st.create_table(self.table(staged), {self.stored_name(n): t for n, t in types.items()}))
        insert = st.insert_values(self.table(staged), [self.stored_name(n) for n in types])
        rows = list(frames.python_rows(df))
        self.count_statement()
        conn = self.connection()
        cur = conn.cursor()
        try:
            with self.connections.running(conn):
                cur.executemany(self.sql(insert), rows)
        finally:
            cur.close()
        return len(rows)

    def load_seed(self, relation: Relation, path: str, column_types: dict[str, str], delimiter: str = ",",
                  quote_columns: bool | None = None, options: Any = None) -> int:
        """A seed CSV read by the one seed reader (dbt's inference: seed_types.py), loaded, then each column
        cast in the warehouse to this adapter's type for its kind (seed_types) or to its column_types
        (in this target's SQL); column names are stored as quote_columns says (seeds.seed_column_names)."""
        from pds_adapters import seeds  # pandas, as above

        seed = seeds.read_seed(path, delimiter, text_columns=list(column_types))
        df = seed.frame
        for name in column_types:
            if name not in df.columns:
                raise ProjectError(f"column_types names {name!r}, which is not a column of the seed", path,
                                   hint=did_you_mean(name, df.columns) or f"columns: {', '.join(df.columns)}")
        csv_names = [str(c) for c in df.columns]
        wanted = seeds.seed_column_names(self, csv_names, quote_columns, path)
        df = df.set_axis(wanted, axis=1)
        loaded = [self.stored_name(n) for n in wanted]  # what the bulk path stores (Snowflake folds)
        types = seeds.cast_types(self.seed_types, seed.kinds, column_types, csv_names, wanted)
        query_of = lambda staged: st.select_cast(self.table(staged), loaded, types, self.dialect, path,  # noqa: E731
                                                 aliases=wanted)
        with self.transaction():
            staged = self.stage_dataframe(relation, df)
            try:
                rows = self.replace_table(relation, query_of(staged), options)
            except BaseException:
                if not self.supports_transactional_ddl:
                    self._drop_quietly(staged)
                raise
            self.execute(st.drop(self.table(staged)))
        return rows or 0

    def frame(self, source: Relation | exp.Expression | str) -> Any:
        """What a Python model's ref() gets: the engine's own DataFrame of a relation or a query (SQL text
        or an expression). pandas, read whole, here; an engine with a lazy DataFrame API (Spark) returns
        that, and write_dataframe() then takes it back without collecting it."""
        if isinstance(source, Relation):
            return self.read_dataframe(source)
        return self.query_dataframe(source)

    def frame_arrow(self, source: Relation | exp.Expression | str) -> Any:
        """A Python model's ref(..., format="arrow"): the rows as an Arrow table. Here converted from the
        engine's DataFrame (one copy more); an engine that fetches Arrow itself (DuckDB) overrides this."""
        import pyarrow as pa

        frame = self.frame(source)
        if type(frame).__module__.startswith("pandas"):
            return pa.Table.from_pandas(frame, preserve_index=False)
        return frame.toArrow()  # Spark: collected to the driver, as toPandas() would

    def is_frame(self, df: Any) -> bool:
        """Is df a DataFrame this engine writes as it is (besides pandas)?"""
        return False

    def read_dataframe(self, relation: Relation, limit: int | None = None) -> Any:
        return self.query_dataframe(st.select_star(self.table(relation), limit))

    def query_dataframe(self, statement: exp.Expression | str) -> Any:
        import pandas as pd

        cols, rows = self.fetch(statement)
        return pd.DataFrame.from_records(rows, columns=cols)
