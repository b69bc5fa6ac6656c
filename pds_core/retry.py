"""`pds retry`: run again only what failed or was skipped in the last run.

The last run is read from target/run_results.json: its command (build, run, seed, test), target
and full-refresh flag are reused, and its nodes with status error, fail or skipped (an interrupted
run lists what did not run as skipped) are the selection. A test that failed brings back the tests
of the node it checks, not a rebuild of it; an export held back runs again after its gates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_core.artifacts import RUN_RESULTS_SCHEMA, now_iso
from pds_core.errors import ProjectError
from pds_core.loader import Project
from pds_core.reporting import Reporter
from pds_core.results import ERROR, FAIL, SKIPPED, RunResult

RETRY_STATUSES = (ERROR, FAIL, SKIPPED)
RETRYABLE_COMMANDS = ("build", "run", "seed", "test")


@dataclass
class PreviousRun:
    """What target/run_results.json says about the last run."""

    command: str
    target: str | None
    full_refresh: bool
    to_retry: list[str] = field(default_factory=list)  # unique ids, in the order they were reported


def read_previous(target_dir: Path) -> PreviousRun:
    """Read and check run_results.json; a missing or damaged file is a project error with a hint."""
    path = target_dir / "run_results.json"
    shown = f"{target_dir.name}/run_results.json"
    if not path.is_file():
        raise ProjectError(f"nothing to retry: {shown} does not exist", hint="run `pds build` first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ProjectError(f"cannot read {shown}: {exc}", shown, hint="run `pds build` again to rewrite it") from None
    if not isinstance(data, dict) or (data.get("metadata") or {}).get("schema_version") != RUN_RESULTS_SCHEMA:
        raise ProjectError(f"{shown} is not a pds run_results file ({RUN_RESULTS_SCHEMA})", shown,
                           hint="run `pds build` again to rewrite it")
    command = str(data.get("command") or "")
    if command not in RETRYABLE_COMMANDS:
        raise ProjectError(f"the last run was `pds {command}`, which retry cannot repeat", shown,
                           hint=f"retry repeats {', '.join(RETRYABLE_COMMANDS)}")
    args = data.get("args") or {}
    results = [r for r in data.get("results") or [] if isinstance(r, dict)]
    return PreviousRun(command=command, target=args.get("target") or (data["metadata"].get("target") or {}).get("name"),
                       full_refresh=bool(args.get("full_refresh")),
                       to_retry=[r["unique_id"] for r in results if r.get("status") in RETRY_STATUSES])


def retry(project: Project, reporter: Reporter | None = None, follow_target: bool = True,
          adapter: Any = None, **kwargs: Any) -> RunResult:
    """Re-run the failed, skipped and not-run nodes of the last run with its command.

    Unless the project was loaded for a target the caller named, the last run's target is used
    (follow_target). kwargs: threads, debug, lock_timeout.
    """
    from pds_core.commands import run_command
    from pds_core.loader import load_project
    from pds_core.plan import Options

    previous = read_previous(project.target_dir)
    reporter = reporter or Reporter(quiet=True)
    if follow_target and project.requested_target is None and previous.target \
            and previous.target != project.target.name:
        project = load_project(project.root, previous.target, project.profiles_dir, project.cli_vars)
    if not previous.to_retry:
        reporter.info(f"Nothing to retry: every node of the last `pds {previous.command}` succeeded.")
        return RunResult(f"retry {previous.command}", "", now_iso(), target=project.target.name)
    options = Options(full_refresh=previous.full_refresh, retry=previous.to_retry, **kwargs)
    reporter.info(f"Retrying {len(previous.to_retry)} node{'s' if len(previous.to_retry) != 1 else ''} of the last "
                  f"`pds {previous.command}` that failed, were skipped or did not run")
    return run_command(project, previous.command, options, reporter, adapter)
