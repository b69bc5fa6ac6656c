"""Fingerprints and state: what changed since the last build, and what can be skipped safely.

A node's own fingerprint hashes what defines it (canonical SQL without comments or layout,
the Python source's AST, a seed's bytes, the config keys that change data, its relation);
its full fingerprint adds its parents' full fingerprints. `state:modified` compares own
fingerprints with a saved manifest; `--skip-unchanged` compares full fingerprints with the
ones recorded in the warehouse when each relation was built.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from pds_core.cache import digest
from pds_core.compiler import CompiledNode
from pds_core.nodes import Manifest, Node
from pds_core.not_acted_on import acted_on

# the config keys that change what a node builds; a key pds does not act on yet (not_acted_on.NOT_ACTED_ON)
# changes nothing, so it counts only from the day it does
SEMANTIC_CONFIG = acted_on(("materialized", "unique_key", "incremental_strategy", "column_types", "delimiter",
                            "alias", "schema", "database", "contract", "on_schema_change", "pre_hook", "post_hook",
                            "quote_columns", "grants", "persist_docs", "packages", "location", "format",
                            "options", "partition_by"))
STATE_DIR = "state"
COLUMNS_FILE = "columns.json"  # the columns each Python model returned on its last build (record.py)


@dataclass(frozen=True)
class Fingerprint:
    own: str
    full: str


def own_fingerprint(node: Node, compiled: CompiledNode | None, target_type: str, render_context: str = "",
                    variables: dict[str, Any] | None = None) -> str:
    variables = variables or {}
    config = {k: node.config.get(k) for k in SEMANTIC_CONFIG if node.config.get(k) is not None}
    if node.constraints or any(c.constraints for c in node.columns.values()):  # the DDL of a contract table
        config["constraints"] = [node.constraints, {c.name: c.constraints for c in node.columns.values()}]
    if node.config.get("persist_docs"):  # the comments written on the relation
        config["descriptions"] = [node.description, {c.name: c.description for c in node.columns.values()}]
    if node.resource_type == "source":
        body: Any = (node.source_meta.get("loaded_at_field"), node.source_meta.get("quoting"),
                     node.relation.external if node.relation is not None else None)
    elif node.resource_type == "seed":
        body = node.checksum
    elif node.language == "python":
        names = sorted(variables) if node.vars_used is None else sorted(set(node.vars_used))
        body = (ast.dump(ast.parse(node.raw_code)), json.dumps({n: variables.get(n) for n in names}, default=str))
    elif node.uses_is_incremental:
        body = (node.raw_code, render_context)  # the template: its rendering depends on whether the table exists
    else:
        body = compiled.canonical if compiled is not None else node.rendered
    return digest(node.resource_type, str(node.relation), target_type, json.dumps(config, sort_keys=True,
                                                                                   default=str), body)


def compute_fingerprints(manifest: Manifest, graph: nx.DiGraph, compiled: dict[str, CompiledNode],
                         target_type: str, render_context: str = "",
                         variables: dict[str, Any] | None = None) -> dict[str, Fingerprint]:
    """Own and full fingerprints of every node; render_context covers what templates depend on (vars, macros)."""
    nodes = manifest.all_nodes()
    result: dict[str, Fingerprint] = {}
    for uid in nx.topological_sort(graph):
        node = nodes[uid]
        own = own_fingerprint(node, compiled.get(uid), target_type, render_context, variables)
        parents = sorted(result[p].full for p in graph.predecessors(uid))
        result[uid] = Fingerprint(own, digest(own, *parents))
    return result


@dataclass
class SavedState:
    """The fingerprints of a previous build, read from a manifest.json."""

    fingerprints: dict[str, Fingerprint] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> SavedState | None:
        path = folder / "manifest.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        fps = {}
        for uid, node in {**data.get("nodes", {}), **data.get("sources", {})}.items():
            fp = node.get("fingerprint")
            if isinstance(fp, dict) and "own" in fp and "full" in fp:
                fps[uid] = Fingerprint(fp["own"], fp["full"])
        return cls(fps)

    def modified(self, current: dict[str, Fingerprint]) -> dict[str, bool | str]:
        """uid -> 'new', True (its own definition changed) or False."""
        out: dict[str, bool | str] = {}
        for uid, fp in current.items():
            old = self.fingerprints.get(uid)
            out[uid] = "new" if old is None else old.own != fp.own
        return out


def merged_state(previous: SavedState | None, current: dict[str, Fingerprint], built: set[str]) -> dict[str, Fingerprint]:
    """The fingerprints that match the warehouse after a build: new ones only for what was built."""
    result = dict(previous.fingerprints) if previous else {}
    for uid in built:
        result[uid] = current[uid]
    return result


def read_built_columns(folder: Path) -> dict[str, list[str]]:
    """What each Python model returned on its last build (target/state/columns.json), or nothing."""
    try:
        data = json.loads((folder / COLUMNS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(uid): [str(c) for c in cols] for uid, cols in data.items() if isinstance(cols, list)}
