"""Execute: run nodes on a thread pool in DAG order; a failure skips everything downstream of it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import networkx as nx

from pds_core.results import OK_STATUSES, SKIPPED, NodeResult

BLOCKING = ("error", "fail", SKIPPED)


def selected_dependencies(graph: nx.DiGraph, selected: set[str]) -> dict[str, set[str]]:
    """For each selected node, its nearest selected ancestors (looking through unselected nodes)."""
    deps: dict[str, set[str]] = {}
    for uid in selected:
        found: set[str] = set()
        stack, seen = list(graph.predecessors(uid)), set()
        while stack:
            parent = stack.pop()
            if parent in seen:
                continue
            seen.add(parent)
            if parent in selected:
                found.add(parent)
            else:
                stack.extend(graph.predecessors(parent))
        deps[uid] = found
    return deps


def run_dag(
    graph: nx.DiGraph,
    selected: set[str],
    run_node: Callable[[str], NodeResult],
    skipped_result: Callable[[str, str], NodeResult],
    threads: int = 1,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[NodeResult], None] | None = None,
    order_key: Callable[[str], str] = str,
) -> list[NodeResult]:
    """Run every selected node once all its selected parents succeeded; results in completion order."""
    deps = selected_dependencies(graph, selected)
    children: dict[str, set[str]] = {uid: set() for uid in selected}
    for uid, parents in deps.items():
        for parent in parents:
            children[parent].add(uid)
    waiting = {uid: len(parents) for uid, parents in deps.items()}
    ready = sorted((uid for uid, n in waiting.items() if n == 0), key=order_key)
    results: dict[str, NodeResult] = {}
    blocked_by: dict[str, str] = {}
    done_order: list[NodeResult] = []
    lock = threading.Lock()

    def finish(result: NodeResult) -> None:
        with lock:
            results[result.unique_id] = result
            done_order.append(result)
        if on_done:
            on_done(result)

    def release(uid: str, newly_ready: list[str]) -> None:
        """Count a finished node toward its children; skip them when it did not succeed."""
        failed = results[uid].status not in OK_STATUSES
        for child in sorted(children[uid], key=order_key):
            if failed and child not in blocked_by:
                blocked_by[child] = blocked_by.get(uid, uid)
            waiting[child] -= 1
            if waiting[child] == 0:
                if child in blocked_by:
                    finish(skipped_result(child, blocked_by[child]))
                    release(child, newly_ready)
                else:
                    newly_ready.append(child)

    def task(uid: str) -> NodeResult:
        if on_start:
            on_start(uid)
        return run_node(uid)

    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="pds") as pool:
        running: dict[Future[NodeResult], str] = {}
        try:
            while ready or running:
                while ready and len(running) < max(1, threads):
                    uid = ready.pop(0)
                    running[pool.submit(task, uid)] = uid
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: order_key(running[f])):
                    uid = running.pop(future)
                    finish(future.result())
                    newly: list[str] = []
                    release(uid, newly)
                    ready.extend(sorted(newly, key=order_key))
        except BaseException:
            for future in running:
                future.cancel()
            raise
    return done_order
