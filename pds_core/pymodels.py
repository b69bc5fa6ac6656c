"""Python models: dependencies read statically with ast, and the ctx object given to model(ctx).

Two forms: pds's own `def model(ctx)` (ctx.ref() gives pandas), and dbt's `def model(dbt, session)`
(dbt_python.py). Both are read the same way: literal `<first arg>.ref()/.source()/.config()` calls.
"""

from __future__ import annotations

import ast
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pds_core.errors import ProjectError


@dataclass
class PythonModelInfo:
    """What the file says about itself without being run."""

    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    vars: list[str] | None = field(default_factory=list)  # names passed to ctx.var(); None: not all literal

FORMATS = ("pandas", "arrow", "polars")  # what ctx.ref(..., format=) gives besides the engine's own frame


def inspect_python_model(source: str, path: str) -> PythonModelInfo:
    """Find `def model(ctx)` and the literal ctx.ref()/ctx.source()/ctx.config() calls in it."""
    if not source.strip():
        raise ProjectError("Python model file is empty", path, 1, hint="define `def model(ctx):` returning a DataFrame")
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise ProjectError(f"Python syntax error: {exc.msg}", path, exc.lineno, exc.offset,
                           hint="fix the Python at this line (python -m py_compile shows the same error)") from None
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "model"]
    if not funcs:
        raise ProjectError("Python model has no top-level `def model(ctx):`", path, 1,
                           hint="a Python model defines model(ctx) and returns a pandas DataFrame")
    func = funcs[0]
    if not func.args.args or len(func.args.args) > 2:
        raise ProjectError("model() takes the context, def model(ctx), or dbt's two arguments, "
                           "def model(dbt, session)", path, func.lineno)
    ctx_name = func.args.args[0].arg
    info = PythonModelInfo()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == ctx_name):
            continue
        method = node.func.attr
        if method in ("ref", "source"):
            args = [_literal(a, path, f"ctx.{method}()") for a in node.args]
            allowed = ("chunksize", "format", "v", "version")  # ctx.ref('big', chunksize=100_000), dbt.ref('m', v=2)
            bad_kw = any(kw.arg not in allowed for kw in node.keywords)
            for kw in node.keywords:
                if kw.arg == "format" and isinstance(kw.value, ast.Constant) and kw.value.value not in FORMATS:
                    raise ProjectError(f"ctx.{method}(format=...) is one of {', '.join(map(repr, FORMATS))}, "
                                       f"not {kw.value.value!r}", path, node.lineno,
                                       hint=f"e.g. ctx.{method}(..., format='arrow')")
            if bad_kw or not args or (method == "ref" and len(args) > 2) or (method == "source" and len(args) != 2):
                usage = "ctx.ref('model_name')" if method == "ref" else "ctx.source('source_name', 'table')"
                raise ProjectError(f"ctx.{method}() takes literal names: {usage}", path, node.lineno)
            if method == "ref":
                info.refs.append(args[-1])
            else:
                info.sources.append((args[0], args[1]))
        elif method == "var" and info.vars is not None:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                info.vars.append(first.value)
            else:
                info.vars = None
        elif method == "config":
            for kw in node.keywords:
                if kw.arg is None:
                    raise ProjectError("ctx.config() needs keyword arguments with literal values", path, node.lineno)
                info.config[kw.arg] = _literal(kw.value, path, "ctx.config()")
    return info


def _literal(node: ast.expr, path: str, what: str) -> Any:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise ProjectError(f"{what} must be given literal values so the DAG is known without running the model",
                           path, node.lineno, node.col_offset + 1,
                           hint="write the name as a string, e.g. ctx.ref('orders')") from None
    return value


class ModelContext:
    """The `ctx` a Python model receives: upstream data as DataFrames, its config and vars.

    ref()/source() give the engine's own DataFrame (adapter.frame): pandas on DuckDB, Postgres,
    Snowflake and BigQuery, a lazy Spark DataFrame on Spark. `engine` names the target's type, so one
    model can hold a pandas and a Spark version; `session` is the engine's session (a SparkSession).
    format="arrow" gives an Arrow table instead (adapter.frame_arrow: on DuckDB fetched as Arrow, with no
    pandas in between), format="polars" a polars DataFrame over that table, format="pandas" pandas on every
    engine.
    """

    engine: str = "duckdb"
    session: Any = None

    def __init__(self, read_relation: Callable[[str, str | None], Any], config: dict[str, Any],
                 vars: dict[str, Any], this: str, is_incremental: bool,
                 read_chunks: Callable[[str, str, int], Iterator[Any]] | None = None,
                 read_arrow: Callable[[str, str], Any] | None = None) -> None:
        self._read = read_relation
        self._read_chunks = read_chunks
        self._read_arrow = read_arrow
        self._config = config
        self._vars = vars
        self.this = this
        self.is_incremental = is_incremental

    def ref(self, *names: str, chunksize: int | None = None, format: str | None = None) -> Any:
        """The upstream model as the engine's DataFrame (pandas, held in memory whole; on Spark a lazy
        Spark DataFrame), or as `format` says ("arrow", "polars", "pandas"); with chunksize, an iterator of
        pandas DataFrames of at most that many rows, read from the warehouse as they are used."""
        return self._get("ref", names[-1], chunksize, format)

    def source(self, source_name: str, table_name: str, chunksize: int | None = None,
               format: str | None = None) -> Any:
        """A declared source table, as ref() gives a model."""
        return self._get("source", f"{source_name}.{table_name}", chunksize, format)

    def _get(self, kind: str, name: str, chunksize: int | None, format: str | None) -> Any:
        if format is not None and format not in FORMATS:
            raise ProjectError(f"format must be one of {', '.join(map(repr, FORMATS))}, got {format!r}",
                               hint="e.g. ctx.ref('orders', format='arrow')")
        if chunksize is None:
            return self._whole(kind, name, format)
        if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
            raise ProjectError(f"chunksize must be a positive whole number, got {chunksize!r}",
                               hint="e.g. ctx.ref('orders', chunksize=100_000)")
        if format not in (None, "pandas"):
            raise ProjectError(f"chunksize gives pandas DataFrames; format={format!r} is read whole",
                               hint=f"drop chunksize, or format={format!r}")
        if self._read_chunks is not None:
            return self._read_chunks(kind, name, chunksize)
        whole = self._read(kind, name)  # a reader without streaming (unit tests): slices of the frame
        return (whole.iloc[start:start + chunksize] for start in range(0, len(whole), chunksize))

    def _whole(self, kind: str, name: str, format: str | None) -> Any:
        if format is None or format == "pandas" and self.engine != "spark":
            return self._read(kind, name)
        if self._read_arrow is not None:
            table = self._read_arrow(kind, name)
        else:  # a reader of pandas only (unit tests): converted
            import pyarrow as pa

            table = pa.Table.from_pandas(self._read(kind, name), preserve_index=False)
        if format == "polars":
            import polars as pl

            return pl.from_arrow(table)
        return table.to_pandas() if format == "pandas" else table

    def config(self, **kwargs: Any) -> Any:
        """Read-only at run time: the config was read from the file before running."""
        return None

    def get_config(self, key: str, default: Any = None) -> Any:
        return self._config.get(key, default)

    def var(self, name: str, default: Any = ...) -> Any:
        if name in self._vars:
            return self._vars[name]
        if default is not ...:
            return default
        raise ProjectError(f"var {name!r} is not defined", hint="set it in pds_project.yml vars: or --vars")


