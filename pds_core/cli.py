"""The `pds` command: a thin click layer over the `pds` API (pds_core/api.py).

Each option is declared once, in cli_options.OPTIONS; a command names the ones it takes. @with_project loads
the project once from --project-dir/--profiles-dir/--target/--vars and passes it on.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

import click

from pds_core import __version__
from pds_core import cli_output as out
from pds_core.cli_options import PROJECT, RUN, SELECT, options
from pds_core.errors import ProjectError


def root_param(name: str) -> Any:
    return click.get_current_context().find_root().params.get(name)


def handle_errors(func: Callable) -> Callable:
    """Project errors: a message (file:line, hint), exit 2; Ctrl-C: exit 130; never a traceback unless --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(root_param("debug"))
        try:
            return func(*args, **kwargs)
        except ProjectError as exc:
            if debug:
                traceback.print_exc()
            out.error(exc, root_param("log_format") or "text")
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            out.interrupted(root_param("log_format") or "text")
            _leave(130)
        except BrokenPipeError:  # `pds ls | head`: the reader left; nothing is wrong
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


def with_project(func: Callable) -> Callable:
    """Load the project once, from the project options, and pass it as `project`."""

    @options(*PROJECT)
    @handle_errors
    @functools.wraps(func)
    def wrapper(project_dir: str, profiles_dir: str | None, target: str | None, vars_: str | None,
                **kwargs: Any) -> Any:
        from pds_core.api import load
        from pds_core.loader import parse_cli_vars

        return func(load(project_dir, target, profiles_dir, parse_cli_vars(vars_)), **kwargs)

    return wrapper


def reporter() -> Any:
    from pds_core.reporting import Reporter

    return Reporter(log_format=root_param("log_format") or "text", quiet=bool(root_param("quiet")))


def _leave(code: int) -> None:
    """Exit now, even while an interrupted node's thread still runs user code (it is abandoned)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def finish(result: Any) -> None:
    if result.interrupted:
        _leave(130)
    sys.exit(result.exit_code)


def run_kwargs(select: tuple[str, ...] = (), exclude: tuple[str, ...] = (), **kwargs: Any) -> dict[str, Any]:
    """The CLI's options as the API's keyword arguments."""
    if "no_validate" in kwargs:
        kwargs["validate"] = not kwargs.pop("no_validate")
    return {"select": list(select), "exclude": list(exclude), "debug": bool(root_param("debug")), **kwargs}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pds")
@click.option("--debug", is_flag=True, help="Show tracebacks and extra detail.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", help="json: one event per line.")
@click.option("-q", "--quiet", is_flag=True, help="Print only failures and the summary.")
def cli(debug: bool, log_format: str, quiet: bool) -> None:
    """pds: build, check and publish a project of SQL and Python models."""
    from pds_core.reporting import route_warnings

    route_warnings(log_format)


def _run_command(name: str, help_text: str, names: tuple[str, ...] = RUN) -> None:
    @cli.command(name, help=help_text)
    @options(*names)
    @with_project
    def command(project: Any, **kwargs: Any) -> None:
        from pds_core import api

        finish(getattr(api, name)(project, reporter(), **run_kwargs(**kwargs)))


_run_command("build", "Build seeds and models in DAG order, with their tests, metrics and exports.")
_run_command("run", "Build the selected models.")
_run_command("seed", "Load seeds/*.csv into tables.")
_run_command("snapshot", "Record what changed in each snapshot's query since its last run (docs/snapshots.md).",
             (*SELECT, "threads", "fail_fast", "lock_timeout", "no_validate", "validate_sources"))


@cli.command()
@options("threads", "lock_timeout")
@with_project
def retry(project: Any, threads: int | None, lock_timeout: float) -> None:
    """Re-run only the nodes that failed, were skipped or did not run in the last run (target/run_results.json),
    on its target unless --target names one."""
    from pds_core import api

    finish(api.retry(project, reporter(), threads=threads, debug=bool(root_param("debug")),
                     lock_timeout=lock_timeout))


@cli.command("test")
@options(*SELECT, "indirect_selection", "threads", "fail_fast", "store_failures", "unit", "lock_timeout")
@with_project
def test_command(project: Any, unit: bool, store_failures: bool, **kwargs: Any) -> None:
    """Run the tests and checks of the selected nodes against what is built."""
    from pds_core import api

    if not unit:
        kwargs["store_failures"] = store_failures
    finish(api.test(project, reporter(), unit=unit, **run_kwargs(**kwargs)))


@cli.group("source")
def source_group() -> None:
    """Commands on the project's sources."""


