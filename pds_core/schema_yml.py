"""Schema YAML (models/**/*.yml): descriptions, columns, tests and config of models, seeds and sources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_core.config import check_keys, validate_node_config
from pds_core.errors import ProjectError
from pds_core.nodes import Column, Node, Relation
from pds_core.not_acted_on import warn_not_acted_on
from pds_core.yamlio import LineDict, load_yaml_file

TOP_KEYS = {k: (list,) for k in ("models", "seeds", "sources", "unit_tests", "exposures", "macros", "metrics",
                                  "snapshots")}
TOP_KEYS["version"] = (int, str)
ENTRY_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "description": (str,), "config": (dict,), "columns": (list,), "tests": (list,),
    "data_tests": (list,), "metrics": (list,), "exports": (list,), "docs": (dict,), "meta": (dict,),
    "unit_tests": (list,), "access": (str,), "latest_version": (int,), "versions": (list,),
}
COLUMN_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "description": (str,), "data_type": (str,), "tests": (list,), "data_tests": (list,),
    "meta": (dict,), "quote": (bool,), "constraints": (list,), "tags": (list,), "metrics": (list,),
}
SOURCE_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "description": (str,), "database": (str,), "schema": (str,), "tables": (list,),
    "loader": (str,), "loaded_at_field": (str,), "freshness": (dict,), "quoting": (dict,), "meta": (dict,),
    "tags": (list,), "config": (dict,), "overrides": (str,),
}
SOURCE_TABLE_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "description": (str,), "identifier": (str,), "columns": (list,), "tests": (list,),
    "data_tests": (list,), "loaded_at_field": (str,), "freshness": (dict,), "quoting": (dict,), "meta": (dict,),
    "tags": (list,), "config": (dict,), "external": (dict,), "metrics": (list,),
}


@dataclass
class Properties:
    """One model's or seed's entry in schema YAML, with where it was written."""

    entry: dict[str, Any]
    path: str
    line: int | None


@dataclass
class SchemaFiles:
    """Everything the project's schema YAML declares."""

    models: dict[str, Properties] = field(default_factory=dict)
    seeds: dict[str, Properties] = field(default_factory=dict)
    sources: dict[str, Node] = field(default_factory=dict)
    unit_tests: list[Properties] = field(default_factory=list)
    snapshots: list[Properties] = field(default_factory=list)  # read by pds_core/snapshots/parser.py


def read_schema_files(root: Path, paths: list[str], project: str, default_schema: str,
                      default_database: str | None, load: Callable[[str], Any] | None = None) -> SchemaFiles:
    result = SchemaFiles()
    for path in paths:
        data = load(path) if load is not None else load_yaml_file(root / path, path)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ProjectError("a schema file must be a mapping with keys such as models:, seeds:, sources:", path, 1)
        check_keys(data, TOP_KEYS, path, "a schema file")
        warn_not_acted_on(data, path, "a schema file", kind="schema file")
        for kind, target in (("models", result.models), ("seeds", result.seeds)):
            for entry, line in _entries(data, kind, path):
                check_keys(entry, ENTRY_KEYS, path, f"{kind[:-1]} {entry['name']!r}")
                warn_not_acted_on(entry, path, f"{kind[:-1]} {entry['name']!r}", kind="model entry")
                if entry["name"] in target:
                    other = target[entry["name"]]
                    raise ProjectError(f"{kind[:-1]} {entry['name']!r} is described twice: {other.path}:{other.line} "
                                       f"and here", path, line, hint="merge the two entries")
                if isinstance(entry.get("config"), dict):
                    validate_node_config(entry["config"], path, f"config of {entry['name']!r}")
                    warn_not_acted_on(entry["config"], path, f"config of {entry['name']!r}")
                for col in entry.get("columns") or []:
                    if not isinstance(col, dict) or not col.get("name"):
                        raise ProjectError("each column needs a 'name:'", path, getattr(col, "line", line),
                                           hint="write each column as `- name: column_name`")
                    check_keys(col, COLUMN_KEYS, path, f"column {col['name']!r}")
                    warn_not_acted_on(col, path, f"column {col['name']!r}", kind="column")
                target[entry["name"]] = Properties(entry, path, line)
        for entry, line in _entries(data, "sources", path):
            for node in _source_nodes(entry, line, path, project, default_schema, default_database):
                if node.unique_id in result.sources:
                    raise ProjectError(f"source {node.name!r} is declared twice", path, line)
                result.sources[node.unique_id] = node
        for entry, line in _entries(data, "unit_tests", path):
            result.unit_tests.append(Properties(entry, path, line))
        for entry, line in _entries(data, "snapshots", path):
            result.snapshots.append(Properties(entry, path, line))
    return result


def _entries(data: LineDict, kind: str, path: str) -> list[tuple[LineDict, int | None]]:
    items = data.get(kind) or []
    out = []
    for i, entry in enumerate(items):
        line = items.line_of(i) if hasattr(items, "line_of") else None
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ProjectError(f"each entry under {kind}: needs a 'name:'", path, line,
                               hint=f"start each entry with `- name: ...` naming the {kind[:-1]}")
        out.append((entry, line))
    return out


def columns_of(entry: dict[str, Any]) -> dict[str, Column]:
    cols: dict[str, Column] = {}
    items = entry.get("columns") or []
    for i, col in enumerate(items):
        cols[col["name"]] = Column(
            name=col["name"], description=col.get("description") or "", data_type=col.get("data_type"),
            tests=list(col.get("data_tests") or col.get("tests") or []), meta=dict(col.get("meta") or {}),
            line=items.line_of(i) if hasattr(items, "line_of") else None)
    return cols


def _source_nodes(entry: LineDict, line: int | None, path: str, project: str, default_schema: str,
                  default_database: str | None) -> list[Node]:
    check_keys(entry, SOURCE_KEYS, path, f"source {entry['name']!r}")
    warn_not_acted_on(entry, path, f"source {entry['name']!r}", kind="source")
    nodes = []
    tables = entry.get("tables") or []
    for i, table in enumerate(tables):
        tline = tables.line_of(i)
        if not isinstance(table, dict) or not table.get("name"):
            raise ProjectError("each source table needs a 'name:'", path, tline)
        check_keys(table, SOURCE_TABLE_KEYS, path, f"source table {table['name']!r}")
        warn_not_acted_on(table, path, f"source table {table['name']!r}", kind="source table")
        for col in table.get("columns") or []:
            if isinstance(col, dict):
                warn_not_acted_on(col, path, f"column {col.get('name')!r}", kind="column")
        quoting = {**(entry.get("quoting") or {}), **(table.get("quoting") or {})}
        name = f"{entry['name']}.{table['name']}"
        nodes.append(Node(
            unique_id=f"source.{project}.{name}", resource_type="source", name=name, path=path,
            language="yaml", fqn=[project, entry["name"], table["name"]],
            relation=Relation(schema=entry.get("schema") or entry["name"],
                              identifier=table.get("identifier") or table["name"],
                              database=entry.get("database") or default_database),
            description=table.get("description") or entry.get("description") or "",
            columns=columns_of(table), tests=list(table.get("data_tests") or table.get("tests") or []),
            patch_path=path, patch_line=tline,
            config={"tags": list(entry.get("tags") or []) + list(table.get("tags") or [])},
            source_meta={
                "source_name": entry["name"], "table_name": table["name"], "quoting": quoting,
                "loaded_at_field": table.get("loaded_at_field") or entry.get("loaded_at_field"),
                "freshness": table.get("freshness") or entry.get("freshness"),
                "metrics": list(table.get("metrics") or []),
            },
        ))
    return nodes
