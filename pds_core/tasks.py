"""Tasks: each command is load -> parse -> graph -> select -> compile -> execute -> record.

A Task holds the stages' outputs for one invocation; the per-node work is run_node().
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from pds_core.artifacts import now_iso, write_compiled, write_manifest, write_run_results, write_state
from pds_core.cache import ParseCache
from pds_core.compiler import CompiledNode, Compiler
from pds_core.errors import ProjectError
from pds_core.fingerprint_store import FingerprintStore, read_freshness, skippable, source_inputs
from pds_core.graph import build_graph
from pds_core.loader import Project
from pds_core.locking import lock_target, remove_leftovers
from pds_core.materializations import BuildContext, materialization_for
from pds_core.nodes import Node, Relation
from pds_core.parser import Manifest, Parser, cache_key
from pds_core.publish.stage import PublishStage
from pds_core.pymodels import PythonModelFailed
from pds_core.quality.stage import QualityStage
from pds_core.reporting import Reporter
from pds_core.results import ERROR, OK_STATUSES, SKIPPED, SUCCESS, UNCHANGED, WARN, NodeResult, RunResult
from pds_core.scheduler import run_dag
from pds_core.selector import SelectionContext, select_nodes
from pds_core.state import STATE_DIR, Fingerprint, SavedState, compute_fingerprints, merged_state
from pds_core.validate import Validation, validate_compiled


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


class RelationCache:
    """Which relations exist, listed per schema on first need and kept current as nodes are built."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self._known: dict[tuple[str, str], str] = {}
        self._schemas: set[str] = set()
        self._lock = threading.Lock()

    def _load(self, schema: str) -> None:
        with self._lock:
            if schema in self._schemas:
                return
            self._known.update(self.adapter.list_relations([schema]))
            self._schemas.add(schema)

    def preload(self, schemas: set[str]) -> None:
        missing = sorted({s.lower() for s in schemas} - self._schemas)
        if missing:
            with self._lock:
                self._known.update(self.adapter.list_relations(missing))
                self._schemas.update(missing)

    def get(self, key: tuple[str, str]) -> str | None:
        self._load(key[0])
        return self._known.get(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self.get(key) is not None  # type: ignore[arg-type]

    def set(self, key: tuple[str, str], kind: str | None) -> None:
        with self._lock:
            if kind is None:
                self._known.pop(key, None)
            else:
                self._known[key] = kind


class Task:
    """One command over one project."""

    command = "task"
    resource_types: tuple[str, ...] = ("model", "seed")
    quality_kinds: tuple[str, ...] = ()  # "test", "metric": the quality nodes that run with the selected ones
    runs_exports = False  # exports of the selected models run after their gating checks (pds_core/publish)
    needs_connection = True

    def __init__(self, project: Project, options: Options | None = None, reporter: Reporter | None = None,
                 adapter: Any = None) -> None:
        self.project = project
        self.options = options or Options()
        self.reporter = reporter or Reporter(quiet=True)
        self.invocation_id = str(uuid.uuid4())
        self._adapter = adapter
        self.lock: Any = None  # the target's build lock while this task holds it
        self.relations: RelationCache | None = None
        self.manifest: Manifest | None = None
        self.graph: nx.DiGraph | None = None
        self.selected: set[str] = set()
        self.chosen: set[str] = set()  # everything the selection named (sources too): decides the tests to run
        self.compiled: dict[str, CompiledNode] = {}
        self.validation: Validation | None = None
        self.cache: ParseCache | None = None
        self.fingerprints: dict[str, Fingerprint] = {}
        self.unchanged: set[str] = set()

    # ---- stages --------------------------------------------------------------------------------
    @property
    def adapter(self) -> Any:
        if self._adapter is None:
            from pds_adapters import get_adapter

            self._adapter = get_adapter(self.project.target)
        return self._adapter

    def prepare(self) -> None:
        """Parse, compile, validate and select. The warehouse is touched only once the SQL checks pass.

        Commands that need it connect afterwards; if an incremental model's table exists, the project
        is planned again so is_incremental() sees it (the parse cache re-renders only those models).
        """
        self.plan(None)
        if self.needs_connection:
            self.lock = lock_target(self.adapter, self.project.target.name, self.command, self.invocation_id,
                                    self.options.lock_timeout, self.reporter.info)
            self.adapter.open()
            self.relations = RelationCache(self.adapter)
            if not self.options.full_refresh and self._incremental_exists():
                self.plan(self.relations)
            assert self.manifest is not None
            tracked = {n.relation.key() for n in self.manifest.nodes.values() if n.relation is not None}
            cache = self.relations
            # the adapter asks the run's cache what stands where a node goes, instead of the catalog per node
            self.adapter.relation_lookup = lambda rel: cache.get(rel.key()) if rel.key() in tracked else ...

    def _incremental_exists(self) -> bool:
        assert self.manifest is not None and self.relations is not None
        return any(n.materialized == "incremental" and n.relation is not None and n.relation.key() in self.relations
                   for n in self.manifest.nodes.values() if n.resource_type == "model" and n.language == "sql")

    def plan(self, existing: RelationCache | None) -> None:
        """Parse, build the graph, compile and validate every SQL model, select; `existing` feeds is_incremental()."""
        parser = Parser(self.project, existing, self.options.full_refresh, use_cache=True)
        self.cache = parser.cache
        self.manifest = parser.parse()
        self.target_adapter_class().check_names(self.manifest.all_nodes().values())
        self.graph = build_graph(self.manifest)
        sql_models = [uid for uid, n in self.manifest.nodes.items() if n.resource_type == "model" and n.language == "sql"]
        compiler = Compiler(self.manifest, self.graph, self.project.config.dialect, self.target_dialect(), self.cache)
        self.compiled = compiler.compile(sql_models)
        if self.options.validate:
            try:
                self.validation = validate_compiled(self.manifest, self.graph, self.project.config.dialect, compiler,
                                                    self.project.root, self.compiled, self.cache, self.source_columns())
            finally:
                if self.options.validate_sources and not self.needs_connection and self._adapter is not None:
                    self._adapter.close()  # opened only to read source columns
            for message in self.validation.infos if self.command in ("compile", "lineage") else ():
                self.reporter.info(message)
        self.fingerprints = compute_fingerprints(self.manifest, self.graph, self.compiled, self.project.target.type,
                                                 cache_key(self.project, parser.macro_texts), self.project.vars)
        chosen = select_nodes(self.manifest, self.graph, self.options.select, self.options.exclude,
                              self.selection_context())
        self.chosen = chosen
        nodes = self.manifest.all_nodes()
        self.selected = {uid for uid in chosen if nodes[uid].resource_type in self.resource_types}

    def source_columns(self) -> Any:
        """With --validate-sources: source columns not declared in YAML are read from the warehouse."""
        if not self.options.validate_sources:
            return None

        def read(node: Node) -> list[str] | None:
            try:
                return self.adapter.columns(node.relation) if node.relation is not None else None
            except Exception:  # a missing table or no access: its columns stay unknown
                return None

        return read

    def selection_context(self) -> SelectionContext:
        """state: selectors compare own fingerprints with a saved manifest (default: the last build's)."""
        if not any("state:" in spec for spec in [*self.options.select, *self.options.exclude]):
            return SelectionContext()
        folder = Path(self.options.state) if self.options.state else self.project.target_dir / STATE_DIR
        saved = SavedState.read(folder)
        if saved is None:
            if self.options.state:
                raise ProjectError(f"no manifest.json with fingerprints in {folder}",
                                   hint="point --state at the target/ folder of an earlier build")
            self.reporter.info("No previous build state found: every node counts as new.")
            saved = SavedState()
        modified = saved.modified(self.fingerprints)
        return SelectionContext(modified=lambda uid: modified.get(uid, "new"))

    def target_dialect(self) -> str:
        return self.target_adapter_class().dialect

    def target_adapter_class(self) -> Any:
        from pds_adapters import adapter_class

        return adapter_class(self.project.target.type)

    def record(self, run: RunResult | None) -> None:
        assert self.manifest is not None
        paths = write_compiled(self.project, self.manifest, self.compiled)
        write_manifest(self.project, self.manifest, self.compiled, self.invocation_id, paths, self.fingerprints)
        if self.cache is not None:
            files = self.project.files
            self.cache.save(set(files.models_sql + files.models_py + files.tests_sql))
        if run is not None:
            write_run_results(self.project, run, {"select": self.options.select, "exclude": self.options.exclude,
                                                  "full_refresh": self.options.full_refresh,
                                                  "target": self.project.target.name})
            built = {r.unique_id for r in run.results if r.status in OK_STATUSES and r.unique_id in self.fingerprints} \
                | set(self.manifest.sources)
            folder = self.project.target_dir / STATE_DIR
            write_state(folder, merged_state(SavedState.read(folder), self.fingerprints, built), self.invocation_id)

    # ---- execution -----------------------------------------------------------------------------
    def execute(self) -> RunResult:
        """Run the selected nodes in DAG order and record the results."""
        assert self.manifest is not None and self.graph is not None
        started, t0 = now_iso(), time.perf_counter()
        run = RunResult(self.command, self.invocation_id, started, target=self.project.target.name)
        runnable = {uid for uid in self.selected if self.manifest.nodes[uid].materialized != "ephemeral"}
        schemas = {self.manifest.nodes[uid].relation.schema for uid in runnable}
        for schema in sorted(schemas):
            self.adapter.ensure_schema(schema)
        if self.lock is not None:
            remove_leftovers(self.adapter, [n.relation for n in self.manifest.all_nodes().values() if n.relation],
                             self.project.config.results_schema, self.reporter.info)
        assert self.relations is not None
        self.relations.preload(schemas)
        threads = self.options.threads or self.project.target.threads
        store = FingerprintStore(self.adapter, self.project.config.results_schema)
        upstream = {a for uid in runnable for a in nx.ancestors(self.graph, uid) if a in self.manifest.sources}
        freshness = read_freshness(self.adapter, self.manifest, upstream)
        if self.options.skip_unchanged and not self.options.full_refresh:
            self.unchanged = skippable(self.manifest, self.graph, runnable, self.fingerprints, store.read(),
                                       self.relations.get, freshness)
        quality = QualityStage(self)  # tests and metrics right after their models; the results tables
        graph, runnable = quality.plan(runnable)
        publish = PublishStage(self, quality, started=started)  # exports, their results, notifications
        if self.runs_exports:
            graph, runnable = publish.plan(graph, runnable)
        self.reporter.start(self.command, len(runnable), self.project.target.name)
        try:
            run.results = run_dag(graph, runnable, publish.run_node, publish.skipped, threads,
                                  on_done=self.reporter.node_done, order_key=quality.order_key)
            quality.finish(run)
            built = [r.unique_id for r in run.results if r.status == SUCCESS and r.unique_id in self.fingerprints]
            store.record([(self.manifest.nodes[u], self.fingerprints[u],
                           source_inputs(self.manifest, self.graph, u, freshness)) for u in built],
                         now_iso(), self.invocation_id)
        finally:
            self.close_run(run, t0, publish)
        self.reporter.finish(run)
        publish.notify(run)
        return run

    def close_run(self, run: RunResult, t0: float, publish: Any) -> None:
        """However the run ended: its results tables, its artifacts, the connection closed."""
        run.elapsed = time.perf_counter() - t0
        publish.record(run)
        self.record(run)
        self.adapter.close()

    def build_context(self) -> BuildContext:
        return BuildContext(adapter=self.adapter, project_root=self.project.root, vars=self.project.vars,
                            full_refresh=self.options.full_refresh, existing=self.relations,  # type: ignore[arg-type]
                            compiled=self.compiled, resolve=self.resolve)

    def resolve(self, kind: str, name: str) -> Relation | str:
        """Where a Python model reads a parent from: its relation, or the SQL of an ephemeral parent."""
        assert self.manifest is not None
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

    def run_node(self, uid: str) -> NodeResult:
        assert self.manifest is not None
        node = self.manifest.nodes[uid]
        result = self._result(node, SUCCESS)
        result.started_at = now_iso()
        if uid in self.unchanged:
            result.status, result.message = UNCHANGED, f"unchanged {node.materialized} {node.relation}"
            result.completed_at = result.started_at
            return result
        t0 = time.perf_counter()
        statements = self.adapter.thread_statements()
        self.adapter.take_warnings()  # not this node's
        try:
            outcome = materialization_for(node).build(node, self.build_context())
            result.rows_affected, result.message = outcome.rows, outcome.message
            warnings = self.adapter.take_warnings()  # e.g. a dependent view the warehouse had to drop
            if warnings:
                result.status, result.message = WARN, "; ".join([outcome.message, *warnings])
            if node.relation is not None and self.relations is not None:
                kind = "view" if node.materialized == "view" else "table"
                self.relations.set(node.relation.key(), kind)
        except PythonModelFailed as exc:
            result.status, result.message = ERROR, str(exc)
            if self.options.debug and exc.__cause__ is not None:
                result.message += "\n" + "".join(traceback.format_exception(exc.__cause__))
            elif exc.__cause__ is not None:
                result.message += "\n  hint: run with --debug to see the model's traceback"
        except ProjectError as exc:
            exc.location.path = exc.location.path or node.path
            result.status, result.message = ERROR, str(exc)
        except Exception as exc:  # a database error: the node fails, the run goes on
            result.status, result.message = ERROR, self.describe_failure(node, exc)
        result.execution_time = time.perf_counter() - t0
        result.completed_at = now_iso()
        result.extra["statements"] = self.adapter.thread_statements() - statements
        return result

    def describe_failure(self, node: Node, exc: Exception) -> str:
        text = str(exc).strip() or type(exc).__name__
        if self.adapter.connection_lost(exc):
            text = (f"lost the connection to target {self.project.target.name!r}: {text.splitlines()[0]}\n"
                    f"  hint: the warehouse ended the session (restart, timeout or an administrator); "
                    f"`pds retry` re-runs what failed or was skipped")
        if self.options.debug:
            text += "\n" + "".join(traceback.format_exception(exc))
        return f"{node.path}: {self.adapter.redact(text)}"

    def skipped(self, uid: str, because: str) -> NodeResult:
        assert self.manifest is not None
        node = self.manifest.nodes[uid]
        parent = self.manifest.nodes.get(because)
        return self._result(node, SKIPPED, f"skipped because {parent.name if parent else because} failed")

    @staticmethod
    def _result(node: Node, status: str, message: str = "") -> NodeResult:
        return NodeResult(unique_id=node.unique_id, name=node.name, resource_type=node.resource_type,
                          status=status, message=message, relation=str(node.relation) if node.relation else None,
                          materialized=node.materialized, path=node.path)

    def run(self) -> RunResult:
        try:
            self.prepare()
            return self.execute()
        finally:
            if self.lock is not None:  # after the connections close, so the next run finds the target free
                self.adapter.close()
                self.lock.release()


class BuildTask(Task):
    command = "build"
    quality_kinds = ("test", "metric")
    runs_exports = True


class TestTask(Task):
    """`pds test`: the tests and checks of the selected nodes, against what is already built."""

    __test__ = False
    command = "test"
    resource_types = ()
    quality_kinds = ("test",)


class RunTask(Task):
    command = "run"
    resource_types = ("model",)


class SeedTask(Task):
    command = "seed"
    resource_types = ("seed",)


class CompileTask(Task):
    """Parse and compile without touching the warehouse; writes target/compiled and the manifest."""

    command = "compile"
    resource_types = ("model",)
    needs_connection = False

    def run(self) -> RunResult:  # type: ignore[override]
        self.prepare()
        self.record(None)
        return RunResult(self.command, self.invocation_id, now_iso(), target=self.project.target.name)


class ListTask(CompileTask):
    command = "ls"
    resource_types = ("model", "seed", "source")
