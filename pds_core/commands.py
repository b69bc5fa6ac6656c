"""Commands: each one composes plan -> (quality and publish planners) -> execute -> record.

Nothing here holds state between the steps: each step takes the previous one's plain data.
What only a run needs (the catalog, the scheduler, the publish and quality planners, notifications)
is imported by the function that runs: `pds compile` and `pds ls` do not load it (start-up, issue 17).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pds_core.plan import Command, Options, Plan, plan
from pds_core.record import record
from pds_core.results import ERROR
from pds_core.session import Session

if TYPE_CHECKING:
    from pds_core.catalog import Catalog
    from pds_core.history import ResultsHistory
    from pds_core.loader import Project
    from pds_core.reporting import Reporter
    from pds_core.results import RunResult


def run_command(project: Project, command: str = "build", options: Options | None = None,
                reporter: Reporter | None = None, adapter: Any = None) -> RunResult:
    """build, run, seed, test or publish: plan, execute and record one command on the project's target."""
    from pds_core.catalog import Catalog
    from pds_core.history import ResultsHistory
    from pds_core.plan import COMMANDS
    from pds_core.publish.gating import RecordedResults
    from pds_core.publish.notify import notify, webhooks
    from pds_core.publish.planner import plan_exports, plan_publish
    from pds_core.quality.planner import plan_quality
    from pds_core.reporting import Reporter

    options = options or Options()
    reporter = reporter or Reporter(quiet=True)
    spec = COMMANDS[command]
    hooks = webhooks(project)  # a bad hook is a project error before anything runs
    session = Session(project, spec.name, "", options.lock_timeout, reporter, adapter)
    results_schema = project.config.results_schema
    try:
        catalog = Catalog(lambda: session.adapter, results_schema)
        the_plan = plan(project, options, None if spec.name == "publish" else catalog, spec,
                        source_columns=_source_columns(options, session))
        session.invocation_id = the_plan.invocation_id
        show_jinja_logs(the_plan, reporter)
        history = ResultsHistory(session.adapter, results_schema)
        history.ensure()
        if spec.name == "publish":
            plan_publish(the_plan, RecordedResults(history, project.target.name), session.adapter.relation_kind)
        else:
            plan_quality(the_plan)
            if spec.runs_exports:
                plan_exports(the_plan)
        for note in the_plan.notes:
            reporter.info(note)
        _prepare_warehouse(the_plan, session, catalog, reporter)
        run = _execute(the_plan, session, catalog, history, reporter)
        if spec.name == "publish":
            run.skips_fail = ("export", "chart", "serve")
        reporter.finish(run)
        if hooks:
            notify(project, run, reporter, session.redact)
        return run
    finally:
        session.close()


def show_jinja_logs(the_plan: Plan, reporter: Reporter) -> None:
    """`{{ log(msg, info=True) }}`: what parsing logged is shown now, what runs log as they run (as dbt shows it)."""
    renderer = the_plan.runtime.parser.renderer
    for message in renderer.infos:
        reporter.info(message)
    renderer.infos.clear()
    renderer.on_info = reporter.info


def _source_columns(options: Options, session: Session) -> Any:
    """With --validate-sources: source columns not declared in YAML are read from the warehouse."""
    if not options.validate_sources:
        return None

    def read(node: Any) -> list[str] | None:
        try:
            return session.adapter.columns(node.relation) if node.relation is not None else None
        except Exception:  # a missing table or no access: its columns stay unknown
            return None

    return read


def _prepare_warehouse(the_plan: Plan, session: Session, catalog: Catalog, reporter: Reporter) -> None:
    """The schemas the run builds in, left-over staging relations dropped, the catalog loaded."""
    from pds_core.locking import remove_leftovers

    manifest = the_plan.manifest
    adapter = session.adapter
    schemas = {manifest.nodes[uid].relation.schema for uid in the_plan.runnable if uid in manifest.nodes}
    for schema in sorted(schemas):
        adapter.ensure_schema(schema)
    if session.locked:
        remove_leftovers(adapter, [n.relation for n in manifest.all_nodes().values() if n.relation],
                         the_plan.project.config.results_schema, reporter.info)
    catalog.preload(schemas)
    tracked = {n.relation.key() for n in manifest.nodes.values() if n.relation is not None}
    # the adapter asks the run's catalog what stands where a node goes, instead of the warehouse per node
    adapter.relation_lookup = lambda rel: catalog.get(rel.key()) if rel.key() in tracked else ...


