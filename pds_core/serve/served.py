"""The snapshots a server is answering from, and the switch-over to newly published ones.

A request takes the current Loaded snapshot of its model ONCE (one dictionary read) and uses it to
the end, so it sees exactly one snapshot. A watcher thread notices a new CURRENT pointer, loads that
snapshot completely (memory map + column indexes) off the request path, and then swaps in a new
dictionary: requests already running keep the snapshot they took, new ones get the new one, and no
request ever waits for or fails because of a switch. A snapshot that fails to load is reported and
the previous one stays in service.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from pds_core.serve.query import Loaded
from pds_core.serve.store import SnapshotStore

log = logging.getLogger("pds.serve")


class Served:
    """The models being served and their current snapshots."""

    def __init__(self, store: SnapshotStore, models: Iterable[str] | None = None, poll: float = 0.5,
                 on_switch: Callable[[str, str], None] | None = None) -> None:
        self.store = store
        self.models = list(models) if models is not None else None  # None: every published model
        self.poll = poll
        self.on_switch = on_switch
        self._current: dict[str, Loaded] = {}  # replaced whole, never changed in place
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()

    def get(self, model: str) -> Loaded | None:
        return self._current.get(model)

    def names(self) -> list[str]:
        return sorted(self._current)

    def refresh(self) -> list[str]:
        """Load every model whose CURRENT changed and switch to it; returns the models switched."""
        with self._refresh_lock:
            switched: list[str] = []
            current = self._current
            updated = dict(current)
            for model in self.models if self.models is not None else self.store.models():
                snapshot = self.store.current_id(model)
                loaded = current.get(model)
                if snapshot is None or (loaded is not None and loaded.info.id == snapshot):
                    continue
                try:
                    info = self.store.info(model, snapshot)
                    updated[model] = Loaded.open(self.store.rows_path(model, snapshot), info)
                except Exception as exc:  # keep serving the previous snapshot; say why
                    log.error("pds serve: could not load snapshot %s of %s (%s: %s); still serving %s", snapshot,
                              model, type(exc).__name__, exc, loaded.info.id if loaded else "nothing")
                    continue
                switched.append(model)
            if switched:
                self._current = updated  # the switch: one reference assignment
                for model in switched:
                    log.info("pds serve: %s now serves snapshot %s (%s rows)", model, updated[model].info.id,
                             f"{updated[model].rows:,}")
                    if self.on_switch is not None:
                        self.on_switch(model, updated[model].info.id)
            return switched

    def start(self) -> None:
        """Load what is published now, then watch for new snapshots every `poll` seconds."""
        self.refresh()
        if self._thread is None and self.poll > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._watch, name="pds-serve-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.refresh()
            except Exception as exc:  # a vanished folder, a permissions problem: report, keep watching
                log.error("pds serve: checking for new snapshots failed: %s: %s", type(exc).__name__, exc)
