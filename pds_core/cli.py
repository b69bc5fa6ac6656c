"""The `pds` command: a thin click layer over pds_core.api."""

from __future__ import annotations

import functools
import json
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import click

from pds_core.errors import ProjectError


def project_options(func: Callable) -> Callable:
    """Options every command that reads a project takes."""
    decorators = [
        click.option("--project-dir", default=".", show_default=True, help="Folder with pds_project.yml."),
        click.option("--profiles-dir", default=None, help="Folder with profiles.yml (default: project, ~/.pds)."),
        click.option("-t", "--target", default=None, help="Target in the profile (default: the profile's)."),
        click.option("--vars", "vars_", default=None, help="YAML mapping of vars, e.g. '{run_date: 2024-01-01}'."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


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


def select_options(func: Callable) -> Callable:
    decorators = [
        click.option("-s", "--select", cls=MultiOption, multiple=True,
                     help="Nodes to include (names, +name, tag:x, path:..); several may follow."),
        click.option("--exclude", cls=MultiOption, multiple=True, help="Nodes to leave out, same syntax as --select."),
        click.option("--state", default=None, help="Folder with the manifest.json that state: selectors compare "
                     "to (default: the last build's, target/state)."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


lock_timeout_option = click.option(
    "--lock-timeout", type=click.FloatRange(0), default=0, show_default=True, metavar="SECONDS",
    help="Wait this long for another pds run on the same target to finish (0: refuse at once).")


def run_options(func: Callable) -> Callable:
    decorators = [
        click.option("--threads", type=click.IntRange(1, 256), default=None, help="Nodes to run in parallel."),
        click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch."),
        click.option("--skip-unchanged", is_flag=True, help="Skip nodes whose definition and inputs are unchanged "
                     "since their relation was built."),
        lock_timeout_option,
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def validate_options(func: Callable) -> Callable:
    decorators = [
        click.option("--no-validate", is_flag=True, help="Skip checking column references against parents' columns."),
        click.option("--validate-sources", is_flag=True,
                     help="Read the columns of sources not declared in YAML from the warehouse, to check them too."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def handle_errors(func: Callable) -> Callable:
    """User errors: one message, no traceback, exit 2 (`--debug` shows the traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug"))
        try:
            return func(*args, **kwargs)
        except ProjectError as exc:
            if debug:
                traceback.print_exc()
            if ctx.find_root().params.get("log_format") == "json":  # CI logs: the error is an event too
                location = exc.location
                click.echo(json.dumps({"ts": time.time(), "event": "error", "message": str(exc),
                                       "path": str(location.path or "") or None,
                                       "line": location.line, "exit_code": exc.exit_code}))
            else:
                click.echo(click.style("Error: ", fg="red", bold=True) + str(exc), err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted: nodes already built are kept; the one in progress was rolled back.", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `pds ls | head`: the reader left; nothing is wrong
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug in pds: say so plainly
            if debug:
                traceback.print_exc()
            click.echo(click.style("Error: ", fg="red", bold=True) +
                       f"unexpected {type(exc).__name__}: {exc}\n  hint: run again with --debug for the traceback",
                       err=True)
            sys.exit(2)

    return wrapper


def _load(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None) -> Any:
    from pds_core.api import load
    from pds_core.loader import parse_cli_vars

    return load(project_dir, target, profiles_dir, parse_cli_vars(vars_))


def _reporter() -> Any:
    from pds_core.reporting import Reporter

    root = click.get_current_context().find_root().params
    return Reporter(log_format=root.get("log_format") or "text", quiet=bool(root.get("quiet")))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pds", prog_name="pds")
@click.option("--debug", is_flag=True, help="Show tracebacks and extra detail.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", help="json: one event per line.")
@click.option("-q", "--quiet", is_flag=True, help="Print only failures and the summary.")
def cli(debug: bool, log_format: str, quiet: bool) -> None:
    """pds: build, check and publish a project of SQL and Python models."""
    from pds_core.reporting import route_warnings

    route_warnings(log_format)


def _task_command(name: str, api_name: str, help_text: str) -> None:
    @cli.command(name, help=help_text)
    @project_options
    @select_options
    @run_options
    @validate_options
    @handle_errors
    def command(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None,
                select: tuple[str, ...], exclude: tuple[str, ...], threads: int | None, full_refresh: bool,
                state: str | None, skip_unchanged: bool, lock_timeout: float, no_validate: bool,
                validate_sources: bool) -> None:
        from pds_core import api

        project = _load(project_dir, profiles_dir, target, vars_)
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        result = getattr(api, api_name)(project, _reporter(), select=list(select), exclude=list(exclude),
                                        threads=threads, full_refresh=full_refresh, debug=debug, state=state,
                                        skip_unchanged=skip_unchanged, validate=not no_validate,
                                        validate_sources=validate_sources, lock_timeout=lock_timeout)
        sys.exit(result.exit_code)


_task_command("build", "build", "Build seeds and models in DAG order.")
_task_command("run", "run", "Build the selected models.")
_task_command("seed", "seed", "Load seeds/*.csv into tables.")


@cli.command()
@project_options
@click.option("--threads", type=click.IntRange(1, 256), default=None, help="Nodes to run in parallel.")
@lock_timeout_option
@handle_errors
def retry(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None, threads: int | None,
          lock_timeout: float) -> None:
    """Re-run only the nodes that failed or were skipped in the last run (target/run_results.json)."""
    from pds_core import api
    from pds_core.retry import read_previous

    project = _load(project_dir, profiles_dir, target, vars_)
    previous = read_previous(project.target_dir)
    if target is None and previous.target and previous.target != project.target.name:
        project = _load(project_dir, profiles_dir, previous.target, vars_)  # the target the last run used
    debug = bool(click.get_current_context().find_root().params.get("debug"))
    sys.exit(api.retry(project, _reporter(), threads=threads, debug=debug, lock_timeout=lock_timeout).exit_code)


@cli.command("test")
@project_options
@select_options
@click.option("--threads", type=click.IntRange(1, 256), default=None, help="Tests to run in parallel.")
@click.option("--store-failures", is_flag=True, help="Keep each failing test's rows in a table of the results schema.")
@click.option("--unit", is_flag=True, help="Run the unit tests of the selected models (in-memory DuckDB) instead.")
@lock_timeout_option
@handle_errors
def test_command(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None,
                 select: tuple[str, ...], exclude: tuple[str, ...], state: str | None, threads: int | None,
                 store_failures: bool, unit: bool, lock_timeout: float) -> None:
    """Run the tests and checks of the selected nodes against what is built."""
    from pds_core import api

    project = _load(project_dir, profiles_dir, target, vars_)
    debug = bool(click.get_current_context().find_root().params.get("debug"))
    options: dict[str, Any] = {"select": list(select), "exclude": list(exclude), "threads": threads, "debug": debug,
                               "state": state, "lock_timeout": lock_timeout}
    if not unit:
        options["store_failures"] = store_failures
    sys.exit(api.test(project, _reporter(), unit=unit, **options).exit_code)


@cli.command("publish")
@project_options
@select_options
@click.option("--threads", type=click.IntRange(1, 256), default=None, help="Exports to run in parallel.")
@lock_timeout_option
@handle_errors
def publish_command(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None,
                    select: tuple[str, ...], exclude: tuple[str, ...], state: str | None, threads: int | None,
                    lock_timeout: float) -> None:
    """Run the exports of the selected models from what is built, if their checks last passed."""
    from pds_core import api

    project = _load(project_dir, profiles_dir, target, vars_)
    debug = bool(click.get_current_context().find_root().params.get("debug"))
    result = api.publish(project, _reporter(), select=list(select), exclude=list(exclude), state=state,
                         threads=threads, debug=debug, lock_timeout=lock_timeout)
    sys.exit(result.exit_code)


@cli.command("metrics")
@project_options
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="Values per metric series.")
@click.option("--output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@handle_errors
def metrics_command(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None,
                    name: str | None, limit: int, output: str) -> None:
    """Show the history of every metric, or of NAME (METRIC or MODEL.METRIC), with sparklines."""
    from pds_core import api
    from pds_core.quality.commands import print_history

    rows = api.metrics(_load(project_dir, profiles_dir, target, vars_), name, limit)
    if output == "json":
        click.echo(json.dumps(rows, default=str))
    elif output == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["metric"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        print_history(rows, detail=name is not None)


@cli.command()
@project_options
@select_options
@validate_options
@handle_errors
def compile(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None,
            select: tuple[str, ...], exclude: tuple[str, ...], state: str | None, no_validate: bool,
            validate_sources: bool) -> None:
    """Render and check every model's SQL and columns; write it to target/compiled/."""
    from pds_core import api

    project = _load(project_dir, profiles_dir, target, vars_)
    compiled = api.compile(project, select=list(select), exclude=list(exclude), state=state,
                           validate=not no_validate, validate_sources=validate_sources, reporter=_reporter())
    _reporter().info(f"Compiled {len(compiled)} SQL model{'s' if len(compiled) != 1 else ''} "
                     f"to {project.config.target_path}/compiled/")


@cli.command()
@project_options
@click.argument("column")
@click.option("--downstream", is_flag=True, help="Show the columns computed from it instead of its sources.")
@handle_errors
def lineage(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None, column: str,
            downstream: bool) -> None:
    """Show the columns MODEL.COLUMN is computed from, down to sources and seeds, as a tree."""
    from pds_core import api

    for line in api.lineage(_load(project_dir, profiles_dir, target, vars_), column, downstream):
        click.echo(line)


@cli.command("format")
@project_options
@select_options
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when a file would be reformatted.")
@handle_errors
def format_command(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None,
                   select: tuple[str, ...], exclude: tuple[str, ...], state: str | None, check: bool) -> None:
    """Rewrite model SQL in one consistent style (sqlglot), keeping Jinja as written."""
    from pds_core import api

    project = _load(project_dir, profiles_dir, target, vars_)
    outcomes = api.format_models(project, select=list(select), exclude=list(exclude), check=check)
    for outcome in outcomes:
        if outcome.status == "changed":
            click.echo(f"{'would reformat' if check else 'formatted'} {outcome.path}")
        elif outcome.status == "refused":
            click.echo(click.style("cannot format ", fg="yellow") + f"{outcome.path}: {outcome.reason}", err=True)
    counts = {k: sum(o.status == k for o in outcomes) for k in ("changed", "unchanged", "refused")}
    click.echo(f"{counts['changed']} file{'s' if counts['changed'] != 1 else ''} "
               f"{'would be reformatted' if check else 'reformatted'}, {counts['unchanged']} unchanged"
               + (f", {counts['refused']} left as they are (see above)" if counts["refused"] else ""))
    sys.exit(1 if check and counts["changed"] else 0)


@cli.command("ls")
@project_options
@select_options
@click.option("--output", type=click.Choice(["name", "path", "json"]), default="name", show_default=True)
@click.option("--resource-type", multiple=True, type=click.Choice(["model", "seed", "source"]))
@handle_errors
def ls_command(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None,
               select: tuple[str, ...], exclude: tuple[str, ...], state: str | None, output: str,
               resource_type: tuple[str, ...]) -> None:
    """List the selected nodes in DAG order."""
    from pds_core import api

    project = _load(project_dir, profiles_dir, target, vars_)
    nodes = api.ls(project, select=list(select), exclude=list(exclude), state=state)
    if resource_type:
        nodes = [n for n in nodes if n["resource_type"] in resource_type]
    for node in nodes:
        click.echo(json.dumps(node) if output == "json" else node["path"] if output == "path" else node["name"])


@cli.command()
@project_options
@click.argument("name")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(0))
@click.option("--output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@handle_errors
def show(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None, name: str, limit: int,
         output: str) -> None:
    """Preview the rows of a built model, seed or source."""
    from pds_core import api
    from pds_core.showformat import print_rows

    print_rows(api.show(_load(project_dir, profiles_dir, target, vars_), name, limit), name, limit, output)


@cli.command()
@project_options
@handle_errors
def debug(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None) -> None:
    """Check the project, the profile and the connection."""
    from pds_core import api

    info = api.debug(_load(project_dir, profiles_dir, target, vars_))
    for key, value in info.items():
        click.echo(f"{key + ':':<14} {value}")
    click.echo(click.style("All checks passed.", fg="green"))


@cli.command()
@click.option("--project-dir", default=".", show_default=True)
@handle_errors
def clean(project_dir: str) -> None:
    """Delete target/ (the project's clean-targets)."""
    from pds_core import api

    removed = api.clean(_load(project_dir, None, None, None))
    click.echo(f"Removed {', '.join(removed)}" if removed else "Nothing to clean")


@cli.command()
@click.argument("name")
@handle_errors
def init(name: str) -> None:
    """Create a new project folder NAME from the template."""
    from pds_core import api

    dest = api.init(name)
    click.echo(f"Created {dest}. Next:\n  cd {dest}\n  pds build")


@cli.group()
def docs() -> None:
    """A static site of the project: lineage, run history, check history and metric plots."""


@docs.command("generate")
@project_options
@click.option("--runs", default=30, show_default=True, type=click.IntRange(1), help="Runs of history to include.")
@click.option("--no-warehouse", is_flag=True, help="Do not read history and column types from the warehouse.")
@handle_errors
def docs_generate(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None, runs: int,
                  no_warehouse: bool) -> None:
    """Write target/docs/ (open index.html, or run `pds docs serve`)."""
    from pds_core import api

    folder = api.docs_generate(_load(project_dir, profiles_dir, target, vars_), _reporter(), runs=runs,
                               warehouse=not no_warehouse)
    click.echo(f"Wrote {folder / 'index.html'}")


@docs.command("serve")
@click.option("--project-dir", default=".", show_default=True, help="Folder with pds_project.yml.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@handle_errors
def docs_serve(project_dir: str, port: int, host: str) -> None:
    """Serve target/docs/ over HTTP until Ctrl-C."""
    from pds_core.docs_site import docs_folder, serve

    serve(docs_folder(project_dir), host, port, announce=click.echo)


def main() -> None:
    cli(prog_name="pds")


if __name__ == "__main__":
    main()
