"""The physical limit: run every model's compiled SQL straight in one DuckDB process, in DAG order.

Why: a framework can only remove its own overhead; the warehouse work is the floor. This
script is that floor: `CREATE OR REPLACE TABLE|VIEW <relation> AS <compiled sql>` per model,
no Jinja, no parsing, no artifacts, no tests (models only). With --threads > 1 a thread pool
runs every model whose parents are done, one DuckDB cursor per thread.

A plan (JSON list of {name, relation, materialized, sql, depends_on}) is extracted once from
dbt's target-dbt/manifest.json (after `dbt compile`) or pds's target/manifest.json:
    python bench/raw.py extract --dbt PROJECT/target-dbt/manifest.json --out plan.json
    python bench/raw.py run --plan plan.json --db DIR/bench.duckdb --threads 4
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

Plan = list[dict[str, Any]]


def plan_from_dbt(manifest_path: Path) -> Plan:
    """Models of a compiled dbt manifest: compiled_code, relation_name, model parents."""
    manifest = json.loads(manifest_path.read_text())
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n.get("resource_type") == "model"}
    plan = []
    for uid, node in nodes.items():
        sql = node.get("compiled_code")
        if sql is None:
            raise SystemExit(f"{uid} has no compiled_code: run `dbt compile` first")
        plan.append({"name": uid, "relation": node["relation_name"],
                     "materialized": node["config"].get("materialized", "view"), "sql": sql,
                     "depends_on": [d for d in node["depends_on"]["nodes"] if d in nodes]})
    return plan


def plan_from_pds(manifest_path: Path) -> Plan:
    """Models of pds's target/manifest.json: nodes keyed by unique_id, compiled SQL in compiled_path."""
    manifest = json.loads(manifest_path.read_text())
    root = manifest_path.parent.parent
    nodes = manifest.get("nodes", manifest)
    models = {uid: n for uid, n in nodes.items() if n.get("resource_type", "model") == "model"}
    plan = []
    for uid, node in models.items():
        sql = node.get("compiled_sql") or node.get("compiled_code")
        if sql is None:
            path = Path(node["compiled_path"])
            for candidate in (path, root / path, manifest_path.parent / path):
                if candidate.is_file():
                    sql = candidate.read_text()
                    break
            else:
                raise SystemExit(f"{uid}: compiled SQL not found at {path}")
        config = node.get("config") or {}
        deps = node.get("depends_on") or []
        if isinstance(deps, dict):
            deps = deps.get("nodes", [])
        plan.append({"name": uid, "relation": _relation_sql(node.get("relation") or node.get("relation_name")),
                     "materialized": config.get("materialized") or node.get("materialized") or "view",
                     "sql": sql, "depends_on": [d for d in deps if d in models]})
    return plan


def _relation_sql(relation: Any) -> str:
    if isinstance(relation, dict):
        parts = [relation.get(k) for k in ("database", "schema", "identifier")]
        return ".".join(f'"{p}"' for p in parts if p)
    if not relation:
        raise SystemExit("pds manifest node has no relation")
    return str(relation)


def run_plan(plan: Plan, db: Path, threads: int) -> dict[str, Any]:
    """Execute the plan; returns timing and counts. Stops at the first failing statement."""
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect(str(db))
    connected = time.perf_counter()
    by_name = {step["name"]: step for step in plan}
    local = threading.local()

    def execute(step: dict[str, Any]) -> str:
        cursor = getattr(local, "cursor", None)
        if cursor is None:
            cursor = local.cursor = con if threads == 1 else con.cursor()
        kind = "VIEW" if step["materialized"] == "view" else "TABLE"
        sql = step["sql"].strip().rstrip(";")
        cursor.execute(f"CREATE OR REPLACE {kind} {step['relation']} AS {sql}")
        return step["name"]

    waiting = {name: set(step["depends_on"]) for name, step in by_name.items()}
    children: dict[str, list[str]] = {}
    for name, deps in waiting.items():
        for dep in deps:
            children.setdefault(dep, []).append(name)
    ready = sorted(name for name, deps in waiting.items() if not deps)
    done = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        running: set[Future[str]] = set()
        while ready or running:
            while ready and len(running) < threads:
                running.add(pool.submit(execute, by_name[ready.pop(0)]))
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                name = fut.result()  # re-raises the statement's error
                done += 1
                for child in children.get(name, []):
                    waiting[child].discard(name)
                    if not waiting[child]:
                        ready.append(child)
    if done != len(plan):
        raise SystemExit(f"cycle or missing parent: ran {done} of {len(plan)} models")
    con.close()
    end = time.perf_counter()
    return {"models": done, "threads": threads, "sql_s": end - connected, "connect_s": connected - start,
            "duckdb": duckdb.__version__}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("extract", help="write a plan from a dbt or pds manifest")
    src = ex.add_mutually_exclusive_group(required=True)
    src.add_argument("--dbt", type=Path, help="dbt manifest.json (after dbt compile)")
    src.add_argument("--pds", type=Path, help="pds target/manifest.json (after pds compile)")
    ex.add_argument("--out", type=Path, required=True)
    rn = sub.add_parser("run", help="execute a plan in DuckDB")
    rn.add_argument("--plan", type=Path, required=True)
    rn.add_argument("--db", type=Path, required=True)
    rn.add_argument("--threads", type=int, default=1)
    rn.add_argument("--result", type=Path, help="write timing JSON here")
    args = ap.parse_args(argv)
    if args.cmd == "extract":
        plan = plan_from_dbt(args.dbt) if args.dbt else plan_from_pds(args.pds)
        args.out.write_text(json.dumps(plan))
        print(f"{len(plan)} models -> {args.out}")
        return
    result = run_plan(json.loads(args.plan.read_text()), args.db, args.threads)
    text = json.dumps(result)
    if args.result:
        args.result.write_text(text)
    print(text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
