"""Schema YAML (models/**/*.yml) as dbt reads it: descriptions, columns, tests and config of models,
seeds and sources, and the rest of what dbt 1.11 accepts there, kept as plain data.

Snapshots declared in YAML, analyses, macros' properties, exposures, groups and dbt's semantic layer
(semantic_models, saved_queries, metrics) are kept in SchemaFiles for the stages that use them (and in
target/manifest.json); the semantic layer is not executed, which one note says.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_core.config import config_warnings, folder_config, key_errors, merge_config, validate_node_config
from pds_core.dbt_keys import COLUMN_KEYS as DBT_COLUMN_KEYS
from pds_core.dbt_keys import MODEL_ENTRY_KEYS, SCHEMA_TOP_KEYS, SOURCE_TABLE_KEYS, VERSION_KEYS
from pds_core.dbt_keys import SOURCE_KEYS as DBT_SOURCE_KEYS
from pds_core.dbt_project import has_jinja, skip_schema_key
from pds_core.errors import ProjectError, ProjectErrors
from pds_core.external_sources import CONFIG_KEYS as EXTERNAL_CONFIG_KEYS
from pds_core.external_sources import external_location
from pds_core.nodes import Column, Node, Relation
from pds_core.not_acted_on import ProjectWarning, warn_not_acted_on
from pds_core.yamlio import LineDict, load_yaml_file

_ANY = (object,)
TOP_KEYS: dict[str, tuple[type, ...]] = {k: (list,) for k in SCHEMA_TOP_KEYS}
TOP_KEYS["version"] = (int, str)
TOP_KEYS["anchors"] = _ANY
ENTRY_KEYS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(MODEL_ENTRY_KEYS, _ANY), "name": (str,), "description": (str,), "config": (dict,),
    "columns": (list,), "tests": (list,), "data_tests": (list,), "versions": (list,), "docs": (dict,),
    "meta": (dict,), "access": (str,), "latest_version": (int, float, str),
    "metrics": (list,), "exports": (list,), "unit_tests": (list,),  # pds's own, under a model
    "charts": (list,), "serve": (dict, str, bool),  # publish/chart_nodes.py, publish/serving.py
}
COLUMN_KEYS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(DBT_COLUMN_KEYS, _ANY), "name": (str,), "description": (str,), "data_type": (str,),
    "tests": (list,), "data_tests": (list,), "meta": (dict,), "quote": (bool,), "constraints": (list,),
    "tags": (list,), "metrics": (list,),
}
SOURCE_KEYS: dict[str, tuple[type, ...]] = {**dict.fromkeys(DBT_SOURCE_KEYS, _ANY), "name": (str,), "tables": (list,),
                                            "config": (dict,), "tags": (list,), "meta": (dict,), "quoting": (dict,)}
TABLE_KEYS: dict[str, tuple[type, ...]] = {**dict.fromkeys(SOURCE_TABLE_KEYS, _ANY), "name": (str,), "columns": (list,),
                                           "config": (dict,), "tags": (list,), "meta": (dict,), "metrics": (list,)}
VERSION_ENTRY_KEYS: dict[str, tuple[type, ...]] = dict.fromkeys(VERSION_KEYS, _ANY)
# entries dbt keeps whole; their keys are checked by the stages that read them (or by no one: metadata)
KEPT = ("snapshots", "analyses", "macros", "exposures", "groups", "semantic_models", "saved_queries", "metrics",
        "data_tests", "tests", "functions")
SEMANTIC = ("semantic_models", "saved_queries", "metrics")
SEMANTIC_ENTRY_KEYS = ("semantic_model", "agg_time_dimension", "primary_entity", "derived_semantics", "time_spine")
SOURCE_CONFIG_ACTED = ("enabled", "tags", "meta", "freshness", "loaded_at_field", *EXTERNAL_CONFIG_KEYS)


@dataclass
class Properties:
    """One entry of schema YAML, with where it was written."""

    entry: dict[str, Any]
    path: str
    line: int | None
    package: str | None = None  # the project or package whose file it is


@dataclass
class SchemaFiles:
    """Everything the project's schema YAML declares (and its packages')."""

    models: dict[str, Properties] = field(default_factory=dict)
    seeds: dict[str, Properties] = field(default_factory=dict)
    sources: dict[str, Node] = field(default_factory=dict)
    unit_tests: list[Properties] = field(default_factory=list)
    # kept as written, by name: snapshots (the properties of {% snapshot %} files, and snapshots defined
    # in YAML with relation: and config:), analyses, macros, exposures, groups, singular tests' properties
    # (data_tests:), and the semantic layer (semantic_models, saved_queries, metrics)
    kept: dict[str, dict[str, Properties]] = field(default_factory=lambda: {kind: {} for kind in KEPT})
    notes: list[str] = field(default_factory=list)  # said once before a run (the semantic layer's)

    @property
    def snapshots(self) -> list[Properties]:
        """Snapshot entries for the snapshot builder (pds_core/snapshots/parser.py), in file order: YAML-defined
        ones have `relation:` and `config:`; the others describe {% snapshot %} blocks."""
        return list(self.kept["snapshots"].values())

    def to_manifest(self) -> dict[str, Any]:
        """What target/manifest.json keeps of it, under dbt's keys (dbt's metrics as semantic_metrics: pds's
        own metrics are `metrics` there)."""
        keys = {"semantic_models": "semantic_models", "saved_queries": "saved_queries", "metrics": "semantic_metrics",
                "exposures": "exposures", "groups": "groups", "snapshots": "snapshot_properties",
                "analyses": "analysis_properties"}
        return {out: {name: {**p.entry, "package_name": p.package, "original_file_path": p.path}
                      for name, p in self.kept[kind].items()} for kind, out in keys.items() if self.kept[kind]}

    def update(self, other: SchemaFiles) -> None:
        """Add another project's (a package's) declarations; a name described twice is an error."""
        for mine, theirs, kind in ((self.models, other.models, "model"), (self.seeds, other.seeds, "seed"),
                                   *((self.kept[k], other.kept[k], k) for k in KEPT)):
            for name, props in theirs.items():
                if name in mine and kind not in ("macros", "analyses"):
                    raise _twice(kind, name, mine[name], props)
                mine.setdefault(name, props)
        self.sources.update(other.sources)
        self.unit_tests += other.unit_tests
        self.notes = _semantic_note(self.kept)


def _twice(kind: str, name: str, first: Properties, again: Properties) -> ProjectError:
    return ProjectError(f"{kind.rstrip('s')} {name!r} is described twice: {first.path}:{first.line} and here",
                        again.path, again.line, hint="merge the two entries")


def read_schema_files(root: Path, paths: list[str], project: str, default_schema: str,
                      default_database: str | None, load: Callable[[str], Any] | None = None,
                      strict: bool = True, sources_config: dict[str, Any] | None = None,
                      renderer: Any = None) -> SchemaFiles:
    """The schema files of one project (or package); all their errors are reported together.

    `strict`: unknown keys are errors (a pds project) or warnings (a dbt project: dbt keeps them).
    `sources_config`: the project file's sources: block, applied to the sources declared here.
    `renderer`: a dbt_project.ValueRenderer: values with Jinja are rendered as dbt renders schema YAML.
    """
    result = SchemaFiles()
    errors: list[ProjectError] = []
    for path in paths:
        data = load(path) if load is not None else load_yaml_file(root / path, path)
        if data is None:
            continue
        if not isinstance(data, dict):
            errors.append(ProjectError("a schema file must be a mapping with keys such as models:, seeds:, sources:",
                                       path, 1))
            continue
        if renderer is not None and has_jinja(data):
            data = copy.deepcopy(data)  # the parse cache keeps the file as written
            for kind in [k for k in data if isinstance(data.get(k), list)]:
                reader_guard(errors, lambda k=kind, d=data, p=path: renderer.render_tree(d[k], p, skip_schema_key(k), (k,)))
        reader = _Reader(path, project, strict, result, errors)
        reader.check(data, TOP_KEYS, "a schema file")
        warn_not_acted_on(data, path, "a schema file", kind="schema file")
        for kind, target in (("models", result.models), ("seeds", result.seeds)):
            for entry, line in reader.entries(data, kind):
                reader.node_entry(kind, entry, line, target)
        for entry, line in reader.entries(data, "sources"):
            reader.guard(lambda e=entry, n=line, r=reader: _source_nodes(r, e, n, default_schema, default_database,
                                                               sources_config or {}, root))
        for entry, line in reader.entries(data, "unit_tests"):
            result.unit_tests.append(Properties(entry, path, line, project))
        for kind in KEPT:
            for entry, line in reader.entries(data, kind):
                kept = result.kept["data_tests" if kind == "tests" else kind]
                if entry["name"] in kept and kind not in ("macros", "analyses"):
                    errors.append(_twice(kind, entry["name"], kept[entry["name"]], Properties(entry, path, line)))
                kept[entry["name"]] = Properties(entry, path, line, project)
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
    result.notes = _semantic_note(result.kept)
    return result


def reader_guard(errors: list[ProjectError], func: Callable[[], Any]) -> None:
    try:
        func()
    except ProjectError as exc:
        errors.append(exc)


class _Reader:
    """One schema file's checks: errors gathered, warnings given where the key is written."""

    def __init__(self, path: str, project: str, strict: bool, result: SchemaFiles, errors: list[ProjectError]):
        self.path, self.project, self.strict, self.result, self.errors = path, project, strict, result, errors

    def guard(self, func: Callable[[], Any]) -> None:
        try:
            func()
        except ProjectErrors as exc:
            self.errors += exc.errors
        except ProjectError as exc:
            self.errors.append(exc)

    def check(self, data: LineDict, allowed: dict[str, tuple[type, ...]], what: str) -> None:
        """Unknown keys: errors in a pds project, warnings in a dbt project (dbt keeps them)."""
        for error in key_errors(data, allowed, self.path, what):
            if self.strict or not error.message.startswith("unknown key"):
                self.errors.append(error)
            else:
                warnings.warn(ProjectWarning(f"{error.message}: neither dbt nor pds reads it", self.path,
                                             error.location.line, hint=error.hint), stacklevel=3)

    def entries(self, data: LineDict, kind: str) -> list[tuple[LineDict, int | None]]:
        items = data.get(kind) or []
        out = []
        for i, entry in enumerate(items if isinstance(items, list) else []):
            line = items.line_of(i) if hasattr(items, "line_of") else None
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                self.errors.append(ProjectError(f"each entry under {kind}: needs a 'name:'", self.path, line,
                                                hint=f"start each entry with `- name: ...` naming the {kind.rstrip('s')}"))
                continue
            out.append((entry, line))
        return out

    def node_entry(self, kind: str, entry: LineDict, line: int | None, target: dict[str, Properties]) -> None:
        """A model's or seed's entry: its keys, config, columns and versions checked."""
        what = f"{kind[:-1]} {entry['name']!r}"
        self.check(entry, ENTRY_KEYS, what)
        warn_not_acted_on(entry, self.path, what, kind="model entry")
        if entry["name"] in target:
            self.errors.append(_twice(kind[:-1], entry["name"], target[entry["name"]], Properties(entry, self.path, line)))
            return
        self.config(entry, f"config of {entry['name']!r}")
        self.columns(entry)
        for i, version in enumerate(entry.get("versions") or []):
            vline = entry["versions"].line_of(i) if hasattr(entry["versions"], "line_of") else line
            if not isinstance(version, dict) or "v" not in version:
                self.errors.append(ProjectError(f"each version of {what} needs a v:", self.path, vline,
                                                hint="e.g. versions: [{v: 1}, {v: 2}]"))
                continue
            self.check(version, VERSION_ENTRY_KEYS, f"version {version['v']} of {what}")
            self.config(version, f"config of version {version['v']} of {entry['name']!r}")
            self.columns(version)
        target[entry["name"]] = Properties(entry, self.path, line, self.project)

    def config(self, entry: LineDict, what: str) -> None:
        if isinstance(entry.get("config"), dict):
            self.guard(lambda: validate_node_config(entry["config"], self.path, what, self.strict))
            config_warnings(entry["config"], self.path, what, self.strict)

    def columns(self, entry: LineDict) -> None:
        for col in entry.get("columns") or []:
            if not isinstance(col, dict) or not col.get("name"):
                self.errors.append(ProjectError("each column needs a 'name:'", self.path,
                                                getattr(col, "line", None) or getattr(entry, "line", None),
                                                hint="write each column as `- name: column_name`"))
                continue
            if "include" in col:  # a version's columns: `- include: all`, `exclude: [...]`
                continue
            self.check(col, COLUMN_KEYS, f"column {col['name']!r}")
            warn_not_acted_on(col, self.path, f"column {col['name']!r}", kind="column")


