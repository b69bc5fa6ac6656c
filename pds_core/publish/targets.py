"""The other targets exports write to (table exports into another profiles.yml target): each one
connected once per run, its schemas created once, all closed at the run's end."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

from pds_core.errors import ProjectError
from pds_core.loader import Project


class TargetPool:
    """Adapters of the other targets exports write to, opened once per run and closed at its end."""

    def __init__(self, project: Project, main_adapter: Any, invocation_id: str = "", lock_timeout: float = 0.0) -> None:
        self.project = project
        self.main = main_adapter
        self.invocation_id = invocation_id
        self.lock_timeout = lock_timeout
        self._adapters: dict[str, Any] = {}
        self._open_ones = contextlib.ExitStack()  # each target's connect(), exited in close()
        self._schemas: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        with self._lock:
            return self.get_locked(name)

    def _open(self, name: str) -> Any:
        from pds_adapters import get_adapter
        from pds_core.locking import locked
        from pds_core.profiles import load_target

        project = self.project
        shown = project.target.profile_path
        if shown is None:
            raise ProjectError(f"an export writes to target {name!r}, but the project has no profiles.yml",
                               hint="add profiles.yml with that target (see docs/publish.md)")
        folder = project.root if Path(shown).name == shown else Path(shown).parent
        # the profile rendered as the build's own target is (env_var(), --vars), with the same project file
        target = load_target(project.root, project.config.profile, name, folder, project.cli_vars, project.config.file)
        path = str(target.settings.get("path") or "")
        if target.type == "duckdb" and path and path != ":memory:" and not path.startswith("md:") \
                and not os.path.isabs(path):
            target.settings["path"] = str(project.root / path)
        adapter = get_adapter(target)
        if _lock_place(adapter) != _lock_place(self.main):  # another warehouse: hold its build lock while writing
            self._open_ones.enter_context(locked(adapter, name, "export", self.invocation_id, self.lock_timeout))
        adapter.open()
        self._open_ones.callback(adapter.close)  # closed before that lock is released
        return adapter

    def ensure_schema(self, name: str, schema: str) -> None:
        """Create a schema once per run: exports running in parallel must not race to create it."""
        with self._lock:
            if (name, schema.lower()) not in self._schemas:
                self.get_locked(name).ensure_schema(schema)
                self._schemas.add((name, schema.lower()))

    def get_locked(self, name: str) -> Any:
        if name == self.project.target.name:
            return self.main
        if name not in self._adapters:
            self._adapters[name] = self._open(name)
        return self._adapters[name]

    def close(self) -> None:
        with self._lock:
            self._adapters.clear()
            self._open_ones.close()


def _lock_place(adapter: Any) -> str | None:
    """Where an adapter's build lock lives (a file, an advisory key, a table), to tell two targets apart."""
    lock = adapter.build_lock({})
    return lock.where() if lock is not None else None
