"""Plan: everything a command decides before anything runs, made once and handed on as plain data.

    plan(project, options, catalog) -> Plan

parses the project (once, with is_incremental() false, as dbt's parse does), builds the graph,
compiles and validates the SQL, fingerprints every node and applies the selection. Given a
catalog (what exists in the warehouse), it then makes each selected node's BuildDecision: what
stands where it goes, whether it is rebuilt in full, which incremental strategy and keys it uses,
whether it is unchanged. Only the models whose SQL reads is_incremental() and that go
incrementally into an existing table are rendered and compiled a second time, in that variant.
Without a catalog (compile, ls) nothing is decided and the warehouse is never touched.

The quality and publish planners (quality/planner.py, publish/planner.py) add their nodes and
edges to the plan's run graph afterwards; execute.py runs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from pds_core import hooks
from pds_core.cache import ParseCache
from pds_core.compiler import CompiledNode, Compiler
from pds_core.dbt_state import DbtState
from pds_core.engine_config import check_engine_config, strategy_of
from pds_core.errors import ProjectError
from pds_core.fingerprint_store import skippable
from pds_core.graph import ancestors_of, build_graph, run_order_graph
from pds_core.jinja.runtime import RunTimeRender
from pds_core.loader import Project
from pds_core.nodes import Manifest, Relation
from pds_core.parser import Parser
from pds_core.publish.chart_nodes import check_columns, known_columns, parse_model_charts
from pds_core.publish.exports import parse_exports
from pds_core.publish.notify import webhooks
from pds_core.publish.serving import parse_served
from pds_core.quality.definitions import parse_quality
from pds_core.quality.generic import TestBlockExtension
from pds_core.schema_change import check_modes, mode_of
from pds_core.selector import SelectionContext, select_nodes
from pds_core.snapshots.parser import parse_snapshots
from pds_core.state import STATE_DIR, Fingerprint, SavedState, compute_fingerprints, read_built_columns
from pds_core.validate import Validation, validate_compiled

INDIRECT_MODES = ("eager", "cautious", "buildable", "empty")


@dataclass
class Options:
    """What the user asked for, the same from the CLI or from Python."""

    select: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    threads: int | None = None
    full_refresh: bool = False
    debug: bool = False
    state: str | None = None  # folder with the manifest.json that state: selectors compare against
    skip_unchanged: bool = False
    validate: bool = True  # check every column reference against the parents' columns (validate.py)
    validate_sources: bool = False  # read undeclared source columns from the warehouse for that
    store_failures: bool = False  # keep each failing test's rows in a table of the results schema
    lock_timeout: float = 0.0  # seconds to wait while another run holds the target (locking.py)
    indirect_selection: str = "eager"  # which tests of the selected nodes run (dbt's modes)
    retry: list[str] | None = None  # `pds retry`: exactly these unique ids, instead of select/exclude
    fail_fast: bool = False  # dbt's --fail-fast: the first error or failing test stops the run (execute.py)

    def __post_init__(self) -> None:
        if self.indirect_selection not in INDIRECT_MODES:
            raise ProjectError(f"unknown indirect selection {self.indirect_selection!r}",
                               hint=f"one of: {', '.join(INDIRECT_MODES)}")

    @property
    def selects_everything(self) -> bool:
        return not self.select and not self.exclude and self.retry is None


@dataclass(frozen=True)
class Command:
    """What a command builds and whether it reaches the warehouse."""

    name: str
    resource_types: tuple[str, ...] = ("model", "seed")
    quality_kinds: tuple[str, ...] = ()  # the quality nodes that run with the selected ones
    runs_exports: bool = False  # exports of the selected models run after their gating checks
    connects: bool = True
    run_hooks: bool = True  # the project's on-run-start / on-run-end hooks run around it (run_hooks.py)


COMMANDS = {c.name: c for c in (
    Command("build", ("model", "seed", "snapshot"), quality_kinds=("test", "metric", "unit_test"), runs_exports=True),
    Command("run", ("model",)),
    Command("seed", ("seed",)),
    Command("snapshot", ("snapshot",)),
    Command("test", (), ("test", "unit_test")),
    Command("source freshness", (), ("freshness",)),
    Command("run-operation", (), run_hooks=False),
    Command("publish", run_hooks=False),
    Command("compile", ("model", "snapshot"), connects=False),
    Command("lineage", ("model",), connects=False),
    Command("ls", ("model", "seed", "snapshot", "source"), connects=False),
)}


@dataclass
class BuildDecision:
    """How one node is built in this run, decided once before anything runs."""

    unique_id: str
    existing: str | None = None  # what stands where it goes: 'table', 'view' or None
    full_refresh: bool = False  # rebuilt from scratch: --full-refresh, or its own full_refresh: true
    incremental: bool = False  # its rows go into the existing table
    strategy: str | None = None  # append | merge | delete+insert | insert_overwrite, for incremental models
    unique_key: list[str] = field(default_factory=list)
    options: Any = None  # the adapter's storage options for the table (Spark: format, partitions, ...)
    unchanged: bool = False  # --skip-unchanged: its relation already holds this definition's result
    render_at_run: bool = False  # its Jinja asks the warehouse: rendered and compiled at its turn, connected
    on_schema_change: str = "ignore"  # incremental models: what a change of the query's columns does
    existing_columns: list[tuple[str, str]] | None = None  # the existing table's (name, type), read once


@dataclass
class Plan:
    """One command's plan: the project as parsed and compiled, the selection and the decisions."""

    project: Project
    options: Options
    command: Command
    invocation_id: str
    manifest: Manifest
    graph: nx.DiGraph  # the project's DAG: models, seeds, sources
    compiled: dict[str, CompiledNode]  # SQL models (and, once planned, SQL tests)
    validation: Validation | None
    fingerprints: dict[str, Fingerprint]
    chosen: set[str]  # everything the selection named, sources and tests too: decides the tests that run
    selected: set[str]  # the models and seeds the command builds
    target_dialect: str
    cache: ParseCache | None = None
    decisions: dict[str, BuildDecision] = field(default_factory=dict)
    freshness: dict[str, Any] = field(default_factory=dict)  # loaded_at of upstream sources (--skip-unchanged)
    built_columns: dict[str, list[str]] = field(default_factory=dict)  # Python models' last returned columns
    # what runs: the DAG plus the nodes the planners add (tests, metrics, exports) and their edges
    run_graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    runnable: set[str] = field(default_factory=set)
    added: dict[str, Any] = field(default_factory=dict)  # uid -> TestNode, MetricNode or Export
    blocked: dict[str, list[str]] = field(default_factory=dict)  # uid -> why it must not run
    retry_exports: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # said to the user before the run starts
    excluded: set[str] = field(default_factory=set)  # what --exclude names (a test named there never runs)
    namer: Any = None  # the target adapter's table(): how every relation is named in SQL
    table_options: dict[str, Any] = field(default_factory=dict)  # uid -> the adapter's options (engine_config.py)
    runtime: Any = None  # jinja.runtime.RunTimeRender: connected renders (models plan.decide marked, hooks)

    def node(self, uid: str) -> Any:
        """Any node of the run: a model, seed or source, or one a planner added."""
        return self.added.get(uid) or self.manifest.nodes.get(uid) or self.manifest.sources[uid]

    def kind(self, uid: str) -> str:
        return str(self.node(uid).resource_type)

    def name_of(self, uid: str) -> str:
        node = self.added.get(uid) or self.manifest.all_nodes().get(uid)
        return node.name if node is not None else uid

    def add(self, uid: str, node: Any, parents: list[str], children: Iterable[str] = ()) -> None:
        """A planner's node: after its parents, before the given children, in this run's graph only."""
        if self.run_graph is self.graph:
            self.run_graph = self.graph.copy()
        self.added[uid] = node
        self.run_graph.add_node(uid)
        for parent in parents:
            self.run_graph.add_edge(parent, uid)
        for child in children:
            self.run_graph.add_edge(uid, child)
        self.runnable.add(uid)

    def resolve(self, kind: str, name: str) -> Relation | str:
        """Where a Python model reads a parent from: its relation, or the SQL of an ephemeral parent."""
        if kind == "source":
            src = next((n for n in self.manifest.sources.values() if n.name == name), None)
            if src is None:
                raise ProjectError(f"source {name!r} is not declared")
            return src.relation  # type: ignore[return-value]
        node = self.manifest.ref(name)
        if node is None:
            raise ProjectError(f"ref({name!r}): no such model or seed")
        if node.materialized == "ephemeral":
            return self.compiled[node.unique_id].sql
        return node.relation  # type: ignore[return-value]