@source_group.command("freshness")
@options(*SELECT, "threads", "lock_timeout")
@with_project
def source_freshness_command(project: Any, **kwargs: Any) -> None:
    """Check the freshness of the selected sources; write target/sources.json (dbt's sources v3)."""
    from pds_core import api

    finish(api.source_freshness(project, reporter(), **run_kwargs(**kwargs)))


@cli.command("run-operation")
@click.argument("macro")
@click.option("--args", "args_", default=None, help="YAML mapping of the macro's arguments, e.g. '{days: 7}'.")
@options("lock_timeout")
@with_project
def run_operation_command(project: Any, macro: str, args_: str | None, lock_timeout: float) -> None:
    """Call MACRO ([package.]name) connected to the target, as dbt's run-operation does."""
    from pds_core import api
    from pds_core.yamlio import load_yaml_text

    args = load_yaml_text(args_, "--args") if args_ else {}
    finish(api.run_operation(project, macro, args, reporter(), lock_timeout=lock_timeout,
                             debug=bool(root_param("debug"))))


@cli.command("publish")
@options(*SELECT, "threads", "lock_timeout")
@with_project
def publish_command(project: Any, **kwargs: Any) -> None:
    """Run the exports of the selected models from what is built, if their checks last passed."""
    from pds_core import api

    finish(api.publish(project, reporter(), **run_kwargs(**kwargs)))


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (others need tokens).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("-s", "--select", "models", multiple=True, help="Serve only these models (default: every served one).")
@click.option("--no-access-log", is_flag=True, help="Do not log each request.")
@with_project
def serve_command(project: Any, host: str, port: int, models: tuple[str, ...], no_access_log: bool) -> None:
    """Serve the last published snapshot of each served model over HTTP (docs/serve.md), until Ctrl-C."""
    from pds_core.serve.command import serve

    serve(project, host, port, list(models), access_log=not no_access_log, announce=lambda s: click.echo(s))


@cli.command("metrics")
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="Values per metric series.")
@options("rows_output")
@with_project
def metrics_command(project: Any, name: str | None, limit: int, output: str) -> None:
    """Show the history of every metric, or of NAME (METRIC or MODEL.METRIC), with sparklines."""
    from pds_core import api
    from pds_core.quality.commands import print_history

    found = api.metrics(project, name, limit)
    if not out.rows(found, output):
        print_history(found, detail=name is not None)


@cli.command()
@options(*SELECT, "no_validate", "validate_sources")
@with_project
def compile(project: Any, **kwargs: Any) -> None:
    """Render and check every model's SQL and columns; write it to target/compiled/."""
    from pds_core import api

    compiled = api.compile(project, reporter=reporter(), **run_kwargs(**kwargs))
    reporter().info(f"Compiled {len(compiled)} SQL model{'s' if len(compiled) != 1 else ''} "
                    f"to {project.config.target_path}/compiled/")


@cli.command()
@click.argument("column")
@click.option("--downstream", is_flag=True, help="Show the columns computed from it instead of its sources.")
@with_project
def lineage(project: Any, column: str, downstream: bool) -> None:
    """Show the columns MODEL.COLUMN is computed from, down to sources and seeds, as a tree."""
    from pds_core import api

    for line in api.lineage(project, column, downstream):
        click.echo(line)


