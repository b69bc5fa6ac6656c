"""PostgreSQL: adapter.py (flags and overrides), bulk.py (COPY), views.py (dependent views kept)."""

from pds_adapters.postgres.adapter import PostgresAdapter

__all__ = ["PostgresAdapter"]