@dataclass
class Parsed:
    """A parsed project and the parser that read it (its renderer, cache and macros serve later steps)."""

    manifest: Manifest
    parser: Parser


def parse(project: Project, use_cache: bool = False, flags: dict[str, Any] | None = None) -> Parsed:
    """Models, seeds and sources (parser.py), then tests, checks, metrics (quality) and exports (publish);
    the notification hooks of pds_project.yml are checked too, so `pds compile` reports them.
    `flags`: what templates read as dbt's `flags` (WHICH, FULL_REFRESH, ...)."""
    webhooks(project)
    parser = Parser(project, use_cache=use_cache, extensions=[TestBlockExtension], node_parsers=[parse_snapshots])
    parser.renderer.flags.update(flags or {})
    hooks.install(parser.renderer)
    manifest = parser.parse()
    check_modes(manifest)
    manifest.quality = parse_quality(project, manifest, parser.renderer, parser.load_macros, parser.cache)
    manifest.exports = parse_exports(project, manifest)
    manifest.charts = parse_model_charts(project, manifest)
    manifest.served = parse_served(project, manifest)
    return Parsed(manifest, parser)


def parse_manifest(project: Project) -> Manifest:
    """The whole project's manifest, without the parse cache (what `pds.parse` returns)."""
    return parse(project).manifest


