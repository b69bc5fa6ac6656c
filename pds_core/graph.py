"""Graph: the manifest's dependencies as a networkx DiGraph, checked for cycles."""

from __future__ import annotations

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
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    names = [manifest.nodes[edge[0]].name for edge in cycle]
    first = manifest.nodes[cycle[0][0]]
    raise ProjectError("dependency cycle: " + " -> ".join([*names, names[0]]), first.path,
                       hint="a model cannot depend on itself through ref(); break the cycle")


def topological_order(graph: nx.DiGraph, nodes: set[str] | None = None) -> list[str]:
    """Nodes in an order where every parent comes before its children (stable by name)."""
    sub = graph if nodes is None else graph.subgraph(nodes)
    return list(nx.lexicographical_topological_sort(sub))
