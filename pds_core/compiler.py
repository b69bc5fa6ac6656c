"""Compile: rendered SQL gets its relation names, is parsed by sqlglot, and transpiled to the target.

Every syntax error of the project is collected and reported at once, before the warehouse
is touched. Ephemeral models are inlined as CTEs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import networkx as nx

from pds_core import transpile_checks
from pds_core.cache import ParseCache, digest
from pds_core.errors import ProjectError, ProjectErrors
from pds_core.nodes import Manifest, Node, Relation
from pds_core.render import MARKER
from pds_core.sourcemap import SourceMap

EPHEMERAL_PREFIX = "__pds_ephemeral__"


@dataclass
class CompiledNode:
    """A SQL model ready to run: its final SQL in the target dialect."""

    unique_id: str
    sql: str
    dialect: str
    ephemeral_parents: list[str] = field(default_factory=list)
    canonical: str = ""  # hash of the query without comments or layout: what fingerprints compare
    column_lineage: dict[str, list[dict[str, str]]] | None = None  # column -> parent columns (validate.py)

    @cached_property
    def ast(self) -> Any:
        """The query as a sqlglot expression, parsed on first use (materializations wrap it in DDL)."""
        import sqlglot

        return sqlglot.parse_one(self.sql, read=self.dialect)


class Compiler:
    """Compiles SQL models of one manifest for one target dialect."""

    def __init__(self, manifest: Manifest, graph: nx.DiGraph, source_dialect: str, target_dialect: str,
                 cache: ParseCache | None = None, namer: Callable[[Relation, str, Any], Any] | None = None) -> None:
        """`namer(relation, dialect, quoting)` is the target adapter's table(): THE name of a relation, as
        its DDL and the results tables spell it too (on DuckDB with the catalog). Without it (unit tests
        in an in-memory DuckDB), Relation.table() as written."""
        self.cache = cache
        self.namer = namer
        self.manifest = manifest
        self.graph = graph
        self.source_dialect = source_dialect
        self.target_dialect = target_dialect
        self._asts: dict[str, Any] = {}
        self._sources = {n.name: n for n in manifest.sources.values()}
        self._relation_sql: dict[tuple[Any, ...], str] = {}

    def compile(self, unique_ids: list[str]) -> dict[str, CompiledNode]:
        """Compile the given nodes (SQL models only); raise every syntax error found at once."""
        errors: list[ProjectError] = []
        result: dict[str, CompiledNode] = {}
        for uid in unique_ids:
            node = self.manifest.nodes[uid]
            if node.resource_type not in ("model", "test", "snapshot") or node.language != "sql":
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
        closure = self._ephemeral_closure(node) if ephemerals else []
        key = digest(text, [self._substitute(self.manifest.nodes[u])[0] for u in closure],
                     self.source_dialect, self.target_dialect)
        hit = self.cache.compiled.get(key) if self.cache is not None else None
        if hit is not None:
            return CompiledNode(node.unique_id, hit[0], self.target_dialect, ephemerals, hit[1])
        tree = self._asts[node.unique_id] = self._parse(node, text)  # validation reuses it
        canonical = digest(canonical_sql(text))
        if not ephemerals and self.source_dialect == self.target_dialect:
            sql = text.strip().rstrip(";").strip()
        else:
            if closure:
                ctes = [(EPHEMERAL_PREFIX + self.manifest.nodes[uid].name, self._parsed(self.manifest.nodes[uid]))
                        for uid in closure]
                tree = _with_ctes(tree.copy(), ctes)
            tree = transpile_checks.check(tree, node, text, self.source_dialect, self.target_dialect, EPHEMERAL_PREFIX)
            sql = tree.sql(dialect=self.target_dialect, pretty=True)
        if self.cache is not None:
            self.cache.put_compiled(key, (sql, canonical))
        return CompiledNode(node.unique_id, sql, self.target_dialect, ephemerals, canonical)

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

    def source_sql(self, node: Node) -> str:
        """The model's SQL in the project's dialect with relation names in place (what validation reads)."""
        return self._substitute(node)[0]

    def source_tree(self, node: Node) -> Any:
        """That SQL parsed (cached; raises its syntax errors). Validation qualifies it in place, after compile()."""
        return self._parsed(node)

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
                return self._sql_of(node.relation)
            if kind == "source":
                src = self._sources[name]
                return self._sql_of(src.relation, dict(src.source_meta.get("quoting") or {}))
            parent = self.manifest.ref(name)
            if parent is None:
                raise ProjectError(f"{node.name} refers to {name!r}, which is not a model or seed", node.path)
            if parent.materialized == "ephemeral":
                ephemerals.append(parent.unique_id)
                return EPHEMERAL_PREFIX + parent.name
            return self._sql_of(parent.relation)

        return MARKER.sub(replace, node.rendered or ""), ephemerals

    def _sql_of(self, relation: Relation | None, quoting: bool | dict[str, Any] = False) -> str:
        """A relation's name in the project's dialect, generated once per relation."""
        key = (relation, tuple(sorted(quoting.items())) if isinstance(quoting, dict) else quoting)
        if key not in self._relation_sql:
            self._relation_sql[key] = self.relation_table(relation, quoting).sql(dialect=self.source_dialect)
        return self._relation_sql[key]

    def relation_table(self, relation: Relation | None, quoting: bool | dict[str, Any] = False) -> Any:
        """How a relation is named in the models' SQL (validation names parents the same way)."""
        assert relation is not None
        if self.namer is not None:
            return self.namer(relation, self.source_dialect, quoting)
        return relation.table(self.source_dialect, quoting)

    def _parse(self, node: Node, text: str) -> Any:
        import sqlglot
        from sqlglot.errors import ParseError, TokenError

        try:
            statements = [s for s in sqlglot.parse(text, read=self.source_dialect) if s is not None]
        except ParseError as exc:
            errors = [_syntax_error(node, text, err) for err in exc.errors] or [ProjectError(str(exc), node.path)]
            raise ProjectErrors(errors) if len(errors) > 1 else errors[0] from None
        except TokenError as exc:
            raise _token_error(node, text, exc) from None
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