def plan(project: Project, options: Options | None = None, catalog: Any = None, command: str | Command = "build",
         source_columns: Any = None) -> Plan:
    """Parse, graph, compile, validate, fingerprint and select; with a catalog, decide how each node builds."""
    options = options or Options()
    spec = COMMANDS[command] if isinstance(command, str) else command
    from pds_adapters import adapter_class

    adapter_cls = adapter_class(project.target.type)
    engine = adapter_cls(project.target)  # not connected: names relations, checks engine config
    namer = engine.table  # THE relation renderer (nothing connects)
    flags = {"WHICH": spec.name, "FULL_REFRESH": options.full_refresh, "STORE_FAILURES": options.store_failures}
    parsed = parse(project, use_cache=True, flags=flags)
    manifest, parser = parsed.manifest, parsed.parser
    adapter_cls.check_names(manifest.all_nodes().values())
    graph = build_graph(manifest)
    sql_models = [uid for uid, n in manifest.nodes.items()
                  if n.resource_type in ("model", "snapshot") and n.language == "sql"]
    compiler = Compiler(manifest, graph, project.config.dialect, adapter_cls.dialect, parser.cache, namer)
    pending = [uid for uid in sql_models if manifest.nodes[uid].renders_with_warehouse]
    compiled = compiler.compile([uid for uid in sql_models if uid not in pending])
    compiled.update(compiler.compile_pending(pending))
    built_columns = read_built_columns(project.target_dir / STATE_DIR)
    validation = None
    if options.validate:
        validation = validate_compiled(manifest, graph, project.config.dialect, compiler, project.root, compiled,
                                       parser.cache, source_columns, built_columns)
    check_columns(manifest, lambda node: known_columns(node, validation, built_columns))  # charts, serve keys
    fingerprints = compute_fingerprints(manifest, graph, compiled, project.target.type,
                                        parser.key, project.vars)
    result = Plan(project=project, options=options, command=spec, invocation_id=parser.renderer.invocation_id,
                  manifest=manifest, graph=graph, compiled=compiled, validation=validation,
                  fingerprints=fingerprints, chosen=set(), selected=set(), target_dialect=adapter_cls.dialect,
                  cache=parser.cache, built_columns=built_columns, namer=namer)
    result.notes += list(getattr(manifest.schema, "notes", None) or [])  # e.g. dbt's semantic layer, kept
    _select(result)
    result.runtime = RunTimeRender(parser, compiler, result)  # hooks render with it too (hooks.render_hook)
    if pending:
        result.notes += [f"{manifest.nodes[uid].path}: rendered again at run time, connected (its Jinja asks the "
                         "warehouse: execute, run_query, statement or adapter look-ups)" for uid in sorted(pending)
                         if spec.name in ("compile", "lineage")]
    result.run_graph = run_order_graph(graph, manifest)  # (seeds before the sources that name them)
    result.runnable = {uid for uid in result.selected  # (a source, listed by ls, is not built)
                       if uid in manifest.nodes and manifest.nodes[uid].materialized != "ephemeral"}
    result.table_options = check_engine_config(manifest, result.runnable, engine)
    if catalog is not None:
        decide(result, catalog, parser, compiler, source_columns)
    return result


