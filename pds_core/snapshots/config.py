"""A snapshot's config: the keys dbt 1.11 takes, checked where they are written, and the SnapshotSpec the
adapter builds the snapshot from (pds_adapters.snapshot_sql)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pds_adapters.snapshot_sql import MetaColumns, SnapshotSpec
from pds_core.config import NODE_CONFIG_KEYS, check_keys
from pds_core.dbt_keys import DBT_CONFIG_KEYS
from pds_core.errors import ProjectError, did_you_mean

SNAPSHOT_KEYS: dict[str, tuple[type, ...]] = {
    "strategy": (str,),
    "updated_at": (str,),
    "check_cols": (str, list),
    "hard_deletes": (str,),
    "invalidate_hard_deletes": (bool,),  # before dbt 1.9: hard_deletes: invalidate
    "target_schema": (str,),  # before dbt 1.9: the schema, used as written
    "target_database": (str,),
    "snapshot_meta_column_names": (dict,),
    "dbt_valid_to_current": (str,),
}
CONFIG_KEYS = {**NODE_CONFIG_KEYS, **SNAPSHOT_KEYS}
STRATEGIES = ("timestamp", "check")
HARD_DELETES = ("ignore", "invalidate", "new_record")
META_KEYS = {"dbt_scd_id": "scd_id", "dbt_updated_at": "updated_at", "dbt_valid_from": "valid_from",
             "dbt_valid_to": "valid_to", "dbt_is_deleted": "is_deleted"}


def validate_snapshot_config(config: Mapping[str, Any], path: str | None, what: str,
                             line: int | None = None) -> dict[str, Any]:
    """Check a snapshot's merged config as dbt does; returns a plain dict with materialized: snapshot."""
    check_keys({k: v for k, v in config.items() if k in CONFIG_KEYS or k not in DBT_CONFIG_KEYS}, CONFIG_KEYS, path, what)
    line_of = getattr(config, "line_of", lambda _k: None)

    def fail(message: str, key: str | None = None, hint: str | None = None) -> ProjectError:
        return ProjectError(f"{message} ({what})", path, (line_of(key) if key else None) or line, hint=hint)

    materialized = config.get("materialized")
    if materialized not in (None, "snapshot"):
        raise fail(f"a snapshot is materialized as a snapshot, not {materialized!r}", "materialized")
    strategy = config.get("strategy")
    if strategy is None:
        raise fail("a snapshot needs a strategy", hint="add strategy='timestamp' (with updated_at) or "
                                                       "strategy='check' (with check_cols)")
    if strategy not in STRATEGIES:
        raise fail(f"unknown snapshot strategy {strategy!r}", "strategy",
                   hint=did_you_mean(strategy, STRATEGIES) or "use strategy 'timestamp' or 'check'")
    key = config.get("unique_key")
    if not key or (isinstance(key, list) and not all(isinstance(k, str) and k for k in key)):
        raise fail("a snapshot needs a unique_key", hint="add unique_key='id' (a column, an expression, or a list)")
    if strategy == "timestamp" and not config.get("updated_at"):
        raise fail("the timestamp strategy needs updated_at", hint="add updated_at='updated_at': the column "
                                                                   "that says when a row last changed")
    check_cols = config.get("check_cols")
    if strategy == "check" and (check_cols is None or (isinstance(check_cols, str) and check_cols != "all")
                                or (isinstance(check_cols, list) and not check_cols)):
        raise fail(f"the check strategy needs check_cols: 'all' or a list of columns, not {check_cols!r}",
                   "check_cols", hint="e.g. check_cols=['status', 'plan'] or check_cols='all'")
    hard = config.get("hard_deletes")
    if hard is not None and config.get("invalidate_hard_deletes") is not None:
        raise fail("set hard_deletes or the older invalidate_hard_deletes, not both", "invalidate_hard_deletes",
                   hint="keep hard_deletes: invalidate")
    if hard is not None and hard not in HARD_DELETES:
        raise fail(f"unknown hard_deletes {hard!r}", "hard_deletes",
                   hint=did_you_mean(hard, HARD_DELETES) or f"use one of {', '.join(HARD_DELETES)}")
    names = config.get("snapshot_meta_column_names") or {}
    for name, value in names.items():
        if name not in META_KEYS:
            raise fail(f"unknown column {name!r} in snapshot_meta_column_names", "snapshot_meta_column_names",
                       hint=did_you_mean(str(name), META_KEYS) or f"the columns are {', '.join(META_KEYS)}")
        if value is not None and (not isinstance(value, str) or not value):
            raise fail(f"snapshot_meta_column_names: {name} must be a column name", "snapshot_meta_column_names")
    result = dict(config)
    result["materialized"] = "snapshot"
    return result


def hard_deletes_of(config: Mapping[str, Any]) -> str:
    """dbt's get_hard_deletes_behavior: hard_deletes, or the legacy invalidate_hard_deletes flag."""
    if config.get("invalidate_hard_deletes") or config.get("hard_deletes") == "invalidate":
        return "invalidate"
    return "new_record" if config.get("hard_deletes") == "new_record" else "ignore"


def meta_columns(config: Mapping[str, Any]) -> MetaColumns:
    names = config.get("snapshot_meta_column_names") or {}
    return MetaColumns(**{field: names.get(key) or key for key, field in META_KEYS.items()})


def spec_of(config: Mapping[str, Any]) -> SnapshotSpec:
    """What the adapter needs to build the snapshot, from a validated config."""
    key = config["unique_key"]
    check = config.get("check_cols")
    return SnapshotSpec(
        strategy=config["strategy"], unique_key=tuple(key) if isinstance(key, list) else (key,),
        key_is_list=isinstance(key, list), updated_at=config.get("updated_at"),
        check_cols=tuple(check) if isinstance(check, list) else "all", hard_deletes=hard_deletes_of(config),
        columns=meta_columns(config), valid_to_current=config.get("dbt_valid_to_current"))


def snapshot_columns(config: Mapping[str, Any]) -> list[str]:
    """The columns a snapshot table has beyond its query's (validation reads them)."""
    return spec_of(config).meta_names()
