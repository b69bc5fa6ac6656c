"""Spark benchmarks (issue 15): pds against dbt-spark on the generated project, and a Python model on Spark
against the pandas path on DuckDB.

    python bench/spark_bench.py project --n 100 [--dbt-spark /path/to/venv/bin/dbt]
    python bench/spark_bench.py python --rows 1000000 10000000

`project`: bench/generate.py's project (its raw tables rewritten in Spark SQL, `dialect: spark`) built by
`pds build` and by `dbt build` (dbt-spark, `method: session`) on local Spark (`local[2]`, Delta tables, the
same Spark settings for both: warehouse, Derby metastore, shuffle partitions, UTC), each in a fresh
warehouse, one after the other in the same run. dbt-spark lives in a venv of its own (never a pds
dependency): `python -m venv V && V/bin/pip install "dbt-spark[session]==1.11.0" "dbt-core==1.11.16"
"pyspark==4.2.0"` (the newest dbt-spark pulls dbt-core 2, whose parser is downloaded from outside PyPI).

`python`: one parent table of N rows (id, k = id % 1000, v) built first, then only the Python model that
aggregates it per k is measured: on DuckDB its ctx.ref() is a pandas DataFrame of the whole parent, on
Spark a lazy Spark DataFrame aggregated on the executors. Peak memory of the pds process and, on Spark,
of the JVM it started are sampled from /proc (VmHWM) every 0.1 s.

Results go to bench/results/spark-<what>.json and are printed as Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from generate import generate  # noqa: E402
from measure import DBT_ENV, pds_command  # noqa: E402

RAW_SPARK = {  # bench/generate.py's raw tables in Spark SQL (range() gives `id`; the same values)
    "raw_customers": "cast(id as bigint) as id, cast(id % 100 as bigint) as key, "
                     "cast((id * 37) % 1000 as double) / 10 as value, "
                     "timestampadd(MINUTE, id % 1000, timestamp '2024-01-01') as ts, "
                     "concat('customer_', cast(id as string)) as name from range({rows_20000})",
    "raw_orders": "cast(id as bigint) as id, cast(id % 20000 as bigint) as key, "
                  "cast((id * 7919) % 100000 as double) / 100 as value, "
                  "timestampadd(MINUTE, id % 100000, timestamp '2024-01-01') as ts, "
                  "cast(id % 10000 as bigint) as product_id from range({rows_100000})",
    "raw_products": "cast(id as bigint) as id, cast(id % 250 as bigint) as key, "
                    "cast((id * 104729) % 5000 as double) / 10 as value, "
                    "timestampadd(HOUR, id % 1000, timestamp '2024-01-01') as ts, "
                    "concat('product_', cast(id as string)) as name from range({rows_10000})",
    "raw_events": "cast(id as bigint) as id, cast(id % 10000 as bigint) as key, cast(id % 97 as double) as value, "
                  "timestampadd(SECOND, id % 50000, timestamp '2024-01-01') as ts, "
                  "case id % 4 when 0 then 'view' when 1 then 'click' when 2 then 'cart' else 'buy' end as kind "
                  "from range({rows_50000})",
}


def spark_conf(warehouse: Path) -> dict[str, str]:
    """The Spark settings pds gives a local Delta session (session.static_conf/runtime_conf), for dbt-spark too."""
    from pds_adapters.spark.session import runtime_conf, static_conf
    from pds_adapters.spark.settings import read_settings

    settings = read_settings({"type": "spark", "master": "local[2]", "warehouse": str(warehouse),
                              "file_format": "delta"}, None)
    conf = {**static_conf(settings, None, starting=False), **runtime_conf(settings)}
    conf.pop("spark.sql.sources.default", None)
    return {"spark.master": "local[2]", **conf}


def write_spark_project(n: int, out: Path) -> dict[str, Any]:
    """The generated project, runnable on Spark by pds and by dbt-spark (profiles in two folders)."""
    meta = generate(n, out)
    for name, body in RAW_SPARK.items():
        rows = {f"rows_{k}": k for k in (10000, 20000, 50000, 100000)}
        (out / "models" / "raw" / f"{name}.sql").write_text(
            "{{ config(materialized='table') }}\n\nselect " + body.format(**rows) + "\n")
    project = (out / "pds_project.yml").read_text().replace("dialect: duckdb", "dialect: spark")
    (out / "pds_project.yml").write_text(project)
    (out / "dbt_project.yml").write_text((out / "dbt_project.yml").read_text() + "    +file_format: delta\n")
    pds_target = {"type": "spark", "method": "session", "master": "local[2]", "schema": "bench",
                  "file_format": "delta", "warehouse": "warehouse-pds", "threads": 4}
    dbt_target = {"type": "spark", "method": "session", "host": "NA", "schema": "bench", "threads": 4,
                  "server_side_parameters": spark_conf(out / "warehouse-dbt")}
    (out / "profiles.yml").write_text(json.dumps({"bench": {"target": "dev", "outputs": {"dev": pds_target}}}))
    (out / "dbt-profiles").mkdir(exist_ok=True)
    (out / "dbt-profiles" / "profiles.yml").write_text(
        json.dumps({"bench": {"target": "dev", "outputs": {"dev": dbt_target}}}))
    return meta


class Sampler:
    """Peak RSS (VmHWM) of a process and of each of its descendants, sampled while it runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peaks, self._stop = pid, {}, threading.Event()
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (name, last CPU seconds seen)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid, name in _tree(self.pid):
                hwm = _status(pid).get("VmHWM")
                key = "python" if pid == self.pid else name
                if hwm:
                    self.peaks[key] = max(self.peaks.get(key, 0.0), int(hwm.split()[0]) / 1024)
                ticks = _cpu_seconds(pid)
                if ticks is not None:
                    self.cpu[pid] = (key, ticks)
            time.sleep(0.1)

    def stop(self) -> tuple[dict[str, float], dict[str, float]]:
        """Peak RSS (MB) and CPU seconds per process name (python: the command's own process)."""
        self._stop.set()
        self.thread.join()
        cpu: dict[str, float] = {}
        for name, seconds in self.cpu.values():
            cpu[name] = cpu.get(name, 0.0) + seconds
        keep = ("python", "java")
        return ({k: round(v, 1) for k, v in self.peaks.items() if k in keep},
                {k: round(v, 1) for k, v in cpu.items() if k in keep})


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def _tree(root: int) -> list[tuple[int, str]]:
    """(pid, command name) of root and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = _status(int(entry.name)).get("PPid")
            if ppid:
                children.setdefault(int(ppid), []).append(int(entry.name))
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append((pid, _status(pid).get("Name", "?").strip()))
        stack += children.get(pid, [])
    return out


def run(cmd: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall time, and CPU seconds and peak RSS of the command's process and of its JVM (sampled from /proc)."""
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        sampler = Sampler(proc.pid)
        _pid, status, _usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    peaks, cpu = sampler.stop()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}); see {log}:\n{log.read_text()[-3000:]}")
    return {"wall_s": round(wall, 2), "cpu_s": cpu, "peak_rss_mb": peaks}


