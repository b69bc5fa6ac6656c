"""BigQuery: adapter.py (flags and overrides), auth.py (credentials, client), bulk.py (Arrow/Parquet
load jobs), queries.py (parameters, DELETE for composite keys)."""

from pds_adapters.bigquery.adapter import BigQueryAdapter

__all__ = ["BigQueryAdapter"]
