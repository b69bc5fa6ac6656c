"""The Python API: every CLI command as a function, for notebooks and orchestrators."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pds_core.errors import ProjectError

if TYPE_CHECKING:  # each function imports what it runs: `pds ls` never loads the build's modules (start-up)
    from pds_core.loader import Project
    from pds_core.nodes import Manifest
    from pds_core.plan import Options
    from pds_core.reporting import Reporter
    from pds_core.results import RunResult

__all__ = ["build", "clean", "compile", "debug", "deps", "docs", "format_models", "init", "lineage", "load", "ls",
           "metrics", "parse", "publish", "retry", "run", "seed", "show", "snapshot", "source_freshness", "test"]


def load(project_dir: str | Path = ".", target: str | None = None, profiles_dir: str | Path | None = None,
         vars: dict[str, Any] | None = None) -> Project:
    """Load a project: pds_project.yml, the target from profiles.yml, and the list of files."""
    from pds_core.loader import load_project

    return load_project(project_dir, target, profiles_dir, vars)


def _options(select: Any = None, exclude: Any = None, **kwargs: Any) -> Options:
    from pds_core.plan import Options

    as_list = lambda v: [v] if isinstance(v, str) else list(v or [])  # noqa: E731
    return Options(select=as_list(select), exclude=as_list(exclude), **kwargs)


def parse(project: Project) -> Manifest:
    """The project's nodes with their dependencies, tests, metrics and exports (no warehouse needed)."""
    from pds_core.plan import parse_manifest

    return parse_manifest(project)


def build(project: Project, reporter: Reporter | None = None, adapter: Any = None, **kwargs: Any) -> RunResult:
    """Seeds and models (and their checks and exports) in DAG order. kwargs: select, exclude, threads,
    full_refresh, fail_fast, skip_unchanged, state, indirect_selection, lock_timeout, debug, validate, validate_sources.
    `adapter`: an adapter to use instead of a new one for the project's target."""
    from pds_core.commands import run_command

    return run_command(project, "build", _options(**kwargs), reporter, adapter)


def run(project: Project, reporter: Reporter | None = None, adapter: Any = None, **kwargs: Any) -> RunResult:
    """Models only (kwargs as for build)."""
    from pds_core.commands import run_command

    return run_command(project, "run", _options(**kwargs), reporter, adapter)


def seed(project: Project, reporter: Reporter | None = None, adapter: Any = None, **kwargs: Any) -> RunResult:
    """Seeds only (kwargs as for build)."""
    from pds_core.commands import run_command

    return run_command(project, "seed", _options(**kwargs), reporter, adapter)


def snapshot(project: Project, reporter: Reporter | None = None, adapter: Any = None, **kwargs: Any) -> RunResult:
    """Snapshots only: record what changed in each one's query since its last run (kwargs: select, exclude,
    threads, lock_timeout, debug). See docs/snapshots.md."""
    from pds_core.commands import run_command

    return run_command(project, "snapshot", _options(**kwargs), reporter, adapter)


def run_operation(project: Project, macro: str, args: dict[str, Any] | None = None, reporter: Reporter | None = None,
                  **kwargs: Any) -> RunResult:
    """Call one macro ([package.]name) with `args`, connected, as dbt's run-operation (kwargs: lock_timeout,
    debug); what it renders is not run, the statements it sends are."""
    from pds_core.operation import run_operation as call

    return call(project, macro, args, reporter, **kwargs)


def retry(project: Project, reporter: Reporter | None = None, follow_target: bool = True, **kwargs: Any) -> RunResult:
    """Re-run what failed, was skipped or did not run in the last run (target/run_results.json), with its
    command, on its target unless `project` was loaded for a named one. kwargs: threads, lock_timeout, debug."""
    from pds_core.retry import retry as retry_last

    return retry_last(project, reporter, follow_target, **kwargs)


