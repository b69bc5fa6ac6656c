"""Parse cache: a file is re-rendered and re-parsed only when something it depends on changed.

An entry is keyed by the file's content hash; the whole cache by what every file's rendering
depends on (pds version, project config, vars, target, macros). Entries also remember the
environment variables they read and the is_incremental() answer they were rendered with, and
are used only while those still hold. A cache that cannot be read is simply rebuilt.

A copy of each saved cache goes to the user's shared cache folder under its key (shared_cache.py):
a checkout without target/ (a new clone, a CI job) or a branch whose macros differ reads the cache
this machine last saved for the same key, and its entries are checked file by file as above.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

CACHE_FILE = "pds_cache.pickle"
SHARED_KIND = "parse"  # the shared folder's subfolder
SHARED_KEEP = 32  # parse caches kept there (one per project/branch key, the least recently used dropped)
FORMAT = 2  # 2: renders that read modules.datetime are volatile (entries of 1 may hold a stale now())


def digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


class ParseCache:
    """Cached render results (per file) and compile results (per rendered SQL) of one project."""

    def __init__(self, path: Path | None, key: str, shared: Path | None = None) -> None:
        self.path = path
        self.key = key
        self.shared_path = shared / SHARED_KIND / f"{key}.pickle" if shared is not None else None
        self.origin = ""  # where the entries came from: "target", "shared" or "" (none)
        self.renders: dict[str, dict[str, Any]] = {}
        self.compiled: dict[str, Any] = {}
        self.misc: dict[str, Any] = {}
        self.dirty = False
        if path is not None:
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        try:
            with open(self.path, "rb") as fh:
                data = fh.read()
        except OSError:
            data = None
        if data is not None and self._take(data):
            self.origin = "target"
            return
        if self.shared_path is not None:
            from pds_core import shared_cache

            data = shared_cache.read(self.shared_path)
            if data is not None and self._take(data):
                self.origin = "shared"
                self.dirty = True  # target/ gets its own copy

    def _take(self, raw: bytes) -> bool:
        try:
            data = pickle.loads(raw)
        except (EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError, TypeError, IndexError):
            return False
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != self.key:
            return False
        self.renders, self.compiled, self.misc = data["renders"], data["compiled"], data.get("misc", {})
        return True

    def render_entry(self, path: str, content_hash: str, is_incremental: Any) -> dict[str, Any] | None:
        """The cached render of a file, if its content, env vars and is_incremental answer still hold."""
        entry = self.renders.get(path)
        if entry is None or entry["hash"] != content_hash:
            return None
        if any(os.environ.get(name) != value for name, value in entry.get("env_vars", {}).items()):
            return None
        if entry.get("used_is_incremental") and is_incremental(entry) != entry.get("is_incremental"):
            return None
        return entry

    def put_render(self, path: str, entry: dict[str, Any]) -> None:
        self.renders[path] = entry
        self.dirty = True

    def put_compiled(self, key: str, value: Any) -> None:
        self.compiled[key] = value
        self.dirty = True

    def save(self, keep_paths: set[str] | None = None) -> None:
        """Write atomically; entries for files that no longer exist are dropped."""
        if self.path is None or not self.dirty:
            return
        if keep_paths is not None:
            self.renders = {p: e for p, e in self.renders.items() if p.split("#", 1)[0] in keep_paths}
        data = pickle.dumps({"format": FORMAT, "key": self.key, "renders": self.renders, "compiled": self.compiled,
                             "misc": self.misc}, protocol=pickle.HIGHEST_PROTOCOL)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".pds_cache.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if self.shared_path is not None:
            from pds_core import shared_cache

            shared_cache.write(self.shared_path, data, SHARED_KEEP)
        self.dirty = False
