"""DataFrames in and out of Spark: pandas through Arrow, Spark DataFrames as they are, seeds.

Why temporary views and not staging tables: a DataFrame handed to Spark becomes a session-scoped
view that the same statements as a SQL model read (replace, merge, ...). It is never in the
catalog, so a killed build leaves nothing behind, and a Spark DataFrame (a Python model on a
Spark target) is never collected to the driver on its way into a table.
"""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlglot import exp

from pds_adapters import frames, seeds
from pds_adapters import statements as st
from pds_adapters.errors import ProjectError
from pds_adapters.relation import Relation
from pds_adapters.spark import tables
from pds_adapters.spark.ddl import TableOptions

if TYPE_CHECKING:
    from pds_adapters.spark.adapter import SparkAdapter


def is_spark_frame(df: Any) -> bool:
    """A classic or a Spark Connect DataFrame (their classes differ; both have createOrReplaceTempView)."""
    return hasattr(df, "createOrReplaceTempView") and hasattr(df, "sparkSession")


def is_pandas_on_spark(df: Any) -> bool:
    """A pandas-on-Spark DataFrame (pyspark.pandas, `df.pandas_api()`): distributed, written as its Spark frame."""
    return type(df).__module__.startswith("pyspark.pandas") and hasattr(df, "to_spark")


def to_spark(adapter: SparkAdapter, df: Any) -> Any:
    """A Spark DataFrame for df: as it is, or from pandas through Arrow with the types every engine uses.

    The column types come from pds_adapters.frames (the same mapping the Postgres COPY path uses), so a
    pandas model builds the same table types on Spark as elsewhere, an empty frame included.
    """
    if is_spark_frame(df):
        return df
    if is_pandas_on_spark(df):
        return df.to_spark()
    if type(df).__module__.startswith("pyarrow"):  # a dbt-style model's Arrow table
        df = df.to_pandas()
    session = adapter.session()
    types = frames.column_types(df)
    schema = ", ".join(f"{exp.to_identifier(str(name), quoted=True).sql('spark')} {_spark_type(t)}"
                       for name, t in types.items())
    if not types:
        raise ProjectError("the DataFrame has no columns", hint="a model must return at least one column")
    data = df if df.shape[0] else None
    if data is None:
        return session.createDataFrame([], schema=schema)
    converted = session.createDataFrame(_arrow_ready(df))
    return converted.select(*[converted[str(name)].cast(_spark_type(t)).alias(str(name)) for name, t in types.items()])


def _spark_type(dtype: exp.DataType) -> str:
    """A frames type in Spark's spelling (TIMESTAMPTZ: Spark's TIMESTAMP is instant-based; INTERVAL: text)."""
    if dtype.this == exp.DataType.Type.INTERVAL:
        return "STRING"
    return dtype.sql("spark")


def _arrow_ready(df: Any) -> Any:
    """Text columns as plain Python strings (mixed objects, and pandas 3's Arrow-backed `str`, whose
    chunked arrays Spark Connect's converter rejects); everything else unchanged."""
    out = df.copy(deep=False)
    for name, dtype in frames.column_types(df).items():
        if dtype.this == exp.DataType.Type.TEXT:
            out[name] = pd.Series([None if _missing(v) else str(v) for v in df[name].tolist()],
                                  index=df.index, dtype=object)
        elif dtype.this == exp.DataType.Type.INTERVAL:
            out[name] = df[name].astype(str)
    return out


def _missing(value: Any) -> bool:
    """None, NaN, NA or NaT (pd.isna alone would answer an array for a list value)."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


@contextlib.contextmanager
def as_view(adapter: SparkAdapter, df: Any) -> Iterator[exp.Table]:
    """df as a temporary view for the duration of the block."""
    name = f"__pds_df_{uuid.uuid4().hex[:12]}"
    to_spark(adapter, df).createOrReplaceTempView(name)
    try:
        yield exp.Table(this=exp.to_identifier(name, quoted=True))
    finally:
        with contextlib.suppress(Exception):  # the view ends with the session anyway
            adapter.session().catalog.dropTempView(name)


def write(adapter: SparkAdapter, relation: Relation, df: Any, options: TableOptions) -> int:
    """Replace the relation with df's rows, with the same atomic swap as a SQL model."""
    with as_view(adapter, df) as view:
        return tables.replace_table(adapter, relation, st.select_star(view), options)


