"""The columns and types of a unit test's inputs: what fixture values are cast to, and what a missing
column is filled with (NULL of its type), as dbt does.

Where they come from, best first (the result says which, as `origin`):
- `warehouse`: the relation as built, read from information_schema (a connected `pds build` / `pds
  test`: the parents are built before the unit test runs), its types translated to DuckDB's;
- `yaml`: every column declared in schema YAML with a `data_type` (a contract says the same);
- `seed`: the seed's CSV with the types dbt infers (pds_adapters.seed_types), or its `column_types`;
- `inferred`: a SQL model's query run on empty tables of its own parents' inferred columns in an
  in-memory DuckDB (like dbt's --empty), so types flow from seeds and typed sources down the DAG;
- `names`: only the names are known (YAML without types, a Python model's last returned columns, a
  query that could not run on empty inputs): values keep the types their literals have.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from pds_core.nodes import Manifest, Node, identifier


@dataclass
class InputColumns:
    """One input's columns in order, each with a DuckDB type or None when unknown."""

    columns: list[tuple[str, str | None]]
    origin: str
    complete: bool  # every column of the relation is listed: a fixture column outside them is an error

    def type_of(self, name: str) -> str | None:
        lowered = name.lower()
        return next((t for c, t in self.columns if c.lower() == lowered), None)

    def has(self, name: str) -> bool:
        lowered = name.lower()
        return any(c.lower() == lowered for c, _ in self.columns)


def duckdb_type(text: str | None, dialect: str) -> str | None:
    """A warehouse's type name as DuckDB spells it (None when sqlglot cannot read it)."""
    if not text:
        return None
    try:
        return exp.DataType.build(str(text), dialect=dialect).sql("duckdb")
    except Exception:
        try:
            return exp.DataType.build(str(text), dialect="duckdb").sql("duckdb")
        except Exception:
            return None


class InputTypes:
    """Columns and types of any model, seed or source, computed once per node and shared by the unit
    tests of one run (thread-safe)."""

    def __init__(self, manifest: Manifest, graph: Any, root: Any, dialect: str,
                 warehouse: Callable[[Node], list[tuple[str, str]] | None] | None = None,
                 warehouse_dialect: str = "duckdb", built_columns: dict[str, list[str]] | None = None) -> None:
        self.manifest, self.graph, self.root, self.dialect = manifest, graph, root, dialect
        self.warehouse, self.warehouse_dialect = warehouse, warehouse_dialect
        self.built_columns = built_columns or {}
        self._known: dict[str, InputColumns] = {}
        self._lock = threading.RLock()

    def of(self, node: Node) -> InputColumns:
        with self._lock:
            if node.unique_id not in self._known:
                self._known[node.unique_id] = self._find(node)
            return self._known[node.unique_id]

    def _find(self, node: Node) -> InputColumns:
        if self.warehouse is not None and node.relation is not None and node.materialized != "ephemeral":
            try:
                found = self.warehouse(node)
            except Exception:  # no access to information_schema: infer instead
                found = None
            if found:
                return InputColumns([(c, duckdb_type(t, self.warehouse_dialect)) for c, t in found], "warehouse", True)
        declared = [(c.name, duckdb_type(c.data_type, self.dialect)) for c in node.columns.values()]
        if node.resource_type == "seed":
            return self._seed(node)
        if node.resource_type == "model" and node.language == "sql":
            inferred = self._infer(node)
            if inferred is not None:
                return inferred
        if declared and all(t for _, t in declared):
            contract = node.config.get("contract")
            return InputColumns(declared, "yaml", isinstance(contract, dict) and contract.get("enforced") is True)
        if node.resource_type == "model" and node.unique_id in self.built_columns:
            return InputColumns([(c, dict(declared).get(c)) for c in self.built_columns[node.unique_id]], "names", True)
        return InputColumns(declared, "names" if declared else "none", False)

    def _seed(self, node: Node) -> InputColumns:
        """The seed's columns with the types dbt's inference gives them (pds_adapters.seed_types; dbt's
        SQL types, as dbt-duckdb and dbt-postgres create them), or its column_types."""
        from pds_adapters.seed_types import SEED_TYPES
        from pds_adapters.seeds import read_seed

        types = {str(k): str(v) for k, v in (node.config.get("column_types") or {}).items()}
        seed = read_seed(str(self.root / node.path), str(node.config.get("delimiter") or ","), list(types))
        return InputColumns([(n, duckdb_type(types[n], self.dialect) if n in types else
                              duckdb_type(SEED_TYPES[k], "postgres")) for n, k in seed.kinds.items()], "seed", True)

    def _infer(self, node: Node) -> InputColumns | None:
        """Run the model on empty tables of its parents (their own inferred columns) and read its columns."""
        import duckdb

        from pds_core.compiler import Compiler

        con = duckdb.connect(":memory:")
        try:
            for parent in needed_parents(node, self.manifest).values():
                cols = self.of(parent)
                if not cols.columns or any(t is None for _, t in cols.columns):
                    return None
                create_empty(con, parent, cols.columns)
            tree = Compiler(self.manifest, self.graph, self.dialect, "duckdb").compile([node.unique_id])[
                node.unique_id].ast.copy()
            for table in tree.find_all(exp.Table):
                table.set("catalog", None)
            names, kinds = _describe(con, tree)
        except Exception:  # a function DuckDB lacks, a parent it could not type: the names stay unknown
            return None
        finally:
            con.close()
        return InputColumns(list(zip(names, kinds, strict=True)), "inferred", True)


def needed_parents(node: Node, manifest: Manifest) -> dict[str, Node]:
    """The relations a model reads: its parents, looking through ephemeral ones to theirs."""
    needed: dict[str, Node] = {}
    for uid in node.depends_on:
        parent = manifest.all_nodes()[uid]
        if parent.materialized == "ephemeral":
            needed.update(needed_parents(parent, manifest))
        else:
            needed[uid] = parent
    return needed


def table_of(node: Node) -> exp.Table:
    """Where a node's rows live in the unit test's in-memory DuckDB: its schema and name, no catalog."""
    assert node.relation is not None
    return exp.Table(this=identifier(node.relation.identifier), db=identifier(node.relation.schema))


def create_empty(con: Any, node: Node, columns: list[tuple[str, str | None]]) -> None:
    from pds_adapters import statements as st

    con.execute(st.create_schema(identifier(node.relation.schema)).sql("duckdb"))  # type: ignore[union-attr]
    select = exp.select(*[exp.cast(exp.null(), exp.DataType.build(t or "VARCHAR", dialect="duckdb"))
                          .as_(identifier(c)) for c, t in columns]).limit(0)
    con.execute(exp.Create(this=table_of(node), kind="TABLE", expression=select).sql("duckdb"))


def _describe(con: Any, query: exp.Expression) -> tuple[list[str], list[str]]:
    rel = con.sql(query.sql("duckdb"))
    return [str(c) for c in rel.columns], [str(t) for t in rel.types]