def test(project: Project, reporter: Reporter | None = None, unit: bool = False, adapter: Any = None,
         **kwargs: Any) -> RunResult:
    """The tests and checks of the selected nodes, against what is built (kwargs: select, exclude, threads,
    store_failures, indirect_selection). unit=True runs the unit tests of the selected models in an
    in-memory DuckDB instead."""
    from pds_core.commands import run_command, unit_test_command

    if unit:
        return unit_test_command(project, _options(**kwargs), reporter)
    return run_command(project, "test", _options(**kwargs), reporter, adapter)


test.__test__ = False  # type: ignore[attr-defined]  # a pds command, not a pytest test


def source_freshness(project: Project, reporter: Reporter | None = None, adapter: Any = None,
                     **kwargs: Any) -> RunResult:
    """The freshness of the selected sources (all by default), written to target/sources.json as dbt's
    `dbt source freshness` writes it (kwargs: select, exclude, threads)."""
    from pds_core.artifacts import write_json_atomic
    from pds_core.commands import run_command
    from pds_core.dbt_artifacts import sources_v3
    from pds_core.plan import parse_manifest

    options = _options(**kwargs)
    if not options.select:
        options.select = ["source:*"]
    run = run_command(project, "source freshness", options, reporter, adapter)
    suite = parse_manifest(project).quality
    write_json_atomic(project.target_dir / "sources.json", sources_v3(run, suite.tests if suite else {}))
    return run


def publish(project: Project, reporter: Reporter | None = None, adapter: Any = None, **kwargs: Any) -> RunResult:
    """Run the exports of the selected models from what is built, gated by the latest recorded results of
    their checks in the results tables (kwargs: select, exclude, threads, lock_timeout). See docs/publish.md."""
    from pds_core.commands import run_command

    return run_command(project, "publish", _options(**kwargs), reporter, adapter)


def metrics(project: Project, name: str | None = None, limit: int | None = 20) -> list[dict[str, Any]]:
    """The recorded values of every metric (or of `name`: METRIC, MODEL.METRIC or a unique id), oldest first,
    at most `limit` per series, from the results tables of the project's target."""
    from pds_core.quality.commands import metric_history

    return metric_history(project, name, limit)


def compile(project: Project, reporter: Reporter | None = None, **kwargs: Any) -> dict[str, str]:
    """Compile the selected SQL models; returns unique_id -> SQL and writes target/compiled/."""
    from pds_core import warm

    inputs = warm.take_inputs(project, kwargs) if warm.eligible(kwargs) else None
    if inputs is not None:  # nothing changed since the last compile: its answer, nothing rewritten (warm.py)
        answer = warm.replay(project, inputs, reporter)
        if answer is not None:
            return answer
        warm.forget(project)
    from pds_core.commands import compile_project

    with warm.capture(reporter) as captured:
        the_plan = compile_project(project, _options(**kwargs), captured.reporter)
    compiled = {uid: c.sql for uid, c in the_plan.compiled.items() if uid in the_plan.selected}
    if inputs is not None and not warm.volatile(the_plan.cache):
        warm.save(project, inputs, captured, compiled)
    return compiled


def lineage(project: Project, column: str, downstream: bool = False) -> list[str]:
    """The lineage of 'MODEL.COLUMN' as the lines of a tree: the columns it is computed from (or, with
    downstream, the columns computed from it), across models down to sources and seeds."""
    from pds_core.lineage import LineageGraph
    from pds_core.plan import plan

    the_plan = plan(project, _options(), None, "lineage")
    assert the_plan.validation is not None
    if the_plan.cache is not None:
        the_plan.cache.save()
    graph = LineageGraph.build(the_plan.manifest, the_plan.validation, the_plan.built_columns)
    return list(graph.tree_lines(graph.resolve(column), downstream))


def docs(project: Project, reporter: Reporter | None = None, runs: int = 30, warehouse: bool = True) -> Path:
    """Write the docs site to target/docs/ from a fresh manifest and the last `runs` runs of the results
    tables (warehouse=False: without reading the warehouse); returns the folder."""
    from pds_core.docs_site import generate

    return generate(project, runs=runs, warehouse=warehouse, reporter=reporter)


