"""Relations and columns as dbt macros see them: `api.Relation`, `api.Column`, `ref()`'s result, `this`.

dbt packages treat a relation as an object with parts (`.database`, `.schema`, `.identifier`), a
`render()`, `include()`/`quote()` variants and dbt's `metadata` marker (`dbt_utils._is_relation`
checks `obj is mapping and obj.get('metadata')...`). pds keeps one thing dbt does not have: what
`ref()`, `source()` and `this` print is a marker (render.RelationMarker) that the compile stage
replaces with THE name the target adapter gives the relation; their parts are looked up lazily,
and looking them up while parsing (when not every relation is known) marks the node to be
rendered again once everything is (render.RenderState.deferred).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, ClassVar

EPHEMERAL_PREFIX = "__pds_ephemeral__"
PARTS = ("database", "schema", "identifier")


@dataclass(frozen=True)
class Style:
    """How the target's dbt adapter writes relation names: its class name, quote character and policies."""

    adapter_type: str = "duckdb"
    quote_char: str = '"'
    quote: tuple[bool, bool, bool] = (True, True, True)  # database, schema, identifier
    include: tuple[bool, bool, bool] = (True, True, True)

    @property
    def class_name(self) -> str:
        names = {"duckdb": "DuckDB", "postgres": "Postgres", "snowflake": "Snowflake", "bigquery": "BigQuery",
                 "spark": "Spark", "databricks": "Databricks"}
        return names.get(self.adapter_type, self.adapter_type.title()) + "Relation"


def style_for(adapter_type: str, quoting: Mapping[str, Any] | None = None) -> Style:
    """dbt's defaults per adapter (Snowflake quotes nothing, BigQuery and Spark use backticks, Spark
    names no database), then the project's `quoting:` on top."""
    style = Style(adapter_type)
    if adapter_type == "snowflake":
        style = Style(adapter_type, quote=(False, False, False))
    elif adapter_type == "bigquery":
        style = Style(adapter_type, quote_char="`")
    elif adapter_type in ("spark", "databricks"):
        style = Style(adapter_type, quote_char="`", quote=(False, False, False), include=(False, True, True))
    if quoting:
        quote = tuple(bool(quoting.get(p, q)) for p, q in zip(PARTS, style.quote, strict=True))
        style = replace(style, quote=quote)  # type: ignore[arg-type]
    return style


class RelationAPI:
    """The methods and properties of a dbt Relation, over `_parts()` -> (database, schema, identifier)."""

    style: Style
    type: str | None = None
    _include: tuple[bool, bool, bool] | None = None
    _quote: tuple[bool, bool, bool] | None = None

    def _parts(self) -> tuple[str | None, str | None, str | None]:
        raise NotImplementedError

    # -- parts ----------------------------------------------------------------------------------
    @property
    def database(self) -> str | None:
        return self._parts()[0]

    @property
    def schema(self) -> str | None:
        return self._parts()[1]

    @property
    def identifier(self) -> str | None:
        return self._parts()[2]

    name = table = identifier

    @property
    def path(self) -> dict[str, str | None]:
        return dict(zip(PARTS, self._parts(), strict=True))

    # -- kinds ----------------------------------------------------------------------------------
    @property
    def is_table(self) -> bool:
        return self.type == "table"

    @property
    def is_view(self) -> bool:
        return self.type == "view"

    @property
    def is_cte(self) -> bool:
        return self.type == "cte"

    @property
    def is_materialized_view(self) -> bool:
        return self.type == "materialized_view"

    Table: ClassVar[str] = "table"
    View: ClassVar[str] = "view"
    CTE: ClassVar[str] = "cte"
    External: ClassVar[str] = "external"
    MaterializedView: ClassVar[str] = "materialized_view"

    # -- dbt's mapping face ---------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        if key == "metadata":
            return {"type": self.style.class_name}
        if key == "path":
            return self.path
        if key in PARTS or key == "type":
            return getattr(self, key)
        return default

    # -- rendering ------------------------------------------------------------------------------
    def quoted(self, name: str) -> str:
        return f"{self.style.quote_char}{name}{self.style.quote_char}"

    def render(self) -> str:
        """The name as dbt writes it for this adapter (quoted per its policy)."""
        include = self._include or self.style.include
        quote = self._quote or self.style.quote
        out = []
        for part, inc, q in zip(self._parts(), include, quote, strict=True):
            if inc and part is not None:
                out.append(self.quoted(part) if q else part)
        return ".".join(out)

    def _with(self, **changes: Any) -> JinjaRelation:
        values = dict(zip(PARTS, self._parts(), strict=True))
        values.update(type=self.type, style=self.style, include=self._include, quote=self._quote)
        values.update(changes)
        return JinjaRelation(**values)

    def include(self, database: bool | None = None, schema: bool | None = None,
                identifier: bool | None = None) -> JinjaRelation:
        current = self._include or self.style.include
        new = tuple(c if v is None else bool(v) for c, v in zip(current, (database, schema, identifier), strict=True))
        return self._with(include=new)

    def quote(self, database: bool | None = None, schema: bool | None = None,
              identifier: bool | None = None) -> JinjaRelation:
        current = self._quote or self.style.quote
        new = tuple(c if v is None else bool(v) for c, v in zip(current, (database, schema, identifier), strict=True))
        return self._with(quote=new)

    def incorporate(self, path: Mapping[str, Any] | None = None, type: str | None = None,
                    **_ignored: Any) -> JinjaRelation:
        parts = dict(zip(PARTS, self._parts(), strict=True))
        parts.update({k: v for k, v in (path or {}).items() if k in PARTS})
        return self._with(database=parts["database"], schema=parts["schema"], identifier=parts["identifier"],
                          type=type or self.type)

    def replace_path(self, **parts: Any) -> JinjaRelation:
        return self.incorporate(path=parts)

    def without_identifier(self) -> JinjaRelation:
        return self.include(identifier=False).replace_path(identifier=None)

    def information_schema(self, view_name: str | None = None) -> JinjaRelation:
        base = self._with(schema="information_schema", identifier=view_name, type="view")
        return base.include(identifier=view_name is not None)

    def matches(self, database: str | None = None, schema: str | None = None, identifier: str | None = None) -> bool:
        wanted = (database, schema, identifier)
        return all(w is None or (p or "").lower() == w.lower() for p, w in zip(self._parts(), wanted, strict=True))

    @property
    def can_be_renamed(self) -> bool:
        return self.type in ("table", "view")

    can_be_replaced = can_be_renamed


