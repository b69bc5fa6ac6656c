"""Nodes as dbt templates see them: `model`, `node` in generate_*_name, and `graph` (dbt's flat graph).

A NodeView is a dict with attribute access, so `model.config.materialized`, `node.resource_type`
and `graph.nodes.values()` all read as in dbt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any


class NodeView(dict):  # type: ignore[type-arg]
    """A dict whose keys read as attributes too (dbt passes node objects; packages use both forms)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _view(value: Any) -> Any:
    if isinstance(value, Mapping) and not isinstance(value, NodeView):
        return NodeView({k: _view(v) for k, v in value.items()})
    return value


def node_view(node: Any, package: str, relation: tuple[str | None, str | None, str | None] | None = None,
              config: Mapping[str, Any] | None = None) -> NodeView:
    """One model, seed, test or source in dbt's shape (the fields packages read)."""
    config = dict(config if config is not None else getattr(node, "config", {}) or {})
    config.setdefault("materialized", getattr(node, "materialized", None))
    config.setdefault("enabled", True)
    database, schema, identifier = relation or (None, None, None)
    rel = getattr(node, "relation", None)
    if relation is None and rel is not None:
        database, schema, identifier = rel.database, rel.schema, rel.identifier
    path = str(getattr(node, "path", "") or "")
    parts = PurePosixPath(path).parts
    columns = {name: {"name": col.name, "description": col.description, "data_type": col.data_type,
                      "meta": dict(col.meta), "tags": [], "quote": None, "constraints": []}
               for name, col in (getattr(node, "columns", {}) or {}).items()}
    view: dict[str, Any] = {
        "unique_id": node.unique_id, "name": node.name, "resource_type": node.resource_type,
        "package_name": package, "path": "/".join(parts[1:]) if len(parts) > 1 else path,
        "original_file_path": path, "fqn": list(getattr(node, "fqn", []) or [package, node.name]),
        "database": database, "schema": schema, "alias": identifier, "identifier": identifier,
        "config": config, "tags": list(config.get("tags") or []) if not isinstance(config.get("tags"), str)
        else [config["tags"]], "meta": dict(config.get("meta") or {}),
        "description": getattr(node, "description", "") or "", "columns": columns,
        "raw_code": getattr(node, "raw_code", "") or "", "raw_sql": getattr(node, "raw_code", "") or "",
        "language": getattr(node, "language", "sql"),
        "refs": [{"name": r, "package": None, "version": None} for r in getattr(node, "refs", []) or []],
        "sources": [list(s) for s in getattr(node, "sources", []) or []],
        "depends_on": {"nodes": list(getattr(node, "depends_on", []) or []), "macros": []},
        "checksum": {"name": "sha256", "checksum": getattr(node, "checksum", "")},
        "patch_path": getattr(node, "patch_path", None), "version": config.get("version"),
        "latest_version": None, "unrendered_config": {}, "docs": dict(config.get("docs") or {"show": True}),
    }
    if node.resource_type == "source":
        meta = getattr(node, "source_meta", {}) or {}
        source_name, _, table = node.name.partition(".")
        view.update(source_name=source_name, name=table or node.name, identifier=identifier,
                    loaded_at_field=meta.get("loaded_at_field"), freshness=meta.get("freshness"),
                    source_description="", quoting=dict(meta.get("quoting") or {}))
    view["relation_name"] = ".".join(p for p in (database, schema, identifier) if p) if identifier else None
    return _view(view)  # type: ignore[no-any-return]


def graph_view(manifest: Any, package: str,
               parts: Callable[[Any], tuple[str | None, str | None, str | None] | None]) -> NodeView:
    """dbt's flat graph of the whole manifest: nodes (models, seeds, tests) and sources by unique id."""
    nodes: dict[str, Any] = {}
    for uid, node in manifest.nodes.items():
        nodes[uid] = node_view(node, package, parts(node))
    quality = getattr(manifest, "quality", None)
    for uid, test in (getattr(quality, "tests", None) or {}).items():
        nodes[uid] = NodeView({"unique_id": uid, "name": test.name, "resource_type": "test",
                               "package_name": package, "config": dict(test.config or {}),
                               "depends_on": {"nodes": list(test.depends_on), "macros": []},
                               "attached_node": getattr(test, "attached_to", None),
                               "column_name": getattr(test, "column", None),
                               "test_metadata": {"name": test.test_name, "kwargs": dict(test.kwargs or {})}})
    sources = {uid: node_view(src, package, parts(src)) for uid, src in manifest.sources.items()}
    return NodeView({"nodes": nodes, "sources": sources, "exposures": {}, "metrics": {}, "groups": {},
                     "semantic_models": {}, "saved_queries": {}, "unit_tests": {}, "macros": {}})