def format_models(project: Project, select: Any = None, exclude: Any = None, check: bool = False) -> list[Any]:
    """Rewrite SQL model files in sqlglot's style, Jinja kept as written (all, or the selected models).

    Returns one sqlformat.Outcome per file (unchanged, changed, refused with a reason); with
    check, no file is written.
    """
    from pds_core.graph import build_graph
    from pds_core.parser import parse_project
    from pds_core.selector import select_nodes
    from pds_core.sqlformat import format_file
    from pds_core.yamlio import read_text

    options = _options(select, exclude)
    paths = list(project.files.models_sql)
    if options.select or options.exclude:
        manifest = parse_project(project)
        chosen = select_nodes(manifest, build_graph(manifest), options.select, options.exclude)
        wanted = {manifest.nodes[uid].path for uid in chosen if uid in manifest.nodes}
        paths = [p for p in paths if p in wanted]
    outcomes = []
    for path in paths:
        outcome = format_file(path, read_text(project.root / path, path), project.config.dialect)
        if outcome.status == "changed" and not check:
            (project.root / path).write_text(outcome.text, encoding="utf-8")
        outcomes.append(outcome)
    return outcomes


def ls(project: Project, resource_type: Any = None, **kwargs: Any) -> list[dict[str, Any]]:
    """The selected nodes, in DAG order, as dicts (name, type, materialized, path, relation);
    resource_type: only these kinds (model, seed, source)."""
    from pds_core import warm

    key = {**kwargs, "command": "ls", "resource_type": resource_type}
    inputs = warm.take_inputs(project, key) if warm.eligible(kwargs) else None
    if inputs is not None:  # an unchanged project: the last ls's rows (warm.py)
        answer = warm.replay(project, inputs, None, warm.LS_RECORD_FILE)
        if answer is not None:
            return answer
        warm.forget(project, warm.LS_RECORD_FILE)
    with warm.capture(None) as captured:
        rows, cache = _ls(project, resource_type, **kwargs)
    if inputs is not None and not warm.volatile(cache):
        warm.save(project, inputs, captured, rows, warm.LS_RECORD_FILE)
    return rows


def _ls(project: Project, resource_type: Any = None, **kwargs: Any) -> tuple[list[dict[str, Any]], Any]:
    from pds_core.graph import topological_order
    from pds_core.plan import plan

    the_plan = plan(project, _options(**kwargs), None, "ls")
    kinds = [resource_type] if isinstance(resource_type, str) else list(resource_type or [])
    nodes = the_plan.manifest.all_nodes()
    wanted = {uid for uid in the_plan.selected if not kinds or nodes[uid].resource_type in kinds}
    order = topological_order(the_plan.graph, wanted)
    return [{"unique_id": uid, "name": nodes[uid].name, "resource_type": nodes[uid].resource_type,
             "language": nodes[uid].language, "materialized": nodes[uid].materialized, "path": nodes[uid].path,
             "relation": str(nodes[uid].relation) if nodes[uid].relation else None, "tags": nodes[uid].tags,
             "depends_on": nodes[uid].depends_on} for uid in order], the_plan.cache


def show(project: Project, name: str, limit: int = 10) -> Any:
    """The first rows of a built model, seed or source, as a pandas DataFrame."""
    return _read_shown(project, name, limit, frame=True)


def show_rows(project: Project, name: str, limit: int = 10) -> tuple[list[str], list[tuple]]:
    """The same rows as show(), as column names and tuples of Python values (a DATE is a date): what
    `pds show` prints as a table, without loading pandas."""
    return _read_shown(project, name, limit, frame=False)


