"""What already stands in the warehouse: the lookup `plan()` decides with, and the run keeps current.

A command that connects hands plan() a Catalog over its adapter; one that does not (compile, ls)
hands it None, and the plan decides nothing that needs the warehouse. The adapter is reached
through a callable, so the warehouse is touched only when a decision needs it: after parsing,
compiling and validating have passed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pds_core.fingerprint_store import FingerprintStore, Recorded, read_freshness
from pds_core.nodes import Manifest


class Catalog:
    """Which relations exist, listed per schema on first need and kept current as nodes are built."""

    def __init__(self, connect: Callable[[], Any], results_schema: str = "pds_results") -> None:
        self._connect = connect
        self._adapter: Any = None
        self.results_schema = results_schema
        self._known: dict[tuple[str, str], str] = {}
        self._schemas: set[str] = set()
        self._lock = threading.Lock()

    @property
    def adapter(self) -> Any:
        """The adapter, connected (and the target locked) by the command on first use."""
        if self._adapter is None:
            self._adapter = self._connect()
        return self._adapter

    @property
    def supports_merge(self) -> bool:
        return bool(getattr(self.adapter, "supports_merge", True))

    def preload(self, schemas: set[str]) -> None:
        missing = sorted({s.lower() for s in schemas} - self._schemas)
        if missing:
            found = self.adapter.list_relations(missing)
            with self._lock:
                self._known.update(found)
                self._schemas.update(missing)

    def get(self, key: tuple[str, str]) -> str | None:
        """'table', 'view' or None for a (schema, name) key, lower-cased."""
        self.preload({key[0]})
        return self._known.get(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self.get(key) is not None  # type: ignore[arg-type]

    def set(self, key: tuple[str, str], kind: str | None) -> None:
        with self._lock:
            if kind is None:
                self._known.pop(key, None)
            else:
                self._known[key] = kind

    def columns(self, relation: Any) -> list[tuple[str, str]]:
        """An existing table's columns with their types (the plan reads them once per node that needs them)."""
        return self.adapter.column_types(relation)

    # ---- what --skip-unchanged compares with ---------------------------------------------------------
    def recorded_fingerprints(self) -> dict[str, Recorded]:
        return FingerprintStore(self.adapter, self.results_schema).read()

    def freshness(self, manifest: Manifest, sources: set[str]) -> dict[str, Any]:
        return read_freshness(self.adapter, manifest, sources)
