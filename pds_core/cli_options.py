"""Every option of the `pds` command, declared once; a command names the ones it takes with options()."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


class MultiOption(click.Option):
    """dbt's `--select a b c`: the option takes every following word up to the next option."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:
                continue
            previous = option.process

            def process(value: Any, state: Any, previous: Callable = previous) -> None:
                previous(value, state)
                while state.rargs and not state.rargs[0].startswith("-"):
                    previous(state.rargs.pop(0), state)

            option.process = process
            break


OPTIONS: dict[str, Callable[[Callable], Callable]] = {
    "project_dir": click.option("--project-dir", default=".", show_default=True, help="Folder with pds_project.yml."),
    "profiles_dir": click.option("--profiles-dir", default=None,
                                 help="Folder with profiles.yml (default: project, ~/.pds)."),
    "target": click.option("-t", "--target", default=None, help="Target in the profile (default: the profile's)."),
    "vars_": click.option("--vars", "vars_", default=None, help="YAML mapping of vars, e.g. '{run_date: 2024-01-01}'."),
    "select": click.option("-s", "--select", cls=MultiOption, multiple=True,
                           help="Nodes to include (names, +name, tag:x, path:..); several may follow."),
    "exclude": click.option("--exclude", cls=MultiOption, multiple=True,
                            help="Nodes to leave out, same syntax as --select."),
    "state": click.option("--state", default=None, help="Folder with the manifest.json that state: selectors "
                          "compare to (default: the last build's, target/state)."),
    "indirect_selection": click.option(
        "--indirect-selection", type=click.Choice(["eager", "cautious", "buildable", "empty"]), default="eager",
        show_default=True, help="Which tests come with the selected nodes: those reading any of them (eager), "
        "only selected nodes (cautious), selected or upstream ones (buildable), or none (empty)."),
    "threads": click.option("--threads", type=click.IntRange(1, 256), default=None, help="Nodes to run in parallel."),
    "full_refresh": click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch."),
    "fail_fast": click.option("--fail-fast", "-x", is_flag=True, envvar=["PDS_FAIL_FAST", "DBT_FAIL_FAST"],
                              help="Stop at the first error or failing test: cancel what runs, skip the rest."),
    "skip_unchanged": click.option("--skip-unchanged", is_flag=True, help="Skip nodes whose definition and "
                                   "inputs are unchanged since their relation was built."),
    "lock_timeout": click.option(
        "--lock-timeout", type=click.FloatRange(0), default=0, show_default=True, metavar="SECONDS",
        help="Wait this long for another pds run on the same target to finish (0: refuse at once)."),
    "no_validate": click.option("--no-validate", is_flag=True,
                                help="Skip checking column references against parents' columns."),
    "validate_sources": click.option("--validate-sources", is_flag=True, help="Read the columns of sources not "
                                     "declared in YAML from the warehouse, to check them too."),
    "store_failures": click.option("--store-failures", is_flag=True,
                                   help="Keep each failing test's rows in a table of the results schema."),
    "unit": click.option("--unit", is_flag=True,
                         help="Run the unit tests of the selected models (in-memory DuckDB) instead."),
    "limit": click.option("--limit", default=10, show_default=True, type=click.IntRange(0), help="Rows to show."),
    "rows_output": click.option("--output", type=click.Choice(["table", "json", "csv"]), default="table",
                                show_default=True),
}
PROJECT = ("project_dir", "profiles_dir", "target", "vars_")
SELECT = ("select", "exclude", "state")
RUN = (*SELECT, "indirect_selection", "threads", "full_refresh", "fail_fast", "skip_unchanged", "lock_timeout",
       "no_validate", "validate_sources")


def options(*names: str) -> Callable[[Callable], Callable]:
    def apply(func: Callable) -> Callable:
        for name in reversed(names):
            func = OPTIONS[name](func)
        return func

    return apply
