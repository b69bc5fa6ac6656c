"""`pds retry`: run again only what failed or was skipped in the last run.

The last run is read from target/run_results.json: its command (build, run, seed, test), target
and full-refresh flag are reused, and its nodes with status error, fail or skipped are the
selection. A test that failed brings back the tests of the node it checks, not a rebuild of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_core.artifacts import RUN_RESULTS_SCHEMA
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


def retry(project: Project, reporter: Reporter | None = None, **kwargs: Any) -> RunResult:
    """Re-run the failed and skipped nodes of the last run with its command; kwargs: threads, debug, lock_timeout."""
    from pds_core import tasks

    previous = read_previous(project.target_dir)
    reporter = reporter or Reporter(quiet=True)
    base = {"build": tasks.BuildTask, "run": tasks.RunTask, "seed": tasks.SeedTask, "test": tasks.TestTask}
    task_cls: type[tasks.Task] = base[previous.command]
    if not previous.to_retry:
        reporter.info(f"Nothing to retry: every node of the last `pds {previous.command}` succeeded.")
        from pds_core.artifacts import now_iso

        return RunResult(f"retry {previous.command}", "", now_iso(), target=project.target.name)

    class RetryTask(task_cls):  # type: ignore[valid-type, misc]
        def plan(self, existing: Any) -> None:
            super().plan(existing)
            assert self.manifest is not None
            nodes = self.manifest.all_nodes()
            suite = getattr(self.manifest, "quality", None)
            quality = {**suite.tests, **suite.metrics} if suite is not None else {}
            wanted = [uid for uid in previous.to_retry if uid in nodes]
            checked = {dep for uid in previous.to_retry if uid in quality for dep in quality[uid].depends_on}
            gone = [uid for uid in previous.to_retry if uid not in nodes and uid not in quality]
            if gone and existing is None:
                reporter.info(f"Not retried (no longer in the project): {', '.join(gone)}")
            self.selected = {uid for uid in wanted if nodes[uid].resource_type in self.resource_types}
            self.chosen = set(wanted) | checked
            # a non-empty selection: only the quality nodes of the chosen nodes run, and run_results says what ran
            self.options.select = sorted(nodes[uid].name for uid in self.chosen)

    options = tasks.Options(full_refresh=previous.full_refresh, **kwargs)
    reporter.info(f"Retrying {len(previous.to_retry)} node{'s' if len(previous.to_retry) != 1 else ''} of the last "
                  f"`pds {previous.command}` that failed or were skipped")
    return RetryTask(project, options, reporter).run()
