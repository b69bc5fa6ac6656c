"""What the `pds` command prints besides the run reporter: tables of rows, metric series, format outcomes,
and errors (as text, or as a JSON event for CI logs)."""

from __future__ import annotations

import csv
import json
import sys
import time
from typing import Any

import click


def error(exc: Any, log_format: str) -> None:
    """A project error: one line (and its hint) on stderr, or an `error` event in --log-format json."""
    if log_format == "json":
        location = exc.location
        click.echo(json.dumps({"ts": time.time(), "event": "error", "message": str(exc),
                               "path": str(location.path or "") or None, "line": location.line,
                               "exit_code": exc.exit_code}))
    else:
        click.echo(click.style("Error: ", fg="red", bold=True) + str(exc), err=True)


def interrupted(log_format: str) -> None:
    """Ctrl-C outside the run itself (while planning, waiting for the lock, or recording)."""
    message = "Interrupted: nodes already built are kept; the one in progress was rolled back."
    if log_format == "json":
        click.echo(json.dumps({"ts": time.time(), "event": "run_interrupted", "message": message, "exit_code": 130}))
    else:
        click.echo(message, err=True)


def rows(records: list[dict[str, Any]], output: str) -> bool:
    """Rows as JSON or CSV on stdout; False when `output` is neither (the caller draws a table)."""
    if output == "json":
        click.echo(json.dumps(records, default=str))
    elif output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]) if records else ["metric"],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    else:
        return False
    return True


def format_outcomes(outcomes: list[Any], check: bool) -> int:
    """Each file `pds format` changed or refused, then the counts; returns the exit code."""
    for outcome in outcomes:
        if outcome.status == "changed":
            click.echo(f"{'would reformat' if check else 'formatted'} {outcome.path}")
        elif outcome.status == "refused":
            click.echo(click.style("cannot format ", fg="yellow") + f"{outcome.path}: {outcome.reason}", err=True)
    counts = {k: sum(o.status == k for o in outcomes) for k in ("changed", "unchanged", "refused")}
    click.echo(f"{counts['changed']} file{'s' if counts['changed'] != 1 else ''} "
               f"{'would be reformatted' if check else 'reformatted'}, {counts['unchanged']} unchanged"
               + (f", {counts['refused']} left as they are (see above)" if counts["refused"] else ""))
    return 1 if check and counts["changed"] else 0
