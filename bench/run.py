"""Benchmark pds against dbt-core and against plain DuckDB on generated projects of N models.

Why whole processes: what a user waits for is the command, so every figure is one command
run as its own process (wall time, user+sys CPU, peak RSS), median over --repeat runs.
A failing command is recorded with its error and the benchmark goes on.

    python bench/run.py --n 100 [--n 1000 ...] [--repeat 3] [--skip-dbt] [--skip-pds]

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

from generate import META_FILE, generate  # noqa: E402
from measure import (  # noqa: E402
    BENCH_DIR,
    DBT_ENV,
    Sample,
    dbt_executable,
    dbt_versions,
    measure,
    pds_command,
    remove,
)
from report import markdown, print_report, summarize, targets  # noqa: E402

REPO = BENCH_DIR.parent
DB_NAME = "bench.duckdb"
# what a cold pds compile starts without: build artifacts and any parse/compile cache
PDS_CACHE_PATHS = ("target", ".pds", ".pds_cache")


class Bench:
    """One N: the project, where logs go, and the samples collected so far."""

    def __init__(self, project: Path, timeout: float, verbose: bool) -> None:
        self.project = project
        self.logs = project / "bench-logs"
        self.timeout = timeout
        self.verbose = verbose
        self.samples: dict[str, list[dict[str, Any]]] = {}

    def run(self, key: str, cmd: list[str], env: dict[str, str] | None = None, rep: int = 0,
            cwd: Path | None = None) -> Sample:
        sample = measure(cmd, cwd or self.project, self.logs / f"{key}.{rep}.log", env, self.timeout)
        self.samples.setdefault(key, []).append(sample.to_json())
        status = "ok" if sample.ok else f"FAILED: {sample.error}"
        print(f"  {key:<24} {sample.wall_s:8.2f} s  cpu {sample.cpu_s:7.2f} s  {sample.maxrss_mb:7.0f} MB  "
              f"{status if self.verbose or not sample.ok else 'ok'}"[:400], flush=True)
        return sample

    def fresh_db(self) -> None:
        remove(self.project / DB_NAME, self.project / f"{DB_NAME}.wal")

    def build(self, key: str, cmd: list[str], env: dict[str, str], rep: int, target: str) -> None:
        """A build: also count what it ran from its run_results.json (did it run the tests too?)."""
        results = self.project / target / "run_results.json"
        before = results.stat().st_mtime_ns if results.exists() else None  # kept: a tool may read it as state
        sample = self.run(key, cmd, env, rep)
        if results.exists() and results.stat().st_mtime_ns != before:
            self.samples[key][-1]["extra"] = nodes_run(results)
        elif sample.ok:
            self.samples[key][-1]["extra"] = {"nodes_run": "no run_results.json"}


def nodes_run(path: Path) -> dict[str, Any]:
    """Nodes executed per resource type (model, test, ...) and the tool's own elapsed time."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    counts: dict[str, int] = {}
    for result in data.get("results", []):
        kind = str(result.get("unique_id", "?")).split(".", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return {"nodes_run": counts, "tool_elapsed_s": data.get("elapsed_time")}


def bench_pds(b: Bench, meta: dict[str, Any], rep: int) -> None:
    """Cold and warm compile, full builds at 1 and 4 threads, state-selected re-builds."""
    pds, env = pds_command(REPO)
    p = b.project
    remove(*(p / name for name in PDS_CACHE_PATHS))
    b.run("pds.compile_cold", [*pds, "compile"], env, rep)
    b.run("pds.compile_warm", [*pds, "compile"], env, rep)
    for threads in (1, 4):
        b.fresh_db()
        b.build(f"pds.build_t{threads}", [*pds, "build", "--threads", str(threads)], env, rep, "target")
    b.build("pds.rebuild_unchanged",
            [*pds, "build", "--threads", "4", "--select", "state:modified+", "--skip-unchanged"], env, rep, "target")
    middle = p / str(meta["middle_model_path"])
    original = middle.read_text()
    try:
        middle.write_text(original + str(meta["change_suffix"]))
        b.build("pds.rebuild_one_changed", [*pds, "build", "--threads", "4", "--select", "state:modified+"],
                env, rep, "target")
    finally:
        middle.write_text(original)


def bench_dbt(b: Bench, dbt: Path, rep: int) -> None:
    """dbt parse cold (no target, no partial parse) and warm, dbt compile, dbt build at 1 and 4 threads."""
    common = ["--profiles-dir", "."]
    remove(b.project / DBT_ENV["DBT_TARGET_PATH"], b.project / "logs")
    b.run("dbt.parse_cold", [str(dbt), "parse", "--no-partial-parse", *common], DBT_ENV, rep)
    b.run("dbt.parse_warm", [str(dbt), "parse", *common], DBT_ENV, rep)
    b.run("dbt.compile", [str(dbt), "compile", "--threads", "4", *common], DBT_ENV, rep)
    for threads in (1, 4):
        b.fresh_db()
        b.build(f"dbt.build_t{threads}", [str(dbt), "build", "--threads", str(threads), *common], DBT_ENV, rep,
                DBT_ENV["DBT_TARGET_PATH"])


def extract_plan(b: Bench, source: str) -> tuple[Path | None, str]:
    """Compiled SQL + DAG for the raw run, from dbt's manifest (preferred) or pds's."""
    plan = b.project / "bench-logs" / "raw-plan.json"
    if source == "dbt":
        manifest = b.project / DBT_ENV["DBT_TARGET_PATH"] / "manifest.json"
        flag = "--dbt"
    else:
        manifest = b.project / "target" / "manifest.json"
        flag = "--pds"
    if not manifest.exists():
        return None, f"no {manifest.relative_to(b.project)} to take the compiled SQL from"
    proc = subprocess.run([sys.executable, str(BENCH_DIR / "raw.py"), "extract", flag, str(manifest),
                           "--out", str(plan)], capture_output=True, text=True)
    if proc.returncode != 0:
        return None, (proc.stderr or proc.stdout).strip()[-500:]
    return plan, ""


def bench_raw(b: Bench, plan: Path, rep: int) -> None:
    """The models' compiled SQL run directly in DuckDB, at 1 and 4 threads (models only, no tests)."""
    raw_dir = b.project / "raw"
    raw_dir.mkdir(exist_ok=True)
    for threads in (1, 4):
        db = raw_dir / DB_NAME  # same file name as the profile's, so "bench"."main".x resolves
        remove(db, raw_dir / f"{DB_NAME}.wal")
        out = b.logs / f"raw.t{threads}.{rep}.json"
        sample = b.run(f"raw.t{threads}", [sys.executable, str(BENCH_DIR / "raw.py"), "run", "--plan", str(plan),
                                           "--db", str(db), "--threads", str(threads), "--result", str(out)],
                       rep=rep)
        if sample.ok and out.exists():
            b.samples[f"raw.t{threads}"][-1]["extra"] = json.loads(out.read_text())


def environment(dbt: Path | None) -> dict[str, Any]:
    """What the numbers were measured on."""
    import duckdb

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return proc.stdout.strip()

    return {
        "machine": platform.machine(), "cpus": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "duckdb": duckdb.__version__,
        "dbt": dbt_versions(dbt) if dbt else None,
        "pds_commit": git("rev-parse", "--short", "HEAD") or None,
        "pds_dirty": bool(git("status", "--porcelain", "--", "pds_core", "adapters", "pds")),
    }


def bench_n(n: int, args: argparse.Namespace, dbt: Path | None) -> dict[str, Any]:
    project = args.projects / f"n{n}"
    meta = generate(n, project, seed=args.seed, scale=args.scale)
    print(f"\n== N = {n}: {meta['models']} models ({meta['views']} views), {meta['data_tests']} tests, "
          f"project {project}", flush=True)
    b = Bench(project, args.timeout, args.verbose)
    remove(b.logs)
    plan_note = "raw: skipped"
    plan: Path | None = None
    for rep in range(args.repeat):
        print(f" run {rep + 1}/{args.repeat}", flush=True)
        if not args.skip_pds:
            bench_pds(b, meta, rep)
        if dbt is not None:
            bench_dbt(b, dbt, rep)
        if not args.skip_raw:
            if rep == 0:
                plan, plan_note = extract_plan(b, "dbt" if dbt is not None else "pds")
                if plan is None:
                    print(f"  raw: cannot run: {plan_note}", flush=True)
                else:
                    plan_note = f"raw: compiled SQL from {'dbt' if dbt is not None else 'pds'} manifest"
            if plan is not None:
                bench_raw(b, plan, rep)
    figures = {key: summarize(samples) for key, samples in b.samples.items()}
    return {"n": n, "repeat": args.repeat, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "project": json.loads((project / META_FILE).read_text()), "raw_note": plan_note,
            "environment": environment(dbt), "figures": figures, "targets": targets(figures),
            "samples": b.samples}


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
    ap.add_argument("--skip-dbt", action="store_true", help="no dbt-core (raw SQL then comes from pds)")
    ap.add_argument("--skip-pds", action="store_true")
    ap.add_argument("--skip-raw", action="store_true")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scale", type=float, default=1.0, help="rows of the raw tables x this")
    ap.add_argument("--projects", type=Path, default=BENCH_DIR / "projects", help="where projects are generated")
    ap.add_argument("--results", type=Path, default=BENCH_DIR / "results", help="where the JSON goes")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds before one command is killed")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    args.projects = args.projects.resolve()
    dbt = None if args.skip_dbt else dbt_executable(install=True)
    for n in args.n or [100]:
        result = bench_n(n, args, dbt)
        path = save(result, args.results)
        print_report(result)
        print(f"  -> {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
