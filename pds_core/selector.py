"""Node selection, dbt's syntax: names, +name, name+, 2+name, @name, tag:, path:, type:, state:.

Space separates a union; comma an intersection. Wildcards (*) work in names and paths. Tests are
selected directly, as in dbt, by their name, `resource_type:test`, `test_type:generic|singular|unit`,
`test_name:not_null`, tag: and path:; the tests of selected nodes come with them (quality/planner.py).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pds_core.errors import ProjectError, did_you_mean
from pds_core.nodes import Node
from pds_core.parser import Manifest

if TYPE_CHECKING:
    import networkx as nx

_TERM = re.compile(r"^(?P<at>@)?(?:(?P<up>\d*)\+)?(?P<body>[^+]+?)(?:\+(?P<down>\d*))?$")
METHODS = ("tag", "path", "type", "resource_type", "state", "source", "config.materialized", "fqn", "test_type",
           "test_name")
TEST_METHODS = ("tag", "path", "resource_type", "test_type", "test_name")  # what tests are selected by


@dataclass
class SelectionContext:
    """What selection may consult besides the graph: the state manifest's fingerprints, if any; unit tests
    beyond the manifest's own (by unique id)."""

    modified: Callable[[str], bool] | None = None
    unit_tests: dict[str, Any] = field(default_factory=dict)  # selectable by name, tag, path, test_type:unit


def select_nodes(
    manifest: Manifest,
    graph: nx.DiGraph,
    select: Iterable[str] | None,
    exclude: Iterable[str] | None = None,
    context: SelectionContext | None = None,
) -> set[str]:
    """The unique ids of the nodes (models, seeds, sources) that the select and exclude specs name."""
    context = context or SelectionContext()
    specs = _split(select)
    chosen = set(manifest.all_nodes()) if not specs else set().union(*(_union_part(s, manifest, graph, context) for s in specs))
    for spec in _split(exclude):
        chosen -= _union_part(spec, manifest, graph, context)
    return chosen


def _split(specs: Iterable[str] | None) -> list[str]:
    return [part for spec in (specs or []) for part in str(spec).split() if part]


def _union_part(spec: str, manifest: Manifest, graph: nx.DiGraph, context: SelectionContext) -> set[str]:
    parts = [p for p in spec.split(",") if p]
    result: set[str] | None = None
    for part in parts:
        found = _term(part, manifest, graph, context)
        result = found if result is None else result & found
    return result or set()


def _term(term: str, manifest: Manifest, graph: nx.DiGraph, context: SelectionContext) -> set[str]:
    match = _TERM.match(term)
    if not match:
        raise ProjectError(f"cannot read selector {term!r}", hint="examples: stg_orders, +scores, tag:daily, path:models/staging")
    base = _base(match["body"], manifest, context)
    result = set(base)
    if match["up"] is not None or match["at"]:  # a test's parents (+test): what it reads, and their ancestors
        tests = _selectable(manifest, context)
        for uid in base - set(graph):
            test = tests.get(uid)
            for dep in getattr(test, "depends_on", None) or [getattr(test, "model", None)]:
                result |= ({dep} | nx.ancestors(graph, dep)) if dep in graph else set()
    base = {uid for uid in base if uid in graph}
    if match["at"]:
        for uid in base:
            result |= _reach(graph, uid, None, graph.successors)
        for uid in list(result):
            result |= _reach(graph, uid, None, graph.predecessors)
        return result
    if match["up"] is not None:
        depth = int(match["up"]) if match["up"] else None
        for uid in base:
            result |= _reach(graph, uid, depth, graph.predecessors)
    if match["down"] is not None:
        depth = int(match["down"]) if match["down"] else None
        for uid in base:
            result |= _reach(graph, uid, depth, graph.successors)
    return result


def _reach(graph: nx.DiGraph, start: str, depth: int | None, step: Callable) -> set[str]:
    seen, frontier, level = set(), {start}, 0
    while frontier and (depth is None or level < depth):
        frontier = {n for f in frontier for n in step(f)} - seen
        seen |= frontier
        level += 1
    return seen


def _selectable(manifest: Manifest, context: SelectionContext | None = None) -> dict[str, Any]:
    """The tests (generic, singular, unit) a selector may name, by unique id."""
    suite = getattr(manifest, "quality", None)
    found = {} if suite is None else {**suite.tests, **suite.unit_tests}
    return {**found, **(context.unit_tests if context is not None else {})}


