"""The profile half of the serve benchmark (`python bench/serve_bench.py --in-process`): both apps
called directly as ASGI callables in one process, no uvicorn, no sockets, CPU time per request (what
each app itself costs), then the steps of one pds page."""

from __future__ import annotations

import asyncio
import random
import time
from itertools import repeat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from serve_bench import CHAIN, MODEL, PAGE_FILTER, PAGE_LIMIT, limit_app, pds_app


def in_process(store_dir: Path, rows: int, requests: int, limit_rows: str = "zip") -> list[str]:
    """Both apps called directly as ASGI callables in this process, CPU time per request (what the app
    itself costs: no HTTP parsing, no sockets, no scheduling), then the steps of one pds page."""
    import timeit

    from pds_core.serve import reads
    from pds_core.serve.auth import Auth
    from pds_core.serve.formats import json_bytes
    from pds_core.serve.served import Served
    from pds_core.serve.store import SnapshotStore

    apps = {"limit": limit_app(store_dir, limit_rows), "pds": pds_app(store_dir)}
    apps["pds"].served.refresh()  # what the lifespan does when uvicorn starts it

    async def call(app: Any, path: str, query: str = "") -> dict[bytes, bytes]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app({"type": "http", "method": "GET", "path": path, "query_string": query.encode(),
                   "headers": [(b"host", b"bench")]}, receive, send)
        return dict(sent[0]["headers"])

    async def workload(kind: str, name: str, count: int) -> None:
        rng, cursor = random.Random(16), None
        for i in range(count):
            if name == "lookup":
                key = rng.randint(1, rows)
                await call(apps[kind], f"/models/{MODEL}/rows/{key}" if kind == "pds" else f"/rows/{key}")
                continue
            cursor = None if i % CHAIN == 0 else cursor
            if kind == "pds":
                query = f"{PAGE_FILTER}&limit={PAGE_LIMIT}" + (f"&cursor={cursor}" if cursor else "")
                headers = await call(apps[kind], f"/models/{MODEL}/rows", query)
            else:
                headers = await call(apps[kind], "/page", f"after={cursor or 0}")
            cursor = headers.get(b"x-next-cursor", b"").decode() or None

    lines = ["| workload | limit CPU µs/req | pds CPU µs/req | limit / pds |", "|---|---:|---:|---:|"]
    for name in ("lookup", "page"):
        count = requests if name == "lookup" else requests // 4
        cost = {}
        for kind in ("limit", "pds"):
            asyncio.run(workload(kind, name, count // 10))  # warm-up
            started = time.process_time()
            asyncio.run(workload(kind, name, count))
            cost[kind] = (time.process_time() - started) / count * 1e6
        lines.append(f"| {name} | {cost['limit']:.1f} | {cost['pds']:.1f} | {cost['limit'] / cost['pds']:.0%} |")

    served = Served(SnapshotStore(store_dir), models=[MODEL], poll=0)
    served.refresh()
    loaded, auth = served.get(MODEL), Auth()
    assert loaded is not None
    query = f"{PAGE_FILTER}&limit={PAGE_LIMIT}"
    params = reads.query_params(query)
    conditions = loaded.conditions(params)
    positions, following = loaded.page(conditions, 0, PAGE_LIMIT)
    cursor = loaded.cursor(following)  # type: ignore[arg-type]
    found = loaded.records(positions, None)
    steps = {
        "the whole read_rows": lambda: reads.read_rows(served, auth, MODEL, params, None, None, "/m", query),
        "query string (reads.query_params)": lambda: reads.query_params(query),
        "query string (parse_qsl, before)": lambda: parse_qsl(query, keep_blank_values=True),
        "filters parsed": lambda: loaded.conditions(params),
        "matching rows found": lambda: loaded.page(conditions, 0, PAGE_LIMIT),
        "cursor read + written": lambda: (loaded.start_of(cursor), loaded.cursor(following)),  # type: ignore[arg-type]
        "100 rows as Python dicts (dict display)": lambda: loaded.records(positions, None),
        "100 rows as Python dicts (dict(zip()), before)": lambda: list(map(
            dict, map(zip, repeat(loaded.names), zip(*[take(positions) for take in loaded.takers.values()], strict=True)))),
        "JSON (orjson)": lambda: json_bytes({"model": MODEL, "snapshot": loaded.info.id, "next_cursor": cursor,
                                             "rows": found}),
    }
    lines += ["", "| one pds page, step | CPU µs |", "|---|---:|"]
    for label, step in steps.items():
        best = min(timeit.repeat(step, number=500, repeat=3, timer=time.process_time)) / 500 * 1e6
        lines.append(f"| {label} | {best:.1f} |")
    return lines
