"""Snowflake: adapter.py (flags and overrides), auth.py (login, key pairs), bulk.py (write_pandas)."""

from pds_adapters.snowflake.adapter import SnowflakeAdapter

__all__ = ["SnowflakeAdapter"]
