"""The build lock of Snowflake and BigQuery (a lock table, pds_adapters/locks.py) on their emulators.

fakesnow (Snowflake over DuckDB) and bqemulator (BigQuery's REST API over DuckDB) stand in for the
warehouses: CREATE TABLE without IF NOT EXISTS failing when the table exists, UPDATE ... WHERE and
CURRENT_TIMESTAMP() are what the lock needs, and both emulators run them. Real concurrency between
two clients racing on one warehouse is verified here only as far as the emulators serialize it.
"""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from pds_adapters import adapter_class
from pds_adapters.locks import TableLock
from pds_adapters.target import Target
from pds_core.locking import TargetLocked, acquire

INFO = {"command": "pds build", "started_at": "2024-01-01T00:00:00Z"}


@pytest.fixture(scope="module", params=["snowflake", "bigquery"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    engine = importlib.import_module(f"tests.engine_{request.param}")
    reason = engine.unavailable()
    if reason:
        pytest.skip(f"{request.param}: {reason}")
    with engine.target(f"pds_lock_{uuid.uuid4().hex[:8]}") as settings:
        yield Target("ci", request.param, {k: v for k, v in settings.items() if k != "type"}, threads=1)


def new_lock(target: Target, **kwargs: Any) -> TableLock:
    lock = adapter_class(target.type)(target).build_lock(INFO)
    assert isinstance(lock, TableLock)
    for name, value in kwargs.items():
        setattr(lock, name, value)
    return lock


def test_one_run_holds_the_target_the_next_is_told_who(target: Target) -> None:
    first, second = new_lock(target), new_lock(target)
    try:
        assert first.try_acquire() is None
        with pytest.raises(TargetLocked) as refused:
            acquire(second, "ci", 0)
        message = str(refused.value)
        assert f"pid {first.info['pid']}" in message and "pds build" in message
        assert "lock table" in message and "pds_build_lock" in message
    finally:
        first.release()
    assert second.try_acquire() is None  # released: the next run gets it
    second.release()


def test_a_lock_without_heartbeat_is_taken_over_and_its_old_owner_cannot_drop_it(target: Target) -> None:
    stuck = new_lock(target, heartbeat_seconds=3600)  # a run that stopped beating (killed, hung)
    assert stuck.try_acquire() is None
    # its pid is this live process: only the stale heartbeat lets the next run in
    time.sleep(2.5)
    next_run = new_lock(target, stale_seconds=2)
    try:
        assert next_run.try_acquire() is None and next_run.held
        stuck.release()  # the old owner wakes up: the table is no longer its own, it stays
        third = new_lock(target)
        holder = third.try_acquire()
        third.adapter.close()
        assert holder is not None and f"pid {next_run.info['pid']}" in holder
    finally:
        next_run.release()