def _select(plan: Plan) -> None:
    options, manifest = plan.options, plan.manifest
    nodes = manifest.all_nodes()
    if options.retry is not None:
        suite = manifest.quality
        quality = suite.runnable() if suite is not None else {}
        wanted = [uid for uid in options.retry if uid in nodes]
        checked = {dep for uid in options.retry if uid in quality for dep in quality[uid].depends_on}
        plan.chosen = set(wanted) | checked
        published = {**manifest.exports, **manifest.charts, **manifest.served}
        plan.retry_exports = {uid for uid in options.retry if uid in published}
        gone = [uid for uid in options.retry if uid not in nodes and uid not in quality and uid not in published]
        if gone:
            plan.notes.append(f"Not retried (no longer in the project): {', '.join(gone)}")
    else:
        context = _selection_context(plan)
        plan.chosen = select_nodes(manifest, plan.graph, options.select, options.exclude, context)
        if options.exclude:
            plan.excluded = select_nodes(manifest, plan.graph, options.exclude, None, context)
    plan.selected = {uid for uid in plan.chosen if uid in nodes and nodes[uid].resource_type in plan.command.resource_types}


def _selection_context(plan: Plan) -> SelectionContext:
    """state: selectors compare own fingerprints with a saved manifest (default: the last build's)."""
    options = plan.options
    suite = plan.manifest.quality
    units = dict(suite.unit_tests) if suite is not None else {}
    if not any("state:" in spec for spec in [*options.select, *options.exclude]):
        return SelectionContext(unit_tests=units)
    folder = Path(options.state) if options.state else plan.project.target_dir / STATE_DIR
    dbt_state = DbtState.read(folder)  # a manifest dbt wrote: compared by dbt's checksums and config
    if dbt_state is not None:
        by_dbt = dbt_state.modified(plan.manifest, plan.project.root)
        return SelectionContext(modified=lambda uid: by_dbt.get(uid, "new"), unit_tests=units)
    saved = SavedState.read(folder)
    if saved is None:
        if options.state:
            raise ProjectError(f"no manifest.json with fingerprints in {folder}",
                               hint="point --state at the target/ folder of an earlier build")
        plan.notes.append("No previous build state found: every node counts as new.")
        saved = SavedState()
    modified = saved.modified(plan.fingerprints)
    return SelectionContext(modified=lambda uid: modified.get(uid, "new"), unit_tests=units)


def decide(plan: Plan, catalog: Any, parser: Parser, compiler: Compiler, source_columns: Any = None) -> None:
    """Each runnable node's BuildDecision; then the is_incremental() variant of the models that need it."""
    manifest, options = plan.manifest, plan.options
    for uid in sorted(plan.runnable):
        node = manifest.nodes[uid]
        existing = catalog.get(node.relation.key()) if node.relation is not None else None
        full = options.full_refresh or node.config.get("full_refresh") is True
        decision = BuildDecision(uid, existing=existing, full_refresh=full, options=plan.table_options.get(uid))
        if node.materialized == "incremental":
            decision.incremental = not full and existing == "table"  # a view there is rebuilt as a table
            decision.strategy, decision.unique_key = strategy_of(node, catalog.supports_merge)
            decision.on_schema_change = mode_of(node)
        if node.resource_type == "snapshot":  # never rebuilt from scratch: its history is in the table
            decision.full_refresh = False
        if existing == "table" and (decision.incremental or node.resource_type == "snapshot"):
            decision.existing_columns = catalog.columns(node.relation)
        plan.decisions[uid] = decision
    for uid, decision in plan.decisions.items():  # rendered at its turn in the run, with the warehouse
        decision.render_at_run = manifest.nodes[uid].renders_with_warehouse
    again = [uid for uid, d in plan.decisions.items() if d.incremental and not d.render_at_run
             and manifest.nodes[uid].uses_is_incremental and manifest.nodes[uid].language == "sql"]
    if again:
        for uid in again:
            manifest.nodes[uid].rendered = parser.render_incremental(manifest.nodes[uid])
        recompiled = compiler.compile(again)
        plan.compiled.update(recompiled)
        if options.validate:
            validate_compiled(manifest, plan.graph, plan.project.config.dialect, compiler, plan.project.root,
                              recompiled, plan.cache, source_columns, plan.built_columns)
    upstream = {a for a in ancestors_of(plan.graph, plan.runnable) if a in manifest.sources}
    if options.skip_unchanged and not options.full_refresh:
        plan.freshness = catalog.freshness(manifest, upstream)
        for uid in skippable(manifest, plan.graph, plan.runnable, plan.fingerprints, catalog.recorded_fingerprints(),
                             catalog.get, plan.freshness):
            if manifest.nodes[uid].resource_type != "snapshot":  # its query's rows may change at any time
                plan.decisions[uid].unchanged = True
    elif upstream:
        plan.freshness = catalog.freshness(manifest, upstream)

