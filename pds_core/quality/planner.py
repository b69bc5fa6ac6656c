"""The quality planner: which tests, checks and metrics run with a command, and where they sit in its DAG.

Each quality node runs right after the nodes it reads (edges parent -> test). An error-severity
one also gets edges test -> the checked node's children, in this run's graph only, so the
scheduler holds those children back until it passes and skips them (and everything below) when
it fails. dbt's rule decides which children wait: those that depend on every node the test reads.

Which tests come with a selection is dbt's --indirect-selection:
- eager (default): a test runs when any node it reads is selected;
- cautious: only when every node it reads is selected;
- buildable: when every node it reads is selected or upstream of a selected node;
- empty: no test comes with the selection.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import networkx as nx

from pds_core.compiler import Compiler
from pds_core.graph import ancestors_of
from pds_core.quality.spec import MetricNode, TestNode
from pds_core.quality.unit_plan import plan_unit_tests
from pds_core.results import FAIL, SKIPPED, SUCCESS, WARN

if TYPE_CHECKING:
    from pds_core.plan import Plan


def select_quality(plan: Plan, kinds: tuple[str, ...]) -> dict[str, TestNode | MetricNode]:
    """The quality nodes of these kinds that the selection brings, by the indirect-selection mode."""
    suite = plan.manifest.quality
    if suite is None or not kinds:
        return {}
    pool: dict[str, TestNode | MetricNode] = {}
    if "test" in kinds:
        pool.update(suite.tests)
    if "metric" in kinds:
        pool.update(suite.metrics)
    if "freshness" in kinds:  # `pds source freshness`
        pool.update({uid: t for uid, t in suite.tests.items() if t.test_name == "freshness"})
    chosen, mode = plan.chosen, plan.options.indirect_selection
    if plan.options.selects_everything:
        return pool
    direct = {uid: n for uid, n in pool.items() if uid in chosen}  # tests the selection names (dbt's direct)
    if mode == "empty":
        found: dict[str, TestNode | MetricNode] = {}
    elif mode == "buildable":
        upstream = ancestors_of(plan.graph, chosen)
        found = {uid: n for uid, n in pool.items()
                 if n.depends_on and all(d in chosen or d in upstream for d in n.depends_on)}
    else:
        wanted = all if mode == "cautious" else any
        found = {uid: n for uid, n in pool.items() if n.depends_on and wanted(d in chosen for d in n.depends_on)}
    return {uid: n for uid, n in {**found, **direct}.items() if uid not in plan.excluded}


def plan_quality(plan: Plan, kinds: tuple[str, ...] | None = None) -> dict[str, TestNode | MetricNode]:
    """Add the command's quality nodes to the plan, with their edges; SQL tests are compiled here."""
    kinds = plan.command.quality_kinds if kinds is None else kinds
    if "unit_test" in kinds:
        plan_unit_tests(plan)  # before their models (quality/unit_plan.py)
    nodes = select_quality(plan, kinds)
    if not nodes:
        return nodes
    sql_tests = {uid: n for uid, n in nodes.items()  # (one that reads `execute` is compiled when it runs)
                 if isinstance(n, TestNode) and n.rendered is not None and not n.renders_with_warehouse}
    if sql_tests:
        view = dataclasses.replace(plan.manifest, nodes={**plan.manifest.nodes, **sql_tests})
        plan.compiled.update(Compiler(view, plan.graph, plan.project.config.dialect, plan.target_dialect,
                                      namer=plan.namer).compile(list(sql_tests)))
    ancestors: dict[str, set[str]] = {}
    for uid, node in sorted(nodes.items()):
        children: list[str] = []
        if node.blocking:
            for parent in node.depends_on:
                for child in plan.graph.successors(parent):
                    if len(node.depends_on) == 1:  # its one parent is above each of its children
                        children.append(child)
                        continue
                    above = ancestors.get(child)
                    if above is None:
                        above = ancestors[child] = nx.ancestors(plan.graph, child)
                    if all(dep in above for dep in node.depends_on):
                        children.append(child)
        plan.add(uid, node, list(node.depends_on), children)
    return nodes


def summarize(plan: Plan, results: list[Any]) -> None:
    """Mark each checked node passed, warned or failed-quality from its tests' and metrics' results,
    and count the nodes each one's failed quality held back."""
    by_id = {r.unique_id: r for r in results}
    rank = {"passed": 0, "warned": 1, "failed": 2}
    held: dict[str, int] = {}
    for result in results:
        if "held_by" in result.extra:
            owner = result.extra.pop("held_by")
            held[owner] = held.get(owner, 0) + 1
        node = plan.added.get(result.unique_id)
        if node is None or node.resource_type not in ("test", "metric"):
            continue
        target = by_id.get(node.attached_to or "")
        if target is None or result.status == SKIPPED:
            continue
        verdict = {FAIL: "failed", WARN: "warned", SUCCESS: "passed"}.get(result.status, "failed")
        if rank[verdict] >= rank.get(target.extra.get("quality", "passed"), 0):
            target.extra["quality"] = verdict
        if verdict != "passed":
            key = "quality_failures" if verdict == "failed" else "quality_warnings"
            target.extra.setdefault(key, []).append(result.name)
    for uid, count in held.items():
        if uid in by_id:
            by_id[uid].extra["skipped_downstream"] = count
