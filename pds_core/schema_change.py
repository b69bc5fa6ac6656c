"""on_schema_change of incremental models (dbt's ignore / fail / append_new_columns / sync_all_columns).

The value is checked when the project is parsed (an unknown one is an error, where dbt would fall back to
`ignore` with a log line: nothing is silently ignored). The plan decides once per node what the table
holds: the mode and the existing table's columns, read once (plan.decide -> BuildDecision). The
comparison with the query's columns is made when the build stages the new rows, because a parent
rebuilt earlier in the same run may have changed them; the adapter then applies the mode
(pds_adapters/schema_change.py) so that a failure never leaves the table half-changed.
"""

from __future__ import annotations

from typing import Any

from pds_adapters.schema_change import ON_SCHEMA_CHANGE, SchemaPolicy
from pds_core.errors import ProjectError, did_you_mean
from pds_core.nodes import Manifest, Node


def mode_of(node: Node) -> str:
    return str(node.config.get("on_schema_change") or "ignore")


def check_modes(manifest: Manifest) -> None:
    """Every node's on_schema_change is one dbt knows."""
    for node in manifest.nodes.values():
        mode = mode_of(node)
        if mode not in ON_SCHEMA_CHANGE:
            raise ProjectError(f"unknown on_schema_change {mode!r} in config of {node.name!r}", node.path,
                               hint=did_you_mean(mode, ON_SCHEMA_CHANGE) or f"use one of {', '.join(ON_SCHEMA_CHANGE)}")


def policy_of(decision: Any) -> SchemaPolicy:
    """What the materialization hands the adapter for an incremental build."""
    existing = getattr(decision, "existing_columns", None)
    return SchemaPolicy(getattr(decision, "on_schema_change", "ignore"),
                        tuple(existing) if existing is not None else None)
