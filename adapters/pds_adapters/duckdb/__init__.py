"""DuckDB, the embedded default (adapter.py)."""

from pds_adapters.duckdb.adapter import DuckDBAdapter

__all__ = ["DuckDBAdapter"]
