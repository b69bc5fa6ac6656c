"""The lock table (Snowflake's and BigQuery's build lock), its logic run on DuckDB here.

tests/test_adapter_locks.py runs the same lock against fakesnow and bqemulator.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pds_adapters.duckdb import DuckDBAdapter
from pds_adapters.locks import LOCK_TABLE, TableLock
from pds_adapters.relation import Relation
from pds_adapters.target import Target


class TableLockedDuckDB(DuckDBAdapter):
    lock_kind: ClassVar[str] = "table"


@pytest.fixture
def target(tmp_path: Path) -> Target:
    return Target("dev", "duckdb", {"path": str(tmp_path / "wh.duckdb"), "schema": "an"})


def new_lock(target: Target, **kwargs: Any) -> TableLock:
    lock = TableLockedDuckDB(target).build_lock({"command": "pds build", "started_at": "now"})
    assert isinstance(lock, TableLock)
    for name, value in kwargs.items():
        setattr(lock, name, value)
    return lock


def lock_row(target: Target) -> tuple:
    adapter = DuckDBAdapter(target)
    try:
        return adapter.fetch(f"SELECT lock_token, lock_owner, heartbeat_at FROM an.{LOCK_TABLE}")[1][0]
    finally:
        adapter.close()


def plant(target: Target, owner: dict[str, Any], age_seconds: int) -> None:
    """A lock row left by someone else, its heartbeat age_seconds old."""
    adapter = DuckDBAdapter(target)
    try:
        adapter.ensure_schema("an")
        adapter.execute(f"CREATE TABLE an.{LOCK_TABLE} AS SELECT 'old' AS lock_token, ? AS lock_owner, "
                        f"current_timestamp - INTERVAL {int(age_seconds)} SECOND AS heartbeat_at", [json.dumps(owner)])
    finally:
        adapter.close()


def test_one_holder_at_a_time_and_release_frees_it(target: Target) -> None:
    first, second = new_lock(target), new_lock(target)
    assert first.try_acquire() is None and first.held
    holder = second.try_acquire()
    assert holder is not None and f"pid {first.info['pid']}" in holder and "pds build" in holder
    assert "last heartbeat" in holder and not second.held
    first.release()
    assert second.try_acquire() is None
    second.release()
    adapter = DuckDBAdapter(target)
    try:
        assert adapter.relation_kind(Relation("an", LOCK_TABLE)) is None  # released: the table is gone
    finally:
        adapter.close()


def test_a_dead_owner_on_this_host_is_taken_over_at_once(target: Target) -> None:
    import socket

    plant(target, {"pid": 2**22 + 12345, "host": socket.gethostname(), "command": "pds build"}, age_seconds=0)
    lock = new_lock(target)
    assert lock.try_acquire() is None
    assert lock_row(target)[0] == lock.token
    lock.release()


def test_an_owner_elsewhere_is_taken_over_only_when_its_heartbeat_is_stale(target: Target) -> None:
    owner = {"pid": 1, "host": "elsewhere", "command": "pds build", "started_at": "earlier"}
    plant(target, owner, age_seconds=30)
    fresh = new_lock(target, stale_seconds=300)
    assert "on elsewhere" in (fresh.try_acquire() or "")
    stale = new_lock(target, stale_seconds=10)
    assert stale.try_acquire() is None
    stale.release()


def test_of_two_runs_taking_over_a_stale_lock_only_one_wins(target: Target) -> None:
    plant(target, {"pid": 1, "host": "elsewhere"}, age_seconds=600)
    first, second = new_lock(target), new_lock(target)
    assert first._contend("old", {"pid": 1, "host": "elsewhere"}, 600.0) is None  # both saw the stale row
    lost = second._contend("old", {"pid": 1, "host": "elsewhere"}, 600.0)  # its UPDATE matches nothing now
    assert lost is not None and f"pid {first.info['pid']}" in lost and not second.held
    first.release()


def test_the_holder_keeps_its_heartbeat_fresh(target: Target) -> None:
    lock = new_lock(target, heartbeat_seconds=0.2)
    assert lock.try_acquire() is None
    before = lock_row(target)[2]
    time.sleep(1.0)
    assert lock_row(target)[2] > before
    lock.release()
