"""`pds run-operation MACRO --args '{...}'`: call one macro, connected, as dbt's run-operation does.

The project is parsed as for any command; the macro is called with dbt's full context, connected
(`execute` true, run_query, statement, adapter), and its statements run as it sends them; the text it
renders is not run (as in dbt). The call is one result of the run: recorded in run_results.json with
the macro's unique id (`macro.<package>.<name>`) and resource type `operation`, as dbt 1.11 records
it, and in the results tables like any run. The target's build lock is held meanwhile.
"""

from __future__ import annotations

import re
import time
from typing import Any

from pds_core.artifacts import now_iso
from pds_core.commands import show_jinja_logs
from pds_core.errors import ProjectError, did_you_mean
from pds_core.hooks import render_hook
from pds_core.jinja.macros import INTERNAL
from pds_core.loader import Project
from pds_core.plan import COMMANDS, Options, plan
from pds_core.record import record
from pds_core.results import RunResult
from pds_core.run_hooks import RunHook, RunHookRunner
from pds_core.runners.base import RunContext, safe_run
from pds_core.session import Session

MACRO_NAME = re.compile(r"(?:([A-Za-z_]\w*)\.)?([A-Za-z_]\w*)")
ARGS = "__pds_operation_args"


def find_operation(registry: Any, root: str, text: str, args: dict[str, Any]) -> RunHook:
    """The macro `text` names ([package.]name), looked up as dbt does: the project, its packages, then dbt's."""
    match = MACRO_NAME.fullmatch(text.strip())
    if match is None:
        raise ProjectError(f"{text!r} is not a macro name", hint="e.g. pds run-operation grant_select "
                           "--args '{role: reporter}', or package.macro_name")
    package, name = match.groups()
    order = [package] if package else [root, *(p for p in registry.package_order if p != root), INTERNAL]
    for candidate in order:
        if name in registry.names.get(candidate, {}):
            call = name if candidate == root and package is None else f"{candidate}.{name}"
            return RunHook(unique_id=f"macro.{candidate}.{name}", name=name, label=f"{candidate}.{name}",
                           sql=f"{{{{ {call}(**{ARGS}) }}}}", path=registry.names[candidate][name],
                           context={ARGS: args})
    known = {n for p in order for n in registry.names.get(p, {})}
    where = f"package {package!r}" if package else "the project or its packages"
    raise ProjectError(f"no macro named {name!r} in {where}", hint=did_you_mean(name, known) or
                       "macros are {% macro %} blocks in macro-paths (macros/ by default)")


class OperationRunner(RunHookRunner):
    """Calls the macro; what it renders is dropped, as dbt drops it."""

    def run(self, node: RunHook, result: Any) -> None:
        render_hook(self.plan, node.sql, None, self.ctx.adapter, node.path, node.context)
        result.message = f"{node.label} ran"


def run_operation(project: Project, macro: str, args: dict[str, Any] | None = None, reporter: Any = None,
                  lock_timeout: float = 0.0, debug: bool = False) -> RunResult:
    """Call `macro` with `args` on the project's target; its result says whether it succeeded."""
    from pds_core.history import ResultsHistory
    from pds_core.reporting import Reporter

    reporter = reporter or Reporter(quiet=True)
    if args is not None and not isinstance(args, dict):
        raise ProjectError("--args must be a mapping of the macro's arguments", hint="e.g. --args '{days: 7}'")
    options = Options(retry=[], lock_timeout=lock_timeout, debug=debug)
    session = Session(project, "run-operation", "", lock_timeout, reporter)
    try:
        the_plan = plan(project, options, None, COMMANDS["run-operation"])
        session.invocation_id = the_plan.invocation_id
        show_jinja_logs(the_plan, reporter)
        parser = the_plan.runtime.parser
        parser.load_macros()
        operation = find_operation(parser.renderer.registry, project.name, macro, dict(args or {}))
        run = RunResult("run-operation", the_plan.invocation_id, now_iso(), target=project.target.name)
        adapter = session.adapter
        ResultsHistory(adapter, project.config.results_schema).ensure()
        reporter.start("run-operation", 1, project.target.name)
        t0 = time.perf_counter()
        result = safe_run(OperationRunner(RunContext(adapter=adapter, debug=debug), the_plan), operation)
        result.failures = 0 if result.status == "success" else 1
        reporter.node_done(result)
        run.results, run.elapsed = [result], time.perf_counter() - t0
        reporter.finish(run)
        record(the_plan, run, adapter, None, on_error=reporter.error)
        return run
    finally:
        session.close()
