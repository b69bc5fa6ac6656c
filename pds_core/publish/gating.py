"""Which checks an export waits for, and whether they passed.

An export is gated by every error-severity test, Python check and metric with an error bound
that is about its model or one of the model's ancestors (the node the check is attached to;
a singular test is about the most downstream node it reads). Warn-severity ones never block.

- In `pds build` these checks are the export node's parents in the run's DAG, so the export runs
  only after all of them passed in this run. A check of an ancestor that this run did not
  select does not run and does not block: what was not selected counts as passed. Everything
  that was selected must pass (a selected model that failed or was skipped blocks too).
- In `pds publish` nothing is re-checked: the latest recorded result of each gating check for
  this target is read from the results tables (pds_test_results), and it must be a pass (or a
  warn) recorded after the last successful build of the node it checks. A check with no
  recorded result, or one older than its node's last build, blocks the export.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx
from sqlglot import exp

from pds_core.history import ResultsHistory
from pds_core.publish.exports import Export
from pds_core.results import ERROR, FAIL, SKIPPED

Quality = Any  # a test, check or metric node: blocking, attached_to, resource_type (quality/spec.py)


def gating_nodes(checks: Iterable[Quality], graph: nx.DiGraph, export: Export) -> list[Quality]:
    """The error-severity tests, checks and metric bounds of the export's model and its ancestors."""
    lineage = {export.node} | (nx.ancestors(graph, export.node) if export.node in graph else set())
    return [node for node in checks if node.blocking and node.attached_to in lineage]


def kind_of(node: Quality) -> str:
    if node.resource_type == "metric":
        return "metric"
    return "check" if getattr(node, "test_type", None) == "python" else "test"


def describe(node: Quality | None, name: str, status: str, message: str = "") -> str:
    """Why a gating node blocks, in a few words: 'test not_null_scores_id failed (error)'."""
    if node is None or node.resource_type not in ("test", "metric"):  # the model (or an ancestor) did not build
        return f"{name} was skipped ({message})" if status == SKIPPED else f"{name} failed"
    kind = kind_of(node)
    severity = "error"
    if status in (FAIL, "fail"):
        return f"{kind} {node.name} {'is out of bounds' if kind == 'metric' else 'failed'} ({severity})"
    if status in (ERROR, "error"):
        return f"{kind} {node.name} could not run ({severity})"
    if status in (SKIPPED, "skipped"):
        return f"{kind} {node.name} was skipped"
    return f"{kind} {node.name}: {status}"


def only_causes(failed: list[str], skipped: list[str]) -> list[str]:
    """What to tell the user: the gates that failed; the skipped ones only when nothing failed
    (a check skipped because another one failed says nothing new)."""
    return failed or skipped


class RecordedResults:
    """`pds publish`'s gate: the latest recorded results of the gating checks, from the results tables."""

    def __init__(self, history: ResultsHistory, target: str) -> None:
        self.history = history
        self.target = target

    def blockers(self, gating: list[Quality]) -> list[str]:
        """Why an export must not run (empty: it may)."""
        if not gating:
            return []
        latest = self._latest([n.unique_id for n in gating])
        built = self._last_built({n.attached_to for n in gating if n.attached_to})
        reasons, skipped = [], []
        for node in gating:
            rows = latest.get(node.unique_id)
            kind = kind_of(node)
            if not rows:
                reasons.append(f"{kind} {node.name} has no recorded result for target {self.target!r}")
                continue
            executed = max(r["executed_at"] for r in rows)
            rebuilt = built.get(node.attached_to or "")
            if rebuilt is not None and executed is not None and executed < rebuilt:
                reasons.append(f"{kind} {node.name} has not run since {node.attached_to.split('.')[-1]} "
                               f"was last built")  # type: ignore[union-attr]
                continue
            if node.resource_type == "metric":
                bad = [r for r in rows if r["status"] not in ("pass", "warn") and (r["severity"] or "error") == "error"]
            else:
                bad = [r for r in rows if r["status"] not in ("pass", "warn")]
            if bad:
                (skipped if bad[0]["status"] == "skipped" else reasons).append(describe(node, node.name, bad[0]["status"]))
        return only_causes(reasons, skipped)

    def _latest(self, uids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Each check's rows of its most recent run (a metric has one row per bound and group)."""
        history = self.history
        columns = ["unique_id", "run_id", "status", "severity", "executed_at"]
        query = (exp.select(*columns).from_(history.table("pds_test_results"))
                 .where(exp.and_(exp.EQ(this=exp.column("target"), expression=exp.Placeholder()),
                                 exp.column("unique_id").isin(*[exp.Placeholder() for _ in uids])))
                 .order_by(exp.Ordered(this=exp.column("executed_at"), desc=True)))
        _cols, rows = history.adapter.fetch(query, [self.target, *uids])
        latest: dict[str, list[dict[str, Any]]] = {}
        run_of: dict[str, str] = {}
        for row in rows:
            record = dict(zip(columns, row, strict=True))
            uid = record["unique_id"]
            if run_of.setdefault(uid, record["run_id"]) == record["run_id"]:
                latest.setdefault(uid, []).append(record)
        return latest

    def _last_built(self, uids: set[str]) -> dict[str, Any]:
        """When each node was last built successfully (node results of build/run commands)."""
        if not uids:
            return {}
        history = self.history
        node_results = history.table("pds_node_results").as_("n")
        runs = history.table("pds_runs").as_("r")
        query = (exp.select(exp.column("unique_id", "n"), exp.Max(this=exp.column("completed_at", "n")).as_("built"))
                 .from_(node_results)
                 .join(runs, on=exp.EQ(this=exp.column("run_id", "n"), expression=exp.column("run_id", "r")))
                 .where(exp.and_(exp.column("unique_id", "n").isin(*[exp.Placeholder() for _ in uids]),
                                 exp.column("status", "n").isin(exp.Literal.string("success"),
                                                                exp.Literal.string("warn")),
                                 exp.EQ(this=exp.column("target", "r"), expression=exp.Placeholder())))
                 .group_by(exp.column("unique_id", "n")))
        _cols, rows = history.adapter.fetch(query, [*sorted(uids), self.target])
        return {uid: built for uid, built in rows}
