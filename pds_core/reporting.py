"""Terminal output: one line per node, a progress bar on long builds, colour only on a terminal."""

from __future__ import annotations

import json
import sys
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any, TextIO

from pds_core.not_acted_on import ProjectWarning
from pds_core.results import ERROR, FAIL, SKIPPED, SUCCESS, UNCHANGED, WARN, NodeResult, RunResult

if TYPE_CHECKING:  # rich loads with the first Reporter, not with the CLI (start-up)
    from rich.progress import Progress

STYLE = {SUCCESS: "green", ERROR: "bold red", FAIL: "bold red", WARN: "yellow", SKIPPED: "dim", UNCHANGED: "cyan"}
LABEL = {SUCCESS: "OK", ERROR: "ERROR", FAIL: "FAIL", WARN: "WARN", SKIPPED: "SKIP", UNCHANGED: "SAME"}


class Reporter:
    """Prints what happens; `json` format writes one event per line for CI logs instead."""

    def __init__(self, stream: TextIO | None = None, log_format: str = "text", quiet: bool = False) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)
        self.json = log_format == "json"
        self.quiet = quiet
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._task: Any = None
        self._index = 0
        self._total = 0
        # no terminal and no colour: lines are written as they are (rich would only strip its markup)
        self._plain = not self.console.is_terminal and self.console.color_system is None

    # ---- generic messages -------------------------------------------------------------------
    def info(self, message: str, **fields: Any) -> None:
        if self.json:
            self._event("info", message=message, **fields)
        elif not self.quiet:
            self.console.print(message)

    def notice(self, kind: str, message: str, **fields: Any) -> None:
        """A named event (export_retry, notification_sent, ...): its own JSON event, or a line of text."""
        if self.json:
            self._event(kind, message=message, **fields)
        elif not self.quiet or kind.endswith("failed"):
            self.console.print(_escape(message))

    def error(self, message: str) -> None:
        if self.json:
            self._event("error", message=message)
        else:
            from rich.console import Console

            Console(file=sys.stderr, highlight=False, soft_wrap=True).print(f"[bold red]Error:[/] {_escape(message)}")

    def _event(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"ts": time.time(), "event": kind, **fields}, default=str)
        with self._lock:
            self.console.file.write(line + "\n")
            self.console.file.flush()

    # ---- node progress ------------------------------------------------------------------------
    def start(self, command: str, total: int, target: str) -> None:
        self._total, self._index = total, 0
        if self.json:
            self._event("run_started", command=command, nodes=total, target=target)
            return
        self.console.print(f"Running {command} of {total} node{'s' if total != 1 else ''} on target {target}")
        if self.console.is_terminal and total >= 10 and not self.quiet:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                                      transient=True)
            self._task = self._progress.add_task("building", total=total)
            self._progress.start()

    def node_done(self, result: NodeResult) -> None:
        with self._lock:
            self._index += 1
            index = self._index
        if self.json:
            self._event("node_finished", **result.to_dict())
            return
        if self.quiet and result.status in (SUCCESS, SKIPPED, UNCHANGED):
            self._advance()
            return
        style = STYLE.get(result.status, "")
        label = LABEL.get(result.status, result.status.upper())
        rows = f"{result.rows_affected:,} rows " if result.rows_affected is not None else ""
        what = result.message if result.status in (SUCCESS, WARN, UNCHANGED) else f"{result.materialized or result.resource_type} {result.name}"
        width = len(str(self._total))
        head = f"{index:>{width}} of {self._total}"
        if self._plain:  # a log file or a pipe: the same text without rich's markup pass (~0.5 ms a line)
            if result.status == SKIPPED:
                line = f"{head} SKIP  {result.name}: {result.message}"
            else:
                line = f"{head} {label:<5} {what} {rows}in {result.execution_time:.2f}s"
                if result.status in (ERROR, FAIL):
                    line += f"\n      {result.message}"
            with self._lock:
                self.console.file.write(line + "\n")
                self.console.file.flush()  # CI logs are read while the build runs
            return
        line = f"{head} [{style}]{label:<5}[/] {_escape(what)} [dim]{rows}in {result.execution_time:.2f}s[/]"
        if result.status in (ERROR, FAIL):
            line += f"\n      [red]{_escape(result.message)}[/]"
        elif result.status == SKIPPED:
            line = f"{head} [dim]SKIP  {_escape(result.name)}: {_escape(result.message)}[/]"
        self.console.print(line)
        self._advance()

    def _advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def finish(self, run: RunResult) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        counts = run.counts()
        if self.json:
            if run.interrupted:
                self._event("run_interrupted", message=_interrupted(run), elapsed=round(run.elapsed, 3),
                            counts=counts)
            self._event("run_finished", success=run.success, status=run.status, elapsed=round(run.elapsed, 3),
                        counts=counts)
            return
        if run.interrupted:
            self.console.print(f"\n[red]Interrupted[/] after {run.elapsed:.2f}s: {_escape(_interrupted(run))}")
            return
        parts = [f"{counts.get(s, 0)} {name}" for s, name in ((SUCCESS, "ok"), (WARN, "warn"), (ERROR, "error"),
                                                              (FAIL, "failed"), (SKIPPED, "skipped"), (UNCHANGED, "unchanged")) if counts.get(s)]
        colour = "green" if run.success else "red"
        verdict = "Completed successfully" if run.success else "Completed with errors"
        self.console.print(f"\n[{colour}]{verdict}[/] in {run.elapsed:.2f}s: {', '.join(parts) or 'nothing to do'}")
        for r in run.results:
            if r.status in (ERROR, FAIL):
                self.console.print(f"  [red]{LABEL[r.status]}[/] {r.name}: {_escape(r.message)}")
        for r in run.results:
            if r.status == WARN:
                said = r.message if r.name in r.message else f"{r.name}: {r.message}"
                self.console.print(f"  [yellow]WARN[/]  {_escape(said)}")
        for r in run.results:  # a node whose error-severity tests failed (quality stage)
            if r.extra.get("quality") == "failed":
                held = r.extra.get("skipped_downstream", 0)
                self.console.print(f"  [red]QUALITY[/] {r.name} failed {', '.join(r.extra.get('quality_failures', []))}"
                                   f"; {held} downstream node{'s' if held != 1 else ''} skipped")
        for r in run.results:  # an export, chart or served snapshot held back by its checks (pds_core/publish)
            if r.resource_type in ("export", "chart", "serve") and r.status == SKIPPED:
                self.console.print(f"  [dim]SKIP[/]  {r.resource_type} {r.name}: {_escape(r.message)}")


def _interrupted(run: RunResult) -> str:
    left = sum(1 for r in run.results if r.extra.get("interrupted"))
    done = len(run.results) - left
    return (f"{done} node{'s' if done != 1 else ''} finished, {left} cancelled or not run (rolled back); "
            f"`pds retry` runs the rest")


def route_warnings(log_format: str = "text") -> None:
    """Print the project's warnings (not_acted_on.ProjectWarning) as the CLI prints errors: `Warning: file:line:
    message` on stderr, or a `warning` event on stdout with --log-format json; each place once per run.

    Called once by the CLI at start-up; library callers keep Python's own handling of warnings.
    """
    warnings.simplefilter("default", ProjectWarning)  # shown once per place, whatever PYTHONWARNINGS says
    previous = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        if not isinstance(message, ProjectWarning):
            previous(message, category, filename, lineno, file, line)
        elif log_format == "json":
            event = {"ts": time.time(), "event": "warning", "message": str(message),
                     "path": str(message.path) if message.path else None, "line": message.line}
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()
        else:
            import click

            click.echo(click.style("Warning: ", fg="yellow", bold=True) + str(message), err=True)

    warnings.showwarning = show


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(str(text))
