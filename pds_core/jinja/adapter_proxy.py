"""The `adapter` object of the Jinja context: dispatch, quoting, and the warehouse look-ups packages make.

Look-ups (get_relation, get_columns_in_relation, ...) answer from the warehouse only in a connected
render; while parsing they return nothing (None, []) and mark the node deferred, as dbt's parse
returns nothing and its compile asks the warehouse. get_columns_in_relation runs the dispatched
`get_columns_in_relation` macro (pds_core/jinja/macros/), so a project may override it as in dbt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from pds_core.errors import ProjectError
from pds_core.jinja.relation_api import Api, JinjaRelation, RelationAPI, Style
from pds_core.jinja.statements import Statements
from pds_core.nodes import Relation


class _Behavior:
    """`adapter.behavior.<flag>`: dbt's behaviour-change flags, all at their defaults (off)."""

    class _Flag:
        no_warn = False
        setting = False

        def __bool__(self) -> bool:
            return False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._Flag()


class AdapterProxy:
    """What templates call `adapter`."""

    def __init__(self, frame: Callable[[], Any], registry: Any, namespace: Callable[[], Any], style: Style,
                 api: Api, statements: Statements) -> None:
        self._frame = frame
        self._registry = registry
        self._namespace = namespace
        self._style = style
        self.Relation = api.Relation
        self.Column = api.Column
        self._statements = statements
        self.behavior = _Behavior()

    # ---- no warehouse needed -----------------------------------------------------------------------
    def dispatch(self, macro_name: str, macro_namespace: str | None = None, packages: Any = None) -> Any:
        if packages is not None:
            raise ProjectError("adapter.dispatch(packages=...) is gone in dbt 1.x",
                               hint="use macro_namespace= and a `dispatch:` search order in the project file")
        return self._registry.dispatch(self._namespace(), macro_name, macro_namespace)

    def type(self) -> str:
        return self._style.adapter_type

    def quote(self, identifier: str) -> str:
        return f"{self._style.quote_char}{identifier}{self._style.quote_char}"

    def quote_as_configured(self, identifier: str, quote_key: str) -> str:
        index = {"database": 0, "schema": 1, "identifier": 2}.get(quote_key, 2)
        return self.quote(identifier) if self._style.quote[index] else identifier

    def quote_seed_column(self, column: str, quote_config: bool | None = None) -> str:
        return self.quote(column) if quote_config or (quote_config is None and self._style.adapter_type != "snowflake") \
            else column

    def commit(self) -> str:
        return ""

    commit_if_has_connection = commit

    def expand_target_column_types(self, from_relation: Any = None, to_relation: Any = None) -> str:
        return ""

    # ---- the warehouse -------------------------------------------------------------------------------
    def _live(self) -> Any:
        frame = self._frame()
        if frame is None or frame.live is None or frame.live.adapter is None:
            if frame is not None:
                frame.state.deferred = True
            return None
        return frame.live

    def get_relation(self, database: str | None = None, schema: str | None = None,
                     identifier: str | None = None) -> JinjaRelation | None:
        live = self._live()
        if live is None or schema is None or identifier is None:
            return None
        kind = live.adapter.list_relations([str(schema)]).get((str(schema).lower(), str(identifier).lower()))
        if kind is None:
            return None
        return JinjaRelation(database or _default_database(live), str(schema), str(identifier), kind, self._style)

    def load_relation(self, relation: Any) -> JinjaRelation | None:
        if not isinstance(relation, RelationAPI):
            return None
        return self.get_relation(relation.database, relation.schema, relation.identifier)

    def get_columns_in_relation(self, relation: Any) -> list[Any]:
        if self._live() is None:
            return []
        macro = self._namespace().get_from_package(None, "get_columns_in_relation")
        if macro is None:
            raise ProjectError("no get_columns_in_relation macro for this adapter")
        return list(macro(relation) or [])

    def list_relations(self, database: str | None = None, schema: str | None = None) -> list[JinjaRelation]:
        live = self._live()
        if live is None or schema is None:
            return []
        found = live.adapter.relation_names([str(schema)])
        return [JinjaRelation(database or _default_database(live), s, n, kind, self._style) for s, n, kind in found]

    def list_relations_without_caching(self, schema_relation: Any) -> list[JinjaRelation]:
        return self.list_relations(getattr(schema_relation, "database", None), getattr(schema_relation, "schema", None))

    def check_schema_exists(self, database: str | None, schema: str) -> bool:
        live = self._live()
        if live is None:
            return False
        info = exp.Table(this=exp.to_identifier("schemata"), db=exp.to_identifier("information_schema"))
        query = exp.select(exp.Count(this=exp.Star())).from_(info).where(
            exp.func("lower", exp.column("schema_name")).eq(exp.Literal.string(str(schema).lower())))
        _cols, rows = live.adapter.fetch(query)
        return bool(rows and rows[0][0])

    def already_exists(self, schema: str, name: str) -> bool:
        return self.get_relation(None, schema, name) is not None

    def get_missing_columns(self, from_relation: Any, to_relation: Any) -> list[Any]:
        """Columns of from_relation that to_relation lacks (dbt's name-insensitive comparison)."""
        have = {c.name.lower() for c in self.get_columns_in_relation(to_relation)}
        return [c for c in self.get_columns_in_relation(from_relation) if c.name.lower() not in have]

    def execute(self, sql: str, auto_begin: bool = False, fetch: bool = False, limit: int | None = None) -> Any:
        if self._live() is None:
            return None, None
        return self._statements.run(str(sql), fetch)

    def create_schema(self, relation: Any) -> str:
        live = self._live()
        if live is not None:
            live.adapter.ensure_schema(str(relation.schema))
        return ""

    def drop_relation(self, relation: Any) -> str:
        live = self._live()
        if live is not None:
            kind = "view" if getattr(relation, "type", None) == "view" else "table"
            live.adapter.drop(_pds_relation(relation), kind)
        return ""


def _pds_relation(relation: Any) -> Relation:
    return Relation(str(relation.schema), str(relation.identifier), relation.database)


def _default_database(live: Any) -> str | None:
    getter = getattr(live.adapter, "default_database", None)
    return getter() if callable(getter) else None
