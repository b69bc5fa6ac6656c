"""Compile: rendered SQL gets its relation names, is parsed by sqlglot, and transpiled to the target.

Every syntax error of the project is collected and reported at once, before the warehouse
is touched. Ephemeral models are inlined as CTEs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import networkx as nx

from pds_core.errors import ProjectError, ProjectErrors
from pds_core.nodes import Node, Relation
from pds_core.parser import Manifest
from pds_core.render import MARKER

EPHEMERAL_PREFIX = "__pds_ephemeral__"


@dataclass
class CompiledNode:
    """A SQL model ready to run: its final SQL in the target dialect."""

    unique_id: str
    sql: str
    dialect: str
    ephemeral_parents: list[str] = field(default_factory=list)

    @cached_property
    def ast(self) -> Any:
        """The query as a sqlglot expression, parsed on first use (materializations wrap it in DDL)."""
        import sqlglot

        return sqlglot.parse_one(self.sql, read=self.dialect)


class Compiler:
    """Compiles SQL models of one manifest for one target dialect."""

    def __init__(self, manifest: Manifest, graph: nx.DiGraph, source_dialect: str, target_dialect: str) -> None:
        self.manifest = manifest
        self.graph = graph
        self.source_dialect = source_dialect
        self.target_dialect = target_dialect
        self._asts: dict[str, Any] = {}
        self._sources = {n.name: n for n in manifest.sources.values()}

    def compile(self, unique_ids: list[str]) -> dict[str, CompiledNode]:
        """Compile the given nodes (SQL models only); raise every syntax error found at once."""
        errors: list[ProjectError] = []
        result: dict[str, CompiledNode] = {}
        for uid in unique_ids:
            node = self.manifest.nodes[uid]
            if node.resource_type != "model" or node.language != "sql":
                continue
            try:
                result[uid] = self._compile_one(node)
            except ProjectErrors as exc:
                errors.extend(exc.errors)
            except ProjectError as exc:
                errors.append(exc)
        if errors:
            unique = list({str(e): e for e in errors}.values())
            raise unique[0] if len(unique) == 1 else ProjectErrors(unique)
        return result

    def _compile_one(self, node: Node) -> CompiledNode:
        text, ephemerals = self._substitute(node)
        tree = self._parse(node, text)
        if not ephemerals and self.source_dialect == self.target_dialect:
            return CompiledNode(node.unique_id, text.strip().rstrip(";").strip(), self.target_dialect)
        if ephemerals:
            closure = self._ephemeral_closure(node)
            ctes = [(EPHEMERAL_PREFIX + self.manifest.nodes[uid].name, self._parsed(self.manifest.nodes[uid]))
                    for uid in closure]
            tree = _with_ctes(tree.copy(), ctes)
        return CompiledNode(node.unique_id, tree.sql(dialect=self.target_dialect, pretty=True),
                            self.target_dialect, ephemerals)

    def _ephemeral_closure(self, node: Node) -> list[str]:
        """Ephemeral ancestors reachable through ephemeral models only, parents before children."""
        found: list[str] = []

        def visit(uid: str) -> None:
            for parent in self.manifest.nodes[uid].depends_on:
                pnode = self.manifest.nodes.get(parent)
                if pnode is not None and pnode.materialized == "ephemeral" and parent not in found:
                    visit(parent)
                    found.append(parent)

        visit(node.unique_id)
        return found

    def _parsed(self, node: Node) -> Any:
        if node.unique_id not in self._asts:
            text, _ = self._substitute(node)
            self._asts[node.unique_id] = self._parse(node, text)
        return self._asts[node.unique_id]

    def _substitute(self, node: Node) -> tuple[str, list[str]]:
        """Replace ref/source/this markers with relation names in the project's dialect."""
        ephemerals: list[str] = []

        def replace(match: Any) -> str:
            kind, name = match.group(1), match.group(2)
            if kind == "this":
                return _relation_sql(node.relation, self.source_dialect)
            if kind == "source":
                src = self._sources[name]
                return _relation_sql(src.relation, self.source_dialect, dict(src.source_meta.get("quoting") or {}))
            parent = self.manifest.ref(name)
            if parent is None:
                raise ProjectError(f"{node.name} refers to {name!r}, which is not a model or seed", node.path)
            if parent.materialized == "ephemeral":
                ephemerals.append(parent.unique_id)
                return EPHEMERAL_PREFIX + parent.name
            return _relation_sql(parent.relation, self.source_dialect)

        return MARKER.sub(replace, node.rendered or ""), ephemerals

    def _parse(self, node: Node, text: str) -> Any:
        import sqlglot
        from sqlglot.errors import ParseError, TokenError

        try:
            statements = [s for s in sqlglot.parse(text, read=self.source_dialect) if s is not None]
        except ParseError as exc:
            errors = [_syntax_error(node, err) for err in exc.errors] or [ProjectError(str(exc), node.path)]
            raise ProjectErrors(errors) if len(errors) > 1 else errors[0] from None
        except TokenError as exc:
            raise ProjectError(f"SQL syntax error: {exc}", node.path) from None
        if len(statements) != 1:
            raise ProjectError(f"a model must be one SELECT statement, found {len(statements)} statements",
                               node.path, hint="remove the extra statements or semicolons")
        tree = statements[0]
        from sqlglot import exp

        if not isinstance(tree, exp.Query):
            raise ProjectError(f"a model must be a SELECT query, not {tree.key.upper()}", node.path, 1,
                               hint="pds creates the table or view itself; write only the SELECT")
        return tree


def _with_ctes(tree: Any, ctes: list[tuple[str, Any]]) -> Any:
    """Put the ephemeral parents first in the query's WITH clause, parents before children."""
    from sqlglot import exp

    new = [exp.CTE(this=query.copy(), alias=exp.TableAlias(this=exp.to_identifier(alias))) for alias, query in ctes]
    key = "with_" if "with_" in exp.Select.arg_types else "with"
    existing = tree.args.get(key)
    if existing is None:
        tree.set(key, exp.With(expressions=new))
    else:
        existing.set("expressions", [*new, *existing.expressions])
    return tree


def _relation_sql(relation: Relation | None, dialect: str, quote_all: bool | dict[str, Any] = False) -> str:
    assert relation is not None
    return relation.table(dialect, quote_all).sql(dialect=dialect)


_TOKEN_REPR = re.compile(r"<Token token_type: [^,]*, text: (.*?), line: .*?>")


def _syntax_error(node: Node, err: dict[str, Any]) -> ProjectError:
    line, col = err.get("line"), err.get("col")
    text = (err.get("highlight") or "").strip()
    # sqlglot names the offending token by its repr; show its text instead
    desc = _TOKEN_REPR.sub(lambda m: repr(m.group(1)), err.get("description") or "invalid SQL")
    near = f" near {text!r}" if text and repr(text) not in desc else ""
    return ProjectError(f"SQL syntax error: {desc}{near}", node.path, line, col,
                        hint="fix the SQL at this position; `pds compile` checks every model at once")
