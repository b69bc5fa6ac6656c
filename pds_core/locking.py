"""One build at a time per target, so two runs never interleave their swaps and clean-ups.

The locks themselves are the adapters' (pds_adapters.locks: a lock file beside a DuckDB file, a
Postgres advisory lock, a lock table on Snowflake and BigQuery; Adapter.build_lock() picks one). Here is
the policy around them: wait up to --lock-timeout, tell the user who holds the target, and exit 2 with a
hint when it stays taken. An export that writes into another target takes that target's lock too
(lock_target() with that target's adapter).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from pds_adapters.locks import AdvisoryLock as AdvisoryLock
from pds_adapters.locks import BuildLock
from pds_adapters.locks import FileLock as FileLock
from pds_adapters.locks import TableLock as TableLock
from pds_adapters.locks import describe_owner as describe_owner
from pds_adapters.locks import pid_alive as pid_alive
from pds_core.errors import ProjectError

POLL_SECONDS = 0.2


class TargetLocked(ProjectError):
    """Another pds run holds the target's lock (exit 2, like any condition the user must resolve)."""


def lock_for(adapter: Any, info: dict[str, Any]) -> BuildLock | None:
    """The lock that fits the adapter, or None for a target that cannot have one (e.g. DuckDB :memory:)."""
    return adapter.build_lock(info)


def acquire(lock: BuildLock, target: str, timeout: float,
            on_wait: Callable[[str], None] | None = None) -> None:
    """Take the lock, waiting up to `timeout` seconds; TargetLocked names the holder when it cannot."""
    deadline = time.monotonic() + max(0.0, timeout)
    told = False
    while True:
        holder = lock.try_acquire()
        if holder is None:
            return
        if time.monotonic() >= deadline:
            waited = f" after waiting {timeout:g}s" if timeout > 0 else ""
            raise TargetLocked(
                f"target {target!r} is in use by another pds run{waited}: {holder}; {lock.where()}",
                hint="wait for that run to finish, or pass --lock-timeout SECONDS to wait for it"
                if timeout <= 0 else "that run is still going; raise --lock-timeout or check on it")
        if not told and on_wait is not None:
            on_wait(f"Waiting for target {target!r}: in use by {holder} (up to {timeout:g}s)")
            told = True
        poll = getattr(lock, "poll_seconds", POLL_SECONDS)  # a lock table is not asked 5 times a second
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))


def lock_target(adapter: Any, target: str, command: str, invocation_id: str, timeout: float,
                on_wait: Callable[[str], None] | None = None) -> BuildLock | None:
    """Called before a writing command connects: returns the held lock (None if the engine has none)."""
    from pds_core.artifacts import now_iso

    lock = lock_for(adapter, {"command": f"pds {command}", "invocation_id": invocation_id, "started_at": now_iso()})
    if lock is not None:
        acquire(lock, target, timeout, on_wait)
    return lock


@contextlib.contextmanager
def locked(adapter: Any, target: str, command: str, invocation_id: str, timeout: float,
           on_wait: Callable[[str], None] | None = None) -> Iterator[BuildLock | None]:
    """lock_target() as a block, released on the way out: e.g. an export into another target holds
    that target's lock while it writes (`with locked(other_adapter, name, "build", ...):`)."""
    lock = lock_target(adapter, target, command, invocation_id, timeout, on_wait)
    try:
        yield lock
    finally:
        if lock is not None:
            lock.release()


def remove_leftovers(adapter: Any, relations: list[Any], results_schema: str,
                     info: Callable[[str], None]) -> list[str]:
    """Drop staging relations a killed run left in the schemas of the project's relations.

    Only called while the target's lock is held, so they cannot belong to a run still going.
    """
    schemas = sorted({r.schema for r in relations} | {results_schema})
    try:
        dropped = adapter.drop_staging(schemas, {r.key() for r in relations})
    except Exception as exc:  # never worth failing the build over: report and go on
        info(f"Could not look for left-over staging relations: {adapter.redact(str(exc).strip())}")
        return []
    if dropped:
        info(f"Removed {len(dropped)} staging relation{'s' if len(dropped) != 1 else ''} left by an "
             f"interrupted run: {', '.join(dropped)}")
    return dropped
