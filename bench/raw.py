"""The physical limit: run every model's compiled SQL and every test query straight in one DuckDB process.

Why: a framework can only remove its own overhead; the warehouse work is the floor. This
script is that floor for a build: `CREATE OR REPLACE TABLE|VIEW <relation> AS <compiled sql>`
per model in DAG order, and for every data test `SELECT count(*) FROM (<compiled test sql>)`
(the number of failing rows, which is what dbt and pds fetch for a test) once its model is
built. No Jinja, no parsing, no artifacts, no results tables. With --threads > 1 a thread pool
runs every node whose parents are done, one DuckDB cursor per thread. A test depends on its
model only: models below it do not wait for it (the floor; dbt and pds let a failing test
skip the models below, so they may order the work less tightly).

A plan (JSON list of {name, kind, relation, materialized, sql, depends_on}) is extracted once
from dbt's target-dbt/manifest.json (after `dbt compile`: models and tests have compiled_code)
or from pds's target/manifest.json (models' compiled SQL; the generic not_null/unique tests
written out as the same queries dbt compiles them to):
    python bench/raw.py extract --dbt PROJECT/target-dbt/manifest.json --out plan.json
    python bench/raw.py run --plan plan.json --db DIR/bench.duckdb --threads 4 [--no-tests]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

Plan = list[dict[str, Any]]

# dbt's generic tests, as dbt-core 1.11 compiles them (macros default__test_not_null / _unique)
GENERIC_TESTS = {
    "not_null": "\n\n\n\nselect {column}\nfrom {relation}\nwhere {column} is null\n\n\n",
    "unique": ("\n    \n    \n\nselect\n    {column} as unique_field,\n    count(*) as n_records\n\n"
               "from {relation}\nwhere {column} is not null\ngroup by {column}\nhaving count(*) > 1\n\n\n"),
}


def plan_from_dbt(manifest_path: Path) -> Plan:
    """Models and data tests of a compiled dbt manifest: compiled_code, relation_name, parents."""
    manifest = json.loads(manifest_path.read_text())
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n.get("resource_type") in ("model", "test")}
    models = {uid for uid, n in nodes.items() if n["resource_type"] == "model"}
    plan = []
    for uid, node in nodes.items():
        sql = node.get("compiled_code")
        if sql is None:
            raise SystemExit(f"{uid} has no compiled_code: run `dbt compile` first")
        step = {"name": uid, "kind": node["resource_type"], "sql": sql,
                "depends_on": [d for d in node["depends_on"]["nodes"] if d in models]}
        if node["resource_type"] == "model":
            step.update(relation=node["relation_name"], materialized=node["config"].get("materialized", "view"))
        plan.append(step)
    return plan


def plan_from_pds(manifest_path: Path) -> Plan:
    """Models of pds's target/manifest.json (compiled SQL inline or in compiled_path) and its generic tests."""
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
        plan.append({"name": uid, "kind": "model",
                     "relation": _relation_sql(node.get("relation") or node.get("relation_name")),
                     "materialized": config.get("materialized") or node.get("materialized") or "view",
                     "sql": sql, "depends_on": [d for d in deps if d in models]})
    relations = {step["name"]: step["relation"] for step in plan}
    for uid, test in (manifest.get("tests") or {}).items():
        template = GENERIC_TESTS.get(test.get("test_name", ""))
        model = test.get("attached_to")
        if template is None or model not in relations or not test.get("column"):
            raise SystemExit(f"{uid}: only the generic not_null/unique tests on a model column can be "
                             "taken from pds's manifest; extract from dbt's manifest instead")
        plan.append({"name": uid, "kind": "test", "depends_on": [model],
                     "sql": template.format(column=test["column"], relation=relations[model])})
    return plan


