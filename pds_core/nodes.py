"""Plain data passed between stages: the parsed nodes of a project, the relations they build, and the
Manifest that holds them all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Relation and the quoting policy live in the bottom layer, shared with the adapters (one renderer).
from pds_adapters.relation import Relation as Relation
from pds_adapters.relation import identifier as identifier


@dataclass
class Column:
    """A column as described in schema YAML."""

    name: str
    description: str = ""
    data_type: str | None = None
    tests: list[Any] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    line: int | None = None
    quote: bool | None = None  # `quote: true`: the name is matched and written exactly (dbt's column quote)
    constraints: list[Any] = field(default_factory=list)  # column-level constraints, as declared (contracts.py)


@dataclass
class Node:
    """A model, seed or source of the project, with everything later stages need."""

    unique_id: str
    resource_type: str  # model | seed | source
    name: str
    path: str  # relative to the project root, posix
    language: str = "sql"  # sql | python | csv | yaml
    raw_code: str = ""
    checksum: str = ""
    fqn: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    rendered: str | None = None  # SQL after Jinja, with relation markers still in place
    relation: Relation | None = None
    description: str = ""
    columns: dict[str, Column] = field(default_factory=dict)
    tests: list[Any] = field(default_factory=list)  # model-level tests from schema YAML
    patch_path: str | None = None
    patch_line: int | None = None
    source_meta: dict[str, Any] = field(default_factory=dict)  # for sources: loaded_at_field, freshness, quoting
    env_vars: dict[str, str | None] = field(default_factory=dict)  # read while rendering (for the cache key)
    vars_used: list[str] | None = field(default_factory=list)  # Python models: vars read (None: any)
    uses_is_incremental: bool = False  # its SQL differs between the first and later builds
    renders_with_warehouse: bool = False  # its Jinja introspects (run_query, execute...): rendered again, connected
    constraints: list[Any] = field(default_factory=list)  # model-level constraints, as declared (contracts.py)

    @property
    def materialized(self) -> str:
        if self.resource_type == "seed":
            return "seed"
        if self.resource_type == "source":
            return "source"
        return str(self.config.get("materialized") or "view")

    @property
    def tags(self) -> list[str]:
        tags = self.config.get("tags") or []
        return [tags] if isinstance(tags, str) else list(tags)

    @property
    def is_relation(self) -> bool:
        """True when the node exists as a table or view in the warehouse (not ephemeral)."""
        return self.materialized != "ephemeral"


@dataclass
class Manifest:
    """Every node of the project by unique id, plus lookups by name.

    `quality` (a quality.spec.QualitySuite), `exports`, `charts` and `served` (publish/) are filled
    by their own parsers after the models, seeds and sources: this module knows none of them.
    """

    project_name: str
    nodes: dict[str, Node] = field(default_factory=dict)  # models and seeds
    sources: dict[str, Node] = field(default_factory=dict)
    macros: dict[str, str] = field(default_factory=dict)  # macro name -> file
    schema: Any = None  # schema_yml.SchemaFiles
    by_name: dict[str, str] = field(default_factory=dict)
    quality: Any = None  # tests, checks, metrics and unit tests
    exports: dict[str, Any] = field(default_factory=dict)  # export uid -> publish.exports.Export
    charts: dict[str, Any] = field(default_factory=dict)  # chart uid -> publish.chart_nodes.ChartNode
    served: dict[str, Any] = field(default_factory=dict)  # serve uid -> publish.serving.ServeNode

    def all_nodes(self) -> dict[str, Node]:
        return {**self.nodes, **self.sources}

    def ref(self, name: str) -> Node | None:
        uid = self.by_name.get(name)
        return self.nodes.get(uid) if uid else None