@cli.command("format")
@options(*SELECT)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when a file would be reformatted.")
@with_project
def format_command(project: Any, select: tuple[str, ...], exclude: tuple[str, ...], state: str | None,
                   check: bool) -> None:
    """Rewrite model SQL in one consistent style (sqlglot), keeping Jinja as written."""
    from pds_core import api

    sys.exit(out.format_outcomes(api.format_models(project, list(select), list(exclude), check), check))


@cli.command("ls")
@options(*SELECT)
@click.option("--output", type=click.Choice(["name", "path", "json"]), default="name", show_default=True)
@click.option("--resource-type", multiple=True, type=click.Choice(["model", "seed", "source"]))
@with_project
def ls_command(project: Any, output: str, resource_type: tuple[str, ...], **kwargs: Any) -> None:
    """List the selected nodes in DAG order."""
    import json

    from pds_core import api

    for node in api.ls(project, resource_type=list(resource_type), **run_kwargs(**kwargs)):
        click.echo(json.dumps(node) if output == "json" else node["path"] if output == "path" else node["name"])


@cli.command()
@click.argument("name")
@options("limit", "rows_output")
@with_project
def show(project: Any, name: str, limit: int, output: str) -> None:
    """Preview the rows of a built model, seed or source."""
    from pds_core import api, showformat

    if output == "table":  # from the driver's rows: no pandas to import (start-up)
        showformat.print_table(*api.show_rows(project, name, limit), name, limit)
    else:
        showformat.print_rows(api.show(project, name, limit), name, limit, output)


@cli.command()
@with_project
def debug(project: Any) -> None:
    """Check the project, the profile and the connection."""
    from pds_core import api

    for key, value in api.debug(project).items():
        click.echo(f"{key + ':':<14} {value}")
    click.echo(click.style("All checks passed.", fg="green"))


@cli.command()
@click.option("--project-dir", default=".", show_default=True)
@handle_errors
def clean(project_dir: str) -> None:
    """Delete target/ (the project's clean-targets)."""
    from pds_core import api

    removed = api.clean(api.load(project_dir))
    click.echo(f"Removed {', '.join(removed)}" if removed else "Nothing to clean")


@cli.command()
@click.option("--project-dir", default=".", show_default=True, help="Folder with the project file.")
@click.option("--vars", "vars_", default=None, help="Variables for packages.yml, as YAML: '{key: value}'.")
@click.option("--upgrade", is_flag=True, help="Resolve packages.yml again instead of installing package-lock.yml.")
@click.option("--lock", "lock_only", is_flag=True, help="Write package-lock.yml only; install nothing.")
@handle_errors
def deps(project_dir: str, vars_: str | None, upgrade: bool, lock_only: bool) -> None:
    """Install the packages of packages.yml into dbt_packages/ (as `dbt deps`; pinned in package-lock.yml)."""
    from pds_core import api
    from pds_core.loader import parse_cli_vars

    done = api.deps(project_dir, parse_cli_vars(vars_), upgrade, lock_only, say=lambda m: click.echo(m))
    click.echo(f"{'Locked' if lock_only else 'Installed'} {len(done)} package{'s' if len(done) != 1 else ''}")


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
@click.option("--runs", default=30, show_default=True, type=click.IntRange(1), help="Runs of history to include.")
@click.option("--no-warehouse", is_flag=True, help="Do not read history and column types from the warehouse.")
@with_project
def docs_generate(project: Any, runs: int, no_warehouse: bool) -> None:
    """Write target/docs/ (open index.html, or run `pds docs serve`)."""
    from pds_core import api

    folder = api.docs(project, reporter(), runs=runs, warehouse=not no_warehouse)
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
    from pds_core import gctune

    gctune.tune()
    # SIGTERM (a CI job cancelled, `kill`, a container stopping) takes the Ctrl-C path: running statements
    # are cancelled, the run is recorded as interrupted and the build lock is released.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        cli(prog_name="pds")
    finally:
        gctune.before_exit()


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
