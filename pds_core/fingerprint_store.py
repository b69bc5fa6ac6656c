"""The fingerprint that built each relation, kept in the warehouse beside the data it describes.

One row per relation: the node's full fingerprint, when it was built, and the state of its
source inputs at that time. --skip-unchanged reads it once per run; a build writes it once
at the end for every node it built (a killed build writes nothing, so its nodes simply
rebuild next time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from sqlglot import exp

from pds_core.nodes import Manifest, Node, Relation
from pds_core.state import Fingerprint

TABLE = "pds_fingerprints"
COLUMNS = (("relation", "VARCHAR"), ("unique_id", "VARCHAR"), ("fingerprint", "VARCHAR"),
           ("built_at", "VARCHAR"), ("inputs", "VARCHAR"), ("invocation_id", "VARCHAR"))


@dataclass
class Recorded:
    fingerprint: str
    built_at: str
    inputs: dict[str, Any] = field(default_factory=dict)


class FingerprintStore:
    """Reads and writes pds_fingerprints through the adapter, with sqlglot-built statements."""

    def __init__(self, adapter: Any, schema: str) -> None:
        self.adapter = adapter
        self.relation = Relation(schema, TABLE)

    def _table(self) -> exp.Table:
        return self.adapter.table(self.relation)

    def ensure(self) -> None:
        self.adapter.ensure_schema(self.relation.schema)
        columns = [exp.ColumnDef(this=exp.to_identifier(name), kind=exp.DataType.build(kind, dialect=self.adapter.dialect))
                   for name, kind in COLUMNS]
        self.adapter.execute(exp.Create(this=exp.Schema(this=self._table(), expressions=columns), kind="TABLE",
                                        exists=True))

    def read(self) -> dict[str, Recorded]:
        if self.adapter.relation_kind(self.relation) is None:
            return {}
        _cols, rows = self.adapter.fetch(exp.select("relation", "fingerprint", "built_at", "inputs").from_(self._table()))
        return {r[0]: Recorded(r[1], r[2], json.loads(r[3] or "{}")) for r in rows}

    def record(self, entries: list[tuple[Node, Fingerprint, dict[str, Any]]], built_at: str, invocation_id: str) -> None:
        """Replace the rows of the given relations in one transaction."""
        if not entries:
            return
        self.ensure()
        rows = [(str(node.relation), node.unique_id, fp.full, built_at, json.dumps(inputs, default=str), invocation_id)
                for node, fp, inputs in entries]
        with self.adapter.transaction():
            self.adapter.execute(exp.delete(self._table(), where=exp.column("relation").isin(
                *[exp.Literal.string(row[0]) for row in rows])))
            self.adapter.insert_rows(self.relation, list(COLUMNS), rows)


def source_inputs(manifest: Manifest, graph: nx.DiGraph, uid: str, freshness: dict[str, Any]) -> dict[str, Any]:
    """The current loaded_at maximum of every source upstream of a node (None where unknown)."""
    return {a: freshness.get(a) for a in nx.ancestors(graph, uid) if a in manifest.sources}


def read_freshness(adapter: Any, manifest: Manifest, sources: set[str]) -> dict[str, Any]:
    """max(loaded_at_field) of each given source that declares one; others are unknown (None)."""
    values: dict[str, Any] = {}
    for uid in sorted(sources):
        node = manifest.sources[uid]
        field_name = node.source_meta.get("loaded_at_field")
        if not field_name or node.relation is None:
            values[uid] = None
            continue
        query = exp.select(exp.Max(this=exp.column(field_name, quoted=True))).from_(adapter.table(node.relation))
        try:
            _c, rows = adapter.fetch(query)
            values[uid] = None if not rows or rows[0][0] is None else str(rows[0][0])
        except Exception:  # an unreadable source means its data cannot be vouched for
            values[uid] = None
    return values


def skippable(manifest: Manifest, graph: nx.DiGraph, candidates: set[str], current: dict[str, Fingerprint],
              recorded: dict[str, Recorded], exists: Any, freshness: dict[str, Any]) -> set[str]:
    """Nodes whose relation was built from this exact definition and whose inputs cannot have changed since.

    Every ancestor must be a source whose loaded_at maximum is what it was at that build, or a
    model or seed that is not rebuilt in this run and was last built no later than the node.
    """
    result: set[str] = set()
    for uid in nx.topological_sort(graph):
        if uid not in candidates:
            continue
        node = manifest.nodes[uid]
        rec = recorded.get(str(node.relation))
        if rec is None or rec.fingerprint != current[uid].full or not exists(node.relation.key()):
            continue
        if all(_unchanged(manifest, a, rec, recorded, candidates, result, freshness) for a in nx.ancestors(graph, uid)):
            result.add(uid)
    return result


def _unchanged(manifest: Manifest, ancestor: str, rec: Recorded, recorded: dict[str, Recorded],
               candidates: set[str], skipped: set[str], freshness: dict[str, Any]) -> bool:
    if ancestor in manifest.sources:
        now = freshness.get(ancestor)
        return now is not None and rec.inputs.get(ancestor) == now
    node = manifest.nodes[ancestor]
    if node.materialized == "ephemeral":
        return True  # its SQL is part of the node's fingerprint; its own inputs are ancestors too
    if ancestor in candidates and ancestor not in skipped:
        return False  # rebuilt in this run
    prec = recorded.get(str(node.relation))
    return prec is not None and prec.built_at <= rec.built_at
