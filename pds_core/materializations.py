"""One strategy class per materialization kind; each turns a node into warehouse state via the adapter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pds_adapters.statements import rendered, wraps_rendered
from pds_core.compiler import CompiledNode
from pds_core.contracts import build_declared, builds_declared
from pds_core.contracts import enforce as enforce_contract
from pds_core.errors import ProjectError
from pds_core.nodes import Node, Relation
from pds_core.post_build import building


@dataclass
class BuildContext:
    """What a materialization may use: the adapter, compiled SQL, the plan's decision for the node
    (made once, before the run: see plan.BuildDecision), and how to read upstream data."""

    adapter: Any
    project_root: Path
    vars: dict[str, Any]
    decisions: dict[str, Any] = field(default_factory=dict)  # uid -> plan.BuildDecision
    compiled: dict[str, CompiledNode] = field(default_factory=dict)
    resolve: Callable[[str, str], Relation | str] | None = None  # (kind, name) -> relation or SQL
    render_at_run: Callable[[Node, Any], None] | None = None  # (node, adapter): its connected render (plan.decide)
    manifest: Any = None  # the project's nodes (a foreign key's dependents are looked up there)
    warned: set[str] = field(default_factory=set)  # warnings about the whole target said in this run

    def incremental(self, node: Node) -> Any:
        """The node's decision when its rows go into the existing table, else None (a full build)."""
        decision = self.decisions.get(node.unique_id)
        return decision if decision is not None and decision.incremental else None

    def options(self, node: Node) -> Any:
        """The adapter's storage options for the node's table, made at plan time (None on most engines)."""
        decision = self.decisions.get(node.unique_id)
        return decision.options if decision is not None else None


@dataclass
class Outcome:
    rows: int | None
    message: str
    columns: list[str] | None = None  # a Python model's returned columns


class Materialization:
    """Base strategy: subclasses implement build()."""

    name: ClassVar[str] = ""

    def build(self, node: Node, ctx: BuildContext) -> Outcome:
        raise NotImplementedError

    @staticmethod
    def query(node: Node, ctx: BuildContext) -> Any:
        """The model's compiled SQL as the statement's query: as written by the compiler when it is in the
        target's dialect (no second parse, no tree to copy), else parsed."""
        compiled = ctx.compiled[node.unique_id]
        if compiled.dialect == getattr(ctx.adapter, "dialect", None) and wraps_rendered(compiled.dialect):
            return rendered(compiled.sql)
        return compiled.ast


class View(Materialization):
    name = "view"

    def build(self, node: Node, ctx: BuildContext) -> Outcome:
        enforce_contract(node, ctx.adapter, self.query(node, ctx))
        with building(node, ctx, "view"):
            ctx.adapter.create_view(node.relation, self.query(node, ctx))
        return Outcome(None, f"created view {node.relation}")


class Table(Materialization):
    name = "table"

    def build(self, node: Node, ctx: BuildContext) -> Outcome:
        enforce_contract(node, ctx.adapter, self.query(node, ctx))  # before the old table is touched
        with building(node, ctx, "table"):
            rows = replace(node, ctx, self.query(node, ctx))
        return Outcome(rows, f"created table {node.relation}")


class Incremental(Materialization):
    name = "incremental"

    def build(self, node: Node, ctx: BuildContext) -> Outcome:
        enforce_contract(node, ctx.adapter, self.query(node, ctx))
        rel = node.relation
        decision = ctx.incremental(node)
        with building(node, ctx, "table"):
            if decision is None:
                rows = replace(node, ctx, self.query(node, ctx))
            else:
                rows = ctx.adapter.incremental(rel, self.query(node, ctx), decision.strategy, decision.unique_key,
                                               **_schema_change(ctx.adapter, node, decision), options=decision.options)
        if decision is None:
            return Outcome(rows, f"created table {rel} (full build)")
        return Outcome(rows, f"{decision.strategy} into {rel}")


class External(Materialization):
    """dbt-duckdb's external: the rows written to Parquet/CSV/JSON files, a view over them (external.py)."""

    name = "external"

    def build(self, node: Node, ctx: BuildContext) -> Outcome:
        from pds_core.external import build

        enforce_contract(node, ctx.adapter, self.query(node, ctx))
        rows = build(node, ctx, self.query(node, ctx))
        return Outcome(rows, f"wrote external files of {node.relation} and created a view over them")


class Ephemeral(Materialization):
    name = "ephemeral"

    def build(self, node: Node, ctx: BuildContext) -> Outcome:
        return Outcome(None, "ephemeral (inlined into its children)")