_LEXEME = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|--[^\n]*|/\*.*?\*/|\s+|[^'"`\s/-]+|.""", re.S)


def canonical_sql(text: str) -> str:
    """The SQL without comments and with all layout collapsed, so neither changes a fingerprint."""
    out: list[str] = []
    for lexeme in _LEXEME.findall(text):
        if lexeme.isspace() or lexeme.startswith(("--", "/*")):
            if out and out[-1] != " ":
                out.append(" ")
            continue
        out.append(lexeme)
    return "".join(out).strip().rstrip(";").strip()


_TOKEN_REPR = re.compile(r"<Token token_type: [^,]*, text: (.*?), line: .*?>")


_MISSING_RIGHT = re.compile(r"Required keyword: 'expression' missing for (\w+)")
_OPERATORS = {"GT": ">", "GTE": ">=", "LT": "<", "LTE": "<=", "EQ": "=", "NEQ": "<>", "Add": "+", "Sub": "-",
              "Mul": "*", "Div": "/", "Mod": "%", "And": "AND", "Or": "OR", "Like": "LIKE", "DPipe": "||"}


def _syntax_error(node: Node, text: str, err: dict[str, Any]) -> ProjectError:
    """A sqlglot parse error at its place in the model's file (sqlglot's column is the token's last character)."""
    line, col = err.get("line"), err.get("col")
    highlight = err.get("highlight") or ""
    if line and col:
        col = max(col - len(highlight) + 1, 1) if "\n" not in highlight else col
        line, col = SourceMap(node.raw_code, text).locate(line, col)
    desc = re.sub(r"<class '(?:[\w.]+\.)?(\w+)'>", r"\1", err.get("description") or "invalid SQL")
    desc = _TOKEN_REPR.sub(lambda m: repr(m.group(1)), desc)  # sqlglot names a token by its repr
    desc = _MISSING_RIGHT.sub(lambda m: f"{_OPERATORS.get(m.group(1), m.group(1))} has nothing on its right", desc)
    near = f" near {highlight.strip()!r}" if highlight.strip() and repr(highlight.strip()) not in desc else ""
    return ProjectError(f"SQL syntax error: {desc}{near}", node.path, line, col,
                        hint="fix the SQL at this position; `pds compile` checks every model at once")


def _token_error(node: Node, text: str, exc: Exception) -> ProjectError:
    """An unterminated string or quoted name: sqlglot's tokenizer names where it started."""
    cause = str(exc.__cause__ or exc.__context__ or "")
    found = re.search(r"Missing (.+) from \d+:(\d+)", cause)
    if found is None:
        return ProjectError(f"SQL syntax error: {exc}", node.path, hint="look for an unclosed quote or comment")
    line, col = SourceMap(node.raw_code, text).locate_offset(int(found.group(2)))
    return ProjectError(f"SQL syntax error: {found.group(1)} is never closed", node.path, line, col,
                        hint="close the string, quoted name or comment that starts here")
