"""Benchmark pds against dbt-core, SQLMesh and plain DuckDB on generated projects of N models.

Why whole processes: what a user waits for is the command, so every figure is one command
run as its own process (wall time, user+sys CPU, peak RSS), median over --repeat runs.
A failing command is recorded with its error and the benchmark goes on.

    python bench/run.py --n 100 [--n 1000 ...] [--repeat 3] [--skip-dbt] [--skip-sqlmesh] [--skip-pds]
    python bench/run.py --n 5000               # scale suite: warm compile target, linear growth
    python bench/run.py --startup-only         # pds --version / --help / ls / show on the template

Projects are written to bench/projects/n<N>/ (gitignored); numbers to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import startup  # noqa: E402
from generate import META_FILE, generate  # noqa: E402
from measure import BENCH_DIR, DBT, SQLMESH, peer_executable, peer_versions, remove  # noqa: E402
from report import markdown, print_report, summarize, targets  # noqa: E402
from sqlmesh_peer import bench_sqlmesh  # noqa: E402
from suites import REPO, Bench, bench_dbt, bench_pds, bench_raw, extract_plan  # noqa: E402

# above this N the full builds of every tool take too long for one sitting: the scale suite runs
FULL_SUITE_MAX_N = 2000


def environment(dbt: Path | None, sqlmesh: Path | None) -> dict[str, Any]:
    """What the numbers were measured on."""
    import duckdb

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return proc.stdout.strip()

    return {
        "machine": platform.machine(), "cpus": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "duckdb": duckdb.__version__,
        "dbt": peer_versions(dbt, DBT.packages) if dbt else None,
        "sqlmesh": peer_versions(sqlmesh, SQLMESH.packages) if sqlmesh else None,
        "load_before": os.getloadavg(),
        "pds_commit": git("rev-parse", "--short", "HEAD") or None,
        "pds_dirty": bool(git("status", "--porcelain", "--", "pds_core", "adapters", "pds")),
    }


def bench_n(n: int, args: argparse.Namespace, dbt: Path | None, sqlmesh: Path | None) -> dict[str, Any]:
    project = args.projects / f"n{n}"
    suite = args.suite or ("full" if n <= FULL_SUITE_MAX_N else "scale")
    meta = generate(n, project, seed=args.seed, scale=args.scale)
    print(f"\n== N = {n}: {meta['models']} models ({meta['views']} views), {meta['data_tests']} tests, "
          f"{suite} suite, project {project}, load {os.getloadavg()[0]:.1f}", flush=True)
    env_before = environment(dbt, sqlmesh)
    b = Bench(project, args.timeout, args.verbose)
    remove(b.logs)
    plan_note = "raw: skipped" if args.skip_raw or suite != "full" else ""
    plan: Path | None = None
    for rep in range(args.repeat):
        print(f" run {rep + 1}/{args.repeat}", flush=True)
        if not args.skip_pds:
            bench_pds(b, meta, rep, suite)
        if dbt is not None:
            bench_dbt(b, dbt, rep, suite)
        if sqlmesh is not None:
            bench_sqlmesh(b, sqlmesh, meta, rep, suite)
        if args.skip_raw or suite != "full":
            continue
        if rep == 0:
            plan, plan_note = extract_plan(b, "dbt" if dbt is not None else "pds")
            if plan is None:
                print(f"  raw: cannot run: {plan_note}", flush=True)
            else:
                plan_note = f"raw: compiled SQL of models and tests from {'dbt' if dbt is not None else 'pds'} manifest"
        if plan is not None:
            bench_raw(b, plan, rep)
            if sqlmesh is not None:  # the floor on SQLMesh's own DuckDB (it pins duckdb<2)
                bench_raw(b, plan, rep, python=str(sqlmesh.parent / "python"), label="raw.sqlmesh_engine_t")
    figures = {key: summarize(samples) for key, samples in b.samples.items()}
    env = environment(dbt, sqlmesh)
    env["load_before"], env["load_after"] = env_before["load_before"], env.pop("load_before")
    return {"n": n, "suite": suite, "repeat": args.repeat, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "project": json.loads((project / META_FILE).read_text()), "raw_note": plan_note,
            "environment": env, "figures": figures, "targets": targets(figures), "samples": b.samples}


def save(result: dict[str, Any], results: Path) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = json.dumps(result, indent=2) + "\n"
    path = results / f"{stamp}-n{result['n']}.json"
    path.write_text(text)
    (results / f"latest-n{result['n']}.json").write_text(text)
    (results / f"latest-n{result['n']}.md").write_text(markdown(result))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, action="append", help="models per project (repeatable; default 100)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported")
    ap.add_argument("--suite", choices=["full", "scale", "compile"],
                    help=f"full: every figure of every tool; scale: compile, one build, re-builds, docs; "
                         f"compile: only pds's compile (cold, warm) and the peers' parse/load "
                         f"(default: full up to N = {FULL_SUITE_MAX_N}, scale above)")
    ap.add_argument("--skip-dbt", action="store_true", help="no dbt-core (raw SQL then comes from pds)")
    ap.add_argument("--skip-sqlmesh", action="store_true", help="no SQLMesh")
    ap.add_argument("--skip-pds", action="store_true")
    ap.add_argument("--skip-raw", action="store_true")
    ap.add_argument("--skip-startup", action="store_true", help="no start-up figures on the template")
    ap.add_argument("--startup-only", action="store_true", help="only the start-up figures")
    ap.add_argument("--startup-repeat", type=int, default=7, help="runs per start-up figure")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scale", type=float, default=1.0, help="rows of the raw tables x this")
    ap.add_argument("--projects", type=Path, default=BENCH_DIR / "projects", help="where projects are generated")
    ap.add_argument("--results", type=Path, default=BENCH_DIR / "results", help="where the JSON goes")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds before one command is killed")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    args.projects = args.projects.resolve()
    dbt = None if args.skip_dbt else peer_executable(DBT, install=True)
    sqlmesh = None if args.skip_sqlmesh else peer_executable(SQLMESH, install=True)
    if not args.skip_startup:
        result = startup.bench_startup(args.projects, args.startup_repeat, args.timeout, args.verbose, dbt, sqlmesh)
        path = startup.save(result, args.results)
        print(startup.markdown(result))
        print(f"  -> {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    if args.startup_only:
        return 0
    for n in args.n or [100]:
        result = bench_n(n, args, dbt, sqlmesh)
        path = save(result, args.results)
        print_report(result)
        print(f"  -> {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