def _relation_sql(relation: Any) -> str:
    if isinstance(relation, dict):
        parts = [relation.get(k) for k in ("database", "schema", "identifier")]
        return ".".join(f'"{p}"' for p in parts if p)
    if not relation:
        raise SystemExit("pds manifest node has no relation")
    return str(relation)


def statement(step: dict[str, Any]) -> str:
    """The one statement the floor sends for a node."""
    sql = step["sql"].strip().rstrip(";")
    if step.get("kind", "model") == "test":
        return f"select count(*) from (\n{sql}\n) as raw_test"
    kind = "VIEW" if step["materialized"] == "view" else "TABLE"
    return f"CREATE OR REPLACE {kind} {step['relation']} AS {sql}"


def run_plan(plan: Plan, db: Path, threads: int, tests: bool = True) -> dict[str, Any]:
    """Execute the plan; returns timing, counts and per-node times. Stops at the first failing statement."""
    import duckdb

    if not tests:
        plan = [step for step in plan if step.get("kind", "model") == "model"]
    start = time.perf_counter()
    con = duckdb.connect(str(db))
    connected = time.perf_counter()
    by_name = {step["name"]: step for step in plan}
    local = threading.local()
    seconds: dict[str, list[float]] = {"model": [], "test": []}
    failing_rows = 0

    def execute(step: dict[str, Any]) -> tuple[str, float, int]:
        cursor = getattr(local, "cursor", None)
        if cursor is None:
            cursor = local.cursor = con if threads == 1 else con.cursor()
        t0 = time.perf_counter()
        cursor.execute(statement(step))
        failures = int(cursor.fetchone()[0]) if step.get("kind") == "test" else 0
        return step["name"], time.perf_counter() - t0, failures

    waiting = {name: set(step["depends_on"]) for name, step in by_name.items()}
    children: dict[str, list[str]] = {}
    for name, deps in waiting.items():
        for dep in deps:
            children.setdefault(dep, []).append(name)
    ready = sorted(name for name, deps in waiting.items() if not deps)
    done = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        running: set[Future[tuple[str, float, int]]] = set()
        while ready or running:
            while ready and len(running) < threads:
                running.add(pool.submit(execute, by_name[ready.pop(0)]))
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                name, took, failures = fut.result()  # re-raises the statement's error
                seconds[by_name[name].get("kind", "model")].append(took)
                failing_rows += failures
                done += 1
                for child in children.get(name, []):
                    waiting[child].discard(name)
                    if not waiting[child]:
                        ready.append(child)
    if done != len(plan):
        raise SystemExit(f"cycle or missing parent: ran {done} of {len(plan)} nodes")
    con.close()
    end = time.perf_counter()
    counts = {kind: len(times) for kind, times in seconds.items() if times}
    return {"models": counts.get("model", 0), "tests": counts.get("test", 0), "nodes_run": counts,
            "failing_rows": failing_rows, "threads": threads, "sql_s": end - connected,
            "connect_s": connected - start, "duckdb": duckdb.__version__,
            "per_node": {kind: {"sum_s": sum(times), "mean_ms": 1000 * statistics.mean(times),
                                "median_ms": 1000 * statistics.median(times)}
                         for kind, times in seconds.items() if times}}


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
    rn.add_argument("--no-tests", action="store_true", help="models only (what raw ran before it ran tests)")
    rn.add_argument("--result", type=Path, help="write timing JSON here")
    args = ap.parse_args(argv)
    if args.cmd == "extract":
        plan = plan_from_dbt(args.dbt) if args.dbt else plan_from_pds(args.pds)
        args.out.write_text(json.dumps(plan))
        kinds = {k: sum(s.get("kind", "model") == k for s in plan) for k in ("model", "test")}
        print(f"{kinds['model']} models, {kinds['test']} tests -> {args.out}")
        return
    result = run_plan(json.loads(args.plan.read_text()), args.db, args.threads, tests=not args.no_tests)
    text = json.dumps(result)
    if args.result:
        args.result.write_text(text)
    print(text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
