"""The connections of one adapter, apart from what is done with them.

Each thread gets a connection of its own (drivers are not safe to share between threads mid-statement);
a connection the warehouse has ended is replaced on the next use; every statement is counted, overall
and per thread (a node's runner reports its own thread's count); and the statements running right now
are known, so cancel() — called from another thread, typically the main thread on Ctrl-C — can stop
them all. Cancelling is the engine's business (Adapter._cancel_running); this module only knows what
runs where.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

CANCEL_SECONDS = 5.0  # cancel() returns after this even if a warehouse does not answer its cancel request


class Driver(Protocol):
    """What Connections needs from its adapter (the engine-specific half)."""

    def _open_connection(self) -> Any: ...

    def _is_broken(self, conn: Any) -> bool: ...

    def _release(self, conn: Any) -> None: ...

    def _cancel_running(self, conn: Any, handle: Any) -> None: ...


class Connections:
    """Per-thread connections, statement counters and the registry of running statements."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._local = threading.local()
        self._all: list[Any] = []
        self._running: dict[int, tuple[Any, Any]] = {}  # one entry per statement in flight
        self._lock = threading.Lock()
        self.statements = 0

    # ---- one connection per thread -------------------------------------------------------------
    def get(self) -> Any:
        """This thread's connection, opened (or re-opened after the warehouse ended it) when needed."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._driver._is_broken(conn):
            self.discard(conn)
            conn = None
        if conn is None:
            conn = self._driver._open_connection()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def current(self) -> Any | None:
        """This thread's connection if it has one (never opens one)."""
        return getattr(self._local, "conn", None)

    def discard(self, conn: Any) -> None:
        """Forget and close a connection (e.g. one the warehouse ended)."""
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        self._driver._release(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def close_all(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
            self._running.clear()
        for conn in conns:
            self._driver._release(conn)
        self._local = threading.local()

    def opened(self) -> list[Any]:
        with self._lock:
            return list(self._all)

    # ---- counters -------------------------------------------------------------------------------
    def count(self) -> None:
        """Count one statement, overall and for this thread."""
        with self._lock:
            self.statements += 1
        self._local.statements = getattr(self._local, "statements", 0) + 1

    def thread_count(self) -> int:
        return getattr(self._local, "statements", 0)

    # ---- running statements and cancel() --------------------------------------------------------
    @contextlib.contextmanager
    def running(self, conn: Any, handle: Any = None) -> Iterator[None]:
        """Mark a statement as in flight on conn while the block runs (handle: e.g. a BigQuery job)."""
        token = object()
        with self._lock:
            self._running[id(token)] = (conn, handle)
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(id(token), None)

    def in_flight(self) -> list[tuple[Any, Any]]:
        with self._lock:
            return list(self._running.values())

    def cancel(self, timeout: float = CANCEL_SECONDS) -> int:
        """Ask the warehouse to stop every statement running now; returns how many were asked.

        Safe to call from any thread. The requests go out in parallel and this returns after `timeout`
        at most, even if a warehouse does not answer. The statements then fail in their own threads,
        which roll their transactions back. The connections stay usable afterwards.
        """
        running = self.in_flight()
        with_handle = {id(conn) for conn, handle in running if handle is not None}
        seen: set[int] = set()
        workers = []
        for conn, handle in running:
            # a handle (a job) names the statement more precisely than its connection: cancel that
            key = id(handle) if handle is not None else id(conn)
            if key in seen or (handle is None and id(conn) in with_handle):
                continue
            seen.add(key)
            worker = threading.Thread(target=self._cancel_one, args=(conn, handle), daemon=True,
                                      name="pds-cancel")
            worker.start()
            workers.append(worker)
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        return len(workers)

    def _cancel_one(self, conn: Any, handle: Any) -> None:
        with contextlib.suppress(Exception):  # the statement may have just ended; cancelling is best effort
            self._driver._cancel_running(conn, handle)
