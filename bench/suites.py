"""The commands measured for one generated project: pds's, dbt's and the raw floor's (SQLMesh's: sqlmesh_peer).

Two suites, picked by run.py from N (or --suite):
- full: compile cold and warm, builds at 1 and 4 threads, re-builds, docs; dbt parse, compile and
  builds; the raw floor (models + tests) at 1 and 4 threads. For N up to a few thousand.
- scale: what must grow linearly and what the warm-compile target is about, without the peers'
  full builds: compile cold and warm, one build at 4 threads (the state the re-builds need),
  a re-build with nothing changed, a re-build after one model changed, `pds docs generate`;
  the peers' parse/load only.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from measure import BENCH_DIR, DBT_ENV, Sample, measure, pds_command, remove

REPO = BENCH_DIR.parent
DB_NAME = "bench.duckdb"
# what a cold pds compile starts without: build artifacts and any parse/compile cache
PDS_CACHE_PATHS = ("target", ".pds", ".pds_cache")
SHARED_CACHE = "bench-logs/pds-shared-cache"  # the bench's own PDS_CACHE_DIR, never the user's


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
        print(f"  {key:<30} {sample.wall_s:8.2f} s  cpu {sample.cpu_s:7.2f} s  {sample.maxrss_mb:7.0f} MB  "
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
    """Nodes executed per resource type (model, test, ...), the tool's own elapsed time and per-node times."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    counts: dict[str, int] = {}
    times: dict[str, list[float]] = {}
    for result in data.get("results", []):
        kind = str(result.get("unique_id", "?")).split(".", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
        took = result.get("execution_time")
        if isinstance(took, int | float):
            times.setdefault(kind, []).append(took)
    per_node = {k: {"sum_s": sum(t), "mean_ms": 1000 * sum(t) / len(t), "median_ms": 1000 * statistics.median(t)}
                for k, t in times.items()}
    return {"nodes_run": counts, "tool_elapsed_s": data.get("elapsed_time"), "per_node": per_node}


def bench_pds(b: Bench, meta: dict[str, Any], rep: int, suite: str) -> None:
    """Cold and warm compile, a new checkout's compile, full builds, state-selected re-builds, docs generate.

    Cold: no target/ and an empty shared cache folder. New checkout: no target/, the shared cache folder
    as the cold compile left it (a new clone, or a CI job restoring the folder, on a machine that compiled
    the same files before)."""
    pds, env = pds_command(REPO)
    p = b.project
    env = {**env, "PDS_CACHE_DIR": str(p / SHARED_CACHE)}
    remove(*(p / name for name in (*PDS_CACHE_PATHS, SHARED_CACHE)))
    b.run("pds.compile_cold", [*pds, "compile"], env, rep)
    b.run("pds.compile_warm", [*pds, "compile"], env, rep)
    remove(*(p / name for name in PDS_CACHE_PATHS))
    b.run("pds.compile_checkout", [*pds, "compile"], env, rep)
    if suite == "compile":
        return
    for threads in (1, 4) if suite == "full" else (4,):
        b.fresh_db()
        b.build(f"pds.build_t{threads}", [*pds, "build", "--threads", str(threads)], env, rep, "target")
    rebuild = [*pds, "build", "--threads", "4", "--select", "state:modified+", "--skip-unchanged"]
    b.build("pds.rebuild_unchanged", rebuild, env, rep, "target")
    middle = p / str(meta["middle_model_path"])
    original = middle.read_text()
    try:
        middle.write_text(original + str(meta["change_suffix"]))
        b.build("pds.rebuild_one_changed", rebuild, env, rep, "target")
    finally:
        middle.write_text(original)
    b.run("pds.docs_generate", [*pds, "docs", "generate"], env, rep)


def bench_dbt(b: Bench, dbt: Path, rep: int, suite: str) -> None:
    """dbt parse cold (no target, no partial parse) and warm; in the full suite dbt compile and builds."""
    common = ["--profiles-dir", "."]
    remove(b.project / DBT_ENV["DBT_TARGET_PATH"], b.project / "logs")
    b.run("dbt.parse_cold", [str(dbt), "parse", "--no-partial-parse", *common], DBT_ENV, rep)
    b.run("dbt.parse_warm", [str(dbt), "parse", *common], DBT_ENV, rep)
    if suite != "full":
        return
    b.run("dbt.compile", [str(dbt), "compile", "--threads", "4", *common], DBT_ENV, rep)
    for threads in (1, 4):
        b.fresh_db()
        b.build(f"dbt.build_t{threads}", [str(dbt), "build", "--threads", str(threads), *common], DBT_ENV, rep,
                DBT_ENV["DBT_TARGET_PATH"])


def extract_plan(b: Bench, source: str) -> tuple[Path | None, str]:
    """Compiled SQL of the models and tests + DAG for the raw run, from dbt's manifest (preferred) or pds's."""
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


def bench_raw(b: Bench, plan: Path, rep: int, python: str = sys.executable, label: str = "raw.t") -> None:
    """The models' compiled SQL and the tests' queries run directly in DuckDB, at 1 and 4 threads.

    `python` picks the DuckDB: this interpreter's (pds's) by default, or a peer venv's (SQLMesh's
    DuckDB 1.5, so that SQLMesh can be held against its own engine too).
    """
    raw_dir = b.project / "raw"
    raw_dir.mkdir(exist_ok=True)
    for threads in (1, 4):
        db = raw_dir / DB_NAME  # same file name as the profile's, so "bench"."main".x resolves
        remove(db, raw_dir / f"{DB_NAME}.wal")
        key = f"{label}{threads}"
        out = b.logs / f"{key}.{rep}.json"
        sample = b.run(key, [python, str(BENCH_DIR / "raw.py"), "run", "--plan", str(plan), "--db", str(db),
                             "--threads", str(threads), "--result", str(out)], rep=rep)
        if sample.ok and out.exists():
            b.samples[key][-1]["extra"] = json.loads(out.read_text())
    remove(raw_dir / DB_NAME, raw_dir / f"{DB_NAME}.wal")