def model_times(run_results: Path) -> dict[str, float]:
    """Mean and total of the tool's own per-node times (run_results.json: both tools write dbt's shape)."""
    results = json.loads(run_results.read_text())["results"]
    times = [float(r["execution_time"]) for r in results]
    return {"nodes": len(times), "mean_node_s": round(sum(times) / len(times), 3), "sum_node_s": round(sum(times), 1)}


def bench_project(args: argparse.Namespace) -> dict[str, Any]:
    out = args.out or BENCH / "projects" / f"spark-n{args.n}"
    shutil.rmtree(out, ignore_errors=True)
    meta = write_spark_project(args.n, out)
    logs = out / "bench-logs"
    logs.mkdir()
    pds, pds_env = pds_command(BENCH.parent)
    found: dict[str, Any] = {"n": args.n, "models": meta["models"], "data_tests": meta["data_tests"]}
    found["pds"] = run([*pds, "build", "--project-dir", str(out)], out, logs / "pds-build.log", pds_env)
    found["pds"].update(model_times(out / "target" / "run_results.json"))
    if args.dbt_spark:
        env = {**DBT_ENV, "DBT_PROFILES_DIR": str(out / "dbt-profiles")}
        found["dbt-spark"] = run([args.dbt_spark, "build", "--project-dir", str(out)], out, logs / "dbt-build.log", env)
        found["dbt-spark"].update(model_times(out / "target-dbt" / "run_results.json"))
    for tool in ("pds", "dbt-spark"):
        if tool in found:
            nodes = found[tool]["nodes"]
            found[tool]["wall_per_node_ms"] = round(1000 * found[tool]["wall_s"] / nodes, 1)
    return found


AGG = '''def model(ctx):
    df = ctx.ref("big")
    if ctx.engine == "spark":
        from pyspark.sql import functions as F
        return df.groupBy("k").agg(F.sum("v").alias("total"), F.count("*").alias("n"))
    return df.groupby("k", as_index=False).agg(total=("v", "sum"), n=("v", "size"))
'''
AGG_ARROW = '''import pyarrow as pa


def model(ctx):
    big = ctx.ref("big", format="arrow")
    grouped = big.group_by("k").aggregate([("v", "sum"), ("v", "count")])
    return pa.table({"k": grouped["k"], "total": grouped["v_sum"], "n": grouped["v_count"]})
'''


