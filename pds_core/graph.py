"""Graph: the manifest's dependencies as a networkx DiGraph, checked for cycles."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from pds_core.errors import ProjectError
from pds_core.nodes import Manifest


def build_graph(manifest: Manifest) -> nx.DiGraph:
    """Edges run from parent to child; a cycle is an error that names every node in it."""
    graph = nx.DiGraph()
    for uid in manifest.sources:
        graph.add_node(uid)
    for uid, node in manifest.nodes.items():
        graph.add_node(uid)
        for parent in node.depends_on:
            graph.add_edge(parent, uid)
    if nx.is_directed_acyclic_graph(graph):  # one topological pass; find_cycle costs 3x as much
        return graph
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    names = [manifest.nodes[edge[0]].name for edge in cycle]
    first = manifest.nodes[cycle[0][0]]
    raise ProjectError("dependency cycle: " + " -> ".join([*names, names[0]]), first.path,
                       hint="a model cannot depend on itself through ref(); break the cycle")


def run_order_graph(graph: nx.DiGraph, manifest: Manifest) -> nx.DiGraph:
    """The graph the run is ordered by: a source that names the relation a seed or model of the project
    builds (jaffle-shop's seeds, read by its staging models through source()) comes after that node,
    so a build loads the seed before the models that read it. dbt has no such edge (it may start the
    model first); selection is unchanged (the graph itself gets no edge)."""
    built = {n.relation.key(): uid for uid, n in manifest.nodes.items()
             if n.relation is not None and n.resource_type in ("seed", "model") and n.materialized != "ephemeral"}
    edges = [(built[s.relation.key()], uid) for uid, s in manifest.sources.items()
             if s.relation is not None and s.relation.key() in built]
    if not edges:
        return graph
    ordered = graph.copy()
    ordered.add_edges_from(edges)
    return ordered if nx.is_directed_acyclic_graph(ordered) else graph


def ancestors_of(graph: nx.DiGraph, nodes: Iterable[str]) -> set[str]:
    """Every ancestor of any of the nodes, in one walk (not one nx.ancestors per node)."""
    seen: set[str] = set()
    stack = [parent for uid in nodes if uid in graph for parent in graph.predecessors(uid)]
    while stack:
        uid = stack.pop()
        if uid not in seen:
            seen.add(uid)
            stack.extend(graph.predecessors(uid))
    return seen


def topological_order(graph: nx.DiGraph, nodes: set[str] | None = None) -> list[str]:
    """Nodes in an order where every parent comes before its children (stable by name)."""
    sub = graph if nodes is None else graph.subgraph(nodes)
    return list(nx.lexicographical_topological_sort(sub))