def _base(body: str, manifest: Manifest, context: SelectionContext) -> set[str]:
    method, _, value = body.partition(":") if ":" in body else ("", "", body)
    nodes = manifest.all_nodes()
    tests = _selectable(manifest, context)
    if not method:
        if "/" in value or value.endswith((".sql", ".py", ".csv")):
            return _base(f"path:{value}", manifest, context)
        hits = {uid for uid, n in nodes.items() if _match_name(n, value)}
        hits |= {uid for uid, t in tests.items() if fnmatch.fnmatchcase(t.name, value)}
        if not hits:
            raise ProjectError(f"no node matches {value!r}",
                               hint=did_you_mean(value, [n.name for n in [*nodes.values(), *tests.values()]])
                               or "see `pds ls`")
        return hits
    test_predicates: dict[str, Callable[[Any], bool]] = {
        "tag": lambda t: any(fnmatch.fnmatch(tag, value) for tag in _tags(t)),
        "path": lambda t: _match_path(t.path, value),
        "resource_type": lambda t: t.resource_type == value,
        "test_type": lambda t: _test_type(t) == value or (value == "data" and _test_type(t) != "unit"),
        "test_name": lambda t: t.resource_type == "test" and t.test_type == "generic" and (
            fnmatch.fnmatch(t.test_name, value) or fnmatch.fnmatch(f"{t.namespace}.{t.test_name}", value)),
    }
    found_tests = {uid for uid, t in tests.items() if method in test_predicates and test_predicates[method](t)}
    if method in ("test_type", "test_name"):
        if method == "test_type" and value not in ("generic", "singular", "unit", "data"):
            raise ProjectError(f"unknown test type {value!r} in selector", hint="test_type:generic, singular or unit")
        return found_tests
    predicates: dict[str, Callable[[Node], bool]] = {
        "tag": lambda n: any(fnmatch.fnmatch(t, value) for t in n.tags),
        "path": lambda n: _match_path(n.path, value),
        "type": lambda n: _node_type(n) == value,
        "resource_type": lambda n: n.resource_type == value,
        "source": lambda n: n.resource_type == "source" and fnmatch.fnmatch(n.name, value if "." in value else f"{value}.*"),
        "config.materialized": lambda n: n.materialized == value,
        "fqn": lambda n: fnmatch.fnmatch(".".join(n.fqn), value),
    }
    if method == "state":
        if value not in ("modified", "new", "unmodified"):
            raise ProjectError(f"unknown state selector state:{value}", hint="use state:modified or state:new")
        if context.modified is None:
            raise ProjectError("state: selection needs a previous manifest", hint="build once, or pass --state DIR")
        if value == "new":
            return {uid for uid in manifest.nodes if context.modified(uid) == "new"}
        want = value == "modified"
        return {uid for uid in manifest.nodes if bool(context.modified(uid)) == want}
    if method not in predicates:
        raise ProjectError(f"unknown selector method {method!r}",
                           hint=did_you_mean(method, METHODS) or f"methods: {', '.join(METHODS)}")
    if method == "type" and value not in ("sql", "python", "seed", "source"):
        raise ProjectError(f"unknown type {value!r} in selector", hint="type:sql, type:python or type:seed")
    return {uid for uid, n in nodes.items() if predicates[method](n)} | found_tests


def _tags(test: Any) -> list[str]:
    tags = getattr(test, "tags", None) or (test.config.get("tags") if isinstance(getattr(test, "config", None), dict)
                                           else None)
    return [tags] if isinstance(tags, str) else list(tags or [])


def _test_type(test: Any) -> str:
    return "unit" if test.resource_type == "unit_test" else str(test.test_type)


def _node_type(node: Node) -> str:
    if node.resource_type in ("seed", "source"):
        return node.resource_type
    return node.language


def _match_name(node: Node, value: str) -> bool:
    if any(ch in value for ch in "*?["):
        return fnmatch.fnmatch(node.name, value) or fnmatch.fnmatch(".".join(node.fqn), value)
    return node.name == value or ".".join(node.fqn) == value or (value == node.fqn[-1] if node.fqn else False)


def _match_path(path: str, value: str) -> bool:
    value = value.rstrip("/")
    return path == value or path.startswith(value + "/") or fnmatch.fnmatch(path, value)