class JinjaRelation(RelationAPI):
    """A relation made in Jinja (api.Relation.create, adapter.get_relation): prints as dbt renders it."""

    __slots__ = ("_values", "type", "style", "_include", "_quote")

    def __init__(self, database: str | None = None, schema: str | None = None, identifier: str | None = None,
                 type: str | None = None, style: Style | None = None, include: Any = None, quote: Any = None) -> None:
        self._values = (database, schema, identifier)
        self.type = type
        self.style = style or Style()
        self._include, self._quote = include, quote

    def _parts(self) -> tuple[str | None, str | None, str | None]:
        return self._values

    def __str__(self) -> str:
        return self.render()

    __html__ = __str__

    def __repr__(self) -> str:
        return f"<{self.style.class_name} {self.render()}>"

    def __hash__(self) -> int:
        return hash(self.render())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RelationAPI) and self._parts() == other._parts()

    def __getitem__(self, key: str) -> Any:
        return self.get(key)


Mapping.register(JinjaRelation)


class RelationFactory:
    """`api.Relation`: create() and the class-level names dbt macros use."""

    Table, View, CTE, External, MaterializedView = "table", "view", "cte", "external", "materialized_view"

    def __init__(self, style: Style) -> None:
        self.style = style

    def create(self, database: str | None = None, schema: str | None = None, identifier: str | None = None,
               type: str | None = None, **kwargs: Any) -> JinjaRelation:
        quote = kwargs.get("quote_policy")
        relation = JinjaRelation(database, schema, identifier, type, self.style)
        if isinstance(quote, Mapping):
            relation = relation.quote(**{k: v for k, v in quote.items() if k in PARTS})
        return relation

    @staticmethod
    def add_ephemeral_prefix(name: str) -> str:
        return EPHEMERAL_PREFIX + name

    @staticmethod
    def scd_args(primary_key: Any, updated_at: Any) -> list[Any]:
        return [*(primary_key if isinstance(primary_key, list) else [primary_key]), updated_at]


@dataclass
class Api:
    """The `api` object of the Jinja context."""

    Relation: RelationFactory
    Column: Any  # columns.ColumnFactory


def make_api(style: Style) -> Api:
    from pds_core.jinja.columns import ColumnFactory

    return Api(RelationFactory(style), ColumnFactory(style.adapter_type))


MARKER = re.compile(r"\x1d(ref|source|this)\x1f([^\x1d\x1f]*)\x1d")
LOOKUP: ContextVar[Callable[[str, str], Any] | None] = ContextVar("pds_relation_lookup", default=None)


class RelationMarker(RelationAPI, str):
    """What ref()/source()/this render as; a dbt Relation for the macros that inspect it.

    Its parts come from the render in progress (the relation the marker names), see Renderer._parts.
    """

    style: Style

    def __new__(cls, kind: str, name: str, style: Style | None = None) -> RelationMarker:
        obj = super().__new__(cls, f"\x1d{kind}\x1f{name}\x1d")
        obj.kind, obj.ref_name, obj.style = kind, name, style or Style()
        obj._include = obj._quote = None
        return obj

    def _found(self) -> tuple[str | None, str | None, str | None, str | None]:
        lookup = LOOKUP.get()
        found = lookup(self.kind, self.ref_name) if lookup is not None else None
        if found is None:
            name = self.ref_name.split(".")[-1]
            return None, None, name, None
        return found

    def _parts(self) -> tuple[str | None, str | None, str | None]:
        database, schema, identifier, _type = self._found()
        return database, schema, identifier

    @property
    def type(self) -> str | None:  # type: ignore[override]
        return self._found()[3]


Mapping.register(RelationMarker)
