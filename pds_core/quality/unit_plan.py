"""Which unit tests a command runs, and where they sit in its DAG (dbt's order).

A unit test runs after its model's parents (their types are then read from the warehouse) and
before the model: an edge unit test -> model holds the model, and through it its children, back
when the test fails, as `dbt build` does. A unit test comes with a selection when its model is
selected (unless --indirect-selection empty), or when the selection names it: by name, tag:,
path:, `test_type:unit` or `resource_type:unit_test`; --exclude removes it either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pds_core.quality.spec import UnitTestNode
from pds_core.selector import SelectionContext, select_nodes

if TYPE_CHECKING:
    from pds_core.plan import Plan


def select_unit_tests(plan: Plan) -> dict[str, UnitTestNode]:
    suite = plan.manifest.quality
    tests: dict[str, UnitTestNode] = dict(suite.unit_tests) if suite is not None else {}
    if not tests:
        return {}
    if plan.options.retry is not None:
        return {uid: t for uid, t in tests.items() if uid in plan.options.retry}
    if plan.options.selects_everything:
        return tests
    direct = {uid for uid in plan.chosen if uid in tests}
    indirect = set() if plan.options.indirect_selection == "empty" else \
        {uid for uid, t in tests.items() if t.model in plan.chosen}
    excluded: set[str] = set()
    if plan.options.exclude:
        excluded = select_nodes(plan.manifest, plan.graph, plan.options.exclude, None,
                                SelectionContext(unit_tests=tests)) & set(tests)
    return {uid: tests[uid] for uid in sorted((direct | indirect) - excluded)}


def plan_unit_tests(plan: Plan) -> dict[str, UnitTestNode]:
    """Add the selected unit tests to the plan's run graph: after the model's parents, before the model."""
    tests = select_unit_tests(plan)
    for uid, test in tests.items():
        parents = list(plan.graph.predecessors(test.model)) if test.model in plan.graph else []
        children = [test.model] if test.model in plan.runnable else []
        plan.add(uid, test, parents, children)
    return tests
