"""A command's hold on its warehouse: the build lock, the connection, and Ctrl-C.

The adapter is reached through `connect(target)` (pds_adapters) wherever a command only reads;
a command that writes takes the target's build lock first and connects second, on first need,
so that a project with errors never touches the warehouse and a second run waits at the lock
rather than at the database file. However the command ends, the connection is closed, then the
lock released, then the Ctrl-C handler restored.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any

from pds_adapters import connect
from pds_core.locking import lock_target

__all__ = ["Session", "connect"]


class Session:
    """One command's connection to its target, opened (and locked) on first use."""

    def __init__(self, project: Any, command: str, invocation_id: str, lock_timeout: float = 0.0,
                 reporter: Any = None, adapter: Any = None, lock: bool = True) -> None:
        self.project = project
        self.command = command
        self.invocation_id = invocation_id
        self.lock_timeout = lock_timeout
        self.reporter = reporter
        self._adapter = adapter
        self._wants_lock = lock
        self._lock: Any = None
        self._opened = False
        self.hurry = threading.Event()  # set by a second Ctrl-C: stop waiting for cancelled nodes
        self._previous_handler: Any = None

    @property
    def adapter(self) -> Any:
        """The connected adapter; the first call takes the build lock, then connects."""
        if not self._opened:
            if self._adapter is None:
                from pds_adapters import get_adapter

                self._adapter = get_adapter(self.project.target)
            if self._wants_lock:
                info = self.reporter.info if self.reporter is not None else None
                self._lock = lock_target(self._adapter, self.project.target.name, self.command, self.invocation_id,
                                         self.lock_timeout, info)
            self._opened = True
            self._adapter.open()
        return self._adapter

    @property
    def locked(self) -> bool:
        return self._lock is not None

    @property
    def opened(self) -> bool:
        return self._opened

    def redact(self, text: str) -> str:
        return self._adapter.redact(text) if self._adapter is not None else text

    def on_interrupt(self) -> None:
        """The first Ctrl-C was caught: from now on a second one only hurries the winding down."""
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, lambda *_: self.hurry.set())

    def close(self) -> None:
        """Close the connection, then release the lock (so the next run finds the target free)."""
        try:
            if self._opened and self._adapter is not None:
                with contextlib.suppress(Exception):
                    self._adapter.close()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None
            if self._previous_handler is not None:
                signal.signal(signal.SIGINT, self._previous_handler)
                self._previous_handler = None
            self._opened = False
