"""The scheduler: run nodes on a thread pool in DAG order; a failure skips everything downstream of it.

Pure: it knows nodes only by id and calls what it is given. On Ctrl-C it starts nothing more,
calls on_interrupt (which cancels the running statements), waits a few seconds for the running
nodes to finish failing, and raises Interrupted with every result it has: it never waits for a
node that does not stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import networkx as nx

from pds_core.results import OK_STATUSES, SKIPPED, NodeResult

BLOCKING = ("error", "fail", SKIPPED)
GRACE_SECONDS = 5.0  # how long an interrupted run waits for its cancelled nodes to end


class Interrupted(Exception):
    """The run was interrupted: the results of the nodes that finished, and those still running."""

    def __init__(self, results: list[NodeResult], running: list[str]) -> None:
        super().__init__("interrupted")
        self.results = results
        self.running = running


class FailedFast(Interrupted):
    """--fail-fast stopped the run after `cause` failed: what still ran was cancelled, nothing more started."""

    def __init__(self, results: list[NodeResult], running: list[str], cause: str) -> None:
        super().__init__(results, running)
        self.cause = cause


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
    on_interrupt: Callable[[], None] | None = None,
    grace: float = GRACE_SECONDS,
    hurry: Callable[[], bool] = lambda: False,
    stop_after: Callable[[NodeResult], bool] | None = None,
) -> list[NodeResult]:
    """Run every selected node once all its selected parents succeeded; results in completion order.

    stop_after(result) true (dbt's --fail-fast) ends the run there as Ctrl-C would, raising FailedFast; the
    nodes then running are cancelled, and only those that still succeed keep their result."""
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

    pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="pds")
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
                if stop_after is not None and stop_after(results[uid]):
                    pool.shutdown(wait=False, cancel_futures=True)
                    kept = lambda r: finish(r) if r.status in OK_STATUSES else None  # noqa: E731
                    _wind_down(running, kept, on_interrupt, grace, hurry)
                    raise FailedFast(list(done_order), sorted(running.values()), uid)
                newly: list[str] = []
                release(uid, newly)
                ready.extend(sorted(newly, key=order_key))
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        _wind_down(running, finish, on_interrupt, grace, hurry)
        raise Interrupted(list(done_order), sorted(running.values())) from None
    except FailedFast:
        raise
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return done_order


def _wind_down(running: dict[Future[NodeResult], str], finish: Callable[[NodeResult], None],
               on_interrupt: Callable[[], None] | None, grace: float, hurry: Callable[[], bool]) -> None:
    """After Ctrl-C: cancel what runs, then collect the nodes that end within `grace` seconds (or until
    hurry() says to stop waiting, e.g. on a second Ctrl-C)."""
    if on_interrupt is not None:
        on_interrupt()
    deadline = time.monotonic() + grace
    try:
        while running and time.monotonic() < deadline and not hurry():
            wait(list(running), timeout=0.1, return_when=FIRST_COMPLETED)
            for future in [f for f in running if f.done()]:
                running.pop(future)
                if not future.cancelled() and future.exception() is None:
                    finish(future.result())
    except KeyboardInterrupt:  # a second Ctrl-C where the caller did not catch it: stop waiting
        pass
