"""Engine-only config, checked by the target's adapter at plan time, before anything runs.

Some config keys are acted on by one engine only (Spark's file_format, partition_by, clustered_by,
buckets, location_root, tblproperties: ENGINE_CONFIG_KEYS below), and some incremental strategies
exist on one engine only (insert_overwrite). The target's adapter turns a node's config into its
storage options (Adapter.table_options) and says whether it can run the node's strategy on such a
table (Adapter.check_strategy): a merge into a parquet table is then a project error with the
model's file and line, exit 2, and never a failure halfway through a build. A key the target's
engine does not act on is a warning naming the engines that do: a project that builds on DuckDB
on a laptop and on Spark in production keeps one config.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from pds_core.errors import ProjectError
from pds_core.nodes import Manifest, Node
from pds_core.not_acted_on import ProjectWarning

# config keys only some engines act on (dbt-spark's names): config.py accepts them everywhere, and at plan time a
# key the target's adapter does not declare (Adapter.model_config_keys) warns, naming the engines that do
ENGINE_CONFIG_KEYS: dict[str, tuple[type, ...]] = {
    "file_format": (str,),
    "partition_by": (str, list),
    "clustered_by": (str, list),
    "buckets": (int,),
    "location_root": (str,),
    "tblproperties": (dict,),
}

BUILDS_TABLES = ("table", "incremental", "seed")


def check_engine_config(manifest: Manifest, runnable: set[str], adapter: Any) -> dict[str, Any]:
    """uid -> the adapter's storage options, for each runnable node that builds a table; raises the
    first ProjectError (file:line) among them and warns once per engine key the target ignores."""
    options: dict[str, Any] = {}
    ignored: dict[str, list[Node]] = {}
    for uid in sorted(runnable):
        node = manifest.nodes.get(uid)
        if node is None or node.materialized not in BUILDS_TABLES:
            continue
        for key in ENGINE_CONFIG_KEYS:
            if key in node.config and key not in adapter.model_config_keys:
                ignored.setdefault(key, []).append(node)
        try:
            options[uid] = adapter.table_options(node.config, node.path)
            if node.materialized == "incremental":
                strategy, _keys = strategy_of(node, adapter.supports_merge)
                adapter.check_strategy(strategy, options[uid], node.path)
        except ProjectError as exc:
            if exc.location.path == node.path and not exc.location.line:
                exc.location.line = line_naming(node.raw_code, ("incremental_strategy", *ENGINE_CONFIG_KEYS))
            raise
    for key, nodes in ignored.items():
        _warn_ignored(key, nodes, adapter.type)
    return options


def strategy_of(node: Node, supports_merge: bool = True) -> tuple[str, list[str]]:
    """The incremental strategy: as configured, else merge with a unique_key, else append."""
    key = node.config.get("unique_key")
    keys = [key] if isinstance(key, str) else list(key or [])
    strategy = node.config.get("incremental_strategy") or ("merge" if keys else "append")
    if strategy == "merge" and not supports_merge:
        strategy = "delete+insert"
    return strategy, keys


def _warn_ignored(key: str, nodes: list[Node], engine: str) -> None:
    owners = engines_acting_on(key)
    first = nodes[0]
    more = f" (and {len(nodes) - 1} more)" if len(nodes) > 1 else ""
    warnings.warn(ProjectWarning(
        f"{key!r} is set on {first.name}{more}, but the {engine} target does not act on it"
        + (f": it is a config key of {', '.join(owners)} targets" if owners else ""),
        first.path, line_naming(first.raw_code, (key,)),
        hint=f"it takes effect when the project builds on {' or '.join(owners) or 'an engine that declares it'}; "
             "remove it if no target of the project is one"), stacklevel=2)


def engines_acting_on(key: str) -> list[str]:
    """The installed engines whose adapter declares the config key (adapters that fail to import are skipped)."""
    from pds_adapters import adapter_class, available

    found = []
    for name in available():
        try:
            cls = adapter_class(name)
        except ProjectError:
            continue
        if key in getattr(cls, "model_config_keys", ()):
            found.append(name)
    return found


def line_naming(text: str, keys: tuple[str, ...]) -> int | None:
    """The first line of a model's file that names one of the keys (its config() call), if any."""
    for number, line in enumerate(text.splitlines(), 1):
        if any(re.search(rf"\b{re.escape(k)}\b", line) for k in keys):
            return number
    return None