def incremental(adapter: SparkAdapter, relation: Relation, df: Any, strategy: str, keys: list[str],
                options: TableOptions, schema: Any = None) -> int | None:
    """An incremental Python model's rows, through the same statements as a SQL model's (on_schema_change too)."""
    with as_view(adapter, df) as view:
        return adapter.incremental(relation, st.select_star(view), strategy, keys, schema, options)


def to_pandas(frame: Any) -> Any:
    """A Spark DataFrame as pandas (through Arrow), with the dtypes the other engines' readers give.

    pyspark casts timestamps to nanoseconds, which cannot hold a snapshot's `9999-12-31`: such a frame
    is read through Arrow as it comes (microseconds, UTC as the session's time zone), naive like the rest.
    """
    try:
        with warnings.catch_warnings():  # pyspark warns before it raises; the fallback below answers
            warnings.filterwarnings("ignore", message="toPandas attempted Arrow optimization")
            return frames.tidy_frame(frame.toPandas())
    except Exception as exc:
        if "out of bounds timestamp" not in str(exc):
            raise
    table = frame.toArrow()
    out = table.to_pandas(coerce_temporal_nanoseconds=False)
    for name in out.columns:
        if getattr(out[name].dtype, "tz", None) is not None:
            out[name] = out[name].dt.tz_convert("UTC").dt.tz_localize(None)
    return frames.tidy_frame(out)


def chunks(adapter: SparkAdapter, source: Relation | str, chunksize: int) -> Iterator[Any]:
    """Rows partition by partition (toLocalIterator): the driver holds one partition, never the whole."""
    import pandas as pd

    frame = adapter.frame(source if isinstance(source, Relation) else exp.maybe_parse(source, dialect="spark"))
    columns = list(frame.columns)
    adapter.count_statement()
    batch: list[tuple] = []
    for row in frame.toLocalIterator(prefetchPartitions=False):
        batch.append(tuple(row))
        if len(batch) >= chunksize:
            yield frames.tidy_frame(pd.DataFrame.from_records(batch, columns=columns))
            batch = []
    if batch:
        yield frames.tidy_frame(pd.DataFrame.from_records(batch, columns=columns))


def load_seed(adapter: SparkAdapter, relation: Relation, path: str, column_types: dict[str, str],
              delimiter: str, options: TableOptions, quote_columns: bool | None = None) -> int:
    """The one seed reader (pds_adapters.seeds: dbt's inference), each column cast to Spark's type for
    its kind (SparkAdapter.seed_types, dbt-spark's) or to its column_types, then swapped in like a
    model's table; column names as quote_columns says (seeds.seed_column_names: Spark keeps an unquoted name's case)."""
    seed = seeds.read_seed(path, delimiter, text_columns=list(column_types))
    df = seed.frame
    csv_names = [str(c) for c in df.columns]
    for name in column_types:
        if name not in csv_names:
            raise ProjectError(f"column_types names {name!r}, which is not a column of the seed", path,
                               hint=f"columns: {', '.join(csv_names)}")
    wanted = seeds.seed_column_names(adapter, csv_names, quote_columns, path)
    df = df.set_axis(wanted, axis=1)
    types = seeds.cast_types(adapter.seed_types, seed.kinds, column_types, csv_names, wanted)
    with as_view(adapter, df) as view:
        query = st.select_cast(view, wanted, types, adapter.dialect, path)
        return tables.replace_table(adapter, relation, query, options)
