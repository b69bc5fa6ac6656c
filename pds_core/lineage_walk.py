"""Column lineage read straight off validation's qualified scopes: what sqlglot.lineage gives, minus its cost.

sqlglot.lineage builds a Node per column per scope and prints every leaf column back to SQL to name
it (copying the expression each time); over a 1,000-model project that was ~15% of a cold compile.
The queries a project holds are mostly plain (CTEs, joins, derived tables, unions, aggregates,
windows), and for those this walker follows each output column through `scope.sources` down to
the tables it reads, as sqlglot.lineage does, and gives the same (parent uid, column) sets.
Whatever shape it would not treat exactly as sqlglot.lineage does (a star left after qualify, a
pivot, UNNEST/LATERAL, a column list on a CTE or derived table, a column whose table is not a
source of its scope, e.g. a correlated reference) raises Unsupported, and lineage.py asks
sqlglot.lineage for that query instead: the results never differ (tests/unit/test_lineage_walk.py).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, find_all_in_scope

ColumnRef = tuple[str, str]  # (unique_id, column)
QUOTE_CHARS = frozenset('"`[].')  # in a name lineage.py would read back from sqlglot's SQL text: left to it


class Unsupported(Exception):
    """A query shape the walker does not follow exactly as sqlglot.lineage does."""


def walk_lineage(scope: Scope, tables: dict[tuple[str, ...], str]) -> dict[str, list[ColumnRef]]:
    """For each output column of the root scope, the sorted parent columns it is computed from.

    `tables` maps the normalized parts of each table read to its parent's unique id; columns of
    tables not in it (not a parent) are left out, as lineage.py does with sqlglot's leaves.
    """
    for inner in scope.traverse():
        _check(inner)
    walker = _Walker(tables)
    result: dict[str, list[ColumnRef]] = {}
    for select in scope.expression.selects:
        name = select.alias_or_name
        if not name:
            raise Unsupported("an unnamed projection")
        if name not in result:
            result[name] = sorted(walker.refs(name, scope))
    return result


def _check(scope: Scope) -> None:
    """Shapes sqlglot.lineage treats in ways of its own (or not at all): leave them to it."""
    expression = scope.expression
    if isinstance(expression, exp.SetOperation):
        return
    if not isinstance(expression, exp.Select):
        raise Unsupported(f"a {type(expression).__name__} scope")
    if expression.is_star or scope.stars:
        raise Unsupported("a star left after qualify")
    if scope.pivots or scope.lateral_sources or scope.udtf_scopes or scope.outer_columns:
        raise Unsupported("a pivot, lateral, table function or column list")


class _Walker:
    def __init__(self, tables: dict[tuple[str, ...], str]) -> None:
        self.tables = tables
        self.memo: dict[tuple[int, str | int], frozenset[ColumnRef] | None] = {}
        self.by_name: dict[int, dict[str, exp.Expr]] = {}  # id(scope) -> its first projection of each name

    def refs(self, column: str | int, scope: Scope) -> frozenset[ColumnRef]:
        """The parent columns one column of one scope (by name, or by position in a UNION branch) reads."""
        key = (id(scope), column)
        if key in self.memo:
            done = self.memo[key]
            if done is None:
                raise Unsupported("a column computed from itself")
            return done
        self.memo[key] = None
        expression = scope.expression
        selects = expression.selects
        if isinstance(column, int) and column >= len(selects):
            raise Unsupported("a UNION branch with fewer columns")
        if isinstance(expression, exp.SetOperation):  # each branch, by position, as sqlglot.lineage
            index = column if isinstance(column, int) else next(
                (i for i, s in enumerate(selects) if s.alias_or_name == column or s.is_star), -1)
            if index < 0:
                raise Unsupported(f"no column {column!r} in a UNION")
            found = frozenset().union(*(self.refs(index, branch) for branch in scope.set_operation_scopes))
        else:
            if isinstance(column, int):
                select = selects[column]
            else:
                names = self.by_name.get(id(scope))
                if names is None:
                    names = self.by_name[id(scope)] = {}
                    for projection in selects:
                        names.setdefault(projection.alias_or_name, projection)
                select = names.get(column)
                if select is None:
                    raise Unsupported(f"no column {column!r} in a scope")
            found = self._projection(select, scope)
        self.memo[key] = found
        return found

    def _projection(self, select: exp.Expr, scope: Scope) -> frozenset[ColumnRef]:
        """What one projection reads: its columns through their sources, and all a scalar subquery selects."""
        refs: set[ColumnRef] = set()
        for node in find_all_in_scope(select, exp.Column, *exp.UNWRAPPED_QUERIES):
            if not isinstance(node, exp.Column):
                inner = next((s for s in scope.subquery_scopes if s.expression is node), None)
                if inner is None:
                    raise Unsupported("a subquery without its scope")
                for name in node.named_selects:
                    refs |= self.refs(name, inner)
                continue
            source = scope.sources.get(node.table)
            if isinstance(source, Scope):
                refs |= self.refs(node.name, source)
            elif isinstance(source, exp.Table):
                name = node.name
                if not name or not isinstance(node.this, exp.Identifier) or not QUOTE_CHARS.isdisjoint(name):
                    raise Unsupported(f"a column named {name!r}")
                uid = self.tables.get(tuple(p.name for p in source.parts))
                if uid is not None:
                    refs.add((uid, name))
            else:  # correlated, or unqualified: sqlglot.lineage guesses; let it
                raise Unsupported(f"column {node.name!r} of no source of its scope")
        return frozenset(refs)
