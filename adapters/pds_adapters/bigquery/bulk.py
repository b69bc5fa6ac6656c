"""Data in and out of BigQuery as Arrow: Parquet load jobs in, Arrow result pages out.

Loads: Arrow data as Parquet through a load job, with an explicit schema. Why this path: `Client.load_table_from_dataframe` sends small files as a multipart upload whose
media part is typed `*/*`, which bqemulator rejects; a Parquet load job from a file object
without a size goes through the resumable upload, which both BigQuery and bqemulator accept.
The schema is given explicitly (bqemulator will not create a table from Parquet alone, and it
pins types instead of leaving them to autodetection).
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pds_adapters.errors import ProjectError


def bigquery_type(arrow_type: pa.DataType) -> str:
    """The BigQuery column type an Arrow column loads into (the same choices google-cloud-bigquery makes)."""
    t = arrow_type
    checks: list[tuple[Any, str]] = [
        (pa.types.is_boolean, "BOOL"), (pa.types.is_integer, "INT64"), (pa.types.is_floating, "FLOAT64"),
        (pa.types.is_string, "STRING"), (pa.types.is_large_string, "STRING"), (pa.types.is_date, "DATE"),
        (pa.types.is_time, "TIME"), (pa.types.is_binary, "BYTES"), (pa.types.is_large_binary, "BYTES"),
    ]
    for check, name in checks:
        if check(t):
            return name
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz else "DATETIME"  # naive pandas timestamps are wall-clock times
    if pa.types.is_decimal(t):
        return "NUMERIC" if t.precision <= 38 and t.scale <= 9 else "BIGNUMERIC"
    if pa.types.is_null(t):
        return "STRING"  # an all-null column: BigQuery needs some type
    raise TypeError(f"no BigQuery column type for Arrow type {t}")


def plain_arrow(table: pa.Table) -> pa.Table:
    """Categoricals become their values, timestamps microseconds (BigQuery's precision)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        t = field.type
        if pa.types.is_dictionary(t):
            column, t = column.cast(t.value_type), t.value_type
        if pa.types.is_timestamp(t) and t.unit == "ns":
            column = column.cast(pa.timestamp("us", t.tz), safe=False)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def dataframe_to_arrow(df: Any, where: str) -> pa.Table:
    try:
        return plain_arrow(pa.Table.from_pandas(df, preserve_index=False))
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise ProjectError(f"{where}: the DataFrame cannot be loaded into BigQuery: {exc}",
                           hint="give each column one type (e.g. df[col].astype(str))") from None


def load_job(client: Any, table_id: str, data: pa.Table) -> Any:
    """Start loading the rows into a new or emptied table (WRITE_TRUNCATE); returns the job to wait for."""
    from google.cloud import bigquery

    try:
        schema = [bigquery.SchemaField(f.name, bigquery_type(f.type)) for f in data.schema]
    except TypeError as exc:
        raise ProjectError(f"cannot load {table_id}: {exc}",
                           hint="convert the column to a number, text, date or timestamp") from None
    buffer = io.BytesIO()
    pq.write_table(data, buffer)
    buffer.seek(0)
    config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET, schema=schema,
                                    write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE)
    # No size given: the client takes the resumable upload (see the module docstring).
    return client.load_table_from_file(buffer, table_id, job_config=config, rewind=True)


def arrow_to_dataframe(table: pa.Table) -> Any:
    """A query result as pandas with the dtypes DuckDB's .df() gives: int64 (Int64 where NULLs), datetime64 dates."""
    import pandas as pd

    df = table.to_pandas(date_as_object=False, types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    for name in df.columns:
        if isinstance(df[name].dtype, pd.Int64Dtype) and not df[name].hasnans:
            df[name] = df[name].astype("int64")
    return df
