"""Schema-aware validation: every column a model reads must exist, once, in what it reads from.

The columns of seeds (CSV header) and sources (declared in YAML) are known up front, those of a
Python model once it has been built (what it returned, recorded under target/state/); a SQL
model's output columns are computed here, in DAG order, from its query as qualified by sqlglot
against its parents' columns, so `SELECT *` is expanded through the DAG.
Each model is qualified once, against a schema holding only its own parents, so the work per
model does not grow with the project; the result (columns, lineage) is cached per model and
reused while its SQL and its parents' columns are unchanged. Where a parent's columns are
unknown (a Python model not built yet, a source without columns in YAML), what is read from it
is not checked, and an info message says so.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import networkx as nx
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope
from sqlglot.schema import MappingSchema

from pds_core.cache import ParseCache, digest
from pds_core.contracts import check_declarations
from pds_core.errors import ProjectError, ProjectErrors, did_you_mean
from pds_core.lineage import ColumnRef, model_lineage
from pds_core.nodes import Manifest, Node, identifier
from pds_core.snapshots.config import snapshot_columns
from pds_core.sourcemap import SourceMap
from pds_core.validate_schema import available, schema_of, source_columns_of

EPHEMERAL_PREFIX = "__pds_ephemeral__"
UNKNOWN_TYPE = "UNKNOWN"
CACHE_VERSION = "validate-3"
ALIAS_CLAUSES = (exp.Order, exp.Group, exp.Having, exp.Qualify)


class SqlSource(Protocol):
    """What validation needs from the compiler: a model's SQL in the project's dialect, and its parse."""

    def source_sql(self, node: Node) -> str: ...

    def source_tree(self, node: Node) -> exp.Query: ...

    def relation_table(self, relation: Any, quoting: Any = False) -> exp.Table: ...


@dataclass
class Analysis:
    """One node's output columns (None: unknown) and, for a SQL model, each column's parent columns."""

    columns: dict[str, str] | None  # name -> type (UNKNOWN_TYPE when only the name is known)
    why_unknown: str = ""
    lineage: dict[str, list[ColumnRef]] = field(default_factory=dict)
    infos: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)  # YAML's columns where the real ones stay open


@dataclass
class Validation:
    """What validation learnt about the project, and what it found wrong."""

    nodes: dict[str, Analysis] = field(default_factory=dict)
    errors: list[ProjectError] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)

    def raise_errors(self) -> None:
        if self.errors:
            unique = list({str(e): e for e in self.errors}.values())
            unique.sort(key=lambda e: (str(e.location.path), e.location.line or 0, e.location.column or 0))
            raise unique[0] if len(unique) == 1 else ProjectErrors(unique)


class Validator:
    """Qualifies SQL models in DAG order against the columns of their parents."""

    def __init__(self, manifest: Manifest, graph: nx.DiGraph, dialect: str, sql: SqlSource, root: Path,
                 cache: ParseCache | None = None, source_columns: Any = None,
                 built_columns: dict[str, list[str]] | None = None) -> None:
        self.manifest = manifest
        self.built_columns = built_columns or {}  # Python models: the columns returned on their last build
        self.graph = graph
        self.dialect = Dialect.get_or_raise(dialect)
        self.dialect_name = dialect
        self.sql = sql
        self.root = root
        self.cache = cache
        self.source_columns = source_columns  # (source node) -> column names from the warehouse, or None
        self.result = Validation()
        self._nodes = manifest.all_nodes()
        self._parts: dict[str, tuple[str, ...]] = {}

    def run(self, uids: list[str]) -> Validation:
        """Validate the given SQL models; their ancestors are analysed for their columns only."""
        from pds_core.graph import topological_order

        report = set(uids)
        needed: set[str] = set()
        stack = list(report)
        while stack:
            uid = stack.pop()
            if uid not in needed:
                needed.add(uid)
                stack.extend(self.graph.predecessors(uid))
        for uid in topological_order(self.graph, needed):
            analysis = self._analyse(self._nodes[uid], uid in report)
            self.result.nodes[uid] = analysis
            if uid in report:
                self.result.infos.extend(analysis.infos)
        return self.result

    # ---- columns of each kind of node ----------------------------------------------------------
    def _analyse(self, node: Node, report: bool) -> Analysis:
        if node.resource_type == "seed":
            return self._seed(node)
        if node.resource_type == "source":
            if node.columns:
                return Analysis(self._declared(node))
            found = self.source_columns(node) if self.source_columns else None
            if found:
                return Analysis({self._norm(c): UNKNOWN_TYPE for c in found})
            return Analysis(None, "a source without columns in YAML")
        declared = [c.name for c in node.columns.values()]
        if node.renders_with_warehouse:  # its SQL is known only at run time (it asks the warehouse)
            return Analysis(None, "a model rendered with the warehouse at run time", declared=declared)
        if node.resource_type == "snapshot":  # its table has dbt's meta columns after its query's
            analysis = self._sql_model(node, report)
            if analysis.columns is None:
                return analysis
            meta = {self._norm(c): UNKNOWN_TYPE for c in snapshot_columns(node.config)}
            return dataclasses.replace(analysis, columns={**analysis.columns, **meta})
        if node.language == "python":  # what it returns is known only once it ran: never refuse what may exist
            built = self.built_columns.get(node.unique_id)
            if built is not None:
                return Analysis({**{self._name(c): UNKNOWN_TYPE for c in built}, **self._declared(node)})
            return Analysis(None, "a Python model that has not been built yet", declared=declared)
        return self._sql_model(node, report)

    def _declared(self, node: Node) -> dict[str, str]:
        return {self._name(c.name): c.data_type or UNKNOWN_TYPE for c in node.columns.values()}

    def _seed(self, node: Node) -> Analysis:
        try:
            with open(self.root / node.path, encoding="utf-8-sig", newline="") as fh:
                header = next(csv.reader(fh, delimiter=node.config.get("delimiter") or ","), [])
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            return Analysis(None, f"a seed whose header cannot be read ({exc})")
        types = {self._name(str(k)): str(v) for k, v in (node.config.get("column_types") or {}).items()}
        return Analysis({c: types.get(c, UNKNOWN_TYPE) for c in (self._name(h) for h in header)})

    def _name(self, name: str) -> str:
        """A column name pds writes (a seed's header, a YAML column, a DataFrame's column) as the dialect
        compares it: written unquoted when plain (as pds creates it: Snowflake stores monthly_amount as
        MONTHLY_AMOUNT), quoted and kept exactly otherwise."""
        return self.dialect.normalize_identifier(identifier(name, self.dialect_name)).name

    def _norm(self, name: str) -> str:
        """A column name as the warehouse reports it, as the dialect compares it (kept exactly; DuckDB:
        case-insensitive, even when quoted)."""
        return self.dialect.normalize_identifier(exp.to_identifier(name, quoted=True)).name

    # ---- SQL models ----------------------------------------------------------------------------
    def _sql_model(self, node: Node, report: bool) -> Analysis:
        try:
            text = self.sql.source_sql(node)
        except ProjectError:
            return Analysis(None, "a model with errors")
        entries, tables, unknown = self._parents(node)
        key = digest(CACHE_VERSION, self.dialect.__class__.__name__, text, sorted(tables.items()), entries,
                     sorted(unknown.items()))
        cached = self._cached(node, key)
        if cached is not None:
            return cached
        try:
            tree = self.sql.source_tree(node)
        except ProjectError:
            return Analysis(None, "a model with SQL errors")
        schema = schema_of(entries, self.dialect)
        errors: list[ProjectError] = []
        try:
            query = qualify(tree, dialect=self.dialect, schema=schema, validate_qualify_columns=False,
                            quote_identifiers=False, identify=False)
            scope = build_scope(query)
        except OptimizeError as exc:
            if str(exc).startswith("Unknown column: "):
                if report:
                    self.result.errors.append(self._optimize_error(node, tree, text, exc, tables))
                return Analysis(None, "a model with column errors")
            note = f"{node.path}: columns not checked: {exc}"
            return Analysis(None, "a model whose columns cannot be resolved", infos=[note])
        except (SqlglotError, RecursionError, ValueError, KeyError) as exc:
            note = f"{node.path}: columns not checked: sqlglot cannot analyse this query ({exc})"
            return Analysis(None, "a model sqlglot cannot analyse", infos=[note])
        if scope is None:
            return Analysis(None, "a model that is not a SELECT")
        infos = self._check_scopes(node, scope, schema, text, tables, unknown, errors)
        if errors:
            if report:
                self.result.errors.extend(errors)
            return Analysis(None, "a model with column errors")
        columns: dict[str, str] | None = {name: UNKNOWN_TYPE for name in query.named_selects}
        if not query.named_selects or any(s.is_star for s in query.selects):
            columns = None
        analysis = Analysis(columns, "a model whose columns cannot be expanded" if columns is None else "",
                            model_lineage(query, scope, schema, tables), infos)
        self._store(node, key, analysis)
        return analysis

    def _cached(self, node: Node, key: str) -> Analysis | None:
        if self.cache is None:
            return None
        hit = self.cache.misc.get(CACHE_VERSION, {}).get(node.unique_id)
        return hit[1] if hit is not None and hit[0] == key else None

    def _store(self, node: Node, key: str, analysis: Analysis) -> None:
        if self.cache is not None:
            self.cache.misc.setdefault(CACHE_VERSION, {})[node.unique_id] = (key, analysis)
            self.cache.dirty = True

    def _parents(self, node: Node) -> tuple[list[Any], dict[tuple[str, ...], str], dict[str, str]]:
        """The parents' (table parts, columns); table parts -> parent uid; table name -> why it is unknown."""
        entries: list[tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = []
        tables: dict[tuple[str, ...], str] = {}
        unknown: dict[str, str] = {}
        for uid in node.depends_on:
            parent, info = self._nodes.get(uid), self.result.nodes.get(uid)
            if parent is None or info is None:
                continue
            parts = self.table_parts(parent)
            tables[parts] = uid
            if info.columns is None:
                unknown[parts[-1]] = f"{parent.name} is {info.why_unknown}"
            else:
                entries.append((parts, tuple(info.columns.items())))
        own = self._cached_columns(node)  # {{ this }} (an incremental model's table): as last analysed
        if own is not None and node.relation is not None:
            entries.append((self.table_parts(node), tuple(own.items())))
        return entries, tables, unknown

    def _cached_columns(self, node: Node) -> dict[str, str] | None:
        if self.cache is None or node.materialized != "incremental":
            return None
        hit = self.cache.misc.get(CACHE_VERSION, {}).get(node.unique_id)
        return hit[1].columns if hit is not None else None

    def table_parts(self, node: Node) -> tuple[str, ...]:
        """How the node's relation is named in a model's SQL, as normalized names (catalog, db, table)."""
        parts = self._parts.get(node.unique_id)
        if parts is None:
            parts = self._parts[node.unique_id] = self._table_parts(node)
        return parts

    def _table_parts(self, node: Node) -> tuple[str, ...]:
        if node.materialized == "ephemeral":
            table = exp.to_table(EPHEMERAL_PREFIX + node.name)
        else:
            assert node.relation is not None
            quoting = dict(node.source_meta.get("quoting") or {}) if node.resource_type == "source" else False
            table = self.sql.relation_table(node.relation, quoting)  # as the compiler named it in the SQL
        return tuple(self.dialect.normalize_identifier(p.copy()).name for p in table.parts)

    # ---- finding what is wrong -----------------------------------------------------------------
    def _check_scopes(self, node: Node, root: Scope, schema: MappingSchema, text: str,
                      tables: dict[tuple[str, ...], str], unknown: dict[str, str],
                      errors: list[ProjectError]) -> list[str]:
        """Columns qualify() left unqualified are unknown (in no source) or ambiguous (in several)."""
        infos: list[str] = []
        for scope in root.traverse():
            if not isinstance(scope.expression, exp.Select):
                continue
            sources = {alias: source_columns_of(src, schema) for alias, (_n, src) in scope.selected_sources.items()}
            blind = [alias for alias, cols in sources.items() if cols is None]
            for alias in blind:
                src = scope.selected_sources[alias][1]
                why = unknown.get(src.name) if isinstance(src, exp.Table) else None
                note = f"{node.path}: columns read from {alias} are not checked: {why}"
                if why and note not in infos:  # a parent whose columns are unknown: say so once
                    infos.append(note)
            outputs = set(scope.expression.named_selects)
            for column in scope.columns:
                if column.table:  # qualified by the user, or by qualify() when there is one source
                    cols = sources.get(column.table)
                    if cols is not None and column.name not in cols:
                        line, col = self._position(node, text, column)
                        errors.append(ProjectError(
                            f"column {column.name!r} does not exist in "
                            f"{self._describe(column.table, scope.selected_sources[column.table][1], tables)}",
                            node.path, line, col, hint=did_you_mean(column.name, cols) or available(cols)))
                    continue
                if blind or (column.name in outputs and column.find_ancestor(*ALIAS_CLAUSES) is not None):
                    continue  # ORDER BY / GROUP BY / HAVING may name an output column
                owners = [alias for alias, cols in sources.items() if cols and column.name in cols]
                line, col = self._position(node, text, column)
                if len(owners) > 1:
                    errors.append(ProjectError(
                        f"column {column.name!r} is ambiguous: it is in {' and '.join(owners)}", node.path, line,
                        col, hint="qualify it: " + " or ".join(f"{o}.{column.name}" for o in owners)))
                elif not owners:
                    names = {name for cols in sources.values() for name in cols or ()}
                    where = ", ".join(self._describe(a, s, tables) for a, (_n, s) in scope.selected_sources.items())
                    errors.append(ProjectError(
                        f"column {column.name!r} does not exist in {where or 'this query'}", node.path, line, col,
                        hint=did_you_mean(column.name, names) or available(names)))
        return infos

    def _optimize_error(self, node: Node, tree: exp.Query, text: str, exc: OptimizeError,
                        tables: dict[tuple[str, ...], str]) -> ProjectError:
        """qualify() stops at a qualified reference to a missing column (t.col); find it in the SQL."""
        message = str(exc)
        if message.startswith("Unknown column: "):
            name = message.split(": ", 1)[1]
            for column in tree.find_all(exp.Column):
                if not column.table or self._norm(column.name) != name:
                    continue
                owner, names = self._alias_columns(tree, column.table, tables)
                if names is not None and name in names:
                    continue  # this t.col exists; the missing one is another
                line, col = self._position(node, text, column)
                return ProjectError(f"column {column.name!r} does not exist in {owner}", node.path, line, col,
                                    hint=did_you_mean(name, names or ()) or available(names or ()))
        return ProjectError(f"a column does not exist: {message}", node.path,
                            hint="check the table aliases and column names")

    def _alias_columns(self, tree: exp.Query, alias: str,
                       tables: dict[tuple[str, ...], str]) -> tuple[str, list[str] | None]:
        """What a table alias of the unqualified query stands for, and its columns where known."""
        for table in tree.find_all(exp.Table):
            if table.alias_or_name == alias:
                uid = tables.get(tuple(self.dialect.normalize_identifier(p.copy()).name for p in table.parts))
                if uid is not None:
                    info = self.result.nodes[uid]
                    name = self._nodes[uid].name
                    label = name if name == alias else f"{alias} ({name})"
                    return label, list(info.columns) if info.columns is not None else None
        for cte in tree.find_all(exp.CTE):
            if cte.alias == alias:
                names = cte.this.named_selects
                return alias, None if "*" in names else names
        return alias, None

    def _describe(self, alias: str, source: Any, tables: dict[tuple[str, ...], str]) -> str:
        if isinstance(source, exp.Table):
            uid = tables.get(tuple(p.name for p in source.parts))
            name = self._nodes[uid].name if uid else source.name
            return name if alias in (name, source.name) else f"{alias} ({name})"
        return alias

    @staticmethod
    def _position(node: Node, text: str, column: exp.Column) -> tuple[int | None, int | None]:
        start = column.this.meta.get("start") if isinstance(column.this, exp.Identifier) else None
        if start is None:
            return None, None
        return SourceMap(node.raw_code, text).locate_offset(start)


def validate_compiled(manifest: Manifest, graph: nx.DiGraph, dialect: str, sql: SqlSource, root: Path,
                      compiled: dict[str, Any], cache: ParseCache | None = None,
                      source_columns: Any = None, built_columns: dict[str, list[str]] | None = None) -> Validation:
    """Validate the compiled SQL models (raising every column error at once) and give each its lineage."""
    validation = Validator(manifest, graph, dialect, sql, root, cache, source_columns,
                           built_columns).run(list(compiled))
    validation.errors.extend(check_declarations(list(manifest.nodes.values())))
    validation.raise_errors()
    for uid, comp in compiled.items():
        analysis = validation.nodes.get(uid)
        if analysis is not None and analysis.columns is not None:
            comp.column_lineage = {column: [{"node": p, "column": c} for p, c in analysis.lineage.get(column, [])]
                                   for column in analysis.columns}
    return validation
