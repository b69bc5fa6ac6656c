"""Build locks: one build at a time per target, so two runs never interleave their swaps and clean-ups.

Each engine has the kind that fits it (Adapter.lock_kind; Adapter.build_lock() makes one):

- "file" (DuckDB): a lock file beside the database file, created with O_EXCL and holding the owner's
  pid, host and start time. A file whose owner is dead (same host, pid gone or reused) is taken over.
- "advisory" (Postgres): pg_try_advisory_lock on a hash of the target and schema, on a session of its
  own; the server frees it by itself when that session ends, however the process died.
- "table" (Snowflake, BigQuery: neither has a session lock a client can take): a one-row table
  pds_build_lock in the target's schema, made with CREATE TABLE ... AS — without IF NOT EXISTS, so of
  two runs creating it at once exactly one succeeds. The row says who holds it; the holder refreshes its
  heartbeat (warehouse time) every HEARTBEAT_SECONDS from a thread. A lock whose owner is dead (same
  host, pid gone) or whose heartbeat is older than STALE_SECONDS is taken over with one
  UPDATE ... WHERE token = <the dead owner's token>: if two runs try at once, only the first UPDATE
  matches, and each reads the token back to know whether it won. Released by dropping the table.

try_acquire() returns None when the lock is taken, else who holds it; pds_core.locking waits and
reports. The classes know nothing of pds_core.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pds_adapters import statements as st
from pds_adapters.relation import Relation

if TYPE_CHECKING:  # sqlglot loads when a statement is first built, not with the adapter class (lazy.py)
    from sqlglot import exp
else:
    from pds_adapters.lazy import exp

LOCK_TABLE = "pds_build_lock"
STALE_SECONDS = 300.0  # a table lock without a heartbeat for this long belongs to a run that died
HEARTBEAT_SECONDS = 30.0


class BuildLock(Protocol):
    held: bool

    def try_acquire(self) -> str | None: ...

    def release(self) -> None: ...

    def where(self) -> str: ...


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of a process (Linux), to tell a live owner from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return None if fields[0] == "Z" else fields[19]  # state, then starttime is field 22
    except (OSError, IndexError):
        return None


def pid_alive(pid: int, proc_start: str | None = None) -> bool:
    """True while the process runs (a zombie or a different process under the same pid counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    if os.path.exists("/proc/self/stat"):
        now = _proc_start(pid)
        return now is not None and (proc_start is None or now == proc_start)
    return True


def owner_info(info: dict[str, Any]) -> dict[str, Any]:
    """What a lock records about its holder: the caller's info plus this process and a unique token."""
    return {**info, "pid": os.getpid(), "host": socket.gethostname(), "proc_start": _proc_start(os.getpid()),
            "token": uuid.uuid4().hex}


def describe_owner(info: dict[str, Any]) -> str:
    return (f"{info.get('command', 'pds')} (pid {info.get('pid')} on {info.get('host')}, "
            f"started {info.get('started_at')})")


def owner_is_dead(info: dict[str, Any]) -> bool:
    """Only an owner on this host can be checked; elsewhere it counts as alive."""
    return info.get("host") == socket.gethostname() and not pid_alive(int(info.get("pid") or 0),
                                                                       info.get("proc_start"))


class FileLock:
    """A lock file next to the database file; its content says who holds it."""

    def __init__(self, path: Path, info: dict[str, Any]) -> None:
        self.path = path
        self.info = owner_info(info)
        self.held = False

    def try_acquire(self) -> str | None:
        """Take the lock; returns None when taken, else who holds it."""
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = self._read()
            if owner is None:  # vanished, or written by an older / broken run: look again
                return self._retry_or_describe(owner)
            if owner_is_dead(owner):
                self._break(owner)
                return self.try_acquire()
            return describe_owner(owner)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.info, fh)
        self.held = True
        return None

    def _retry_or_describe(self, owner: dict[str, Any] | None) -> str | None:
        if not self.path.exists():
            return self.try_acquire()
        age = time.time() - self.path.stat().st_mtime
        if age > 5:  # an owner writes its content right after creating the file: this one never will
            self._break(owner)
            return self.try_acquire()
        return f"a pds run that is starting (lock file {self.path})"

    def _read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _break(self, stale: dict[str, Any] | None) -> None:
        """Remove a dead owner's file, but only if it is still that owner's (rename, then check)."""
        aside = self.path.with_name(f"{self.path.name}.stale-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        try:
            content = json.loads(aside.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            content = None
        if stale is not None and content != stale:  # a live owner took it meanwhile: put it back
            with contextlib.suppress(OSError):
                os.link(aside, self.path)
        aside.unlink(missing_ok=True)

    def release(self) -> None:
        if self.held and (self._read() or {}).get("token") == self.info["token"]:
            self.path.unlink(missing_ok=True)
        self.held = False

    def where(self) -> str:
        return f"lock file {self.path}"


class AdvisoryLock:
    """A warehouse session lock (Postgres pg_try_advisory_lock) on a key derived from the target."""

    def __init__(self, adapter: Any, name: str) -> None:
        self.adapter = adapter
        self.name = name
        self.key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        self.held = False

    def try_acquire(self) -> str | None:
        if self.adapter.try_advisory_lock(self.key):
            self.held = True
            return None
        return self.adapter.advisory_lock_holder(self.key) or "another session"

    def release(self) -> None:
        if self.held:
            self.adapter.advisory_unlock(self.key)
        self.held = False

    def where(self) -> str:
        return f"advisory lock {self.key} ({self.name})"


class TableLock:
    """The lock table pds_build_lock in the target's schema (see the module docstring).

    `adapter` is an adapter of its own for the target (Adapter.build_lock makes one), so the lock's
    statements never share a session with the build and cancel() of the build never touches them.
    """

    poll_seconds = 2.0  # while waiting for it: every try is a statement in the warehouse

    def __init__(self, adapter: Any, info: dict[str, Any], stale_seconds: float = STALE_SECONDS,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self.adapter = adapter
        self.info = owner_info(info)
        self.stale_seconds = stale_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.relation = Relation(adapter.target.schema, LOCK_TABLE)
        self.held = False
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    @property
    def token(self) -> str:
        return str(self.info["token"])

    def try_acquire(self) -> str | None:
        self.adapter.ensure_schema(self.relation.schema)
        row = exp.select(exp.Literal.string(self.token).as_("lock_token"),
                         exp.Literal.string(json.dumps(self.info)).as_("lock_owner"),
                         exp.CurrentTimestamp().as_("heartbeat_at"))
        try:
            self.adapter.execute(st.create_table_as(self.adapter.table(self.relation), row))
        except Exception:
            found = self._read()
            if found is None:  # the table is not there: the CREATE failed for another reason
                raise
            return self._contend(*found)
        return self._won()

    def _contend(self, token: str | None, owner: dict[str, Any], age: float | None) -> str | None:
        """The table exists: take it over if its owner is gone, else say who holds it."""
        if token is None:
            return f"an empty lock table {self.where()} (drop it if no pds run is going)"
        if owner_is_dead(owner) or (age is not None and age > self.stale_seconds):
            values = {"lock_token": exp.Literal.string(self.token),
                      "lock_owner": exp.Literal.string(json.dumps(self.info)), "heartbeat_at": exp.CurrentTimestamp()}
            self.adapter.execute(exp.update(self.adapter.table(self.relation), values,
                                            where=exp.column("lock_token").eq(exp.Literal.string(token))))
            now = self._read()
            if now is not None and now[0] == self.token:
                return self._won()
            return describe_owner(now[1]) if now is not None else self.try_acquire()
        since = f", last heartbeat {age:.0f}s ago" if age is not None else ""
        return describe_owner(owner) + since

    def _won(self) -> None:
        self.held = True
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="pds-lock-heartbeat")
        self._beat.start()
        return None

    def _read(self) -> tuple[str | None, dict[str, Any], float | None] | None:
        """(token, owner, seconds since the heartbeat) of the lock table; None if it does not exist."""
        query = exp.select("lock_token", "lock_owner", "heartbeat_at", exp.CurrentTimestamp().as_("now_at")) \
            .from_(self.adapter.table(self.relation))
        try:
            _cols, rows = self.adapter.fetch(query)
        except Exception:
            if self.adapter.relation_kind(self.relation) is None:
                return None
            raise
        if not rows:
            return None, {}, None
        token, owner, beat, now = rows[0]
        try:
            info = json.loads(owner) if isinstance(owner, str) else {}
        except ValueError:
            info = {}
        return str(token), info if isinstance(info, dict) else {}, _seconds_between(beat, now)

    def _heartbeat(self) -> None:
        update = exp.update(self.adapter.table(self.relation), {"heartbeat_at": exp.CurrentTimestamp()},
                            where=exp.column("lock_token").eq(exp.Literal.string(self.token)))
        while not self._stop.wait(self.heartbeat_seconds):
            with contextlib.suppress(Exception):  # a missed beat only matters after STALE_SECONDS of them
                self.adapter.execute(update)

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=10)
            self._beat = None
        try:
            if self.held:
                found = self._read()
                if found is not None and found[0] == self.token:
                    self.adapter.execute(st.drop(self.adapter.table(self.relation)))
        finally:
            self.held = False
            self.adapter.close()

    def where(self) -> str:
        return f"lock table {self.relation}"


def _seconds_between(start: Any, end: Any) -> float | None:
    if not isinstance(start, dt.datetime) or not isinstance(end, dt.datetime):
        return None
    if (start.tzinfo is None) != (end.tzinfo is None):  # compare wall clocks if only one side has a zone
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    return (end - start).total_seconds()
