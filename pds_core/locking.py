"""One build at a time per target, so two runs never interleave their swaps and clean-ups.

An embedded DuckDB file gets a lock file beside it (created with O_EXCL, holding the owner's
pid, host and start time); a warehouse gets a session advisory lock on a hash of the target and
schema, which the server frees by itself when the owner's connection dies. A lock file whose
owner is dead (same host, pid gone or reused) is taken over, so a killed build never needs
manual clean-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pds_core.errors import ProjectError

POLL_SECONDS = 0.2


class TargetLocked(ProjectError):
    """Another pds run holds the target's lock (exit 2, like any condition the user must resolve)."""


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


def describe_owner(info: dict[str, Any]) -> str:
    return (f"{info.get('command', 'pds')} (pid {info.get('pid')} on {info.get('host')}, "
            f"started {info.get('started_at')})")


class FileLock:
    """A lock file next to the database file; its content says who holds it."""

    def __init__(self, path: Path, info: dict[str, Any]) -> None:
        self.path = path
        self.info = {**info, "pid": os.getpid(), "host": socket.gethostname(),
                     "proc_start": _proc_start(os.getpid()), "token": uuid.uuid4().hex}
        self.held = False

    def try_acquire(self) -> str | None:
        """Take the lock; returns None when taken, else who holds it."""
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = self._read()
            if owner is None:  # vanished, or written by an older / broken run: look again
                return self._retry_or_describe(owner)
            if owner.get("host") == self.info["host"] and not pid_alive(int(owner.get("pid") or 0),
                                                                       owner.get("proc_start")):
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
    """A warehouse session lock (e.g. Postgres pg_try_advisory_lock) on a key derived from the target."""

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


def lock_for(adapter: Any, info: dict[str, Any]) -> FileLock | AdvisoryLock | None:
    """The lock that fits the adapter, or None for an engine without one (documented in docs/guarantees.md)."""
    path = adapter.lock_file()
    if path is not None:
        return FileLock(Path(path), info)
    if getattr(adapter, "supports_advisory_lock", False):
        return AdvisoryLock(adapter, f"pds:{adapter.lock_name()}")
    return None


def acquire(lock: FileLock | AdvisoryLock, target: str, timeout: float,
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
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def lock_target(adapter: Any, target: str, command: str, invocation_id: str, timeout: float,
                on_wait: Callable[[str], None] | None = None) -> FileLock | AdvisoryLock | None:
    """Called before a writing command connects: returns the held lock (None if the engine has none)."""
    from pds_core.artifacts import now_iso

    lock = lock_for(adapter, {"command": f"pds {command}", "invocation_id": invocation_id, "started_at": now_iso()})
    if lock is not None:
        acquire(lock, target, timeout, on_wait)
    return lock


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