class Seed(Materialization):
    name = "seed"

    def build(self, node: Node, ctx: BuildContext) -> Outcome:
        types = {str(k): str(v) for k, v in (node.config.get("column_types") or {}).items()}
        full_path = str(ctx.project_root / node.path)
        try:
            with building(node, ctx, "table"):
                rows = ctx.adapter.load_seed(node.relation, full_path, types, node.config.get("delimiter") or ",",
                                             node.config.get("quote_columns"), options=ctx.options(node))
        except ProjectError as exc:  # the adapter names the file it read: name it as the project does
            if str(exc.location.path) == full_path:
                exc.location.path = node.path
            raise
        return Outcome(rows, f"loaded seed {node.relation}")


class PythonModel(Materialization):
    """Runs the user's model(ctx) and writes its DataFrame with the adapter's bulk path."""

    name = "python"

    def build(self, node: Node, ctx: BuildContext) -> Outcome:
        from pds_core.dbt_python import DbtObject, DbtThis, column_names, runtime_for
        from pds_core.pymodels import ModelContext, run_python_model

        rel = node.relation
        mat = node.materialized
        if mat not in ("table", "incremental"):
            raise ProjectError(f"a Python model can be a table or incremental, not {mat!r}", node.path,
                               hint="set materialized='table' (the default for Python models)")
        decision = ctx.incremental(node)

        def read(kind: str, name: str) -> Any:  # the engine's own DataFrame: pandas, or a lazy Spark one
            assert ctx.resolve is not None
            return ctx.adapter.frame(ctx.resolve(kind, name))

        def read_chunks(kind: str, name: str, chunksize: int) -> Any:
            assert ctx.resolve is not None
            return ctx.adapter.read_chunks(ctx.resolve(kind, name), chunksize)

        def read_arrow(kind: str, name: str) -> Any:
            assert ctx.resolve is not None
            return ctx.adapter.frame_arrow(ctx.resolve(kind, name))

        model_ctx = ModelContext(read, node.config, ctx.vars, str(rel), decision is not None, read_chunks, read_arrow)
        runtime = runtime_for(ctx.adapter, ctx.resolve, Relation)  # what dbt.ref() returns on this engine
        model_ctx.engine, model_ctx.session = ctx.adapter.type, runtime.session
        this = DbtThis(rel.database, rel.schema, rel.identifier, ctx.adapter.relation_sql(rel))
        dbt = DbtObject(runtime.read, node.config, this, decision is not None)
        try:
            df = run_python_model(node.raw_code, node.path, model_ctx, dbt, runtime.session, runtime.native,
                                  accepts=ctx.adapter.is_frame)
        finally:
            runtime.close()
        columns = column_names(df)  # recorded: what downstream SQL may select from it
        with building(node, ctx, "table"):
            if decision is None:
                rows = ctx.adapter.write_dataframe(rel, df, options=ctx.options(node))
            else:
                rows = ctx.adapter.incremental_dataframe(rel, df, decision.strategy, decision.unique_key,
                                                         **_schema_change(ctx.adapter, node, decision),
                                                         options=decision.options)
        if decision is None:
            return Outcome(rows, f"created table {rel} from Python", columns)
        return Outcome(rows, f"{decision.strategy} into {rel} from Python", columns)


def replace(node: Node, ctx: BuildContext, query: Any) -> int | None:
    """A table's full build: from its declared columns and constraints with an enforced contract, else
    the query's own columns."""
    if builds_declared(node):
        return build_declared(node, ctx, query)
    return ctx.adapter.replace_table(node.relation, query, options=ctx.options(node))


def _schema_change(adapter: Any, node: Node, decision: Any) -> dict[str, Any]:
    """on_schema_change for the adapter (schema_change.py); an engine that cannot apply it says so."""
    from pds_core.schema_change import policy_of

    policy = policy_of(decision)
    if getattr(adapter, "supports_schema_change", True):
        return {"schema": policy}
    if policy.mode != "ignore":
        raise ProjectError(f"on_schema_change: {policy.mode} is not supported on {adapter.type} yet", node.path,
                           hint="remove it (the default, ignore, loads the table's columns), or rebuild with "
                                "--full-refresh when the columns change")
    return {}


STRATEGIES: dict[str, type[Materialization]] = {
    cls.name: cls for cls in (View, Table, Incremental, Ephemeral, Seed, External)
}


def materialization_for(node: Node) -> Materialization:
    if node.resource_type == "model" and node.language == "python":
        return PythonModel()
    return STRATEGIES[node.materialized]()