class PythonModelFailed(Exception):
    """The user's model raised; the message names the file and line where it happened."""


def run_python_model(source: str, path: str, ctx: ModelContext, dbt: Any = None, session: Any = None,
                     native: bool = False, accepts: Callable[[Any], bool] | None = None) -> Any:
    """Execute the model file and call model(ctx), or model(dbt, session) for dbt's form; the result
    (pandas, polars, Arrow, a DuckDB relation) comes back as pandas, or natively as Arrow, or as it is
    when the target's engine writes it itself (`accepts`: a Spark DataFrame on Spark, never collected)."""
    import pandas as pd

    from pds_core.dbt_python import frame_of

    namespace: dict[str, Any] = {"__name__": f"pds_model_{abs(hash(path))}", "__file__": path}
    try:
        exec(compile(source, path, "exec"), namespace)
        func = namespace["model"]
        result = func(dbt, session) if func.__code__.co_argcount == 2 else func(ctx)
        result = frame_of(result, native)
    except ProjectError:
        raise
    except Exception as exc:
        raise PythonModelFailed(_describe(exc, path) + _engine_hint(exc, ctx)) from exc
    if accepts is not None and accepts(result):
        return result
    if not isinstance(result, pd.DataFrame) and not (native and type(result).__module__.startswith("pyarrow")):
        raise PythonModelFailed(f"{path}: model() returned {type(result).__name__}, not a DataFrame (pandas or "
                                "polars), an Arrow table or a DuckDB relation")
    return result


def _engine_hint(exc: Exception, ctx: ModelContext) -> str:
    """pandas code given a Spark DataFrame fails with an AttributeError: say why, and the two ways out."""
    if ctx.engine == "spark" and isinstance(exc, AttributeError) and "DataFrame" in str(exc):
        return ("\n  hint: on Spark ctx.ref() returns a Spark DataFrame; write the model with Spark's API "
                "(branch on ctx.engine), or ask for pandas with .toPandas() (it collects the rows to the driver)")
    return ""


def run_model_locally(con: Any, node: Any, manifest: Any, tables: dict[str, Any], vars: dict[str, Any],
                      incremental: bool) -> Any:
    """Run a Python model on the tables of an in-memory DuckDB `con` (unit tests): ctx.ref() gives pandas,
    dbt.ref() DuckDB relations, and `session` is the connection, as on a DuckDB target."""
    from sqlglot import exp

    from pds_core.dbt_python import DbtObject, DbtThis

    def table_for(kind: str, name: str) -> Any:
        parent = manifest.ref(name) if kind == "ref" else next(
            (n for n in manifest.sources.values() if n.name == name), None)
        if parent is None or parent.unique_id not in tables:
            raise ProjectError(f"{node.path}: the unit test gives no rows for {kind}('{name}')")
        return tables[parent.unique_id]

    def read_pandas(kind: str, name: str) -> Any:
        return con.execute(exp.select("*").from_(table_for(kind, name).copy()).sql("duckdb")).df()

    def read_native(kind: str, name: str) -> Any:
        return con.sql(exp.select("*").from_(table_for(kind, name).copy()).sql("duckdb"))

    rel = node.relation
    this = DbtThis(None, rel.schema, rel.identifier, exp.table_(rel.identifier, db=rel.schema).sql("duckdb"))
    ctx = ModelContext(read_pandas, node.config, vars, str(rel), incremental)
    return run_python_model(node.raw_code, node.path, ctx, DbtObject(read_native, node.config, this, incremental),
                            con, native=True)


def _describe(exc: Exception, path: str) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    where = f"{path}:{frames[-1].lineno}" if frames else path
    return f"{where}: {type(exc).__name__}: {exc}"
