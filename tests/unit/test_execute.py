"""execute() with fake runners: order, skips, the one wrapper's error messages, and Ctrl-C."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pds_core.errors import ProjectError
from pds_core.execute import execute
from pds_core.loader import load_project
from pds_core.plan import Options, plan
from pds_core.results import ERROR, SKIPPED, SUCCESS, NodeResult
from pds_core.runners.base import INTERRUPTED, NodeFailed, RunContext, Runner
from tests.projects import write_project

FILES = {
    "seeds/s.csv": "id\n1\n",
    "models/a.sql": "select id from {{ ref('s') }}",
    "models/b.sql": "select id from {{ ref('a') }}",
    "models/c.sql": "select id from {{ ref('s') }}",
}


class FakeAdapter:
    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.target = type("T", (), {"name": "dev"})()

    def redact(self, text: str) -> str:
        return text.replace("hunter2", "****")

    def thread_statements(self) -> int:
        return 0

    def connection_lost(self, exc: BaseException) -> bool:
        return "lost" in str(exc)

    def cancel(self) -> None:
        self.cancelled.set()


class Scripted(Runner):
    """Runs each node as a script says: ok, a warehouse error, a project error, a verdict, or block."""

    def __init__(self, ctx: RunContext, script: dict[str, Any]) -> None:
        super().__init__(ctx)
        self.script = script
        self.ran: list[str] = []

    def run(self, node: Any, result: NodeResult) -> None:
        self.ran.append(node.name)
        action = self.script.get(node.name)
        if action == "block":  # a long statement, until it is cancelled
            assert self.ctx.adapter.cancelled.wait(10)
            raise RuntimeError("INTERRUPT Error: Interrupted!")
        if isinstance(action, BaseException):
            raise action
        result.message = f"built {node.name}"


@pytest.fixture
def the_plan(tmp_path: Path):  # noqa: ANN201
    return plan(load_project(write_project(tmp_path / "p", FILES)), Options(threads=1), None, "build")


def runners(script: dict[str, Any], adapter: Any = None) -> tuple[Scripted, dict[str, Runner]]:
    runner = Scripted(RunContext(adapter=adapter or FakeAdapter()), script)
    return runner, {"model": runner, "seed": runner}


def test_nodes_run_in_dag_order_and_a_failure_skips_what_is_below(the_plan) -> None:
    runner, table = runners({"a": RuntimeError("password hunter2 rejected")})
    run = execute(the_plan, runner.ctx.adapter, table)
    by_name = {r.name: r for r in run.results}
    assert runner.ran == ["s", "a", "c"]
    assert by_name["a"].status == ERROR and by_name["a"].message == "models/a.sql: password **** rejected"
    assert by_name["b"].status == SKIPPED and by_name["b"].message == "skipped because a failed"
    assert by_name["c"].status == SUCCESS and by_name["c"].message == "built c"
    assert not run.success and run.exit_code == 1 and run.status == "error"


def test_project_errors_and_verdicts_keep_their_place_and_message(the_plan) -> None:
    runner, table = runners({"a": ProjectError("bad config"), "c": NodeFailed("said so", "fail", rows=3)})
    run = {r.name: r for r in execute(the_plan, runner.ctx.adapter, table).results}
    assert run["a"].message == "models/a.sql: bad config"
    assert (run["c"].status, run["c"].message, run["c"].extra["rows"]) == ("fail", "said so", 3)


def test_a_lost_connection_says_so_with_a_hint(the_plan) -> None:
    runner, table = runners({"c": RuntimeError("connection lost")})
    run = {r.name: r for r in execute(the_plan, runner.ctx.adapter, table).results}
    assert "lost the connection to target 'dev'" in run["c"].message and "pds retry" in run["c"].message


class InterruptingReporter:
    """Ctrl-C lands in the main thread once `after` finished (reporters run there)."""

    def __init__(self, after: str) -> None:
        self.after = after

    def start(self, *args: Any) -> None:
        pass

    def node_done(self, result: NodeResult) -> None:
        if result.name == self.after:
            raise KeyboardInterrupt


def test_ctrl_c_cancels_what_runs_and_returns_an_interrupted_run(the_plan) -> None:
    adapter = FakeAdapter()
    the_plan.options.threads = 2
    runner, table = runners({"a": "block"}, adapter)
    t0 = time.monotonic()
    run = execute(the_plan, adapter, table, InterruptingReporter(after="c"))  # while a runs
    assert time.monotonic() - t0 < 8
    assert adapter.cancelled.is_set() and runner.ctx.interrupted.is_set()
    by_name = {r.name: r for r in run.results}
    assert run.interrupted and run.status == "interrupted" and run.exit_code == 130 and not run.success
    assert by_name["s"].status == by_name["c"].status == SUCCESS
    assert by_name["a"].status == ERROR and by_name["a"].message == INTERRUPTED
    assert by_name["b"].status == SKIPPED and "not run" in by_name["b"].message and by_name["b"].extra["interrupted"]