def bench_python(args: argparse.Namespace) -> dict[str, Any]:
    pds, pds_env = pds_command(BENCH.parent)
    found: dict[str, Any] = {}
    for rows in args.rows:
        for engine in args.engines:
            out = BENCH / "projects" / f"pyagg-{engine}-{rows}"
            shutil.rmtree(out, ignore_errors=True)
            (out / "models").mkdir(parents=True)
            if engine in ("duckdb", "duckdb_arrow"):
                big = f"select range as id, range % 1000 as k, cast(range % 97 as double) as v from range({rows})"
                target = {"type": "duckdb", "path": "bench.duckdb", "threads": 2}
            else:
                big = f"select id, id % 1000 as k, cast(id % 97 as double) as v from range({rows})"
                target = {"type": "spark", "method": "session", "master": "local[2]", "schema": "bench",
                          "file_format": "delta", "threads": 2}
            dialect = "spark" if engine == "spark" else "duckdb"
            (out / "pds_project.yml").write_text(f"name: pyagg\nprofile: pyagg\ndialect: {dialect}\n")
            (out / "profiles.yml").write_text(json.dumps({"pyagg": {"target": "dev", "outputs": {"dev": target}}}))
            (out / "models" / "big.sql").write_text("{{ config(materialized='table') }}\n" + big + "\n")
            (out / "models" / "agg.py").write_text(AGG_ARROW if engine == "duckdb_arrow" else AGG)
            run([*pds, "build", "-s", "big", "--project-dir", str(out)], out, out / "big.log", pds_env)
            result = run([*pds, "build", "-s", "agg", "--project-dir", str(out)], out, out / "agg.log", pds_env)
            result.update(model_times(out / "target" / "run_results.json"))
            found[f"{engine}-{rows}"] = result
            print(engine, rows, result, flush=True)
    return found


def markdown(kind: str, found: dict[str, Any]) -> str:
    if kind == "project":
        lines = ["| tool | wall | nodes | wall per node | mean node time (own) | CPU: Python / JVM | peak RSS: Python / JVM |",
                 "|---|---|---|---|---|---|---|"]
        for tool in ("pds", "dbt-spark"):
            if tool in found:
                r = found[tool]
                cpu, rss = r["cpu_s"], r["peak_rss_mb"]
                lines.append(f"| {tool} | {r['wall_s']} s | {r['nodes']} | {r['wall_per_node_ms']} ms "
                             f"| {1000 * r['mean_node_s']:.0f} ms | {cpu.get('python')} s / {cpu.get('java')} s "
                             f"| {rss.get('python')} MB / {rss.get('java')} MB |")
        return "\n".join(lines)
    lines = ["| engine | rows | wall (agg only) | model time | pds process peak RSS | JVM peak RSS |",
             "|---|---|---|---|---|---|"]
    for key, r in found.items():
        engine, rows = key.rsplit("-", 1)
        peaks = r["peak_rss_mb"]
        lines.append(f"| {engine} | {int(rows):,} | {r['wall_s']} s | {r['sum_node_s']} s | {peaks.get('python')} MB "
                     f"| {peaks.get('java', '—')}{' MB' if 'java' in peaks else ''} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="kind", required=True)
    p = sub.add_parser("project", help="the generated project by pds and by dbt-spark")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--out", type=Path)
    p.add_argument("--dbt-spark", help="dbt in a venv with dbt-spark[session] (omit: pds only)")
    y = sub.add_parser("python", help="a Python model over a large parent: Spark against pandas on DuckDB")
    y.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    y.add_argument("--engines", nargs="+", default=["duckdb", "duckdb_arrow", "spark"],
                   choices=["duckdb", "duckdb_arrow", "spark"],
                   help="duckdb: ctx.ref() as pandas; duckdb_arrow: ctx.ref(..., format='arrow')")
    args = ap.parse_args(argv)
    found = bench_project(args) if args.kind == "project" else bench_python(args)
    found["machine"] = {"cpus": os.cpu_count(), "load_after": os.getloadavg()}
    (BENCH / "results").mkdir(exist_ok=True)
    suffix = f"-n{args.n}" if args.kind == "project" else "".join(f"-{e}" for e in args.engines if "spark" not in args.engines)
    (BENCH / "results" / f"spark-{args.kind}{suffix}.json").write_text(json.dumps(found, indent=2) + "\n")
    print(markdown(args.kind, {k: v for k, v in found.items() if k != "machine"}))


if __name__ == "__main__":
    main()