def _execute(the_plan: Plan, session: Session, catalog: Catalog, history: ResultsHistory,
             reporter: Reporter) -> RunResult:
    from pds_core.execute import StatementLog, execute
    from pds_core.publish.targets import TargetPool
    from pds_core.quality.planner import summarize
    from pds_core.run_hooks import run_hooks
    from pds_core.runners.base import RunContext

    adapter = session.adapter
    log = StatementLog(adapter)
    ctx = RunContext(adapter=adapter, debug=the_plan.options.debug, statements=log)
    targets = TargetPool(the_plan.project, adapter, the_plan.invocation_id, the_plan.options.lock_timeout)

    def retrying(export: Any, attempt: int, reason: str, delay: float) -> None:
        reporter.notice("export_retry", f"export {export.name}: attempt {attempt} failed ({reason}); "
                        f"retrying in {delay:.1f}s", export=export.name, attempt=attempt, reason=reason, delay=delay)

    from pds_core.runners.registry import make_runners  # every runner (pyarrow, charts...): not for compile

    runners = make_runners(the_plan, ctx, catalog, history, targets, on_retry=retrying)
    hooked = the_plan.command.run_hooks
    try:
        started = run_hooks(the_plan, ctx, "on-run-start", on_done=_hook_line(reporter)) if hooked else []
        run = execute(the_plan, adapter, runners, reporter, hurry=session.hurry.is_set,
                      on_interrupt=session.on_interrupt)
        failed_start = [r for r in started if r.status == ERROR]
        ended = run_hooks(the_plan, ctx, "on-run-end", failed_start + run.results, _hook_line(reporter)) \
            if hooked and not run.interrupted else []
        run.results = [*started, *run.results, *ended]
        run.elapsed += sum(r.execution_time for r in started + ended)
    finally:
        targets.close()
        log.close()
    summarize(the_plan, run.results)  # each checked node's quality verdict, and what its failures held back
    record(the_plan, run, adapter, log.statements, on_error=reporter.error)
    return run


def _hook_line(reporter: Reporter) -> Any:
    """Each on-run-start / on-run-end hook as one line, as dbt shows them."""

    def show(result: Any) -> None:
        label = "OK" if result.status == "success" else result.status.upper()
        text = result.message if result.status != ERROR else f"{result.name}: {result.message}"
        reporter.info(f"hook {label:<5} {text} in {result.execution_time:.2f}s", unique_id=result.unique_id,
                      status=result.status)

    return show


def compile_project(project: Project, options: Options | None = None, reporter: Reporter | None = None,
                    command: str = "compile") -> Plan:
    """compile, ls, lineage: plan without the warehouse (unless --validate-sources asks), record the artifacts."""
    options = options or Options()
    session = Session(project, command, "", reporter=reporter, lock=False)
    try:
        the_plan = plan(project, options, None, command, source_columns=_source_columns(options, session))
    finally:
        session.close()
    if reporter is not None:
        show_jinja_logs(the_plan, reporter)
    if reporter is not None and the_plan.validation is not None and command in ("compile", "lineage"):
        for message in the_plan.validation.infos:
            reporter.info(message)
    for note in the_plan.notes:
        if reporter is not None:
            reporter.info(note)
    record(the_plan, None)
    return the_plan


def unit_test_command(project: Project, options: Options | None = None,
                      reporter: Reporter | None = None) -> RunResult:
    """`pds test --unit`: the unit tests of the selected models, in an in-memory DuckDB; never connects."""
    from pds_core.execute import execute
    from pds_core.quality.unit_plan import select_unit_tests
    from pds_core.quality.unit_runner import UnitTestRunner, unit_env
    from pds_core.record import write_run_results
    from pds_core.reporting import Reporter
    from pds_core.runners.base import RunContext

    options = dataclasses.replace(options or Options(), validate=False)
    reporter = reporter or Reporter(quiet=True)
    spec = Command("test --unit", ("model",), connects=False)
    the_plan = plan(project, options, None, spec)
    tests = select_unit_tests(the_plan).values()
    the_plan.runnable = set()
    for test in sorted(tests, key=lambda t: (the_plan.manifest.nodes[t.model].name, t.name)):
        the_plan.add(test.unique_id, test, [])
    ctx = RunContext(debug=options.debug)
    runner = UnitTestRunner(ctx, unit_env(the_plan))  # no connection: input types are inferred
    the_plan.options = dataclasses.replace(options, threads=1)
    run = execute(the_plan, None, {"unit_test": runner}, _UnitReporter(reporter))
    write_run_results(project, run, {"select": options.select, "exclude": options.exclude, "unit": True})
    reporter.finish(run)
    return run


class _UnitReporter:
    """The reporter as `pds test --unit` shows it: the target is the in-memory DuckDB."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def start(self, command: str, total: int, target: str) -> None:
        self.reporter.start("unit test", total, "in-memory duckdb")

    def node_done(self, result: Any) -> None:
        self.reporter.node_done(result)
