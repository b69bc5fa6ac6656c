"""The quality commands that are not DAG runs on the warehouse: `pds test --unit` (in-memory
DuckDB, the target untouched) and `pds metrics` (the metric history, with sparklines).
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from pds_core.artifacts import now_iso, write_run_results
from pds_core.errors import ProjectError, did_you_mean
from pds_core.graph import build_graph
from pds_core.loader import Project
from pds_core.parser import parse_project
from pds_core.pymodels import PythonModelFailed
from pds_core.quality.history import ResultsHistory
from pds_core.quality.pyexec import PythonFiles, UserCodeFailed
from pds_core.quality.spec import UnitTestNode
from pds_core.quality.unit import UnitTestFailed, run_unit_test
from pds_core.results import ERROR, FAIL, SUCCESS, NodeResult, RunResult
from pds_core.selector import select_nodes
from pds_core.tasks import Task

SPARKS = "▁▂▃▄▅▆▇█"


class UnitTestTask(Task):
    """Run the unit tests of the selected models; never connects to the target."""

    __test__ = False
    command = "test"
    resource_types = ("model",)
    needs_connection = False

    def prepare(self) -> None:
        self.manifest = parse_project(self.project)
        self.graph = build_graph(self.manifest)
        chosen = select_nodes(self.manifest, self.graph, self.options.select, self.options.exclude)
        self.selected = {uid for uid in chosen if uid in self.manifest.nodes}

    def run(self) -> RunResult:
        self.prepare()
        return self.execute()

    def execute(self) -> RunResult:
        assert self.manifest is not None and self.manifest.quality is not None
        started, t0 = now_iso(), time.perf_counter()
        run = RunResult("test --unit", self.invocation_id, started, target="in-memory duckdb")
        tests = sorted((t for t in self.manifest.quality.unit_tests.values() if t.model in self.selected),
                       key=lambda t: (self.manifest.nodes[t.model].name, t.name))  # type: ignore[union-attr]
        files = PythonFiles(self.project.root)
        self.reporter.start("unit test", len(tests), "in-memory duckdb")
        for test in tests:
            result = self._run_one(test, files)
            run.results.append(result)
            self.reporter.node_done(result)
        run.elapsed = time.perf_counter() - t0
        self.record(run)
        self.reporter.finish(run)
        return run

    def _run_one(self, test: UnitTestNode, files: PythonFiles) -> NodeResult:
        assert self.manifest is not None
        result = NodeResult(unique_id=test.unique_id, name=test.name, resource_type="unit_test", status=SUCCESS,
                            path=test.path, started_at=now_iso(),
                            extra={"model": test.model, "line": test.line})
        t0 = time.perf_counter()
        try:
            result.message = run_unit_test(test, self.project, self.manifest, self.graph, files)
        except UnitTestFailed as exc:
            result.status, result.message = FAIL, f"{test.path}:{test.line or 1}: {exc}"
        except (ProjectError, UserCodeFailed, PythonModelFailed) as exc:
            result.status, result.message = ERROR, str(exc)
        except Exception as exc:  # DuckDB refused the model's SQL on these inputs
            result.status, result.message = ERROR, f"{test.path}: {type(exc).__name__}: {exc}"
            if self.options.debug:
                result.message += "\n" + "".join(traceback.format_exception(exc))
        result.execution_time = time.perf_counter() - t0
        result.completed_at = now_iso()
        return result

    def record(self, run: RunResult | None) -> None:
        """Only run_results.json: a unit test run changes nothing the manifest or state describe."""
        if run is not None:
            write_run_results(self.project, run, {"select": self.options.select, "exclude": self.options.exclude,
                                                  "unit": True})


# ---- pds metrics -----------------------------------------------------------------------------------
def metric_history(project: Project, name: str | None = None, limit: int | None = 20) -> list[dict[str, Any]]:
    """The values of every metric (or of NAME, MODEL.NAME or a unique id), oldest first, per series."""
    from pds_adapters import get_adapter

    adapter = get_adapter(project.target)
    try:
        adapter.open()
        history = ResultsHistory(adapter, project.config.results_schema)
        if not history.exists():
            raise ProjectError(f"no metric history in schema {history.schema!r} of target {project.target.name!r} yet",
                               hint="metrics are computed by `pds build`, after their models")
        rows = history.metric_rows(project.target.name, name, limit)
        if name and not rows:
            known = {r["metric"] for r in history.metric_rows(project.target.name, None, 1)}
            raise ProjectError(f"no values recorded for metric {name!r}",
                               hint=did_you_mean(name, known) or f"metrics with history: {', '.join(sorted(known))}")
    finally:
        adapter.close()
    for row in rows:
        row["measured_at"] = row["measured_at"].isoformat(sep=" ", timespec="seconds") \
            if hasattr(row["measured_at"], "isoformat") else row["measured_at"]
    return rows


def sparkline(values: list[float | None]) -> str:
    """▁▂▃▄▅▆▇█ scaled between the series' min and max; a gap for a missing value."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    lo, hi = min(present), max(present)
    span = hi - lo
    return "".join(" " if v is None else SPARKS[0 if span == 0 else round((v - lo) / span * (len(SPARKS) - 1))]
                   for v in values)


def series(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Rows grouped into series: (model.metric, group, unique id) -> values oldest first."""
    out: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = (f"{row['model']}.{row['metric']}", _group_label(row["group_key"]), row["unique_id"])
        out.setdefault(key, []).append(row)
    return out


def _group_label(key: str | None) -> str:
    if not key:
        return ""
    import json

    return ", ".join(f"{k}={v}" for k, v in json.loads(key).items())


def print_history(rows: list[dict[str, Any]], detail: bool) -> None:
    """The terminal view of `pds metrics`: a line per series, and each value when one metric was asked for."""
    import click

    grouped = series(rows)
    lines = [("metric", "group", "history", "last", "min", "max", "n", "status")]
    for (label, group, _uid), values in grouped.items():
        numbers = [v["value"] for v in values]
        present = [n for n in numbers if n is not None]
        lines.append((label, group, sparkline(numbers), _fmt(numbers[-1]), _fmt(min(present, default=None)),
                      _fmt(max(present, default=None)), str(len(values)), str(values[-1]["status"])))
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        cells = [cell.rjust(w) if i in (3, 4, 5, 6) else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(line, widths, strict=True))]
        colour = {"fail": "red", "warn": "yellow"}.get(line[-1])
        click.echo(click.style("  ".join(cells).rstrip(), fg=colour) if colour else "  ".join(cells).rstrip())
    if detail:
        for (label, group, _uid), values in grouped.items():
            click.echo(f"\n{label}" + (f" ({group})" if group else ""))
            for v in values:
                click.echo(f"  {v['measured_at']}  run {str(v['run_id'])[:8]}  {_fmt(v['value']):>14}  {v['status']}")


def _fmt(value: float | None) -> str:
    return "null" if value is None else f"{value:.6g}"
