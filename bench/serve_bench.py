"""The `pds serve` endpoint benchmark: key lookups and filtered pages on a 1,000,000-row served model,
1 / 8 / 32 concurrent clients, requests per second and p50 / p99 latency, measured in the same run
against the limit: a minimal ASGI app (no framework, no pds code on the request path) reading the same
rows from the same snapshot file, on the same uvicorn (uvloop + httptools), one process each.

    python bench/serve_bench.py                       # 1M rows, 1/8/32 clients, 10 s per server and cell
    python bench/serve_bench.py --rows 200000 --seconds 4 --clients 1 --clients 8
    python bench/serve_bench.py --in-process          # the profile: each app's own CPU per request, a page's steps
    python bench/serve_bench.py --limit-rows display  # the limit builds rows as pds does: the rest of pds alone

Each server runs in its own process; the client is one asyncio process speaking HTTP/1.1 keep-alive
over raw sockets (httpx would cost more CPU than the servers and measure itself). The two servers
are measured alternately, cell by cell, so both see the same machine. A page workload follows the
cursor of each answer for 20 pages, then starts again. The machine is shared, so each cell's seconds
are cut into slices that alternate between the two servers (both see the same load), and each
server's CPU time per request (from /proc) is reported beside the wall-clock figures: it does not
depend on what else runs. Results: a Markdown table on stdout and bench/results/serve-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODEL = "churn_scores"
PAGE_FILTER = "risk_band=high&churn_probability__gt=0.5"
PAGE_LIMIT = 100
CHAIN = 20  # pages followed before starting again


# ---- data ------------------------------------------------------------------------------------------
def publish(store_dir: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    from pds_core.serve.store import SnapshotStore

    rng = np.random.default_rng(16)
    frame = pd.DataFrame({
        "customer_id": rng.permutation(rows) + 1, "churn_probability": rng.random(rows).round(6),
        "risk_band": rng.choice(["low", "medium", "high"], rows), "region": rng.choice(["eu", "us", "apac"], rows),
        "segment": rng.choice([f"segment_{i:02d}" for i in range(50)], rows),
        "tenure_months": rng.integers(0, 120, rows),
        "scored_at": pd.Timestamp("2025-01-31") + pd.to_timedelta(rng.integers(0, 86_400, rows), "s")})
    SnapshotStore(store_dir).publish(MODEL, frame, ["customer_id"], run_id="bench")


# ---- the two servers ----------------------------------------------------------------------------------
def pds_app(store_dir: Path) -> Any:
    from pds_core.serve.app import create_app
    from pds_core.serve.served import Served
    from pds_core.serve.store import SnapshotStore

    return create_app(Served(SnapshotStore(store_dir), models=[MODEL], poll=1.0))


def limit_app(store_dir: Path, rows: str = "zip") -> Any:
    """The ceiling: a bare ASGI callable doing the same work the fastest way we know, without FastAPI,
    routing, tokens, cursors or any pds code. The same memory-mapped Arrow file; each column prepared
    once as numpy (text as codes into a dictionary); the key found by binary search; the filter as
    numpy comparisons over growing chunks; rows built from the arrays and written with orjson;
    a cursor is a bare position. rows="display": the rows are built the way pds builds them since
    2026-11-30 (a generated dict display, pds_core.serve.rowmaker) instead of dict(zip()): the same
    row builder on both sides, so the comparison measures only the rest of pds."""
    from itertools import repeat

    import numpy as np
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc

    from pds_core.serve.store import SnapshotStore

    store = SnapshotStore(store_dir)
    path = store.rows_path(MODEL, str(store.current_id(MODEL)))
    table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
    names = table.column_names
    arrays: list[tuple[str, Any, Any]] = []  # (how, values, dictionary)
    for column in table.columns:
        chunk = column.combine_chunks()
        if pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
            encoded = pc.dictionary_encode(chunk)
            arrays.append(("text", encoded.indices.to_numpy(), np.array(encoded.dictionary.to_pylist(), dtype=object)))
        elif pa.types.is_timestamp(chunk.type):
            arrays.append(("time", chunk.to_numpy().astype("datetime64[us]"), None))
        else:
            arrays.append(("plain", chunk.to_numpy(), None))
    keys = arrays[names.index("customer_id")][1]
    codes, dictionary = arrays[names.index("risk_band")][1:]
    high = codes.dtype.type(list(dictionary).index("high"))
    scores = arrays[names.index("churn_probability")][1]

    def row_at(pos: int) -> dict[str, Any]:
        return {name: (dictionary_[values[pos]] if how == "text" else values[pos].item())
                for name, (how, values, dictionary_) in zip(names, arrays, strict=True)}

    make = None
    if rows == "display":
        from pds_core.serve.rowmaker import row_maker

        make = row_maker(names)

    def rows_at(positions: Any) -> list[dict[str, Any]]:
        columns = [(dictionary_[values[positions]] if how == "text" else values[positions]).tolist()
                   for how, values, dictionary_ in arrays]
        if make is not None:
            return list(map(make, *columns))
        return list(map(dict, map(zip, repeat(names), zip(*columns))))  # noqa: B905

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path, headers = scope["path"], [(b"content-type", b"application/json")]
        if path.startswith("/rows/"):
            key = int(path[6:])
            pos = int(keys.searchsorted(keys.dtype.type(key)))
            found = pos < len(keys) and keys[pos] == key
            body = orjson.dumps({"row": row_at(pos) if found else None})
        else:
            query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
            pos, found, count, size = int(query.get("after", 0)), [], 0, 4096
            while pos < len(codes) and count <= PAGE_LIMIT:
                hits = np.flatnonzero((codes[pos:pos + size] == high) & (scores[pos:pos + size] > 0.5)) + pos
                found.append(hits)
                count += len(hits)
                pos, size = pos + size, size * 2
            hits = np.concatenate(found) if found else np.empty(0, dtype=np.int64)
            body = orjson.dumps({"rows": rows_at(hits[:PAGE_LIMIT])})
            if len(hits) > PAGE_LIMIT:
                headers.append((b"x-next-cursor", str(int(hits[PAGE_LIMIT])).encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def serve(kind: str, store_dir: Path, port: int, rows: str = "zip") -> None:
    import uvicorn

    app = pds_app(store_dir) if kind == "pds" else limit_app(store_dir, rows)
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", access_log=False,
                log_level="warning", server_header=False, date_header=False)


def start(kind: str, store_dir: Path, rows: str = "zip") -> tuple[subprocess.Popen, int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, __file__, "serve", kind, str(store_dir), str(port), rows], cwd=ROOT)
    probe = f"/models/{MODEL}/rows/1" if kind == "pds" else "/rows/1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            status, _h = asyncio.run(_once(port, probe))
            if status == 200:
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"the {kind} server exited with {proc.returncode}")
        time.sleep(0.2)
    raise RuntimeError(f"the {kind} server did not answer")


# ---- the client -------------------------------------------------------------------------------------------
async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str,
                   body: list[bytes] | None = None) -> tuple[int, dict]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" not in headers:
        raise RuntimeError(f"no Content-Length in the answer to {path}: {lines[0]}")
    content = await reader.readexactly(int(headers["content-length"]))
    if body is not None:
        body.append(content)
    return int(lines[0].split()[1]), headers


async def _once(port: int, path: str, body: list[bytes] | None = None) -> tuple[int, dict]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await _request(reader, writer, path, body)
    finally:
        writer.close()


def same_rows(limit_port: int, pds_port: int, rows: int) -> None:
    """Both servers give the same rows: a few lookups, and a chain of pages followed by each one's
    cursor (else the comparison would be of different work)."""
    import orjson

    def get(port: int, path: str) -> tuple[Any, dict]:
        body: list[bytes] = []
        status, headers = asyncio.run(_once(port, path, body))
        if status != 200:
            raise RuntimeError(f"{path}: {status} {body[0][:200]!r}")
        return orjson.loads(body[0]), headers

    for key in (1, 2, rows // 2, rows):
        ours, theirs = get(pds_port, f"/models/{MODEL}/rows/{key}")[0]["row"], get(limit_port, f"/rows/{key}")[0]["row"]
        if ours != theirs:
            raise RuntimeError(f"key {key}: pds answered {ours}, the limit {theirs}")
    cursor, after = None, "0"
    for page in range(3):
        ours, headers = get(pds_port, f"/models/{MODEL}/rows?{PAGE_FILTER}&limit={PAGE_LIMIT}"
                            + (f"&cursor={cursor}" if cursor else ""))
        theirs, limit_headers = get(limit_port, f"/page?after={after}")
        if ours["rows"] != theirs["rows"]:
            raise RuntimeError(f"page {page + 1}: pds and the limit gave different rows")
        cursor, after = ours["next_cursor"], limit_headers["x-next-cursor"]


async def _client(kind: str, workload: str, port: int, rows: int, until: float, warm: float,
                  latencies: list[float], errors: list[str], seed: int) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    cursor, depth = None, 0
    try:
        while (now := time.perf_counter()) < until:
            if workload == "lookup":
                key = rng.randint(1, rows)
                path = f"/models/{MODEL}/rows/{key}" if kind == "pds" else f"/rows/{key}"
            elif kind == "pds":
                path = f"/models/{MODEL}/rows?{PAGE_FILTER}&limit={PAGE_LIMIT}" + (f"&cursor={cursor}" if cursor else "")
            else:
                path = f"/page?after={cursor or 0}"
            status, headers = await _request(reader, writer, path)
            took = time.perf_counter() - now
            if status != 200:
                errors.append(f"{status} {path}")
            elif now >= warm:
                latencies.append(took)
            if workload == "page":
                depth += 1
                cursor = headers.get("x-next-cursor") if depth < CHAIN else None
                depth = depth if cursor else 0
    finally:
        writer.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): what a request really costs the
    server, whatever else the machine is doing."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(kind: str, workload: str, port: int, pid: int, clients: int, rows: int, seconds: float,
            cell: dict[str, Any] | None = None) -> dict[str, Any]:
    """One slice of `seconds` (after 0.2 s not counted), added to `cell`."""
    cell = cell or {"server": kind, "workload": workload, "clients": clients, "requests": 0, "seconds": 0.0,
                    "cpu": 0.0, "latencies": [], "errors": 0}
    latencies: list[float] = []
    errors: list[str] = []

    async def run() -> None:
        start = time.perf_counter()
        warm, until = start + 0.2, start + 0.2 + seconds
        await asyncio.gather(*(_client(kind, workload, port, rows, until, warm, latencies, errors, i)
                               for i in range(clients)))

    before, client_before = cpu_seconds(pid), time.process_time()
    asyncio.run(run())
    cell["cpu"] += cpu_seconds(pid) - before
    cell["client_cpu"] = cell.get("client_cpu", 0.0) + time.process_time() - client_before
    cell["requests"] += len(latencies)
    cell["seconds"] += seconds
    cell["latencies"] += latencies
    cell["errors"] += len(errors)
    return cell


def summarize(cell: dict[str, Any]) -> dict[str, Any]:
    latencies = sorted(cell.pop("latencies"))

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    requests = max(1, cell["requests"])
    return {**cell, "rps": cell["requests"] / cell["seconds"], "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "cpu_us_per_request": cell["cpu"] / requests * 1e6,
            "client_cpu_us_per_request": cell.get("client_cpu", 0.0) / requests * 1e6}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else "zip")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, action="append")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per server and cell")
    parser.add_argument("--slices", type=int, default=10, help="alternating slices the seconds are cut into")
    parser.add_argument("--in-process", action="store_true",
                        help="call both apps directly (no uvicorn, no sockets): each app's own CPU per request, "
                             "and the steps of a pds page")
    parser.add_argument("--limit-rows", choices=("zip", "display"), default="zip",
                        help="how the limit builds a page's rows: dict(zip()) (the issue's limit, default) or "
                             "the dict display pds builds them with (the rest of pds measured alone)")
    args = parser.parse_args()
    if args.in_process:
        from serve_profile import in_process

        with tempfile.TemporaryDirectory(prefix="pds-serve-bench-") as tmp:
            publish(Path(tmp), args.rows)
            print("\n".join(in_process(Path(tmp), args.rows, 20_000, args.limit_rows)))
        return
    clients = args.clients or [1, 8, 32]
    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="pds-serve-bench-") as tmp:
        started = time.perf_counter()
        publish(Path(tmp), args.rows)
        print(f"published {args.rows:,} rows in {time.perf_counter() - started:.1f}s", flush=True)
        servers = {kind: start(kind, Path(tmp), args.limit_rows) for kind in ("limit", "pds")}
        try:
            same_rows(servers["limit"][1], servers["pds"][1], args.rows)
            for workload in ("lookup", "page"):
                for count in clients:
                    cells: dict[str, dict[str, Any] | None] = {"limit": None, "pds": None}
                    for _slice in range(args.slices):  # alternate: both see the same machine
                        for kind in ("limit", "pds"):
                            proc, port = servers[kind]
                            cells[kind] = measure(kind, workload, port, proc.pid, count, args.rows,
                                                  args.seconds / args.slices, cells[kind])
                    for kind in ("limit", "pds"):
                        cell = summarize(cells[kind])  # type: ignore[arg-type]
                        results.append(cell)
                        print(json.dumps(cell), flush=True)
        finally:
            for proc, _port in servers.values():
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    report(results, args, load_before, os.getloadavg())


def report(results: list[dict[str, Any]], args: argparse.Namespace, before: tuple, after: tuple) -> None:
    cells = {(c["workload"], c["clients"], c["server"]): c for c in results}
    client = [c["client_cpu_us_per_request"] for c in results]
    lines = [f"{args.rows:,} rows; per cell {args.seconds:g} s per server in {args.slices} alternating slices; "
             f"load average {before[0]:.1f} before, {after[0]:.1f} after; {os.cpu_count()} CPUs; the limit builds "
             f"rows with {'dict(zip())' if args.limit_rows == 'zip' else 'the dict display pds uses'}; the client's "
             f"own CPU: {min(client):.0f}-{max(client):.0f} µs per request", "",
             "| workload | clients | limit req/s | pds req/s | pds / limit | limit p50 / p99 ms | pds p50 / p99 ms "
             "| server CPU µs/req limit / pds | errors |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    summary = []
    for workload in ("lookup", "page"):
        for count in sorted({c["clients"] for c in results}):
            limit, ours = cells[(workload, count, "limit")], cells[(workload, count, "pds")]
            ratio = ours["rps"] / limit["rps"]
            errors = limit["errors"] + ours["errors"]
            summary.append({"workload": workload, "clients": count, "ratio": ratio, "errors": errors,
                            **{f"{k}_{n}": c[k] for n, c in (("limit", limit), ("pds", ours))
                               for k in ("rps", "p50_ms", "p99_ms", "cpu_us_per_request")}})
            lines.append(f"| {workload} | {count} | {limit['rps']:,.0f} | {ours['rps']:,.0f} | {ratio:.0%} | "
                         f"{limit['p50_ms']:.1f} / {limit['p99_ms']:.1f} | {ours['p50_ms']:.1f} / {ours['p99_ms']:.1f} | "
                         f"{limit['cpu_us_per_request']:.0f} / {ours['cpu_us_per_request']:.0f} | {errors} |")
    print("\n".join(lines))
    out = ROOT / "bench" / "results" / f"serve-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": args.rows, "seconds": args.seconds, "slices": args.slices,
                               "limit_rows": args.limit_rows,
                               "load_before": before, "load_after": after, "cells": results, "summary": summary,
                               "table": lines}, indent=1))
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
