"""`--state` pointed at a manifest.json that dbt wrote: state:modified by dbt's own comparisons.

A team moving from dbt to pds mid-stream has dbt's production manifest, not pds's fingerprints.
dbt calls a node modified when its file's checksum (sha256 of the file) or its config changed;
pds reads the same two things from dbt's manifest: the checksum of each model and seed (pds
hashes files the same way), and the config keys that change what a node builds. A node dbt's
manifest does not have is new; a source is modified when its relation moved.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_core.nodes import Manifest, Node

COMPARED_CONFIG = ("materialized", "unique_key", "incremental_strategy", "schema", "alias", "database")


@dataclass
class DbtState:
    """What state comparison needs of each node in a dbt manifest."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> DbtState | None:
        """The nodes of folder/manifest.json if dbt wrote it (metadata.dbt_schema_version), else None."""
        try:
            data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        version = str((data.get("metadata") or {}).get("dbt_schema_version") or "")
        if "schemas.getdbt.com/dbt/manifest" not in version:
            return None
        return cls({**(data.get("nodes") or {}), **(data.get("sources") or {})})

    def modified(self, manifest: Manifest, root: Path) -> dict[str, bool | str]:
        """uid -> 'new', True (its file or config changed) or False, for every model, seed and source."""
        out: dict[str, bool | str] = {}
        for uid, node in manifest.all_nodes().items():
            old = self.nodes.get(uid)
            out[uid] = "new" if old is None else _differs(node, old, root)
        return out


def dbt_checksum(node: Node, root: Path) -> dict[str, str]:
    """A node's checksum as dbt computes it: sha256 of the file's text without surrounding whitespace
    (seeds of 1 MiB and more: their path, as dbt does)."""
    if node.resource_type == "seed":
        path = root / node.path
        if path.stat().st_size >= 1024 * 1024:
            return {"name": "path", "checksum": node.path}
        text = path.read_text(encoding="utf-8")
    else:
        text = node.raw_code
    return {"name": "sha256", "checksum": hashlib.sha256(text.strip().encode("utf-8")).hexdigest()}


def _differs(node: Node, old: dict[str, Any], root: Path) -> bool:
    if node.resource_type == "source":
        rel = node.relation
        return rel is None or (str(old.get("schema") or "").lower(), str(old.get("identifier") or "").lower()) != \
            (rel.schema.lower(), rel.identifier.lower())
    if (old.get("checksum") or {}).get("checksum") != dbt_checksum(node, root)["checksum"]:
        return True
    config = old.get("config") or {}
    mine = {**node.config, "materialized": node.materialized}
    return any(_norm(k, mine.get(k)) != _norm(k, config.get(k)) for k in COMPARED_CONFIG)


def _norm(key: str, value: Any) -> Any:
    if key == "unique_key" and isinstance(value, str):
        return [value]
    if key == "unique_key" and isinstance(value, list):
        return list(value) or None
    return value if value not in ("", [], {}) else None