def _read_shown(project: Project, name: str, limit: int, frame: bool) -> Any:
    from sqlglot import exp

    from pds_adapters import connect
    from pds_adapters.statements import select_star
    from pds_core.parser import parse_project
    from pds_core.selector import _match_name

    manifest = parse_project(project)
    nodes = [n for n in manifest.all_nodes().values() if _match_name(n, name)]
    if not nodes:
        from pds_core.errors import did_you_mean

        raise ProjectError(f"no model, seed or source named {name!r}",
                           hint=did_you_mean(name, [n.name for n in manifest.all_nodes().values()]))
    node = nodes[0]
    with connect(project.target) as adapter:
        if node.materialized == "ephemeral":
            from pds_core.plan import plan

            compiled = plan(project, _options(select=node.name), None, "compile").compiled[node.unique_id]
            query = exp.select("*").from_(compiled.ast.subquery("q")).limit(limit)
            return adapter.query_dataframe(query) if frame else adapter.fetch(query)
        assert node.relation is not None
        if adapter.relation_kind(node.relation) is None:
            raise ProjectError(f"{node.name} has not been built yet in target {project.target.name!r}",
                               hint=f"run `pds build --select {node.name}` first")
        if frame:
            return adapter.read_dataframe(node.relation, limit)  # an adapter's own fast path (BigQuery: tabledata.list)
        return adapter.fetch(select_star(adapter.table(node.relation), limit))


def debug(project: Project) -> dict[str, Any]:
    """Check the configuration and the connection; returns what was found (no secrets)."""

    info: dict[str, Any] = {"project": project.name, "root": str(project.root), "dialect": project.config.dialect,
                            "target": project.target.name, "profile_path": project.target.profile_path,
                            "settings": project.target.redacted()}
    from pds_adapters import connect
    from pds_core.parser import parse_project

    manifest = parse_project(project)
    info["models"] = sum(1 for n in manifest.nodes.values() if n.resource_type == "model")
    info["seeds"] = sum(1 for n in manifest.nodes.values() if n.resource_type == "seed")
    info["sources"] = len(manifest.sources)
    with connect(project.target) as adapter:
        adapter.fetch("SELECT 1")
        info["connection"] = "ok"
    return info


def clean(project: Project) -> list[str]:
    """Delete the clean-targets folders (target/ by default); never anything outside the project."""
    removed = []
    for name in project.config.clean_targets:
        path = (project.root / name).resolve()
        if project.root.resolve() not in path.parents:
            raise ProjectError(f"clean-targets entry {name!r} is outside the project", "pds_project.yml")
        if path.exists():
            shutil.rmtree(path)
            removed.append(name)
    return removed


def deps(project_dir: str | Path = ".", vars: dict[str, Any] | None = None, upgrade: bool = False,
         lock_only: bool = False, say: Any = None) -> list[dict[str, Any]]:
    """Install the packages of packages.yml (or dependencies.yml) into packages-install-path, pinned in
    package-lock.yml as `dbt deps` pins them (upgrade: resolve again; lock_only: write the lock only).
    Needs no profile. Returns the installed packages (name, source, version)."""
    from pds_core.packages.install import deps as install

    root, install_path = packages_folder(project_dir, vars or {})
    done = install(root, install_path, dict(vars or {}), upgrade, lock_only, say or (lambda _m: None))
    return [{"name": p.name, "kind": p.spec.kind, "source": p.spec.source, "version": p.version}
            for p in done.installed]


def packages_folder(project_dir: str | Path, cli_vars: dict[str, Any]) -> tuple[Path, str]:
    """The project folder and its packages-install-path (rendered: it may read env_var or --vars)."""
    from pds_core.dbt_project import ValueRenderer, find_project_root, read_project_file

    root, file = find_project_root(Path(project_dir))
    data, _overlay = read_project_file(root, file)
    value = ValueRenderer(cli_vars).render(data.get("packages-install-path") or "dbt_packages", file,
                                           data.line_of("packages-install-path"))
    return root, str(value)


def template_dir() -> Path:
    """project_template/: inside the installed package, or beside it in a source checkout."""
    from pds_core.scaffold import template_dir as find

    return find()


def init(name: str, parent: str | Path = ".") -> Path:
    """Create a new project folder from project_template's source files (never its build output)."""
    from pds_core.scaffold import init_project

    return init_project(name, parent)