def seed_properties(schema: SchemaFiles, name: str) -> Properties | None:
    """A seed's entry; one under models: instead is a warning, as in dbt, and its columns and tests still
    apply (its description does not, as in dbt)."""
    if name in schema.seeds or name not in schema.models:
        return schema.seeds.get(name)
    props = schema.models[name]
    warnings.warn(ProjectWarning(f"{name!r} is a seed, but it is described under models:", props.path, props.line,
                                 hint=f"move the {name!r} entry under seeds:"), stacklevel=2)
    entry = {k: v for k, v in props.entry.items() if k != "description"}
    return Properties(entry, props.path, props.line, props.package)


def columns_of(entry: dict[str, Any]) -> dict[str, Column]:
    cols: dict[str, Column] = {}
    items = entry.get("columns") or []
    for i, col in enumerate(items):
        if "name" not in col:
            continue
        cols[col["name"]] = Column(
            name=col["name"], description=col.get("description") or "", data_type=col.get("data_type"),
            tests=list(col.get("data_tests") or col.get("tests") or []), meta=dict(col.get("meta") or {}),
            line=items.line_of(i) if hasattr(items, "line_of") else None, quote=col.get("quote"),
            constraints=list(col.get("constraints") or []))
    return cols


def _source_nodes(reader: _Reader, entry: LineDict, line: int | None, default_schema: str,
                  default_database: str | None, sources_config: dict[str, Any], root: Path) -> None:
    """A source's tables as nodes; its config: (and the project file's sources: block) applied: enabled,
    tags, meta, freshness, loaded_at_field."""
    path, project = reader.path, reader.project
    reader.check(entry, SOURCE_KEYS, f"source {entry['name']!r}")
    warn_not_acted_on(entry, path, f"source {entry['name']!r}", kind="source")
    _warn_source_config(entry.get("config"), path, f"config of source {entry['name']!r}")
    tables = entry.get("tables") or []
    for i, table in enumerate(tables):
        tline = tables.line_of(i)
        if not isinstance(table, dict) or not table.get("name"):
            raise ProjectError("each source table needs a 'name:'", path, tline)
        reader.check(table, TABLE_KEYS, f"source table {table['name']!r}")
        warn_not_acted_on(table, path, f"source table {table['name']!r}", kind="source table")
        _warn_source_config(table.get("config"), path, f"config of source table {table['name']!r}")
        for col in table.get("columns") or []:
            if isinstance(col, dict):
                warn_not_acted_on(col, path, f"column {col.get('name')!r}", kind="column")
        config = folder_config(sources_config, project, [entry["name"], table["name"]])
        for level in (entry, table):  # the source's own keys, then its table's, each with config: over them
            merge_config(config, {k: level[k] for k in ("tags", "meta", "freshness", "loaded_at_field") if k in level})
            merge_config(config, dict(level.get("config") or {}))
        if config.get("enabled") is False:
            continue
        quoting = {**(entry.get("quoting") or {}), **(table.get("quoting") or {})}
        name = f"{entry['name']}.{table['name']}"
        node = Node(
            unique_id=f"source.{project}.{name}", resource_type="source", name=name, path=path,
            language="yaml", fqn=[project, entry["name"], table["name"]],
            relation=Relation(schema=entry.get("schema") or entry["name"],
                              identifier=table.get("identifier") or table["name"],
                              database=entry.get("database") or default_database,
                              external=external_location(entry, table, root, path, tline)),
            description=table.get("description") or entry.get("description") or "",
            columns=columns_of(table), tests=list(table.get("data_tests") or table.get("tests") or []),
            patch_path=path, patch_line=tline,
            config={"tags": list(config.get("tags") or []), "meta": dict(config.get("meta") or {})},
            source_meta={
                "source_name": entry["name"], "table_name": table["name"], "quoting": quoting,
                "loaded_at_field": config.get("loaded_at_field"), "freshness": config.get("freshness"),
                "metrics": list(table.get("metrics") or []),
            },
        )
        if node.unique_id in reader.result.sources:
            raise ProjectError(f"source {node.name!r} is declared twice", path, tline)
        reader.result.sources[node.unique_id] = node


def _warn_source_config(config: Any, path: str, what: str) -> None:
    if isinstance(config, dict):
        for key in config:
            if key not in SOURCE_CONFIG_ACTED:
                warnings.warn(ProjectWarning(f"{key!r} in {what} is accepted but not acted on yet", path,
                                             config.line_of(key), hint="pds applies enabled, tags, meta, freshness "
                                             "and loaded_at_field of a source's config, and external_location on DuckDB"), stacklevel=3)


def _semantic_note(kept: dict[str, dict[str, Properties]]) -> list[str]:
    counts = [f"{len(kept[k])} {k.replace('_', ' ')}" for k in SEMANTIC if kept[k]]
    if not counts:
        return []
    return [f"dbt's semantic layer ({', '.join(counts)}) is kept in target/manifest.json; pds does not execute it"]
