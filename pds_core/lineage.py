"""Column-level lineage: the parent columns each model column is computed from, across the DAG.

Each qualified query is walked from an output column through its CTEs and subqueries down to
the tables it reads (lineage_walk.py over validation's scopes; sqlglot.lineage for rarer shapes);
those tables are the model's parents, so one hop per model joins up into lineage across models,
down to sources and seeds. The queries were qualified once by validation (validate.py), and are
not qualified again here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage as sqlglot_lineage
from sqlglot.optimizer.scope import Scope
from sqlglot.schema import MappingSchema

from pds_core.errors import ProjectError, did_you_mean
from pds_core.lineage_walk import ColumnRef, Unsupported, walk_lineage
from pds_core.nodes import Manifest

if TYPE_CHECKING:
    from pds_core.validate import Validation


def model_lineage(query: exp.Query, scope: Scope, schema: MappingSchema,
                  tables: dict[tuple[str, ...], str]) -> dict[str, list[ColumnRef]]:
    """For each output column of one qualified query, the parent columns it is computed from (in order).

    `tables` maps the parts of each table the query reads (as qualified) to that parent's unique id.
    Plain queries are walked over their scopes (lineage_walk.py); other shapes go to sqlglot.lineage.
    """
    try:
        return walk_lineage(scope, tables)
    except (Unsupported, RecursionError):
        return sqlglot_model_lineage(query, scope, schema, tables)


def sqlglot_model_lineage(query: exp.Query, scope: Scope, schema: MappingSchema,
                          tables: dict[tuple[str, ...], str]) -> dict[str, list[ColumnRef]]:
    """model_lineage through sqlglot.lineage, for every shape of query (it may set a table on a column)."""
    try:
        roots = sqlglot_lineage(None, query, schema, scope=scope, trim_selects=False, copy=False,
                                dialect=schema.dialect)
    except (SqlglotError, ValueError, KeyError, RecursionError):
        return {}
    result: dict[str, list[ColumnRef]] = {}
    for name, root in roots.items():
        refs: list[ColumnRef] = []
        for step in root.walk():
            if not isinstance(step.expression, exp.Table):
                continue
            uid = tables.get(tuple(p.name for p in step.expression.parts))
            column = _last_part(step.name)
            if uid is not None and column != "*" and (uid, column) not in refs:
                refs.append((uid, column))
        result.setdefault(name, sorted(refs))
    return result


def _last_part(name: str) -> str:
    """The column of `alias.column` as sqlglot prints it, without quotes."""
    if name[-1:] in ('"', "`", "]"):
        opening = {'"': '"', "`": "`", "]": "["}[name[-1]]
        start = name.rfind(opening, 0, len(name) - 1)
        return name[start + 1:-1]
    return name.rsplit(".", 1)[-1]


@dataclass
class LineageGraph:
    """Column lineage of the whole project: edges from each column to the columns it is computed from."""

    manifest: Manifest
    upstream: dict[ColumnRef, list[ColumnRef]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)  # uid -> known output columns

    @classmethod
    def build(cls, manifest: Manifest, validation: Validation,
              built_columns: dict[str, list[str]] | None = None) -> LineageGraph:
        """From validation's analyses; a node no SQL model reads (a Python model at the end of the DAG)
        has the columns it returned on its last build, else those its YAML declares."""
        graph = cls(manifest)
        for uid, node in manifest.all_nodes().items():
            known = (built_columns or {}).get(uid) or [c.name for c in node.columns.values()]
            if known:
                graph.columns[uid] = list(known)
        for uid, analysis in validation.nodes.items():
            graph.columns[uid] = list(analysis.columns or analysis.declared or graph.columns.get(uid) or ())
            for column, refs in analysis.lineage.items():
                graph.upstream[(uid, column)] = refs
        return graph

    def downstream(self) -> dict[ColumnRef, list[ColumnRef]]:
        result: dict[ColumnRef, list[ColumnRef]] = {}
        for child, parents in self.upstream.items():
            for parent in parents:
                result.setdefault(parent, []).append(child)
        return result

    def resolve(self, spec: str) -> ColumnRef:
        """'model.column' (or 'source_name.table.column') -> (unique_id, column), with did-you-mean errors."""
        if "." not in spec:
            raise ProjectError(f"expected MODEL.COLUMN, got {spec!r}", hint="e.g. pds lineage customer_orders.country")
        name, column = spec.rsplit(".", 1)
        nodes = {n.name: uid for uid, n in self.manifest.all_nodes().items()}
        uid = nodes.get(name)
        if uid is None:
            raise ProjectError(f"no model, seed or source named {name!r}", hint=did_you_mean(name, nodes))
        known = self.columns.get(uid)
        if not known:
            node = self.manifest.all_nodes()[uid]
            raise ProjectError(f"the columns of {name} are not known", node.path,
                               hint="declare its columns in YAML (Python models, sources) or fix its SQL")
        match = next((c for c in known if c == column), None) or next(
            (c for c in known if c.lower() == column.lower()), None)
        if match is None:
            raise ProjectError(f"{name} has no column {column!r}",
                               hint=did_you_mean(column, known) or "columns: " + ", ".join(known))
        return uid, match

    def tree_lines(self, start: ColumnRef, downstream: bool = False) -> Iterator[str]:
        """The lineage of one column as an indented tree, one line per column."""
        edges = self.downstream() if downstream else self.upstream
        nodes = self.manifest.all_nodes()

        def label(ref: ColumnRef) -> str:
            node = nodes[ref[0]]
            kind = "python model" if node.language == "python" else node.resource_type
            return f"{node.name}.{ref[1]}  [{kind}]"

        yield label(start)

        def walk(ref: ColumnRef, prefix: str, seen: frozenset[ColumnRef]) -> Iterator[str]:
            children = edges.get(ref, [])
            for i, child in enumerate(children):
                last = i == len(children) - 1
                loop = " (cycle)" if child in seen else ""
                yield prefix + ("└── " if last else "├── ") + label(child) + loop
                if not loop:
                    yield from walk(child, prefix + ("    " if last else "│   "), seen | {child})

        yield from walk(start, "", frozenset({start}))
