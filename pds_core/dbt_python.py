"""dbt's Python model API, `def model(dbt, session)`, on every engine pds builds on.

The `dbt` object is dbt-core's: `dbt.ref('x')` (also `dbt.ref('package', 'x')` and `v=`/`version=`),
`dbt.source('src', 'table')`, `dbt.config(...)` (read statically before the run: a no-op at run time),
`dbt.config.get(key, default)`, `dbt.this` and `dbt.is_incremental`. What ref() returns and what
`session` is depend on the engine, and are decided in ONE place, `runtime_for()`:

- an adapter with `python_session()` / `python_read()` (DuckDB: the connection, and DuckDB relations
  with .df(), .arrow(), .pl() and SQL on them, as dbt-duckdb gives) is used natively;
- any other (Postgres, Snowflake, BigQuery) gives pandas DataFrames read from the warehouse, and a
  `session` whose `.sql(query)` and `.table(name)` return pandas too: dbt-postgres has no Python
  models, and pds runs them where pds runs.

The model may return a pandas or polars DataFrame, an Arrow table or a DuckDB relation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pds_core.errors import ProjectError


class DbtThis:
    """`dbt.this`: the model's own relation; str() is its name as the engine's SQL spells it."""

    def __init__(self, database: str | None, schema: str, identifier: str, rendered: str) -> None:
        self.database, self.schema, self.identifier, self.name = database, schema, identifier, identifier
        self._rendered = rendered

    def __str__(self) -> str:
        return self._rendered

    __repr__ = __str__


class DbtConfig:
    """`dbt.config`: calling it is a no-op at run time (pds read the call before running, as dbt
    does); `dbt.config.get(key, default)` reads the model's final config."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get(self, key: str, default: Any = None) -> Any:
        return self._config.get(key, default)

    def meta_get(self, key: str, default: Any = None) -> Any:
        meta = self._config.get("meta") or {}
        return meta.get(key, default) if isinstance(meta, dict) else default


class DbtObject:
    """The `dbt` argument of `def model(dbt, session)`."""

    def __init__(self, read: Callable[[str, str], Any], config: dict[str, Any], this: DbtThis,
                 is_incremental: bool) -> None:
        self._read = read
        self.config = DbtConfig(config)
        self.this = this
        self.is_incremental = is_incremental

    def ref(self, *names: str, version: Any = None, v: Any = None) -> Any:
        """A model or seed: a DuckDB relation on DuckDB, a pandas DataFrame elsewhere. Two names are
        (package, model); the version is accepted, and the model's one definition read."""
        if not names or len(names) > 2 or not all(isinstance(n, str) for n in names):
            raise ProjectError("dbt.ref() takes a model name, e.g. dbt.ref('stg_orders')")
        return self._read("ref", names[-1])

    def source(self, source_name: str, table_name: str) -> Any:
        return self._read("source", f"{source_name}.{table_name}")


class WarehouseSession:
    """`session` on an engine without native Python DataFrames: SQL in, pandas out."""

    def __init__(self, query: Callable[[str], Any], read: Callable[[str, str], Any]) -> None:
        self._query, self._read = query, read

    def sql(self, query: str) -> Any:
        """Run a query on the warehouse; its rows as a pandas DataFrame."""
        return self._query(str(query))

    def table(self, name: str) -> Any:
        return self.sql(f"select * from {name}")


@dataclass
class PythonRuntime:
    """What a Python model sees of the engine: `session`, and how ref()/source() read (kind, name)."""

    session: Any
    read: Callable[[str, str], Any]
    native: bool  # ref() returns the engine's own relations, not pandas

    def close(self) -> None:
        """Let go of the model's own connection (DuckDB: a cursor of its own, so what the model leaves
        open on it, an unfinished result, never reaches pds's statements)."""
        closer = getattr(self.session, "close", None)
        if self.native and closer is not None:
            closer()


def runtime_for(adapter: Any, resolve: Callable[[str, str], Any], relation_type: type) -> PythonRuntime:
    """THE place that decides what ref() returns and what `session` is, for the adapter's engine.

    `resolve(kind, name)` is the plan's: a Relation, or the SQL of an ephemeral parent."""
    native_read = getattr(adapter, "python_read", None)
    if native_read is not None:
        session = adapter.python_session()
        return PythonRuntime(session, lambda kind, name: native_read(resolve(kind, name), session), True)
    read = pandas_reader(adapter, resolve, relation_type)
    return PythonRuntime(WarehouseSession(adapter.query_dataframe, read), read, False)


def pandas_reader(adapter: Any, resolve: Callable[[str, str], Any], relation_type: type) -> Callable[[str, str], Any]:
    """(kind, name) -> the parent's rows as a pandas DataFrame (what pds's ctx.ref() gives everywhere)."""

    def read(kind: str, name: str) -> Any:
        target = resolve(kind, name)
        return adapter.read_dataframe(target) if isinstance(target, relation_type) else adapter.query_dataframe(target)

    return read


def frame_of(result: Any, native: bool) -> Any:
    """A model's return value as what the adapter writes: pandas, or (natively) an Arrow table."""
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return result
    # a DuckDB relation, known by its type: a Spark Connect DataFrame answers hasattr() for any name
    if "duckdb" in type(result).__module__ and hasattr(result, "fetch_arrow_table"):
        table = result.fetch_arrow_table()
        return table if native else table.to_pandas()
    if type(result).__module__.startswith("polars"):
        return result.to_arrow() if native else result.to_pandas()
    if type(result).__module__.startswith("pyarrow") and hasattr(result, "to_pandas"):
        return result if native else result.to_pandas()
    return result


def column_names(frame: Any) -> list[str]:
    names = frame.column_names if type(frame).__module__.startswith("pyarrow") else None  # Arrow (by type, as above)
    return [str(c) for c in (names if names is not None else frame.columns)]
