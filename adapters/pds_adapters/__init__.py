"""Warehouse adapters, found through the `pds.adapters` entry point group so others can add one.

The core reaches a warehouse through connect(target) only::

    with connect(target) as adapter:      # opened: an unreachable warehouse raises ConnectionFailed here
        adapter.replace_table(...)
    # closed here, also when the block raised

This package knows nothing of pds_core: it takes plain data (Target, Relation, sqlglot expressions,
DataFrames) and raises pds_adapters.errors.ProjectError, which pds_core re-exports.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pds_adapters.errors import ProjectError, did_you_mean

if TYPE_CHECKING:
    from pds_adapters.base import Adapter
    from pds_adapters.target import Target

BUILTIN = {
    "duckdb": "pds_adapters.duckdb:DuckDBAdapter",
    "postgres": "pds_adapters.postgres:PostgresAdapter",
    "snowflake": "pds_adapters.snowflake:SnowflakeAdapter",
    "bigquery": "pds_adapters.bigquery:BigQueryAdapter",
    "spark": "pds_adapters.spark:SparkAdapter",
}
EXTRAS = {"postgres": "postgres", "snowflake": "snowflake", "bigquery": "bigquery", "spark": "spark"}


def available() -> dict[str, str]:
    """Adapter type -> 'module:Class', built-ins first, then any installed through entry points."""
    from importlib.metadata import entry_points  # here: 20 ms that `pds --version` need not pay

    found = dict(BUILTIN)
    for ep in entry_points(group="pds.adapters"):
        found.setdefault(ep.name, ep.value)
    return found


def adapter_class(type_name: str) -> type[Adapter]:
    # a built-in type wins over an entry point of the same name (available()): no need to list them (start-up)
    spec = BUILTIN.get(type_name)
    if spec is None:
        table = available()
        if type_name not in table:
            raise ProjectError(f"no adapter for target type {type_name!r}",
                               hint=did_you_mean(type_name, table) or f"installed adapters: {', '.join(table)}")
        spec = table[type_name]
    module_name, _, cls_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = EXTRAS.get(type_name, type_name)
        raise ProjectError(f"the {type_name} adapter needs a driver that is not installed ({exc.name})",
                           hint=f"pip install 'pds[{extra}]'") from None
    return getattr(module, cls_name)


def get_adapter(target: Target) -> Adapter:
    """A new adapter for the target, not yet connected (connect() is the usual way in)."""
    return adapter_class(target.type)(target)


@contextlib.contextmanager
def connect(target: Target) -> Iterator[Adapter]:
    """The target's adapter, connected: a warehouse that cannot be reached raises ConnectionFailed
    before the block runs; every connection is closed when the block ends, however it ends."""
    adapter = get_adapter(target)
    try:
        adapter.open()
        yield adapter
    finally:
        adapter.close()
